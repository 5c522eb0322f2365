"""Postmark's wire protocol, without I/O: requests in, bytes out, models or errors back.

Request builders validate their arguments (``TypeError`` / ``ValueError``) and return
:class:`~asyncmailstats._http.Request` values with the query spellings Postmark
documents. Decoders take a :class:`~asyncmailstats._http.Response` and return models, or
raise the error the reply stands for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import cattrs

from .._convert import loads, structure
from .._http import Request, Response
from .._retry import parse_retry_after
from ..exceptions import (
    APIError,
    AuthenticationError,
    DecodeError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from . import _convert as wire
from .models import (
    BounceCounts,
    Click,
    ClickCounts,
    ClickLocationCounts,
    ClickPlatformCounts,
    DynamicCounts,
    Open,
    OpenCounts,
    OpenPlatformCounts,
    OutboundMessage,
    OutboundMessageDetails,
    OutboundOverview,
    Platform,
    PostmarkErrorCode,
    SentCounts,
    SpamComplaintCounts,
    StatusFilter,
    TrackedCounts,
)

T = TypeVar("T")
Params = tuple[tuple[str, str], ...]

PROVIDER: Final = "postmark"
#: The largest ``count`` Postmark accepts on its list endpoints.
MAX_PAGE_SIZE: Final = 500
#: ``count + offset`` may not exceed this on the list endpoints.
OFFSET_CEILING: Final = 10_000
#: Postmark reads date filters (and writes timestamps) in US Eastern time.
EASTERN: Final = ZoneInfo("America/New_York")

MESSAGES_PATH: Final = "/messages/outbound"
OPENS_PATH: Final = "/messages/outbound/opens"
CLICKS_PATH: Final = "/messages/outbound/clicks"

MESSAGES_ENDPOINT: Final = "GET /messages/outbound"
DETAILS_ENDPOINT: Final = "GET /messages/outbound/{id}/details"
DUMP_ENDPOINT: Final = "GET /messages/outbound/{id}/dump"
OPENS_ENDPOINT: Final = "GET /messages/outbound/opens"
MESSAGE_OPENS_ENDPOINT: Final = "GET /messages/outbound/opens/{id}"
CLICKS_ENDPOINT: Final = "GET /messages/outbound/clicks"
MESSAGE_CLICKS_ENDPOINT: Final = "GET /messages/outbound/clicks/{id}"

#: Stats endpoints: name → (path, model).
STATS: Final[Mapping[str, tuple[str, type]]] = {
    "outbound_overview": ("/stats/outbound", OutboundOverview),
    "sent_counts": ("/stats/outbound/sends", SentCounts),
    "bounce_counts": ("/stats/outbound/bounces", BounceCounts),
    "spam_complaints": ("/stats/outbound/spam", SpamComplaintCounts),
    "tracked_counts": ("/stats/outbound/tracked", TrackedCounts),
    "open_counts": ("/stats/outbound/opens", OpenCounts),
    "open_platforms": ("/stats/outbound/opens/platforms", OpenPlatformCounts),
    "email_clients": ("/stats/outbound/opens/emailclients", DynamicCounts),
    "read_times": ("/stats/outbound/opens/readtimes", DynamicCounts),
    "click_counts": ("/stats/outbound/clicks", ClickCounts),
    "browser_families": ("/stats/outbound/clicks/browserfamilies", DynamicCounts),
    "click_platforms": ("/stats/outbound/clicks/platforms", ClickPlatformCounts),
    "click_locations": ("/stats/outbound/clicks/location", ClickLocationCounts),
}

_EVENT_FILTERS: Final = (
    "recipient",
    "tag",
    "message_stream",
    "client_name",
    "client_company",
    "client_family",
    "os_name",
    "os_family",
    "os_company",
    "platform",
    "country",
    "region",
    "city",
)


# --------------------------------------------------------------------------- validation


def check_text(name: str, value: object) -> str | None:
    """Return *value* if it is ``None`` or a non-empty string; raise otherwise."""
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"{name} must be a string, got {type(value).__name__}"
        raise TypeError(msg)
    if not value.strip():
        msg = f"{name} must not be empty"
        raise ValueError(msg)
    return value


def encode_message_id(message_id: object) -> str:
    """Validate a message id and return it percent-encoded as one path segment.

    Every reserved character is encoded, so ``"../stats"`` or ``"a/b?c#d"`` stays inside
    the segment and can never reach another endpoint.
    """
    if not isinstance(message_id, str):
        msg = f"message_id must be a string, got {type(message_id).__name__}"
        raise TypeError(msg)
    if not message_id.strip():
        msg = "message_id must not be empty"
        raise ValueError(msg)
    return quote(message_id, safe="")


def _check_date(name: str, value: object, *, dates_only: bool) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if dates_only:
            msg = f"{name} must be a datetime.date here (stats are kept per day), not a datetime"
            raise TypeError(msg)
        if value.tzinfo is None or value.utcoffset() is None:
            msg = f"{name} must be timezone-aware: a naive datetime is ambiguous"
            raise ValueError(msg)
        return value
    if isinstance(value, dt.date):
        return value
    msg = (
        f"{name} must be a datetime.date or an aware datetime.datetime, got {type(value).__name__}"
    )
    raise TypeError(msg)


def start_instant(value: dt.date) -> dt.datetime:
    """Return the first instant a ``fromdate`` value covers, as an aware datetime."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time(), EASTERN)


def end_instant(value: dt.date) -> dt.datetime:
    """Return the instant just past what a ``todate`` value covers (a date covers its day)."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value + dt.timedelta(days=1), dt.time(), EASTERN)


def check_range(
    from_date: object, to_date: object, *, dates_only: bool = False
) -> tuple[dt.date | None, dt.date | None]:
    """Validate a ``from_date`` / ``to_date`` pair and return it.

    Raises:
        TypeError: A bound is not a date (or, with *dates_only*, is a datetime).
        ValueError: A datetime is naive, or ``from_date`` is after ``to_date``.
    """
    lower = _check_date("from_date", from_date, dates_only=dates_only)
    upper = _check_date("to_date", to_date, dates_only=dates_only)
    if lower is not None and upper is not None:
        # A date bound covers its whole (Eastern) day; a datetime bound is an instant.
        if isinstance(upper, dt.datetime):
            after = start_instant(lower) > upper
        else:
            after = start_instant(lower) >= end_instant(upper)
        if after:
            msg = f"from_date ({lower.isoformat()}) is after to_date ({upper.isoformat()})"
            raise ValueError(msg)
    return lower, upper


def format_date(value: dt.date, *, upper: bool = False) -> str:
    """Format a date filter the way Postmark reads it.

    A ``date`` is sent as ``YYYY-MM-DD``. An aware ``datetime`` is converted to US Eastern
    time and sent as ``YYYY-MM-DDTHH:MM:SS`` without an offset. Filters are inclusive and
    work to the second, so a fraction of a second is dropped from a lower bound and
    rounded up on an upper bound: the bound never excludes the instant it names.
    """
    if not isinstance(value, dt.datetime):
        return value.isoformat()
    if value.tzinfo is None or value.utcoffset() is None:
        msg = "a naive datetime is ambiguous: give it a timezone"
        raise ValueError(msg)
    eastern = value.astimezone(EASTERN)
    if upper and eastern.microsecond:
        eastern += dt.timedelta(seconds=1)
    return eastern.strftime("%Y-%m-%dT%H:%M:%S")


def date_params(from_date: dt.date | None, to_date: dt.date | None) -> Params:
    """Return the ``fromdate`` / ``todate`` query pairs for validated bounds."""
    params: list[tuple[str, str]] = []
    if from_date is not None:
        params.append(("fromdate", format_date(from_date)))
    if to_date is not None:
        params.append(("todate", format_date(to_date, upper=True)))
    return tuple(params)


def _check_status(status: object) -> str | None:
    if status is None:
        return None
    if not isinstance(status, str):
        msg = f"status must be a StatusFilter or a string, got {type(status).__name__}"
        raise TypeError(msg)
    try:
        return StatusFilter(status.lower()).value
    except ValueError:
        allowed = ", ".join(s.value for s in StatusFilter)
        msg = f"status must be one of {allowed}; got {status!r}"
        raise ValueError(msg) from None


def _check_metadata(metadata: object) -> Params:
    if metadata is None:
        return ()
    if not isinstance(metadata, Mapping):
        msg = f"metadata must be a mapping, got {type(metadata).__name__}"
        raise TypeError(msg)
    if len(metadata) > 1:
        msg = "Postmark filters on one metadata field per search; give at most one"
        raise ValueError(msg)
    params: list[tuple[str, str]] = []
    for key, value in metadata.items():
        check_text("a metadata key", key)
        if not isinstance(value, str):
            msg = f"metadata values must be strings, got {type(value).__name__}"
            raise TypeError(msg)
        params.append((f"metadata_{key}", value))
    return tuple(params)


def message_filters(
    *,
    recipient: str | None = None,
    from_email: str | None = None,
    tag: str | None = None,
    status: StatusFilter | str | None = None,
    subject: str | None = None,
    message_stream: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Params:
    """Validate the outbound-message search filters and return their query pairs."""
    params: list[tuple[str, str]] = []
    for key, name, value in (
        ("recipient", "recipient", recipient),
        ("fromemail", "from_email", from_email),
        ("tag", "tag", tag),
    ):
        if check_text(name, value) is not None:
            params.append((key, value))  # type: ignore[arg-type]
    checked_status = _check_status(status)
    if checked_status is not None:
        params.append(("status", checked_status))
    if check_text("subject", subject) is not None:
        params.append(("subject", subject))  # type: ignore[arg-type]
    if check_text("message_stream", message_stream) is not None:
        params.append(("messagestream", message_stream))  # type: ignore[arg-type]
    params.extend(_check_metadata(metadata))
    return tuple(params)


def event_filters(**filters: Any) -> Params:
    """Validate the opens/clicks search filters and return their query pairs.

    Keyword names are those of :meth:`PostmarkAPI.opens`; values are strings (``platform``
    also takes a :class:`Platform`), or ``None`` to leave a filter out.
    """
    unknown = sorted(set(filters) - set(_EVENT_FILTERS))
    if unknown:
        msg = f"unknown filter(s): {', '.join(unknown)}"
        raise TypeError(msg)
    params: list[tuple[str, str]] = []
    for name in _EVENT_FILTERS:
        value = check_text(name, filters.get(name))
        if value is None:
            continue
        if name == "platform":
            # Postmark documents lower-case platform names (webmail, desktop, mobile).
            value = value.value.lower() if isinstance(value, Platform) else value.lower()
        key = "messagestream" if name == "message_stream" else name
        params.append((key, value))
    return tuple(params)


def stats_filters(
    *,
    tag: str | None = None,
    from_date: dt.date | None = None,
    to_date: dt.date | None = None,
    message_stream: str | None = None,
) -> Params:
    """Validate the stats filters and return their query pairs.

    Without ``message_stream`` no ``messagestream`` is sent: Postmark then counts every
    stream of the server.
    """
    params: list[tuple[str, str]] = []
    if check_text("tag", tag) is not None:
        params.append(("tag", tag))  # type: ignore[arg-type]
    lower, upper = check_range(from_date, to_date, dates_only=True)
    params.extend(date_params(lower, upper))
    if check_text("message_stream", message_stream) is not None:
        params.append(("messagestream", message_stream))  # type: ignore[arg-type]
    return tuple(params)


# --------------------------------------------------------------------------- requests


def _page(count: int, offset: int) -> Params:
    return (("count", str(count)), ("offset", str(offset)))


def messages_request(filters: Params, *, count: int, offset: int) -> Request:
    """Return the outbound-message search for one page."""
    return Request(
        "GET", MESSAGES_PATH, params=_page(count, offset) + filters, endpoint=MESSAGES_ENDPOINT
    )


def opens_request(filters: Params, *, count: int, offset: int) -> Request:
    """Return the opens search for one page."""
    return Request(
        "GET", OPENS_PATH, params=_page(count, offset) + filters, endpoint=OPENS_ENDPOINT
    )


def clicks_request(filters: Params, *, count: int, offset: int) -> Request:
    """Return the clicks search for one page."""
    return Request(
        "GET", CLICKS_PATH, params=_page(count, offset) + filters, endpoint=CLICKS_ENDPOINT
    )


def message_opens_request(message_id: str, *, count: int, offset: int) -> Request:
    """Return one page of the opens of one message."""
    path = f"{OPENS_PATH}/{encode_message_id(message_id)}"
    return Request("GET", path, params=_page(count, offset), endpoint=MESSAGE_OPENS_ENDPOINT)


def message_clicks_request(message_id: str, *, count: int, offset: int) -> Request:
    """Return one page of the clicks of one message."""
    path = f"{CLICKS_PATH}/{encode_message_id(message_id)}"
    return Request("GET", path, params=_page(count, offset), endpoint=MESSAGE_CLICKS_ENDPOINT)


def details_request(message_id: str) -> Request:
    """Return the request for a message's details."""
    path = f"{MESSAGES_PATH}/{encode_message_id(message_id)}/details"
    return Request("GET", path, endpoint=DETAILS_ENDPOINT)


def dump_request(message_id: str) -> Request:
    """Return the request for a message's raw source."""
    path = f"{MESSAGES_PATH}/{encode_message_id(message_id)}/dump"
    return Request("GET", path, endpoint=DUMP_ENDPOINT)


def stats_request(name: str, filters: Params) -> Request:
    """Return the request for the stats endpoint *name* (a key of :data:`STATS`)."""
    path = STATS[name][0]
    return Request("GET", path, params=filters, endpoint=f"GET {path}")


# --------------------------------------------------------------------------- errors


def _error_fields(response: Response) -> tuple[int | None, str | None]:
    code: int | None = None
    message: str | None = None
    try:
        data = loads(response.body)
    except DecodeError:
        data = None
    if isinstance(data, dict):
        raw_code = data.get(wire.ERROR_CODE)
        if isinstance(raw_code, int) and not isinstance(raw_code, bool):
            code = raw_code
        raw_message = data.get(wire.ERROR_MESSAGE)
        if isinstance(raw_message, str) and raw_message:
            message = raw_message
    if code is None:
        header = response.header("x-pm-apierrorcode")
        if header is not None and header.strip().isdigit():
            code = int(header.strip())
    return code, message


def error_from_response(  # noqa: PLR0911 - one return per row of the error table
    response: Response, *, endpoint: str
) -> APIError:
    """Return the error a non-success reply stands for.

    ``ErrorCode`` is read before the HTTP status, because Postmark reuses numbers: 10 or
    HTTP 401 is an authentication failure; 701 (sent with HTTP 422) a missing message;
    429 a rate limit (with ``Retry-After`` when given); 5xx or code 100 (maintenance) a
    server error; 403 — which Postmark's own API does not send, but a security layer in
    front of it does, as HTML — or code 614 a permission error; a bare 404 a missing
    object; any other 4xx an invalid request carrying its code.
    """
    status = response.status
    code, message = _error_fields(response)
    text = message or f"HTTP {status} from Postmark"
    kwargs: dict[str, Any] = {
        "provider": PROVIDER,
        "status": status,
        "code": code,
        "body": response.body,
        "endpoint": endpoint,
    }
    if code == PostmarkErrorCode.INVALID_API_TOKEN or status == 401:
        return AuthenticationError(text, **kwargs)
    if code == PostmarkErrorCode.MESSAGE_NOT_FOUND:
        return NotFoundError(text, **kwargs)
    if status == 429:
        retry_after = parse_retry_after(response.header("retry-after"))
        return RateLimitError(text, retry_after=retry_after, **kwargs)
    if status >= 500 or code == PostmarkErrorCode.MAINTENANCE:
        return ServerError(text, **kwargs)
    if status == 403 or code == PostmarkErrorCode.STATS_NOT_ENTITLED:
        return PermissionDeniedError(text, **kwargs)
    if status == 404:
        return NotFoundError(text, **kwargs)
    if 400 <= status < 500:
        return InvalidRequestError(text, **kwargs)
    return APIError(text, **kwargs)


def _json_object(response: Response, endpoint: str) -> dict[str, Any]:
    if not 200 <= response.status < 300:
        raise error_from_response(response, endpoint=endpoint)
    data = loads(response.body, endpoint=endpoint)
    if not isinstance(data, dict):
        msg = f"expected a JSON object, got {type(data).__name__}"
        raise DecodeError(msg, endpoint=endpoint, body=response.body)
    return data


# --------------------------------------------------------------------------- decoders


def _decode_list(
    response: Response,
    key: str,
    cls: type[T],
    *,
    endpoint: str,
    converter: cattrs.Converter,
) -> tuple[Sequence[T], int]:
    data = _json_object(response, endpoint)
    raw_total = data.get(wire.TOTAL_COUNT)
    if isinstance(raw_total, bool) or not isinstance(raw_total, int | str):
        msg = f"{wire.TOTAL_COUNT} is missing or not an integer"
        raise DecodeError(msg, endpoint=endpoint, body=response.body)
    try:
        total = int(raw_total)
    except ValueError:
        msg = f"{wire.TOTAL_COUNT} is not an integer: {raw_total!r}"
        raise DecodeError(msg, endpoint=endpoint, body=response.body) from None
    raw_items = data.get(key)
    if raw_items is None:
        raw_items = []
    if not isinstance(raw_items, list):
        msg = f"{key} is not a list"
        raise DecodeError(msg, endpoint=endpoint, body=response.body)
    hook = converter.get_structure_hook(cls)
    try:
        items = [hook(item, cls) for item in raw_items]
    except (cattrs.errors.CattrsError, ValueError, TypeError, KeyError, AttributeError):
        # Structure again one by one through the shared helper for a precise error.
        items = [structure(converter, item, cls, endpoint=endpoint) for item in raw_items]
    return items, total


def decode_messages(
    response: Response,
    *,
    endpoint: str = MESSAGES_ENDPOINT,
    converter: cattrs.Converter = wire.CONVERTER,
) -> tuple[Sequence[OutboundMessage], int]:
    """Return the messages of one search page and the search's ``TotalCount``."""
    return _decode_list(
        response, wire.MESSAGES, OutboundMessage, endpoint=endpoint, converter=converter
    )


def decode_opens(
    response: Response,
    *,
    endpoint: str = OPENS_ENDPOINT,
    converter: cattrs.Converter = wire.CONVERTER,
) -> tuple[Sequence[Open], int]:
    """Return the opens of one page and the ``TotalCount``."""
    return _decode_list(response, wire.OPENS, Open, endpoint=endpoint, converter=converter)


def decode_clicks(
    response: Response,
    *,
    endpoint: str = CLICKS_ENDPOINT,
    converter: cattrs.Converter = wire.CONVERTER,
) -> tuple[Sequence[Click], int]:
    """Return the clicks of one page and the ``TotalCount``."""
    return _decode_list(response, wire.CLICKS, Click, endpoint=endpoint, converter=converter)


def decode_details(
    response: Response,
    *,
    endpoint: str = DETAILS_ENDPOINT,
    converter: cattrs.Converter = wire.CONVERTER,
) -> OutboundMessageDetails:
    """Return a message's details."""
    data = _json_object(response, endpoint)
    return structure(converter, data, OutboundMessageDetails, endpoint=endpoint)


def decode_dump(response: Response, *, endpoint: str = DUMP_ENDPOINT) -> str:
    """Return a message's raw source (``""`` when Postmark no longer has it)."""
    data = _json_object(response, endpoint)
    body = data.get(wire.BODY)
    if body is None:
        return ""
    if not isinstance(body, str):
        msg = f"{wire.BODY} is not a string"
        raise DecodeError(msg, endpoint=endpoint, body=response.body)
    return body


def decode_stats(
    response: Response,
    cls: type[T],
    *,
    endpoint: str,
    converter: cattrs.Converter = wire.CONVERTER,
) -> T:
    """Return a stats reply as *cls* (absent counters are 0)."""
    data = _json_object(response, endpoint)
    return structure(converter, data, cls, endpoint=endpoint)
