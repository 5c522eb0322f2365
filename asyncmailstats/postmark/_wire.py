"""Postmark's requests, without I/O: arguments validated, paths encoded, dates converted.

Request builders validate their arguments (``TypeError`` / ``ValueError``) and return
:class:`~asyncmailstats._http.Request` values with the query spellings Postmark
documents. Replies are read by :mod:`._decode`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

from .._http import Request
from .._text import check_encodable
from .._validate import check_bool
from . import _stats_endpoints
from ._stats_endpoints import StatsEndpoint
from .models import Platform, StatusFilter

Params = tuple[tuple[str, str], ...]

#: The largest ``count`` Postmark accepts on its list endpoints.
MAX_PAGE_SIZE: Final = 500
#: ``count + offset`` may not exceed this on the list endpoints.
OFFSET_CEILING: Final = 10_000
#: Postmark reads date filters (and writes timestamps) in US Eastern time.
EASTERN: Final = ZoneInfo("America/New_York")
#: The first and last day a date filter may name (for a datetime: its day in Eastern
#: time). Outside them, converting to Eastern time and stepping past a day's end would
#: leave the range :mod:`datetime` can hold; no Postmark record is dated there anyway.
FIRST_DAY: Final = dt.date(1900, 1, 1)
LAST_DAY: Final = dt.date(9998, 12, 31)

MESSAGES_PATH: Final = "/messages/outbound"
MESSAGE_STREAMS_PATH: Final = "/message-streams"
OPENS_PATH: Final = "/messages/outbound/opens"
CLICKS_PATH: Final = "/messages/outbound/clicks"

MESSAGES_ENDPOINT: Final = "GET /messages/outbound"
MESSAGE_STREAMS_ENDPOINT: Final = "GET /message-streams"
DETAILS_ENDPOINT: Final = "GET /messages/outbound/{id}/details"
DUMP_ENDPOINT: Final = "GET /messages/outbound/{id}/dump"
OPENS_ENDPOINT: Final = "GET /messages/outbound/opens"
MESSAGE_OPENS_ENDPOINT: Final = "GET /messages/outbound/opens/{id}"
CLICKS_ENDPOINT: Final = "GET /messages/outbound/clicks"
MESSAGE_CLICKS_ENDPOINT: Final = "GET /messages/outbound/clicks/{id}"

#: Stats endpoints: name → (path, model).
STATS: Final = _stats_endpoints.STATS

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
    return check_encodable(name, value)


def encode_message_id(message_id: object) -> str:
    r"""Validate a message id and return it percent-encoded as one path segment.

    An id holding a path separator (``/`` or ``\``) is refused with :class:`ValueError`.
    Every other reserved character is encoded, so ``"a?count=500#x"`` stays inside the
    segment and can never reach another endpoint; so are the dots of an id that is
    ``"."`` or ``".."``, which would otherwise be read as a dot segment.
    """
    if not isinstance(message_id, str):
        msg = f"message_id must be a string, got {type(message_id).__name__}"
        raise TypeError(msg)
    if not message_id.strip():
        msg = "message_id must not be empty"
        raise ValueError(msg)
    check_encodable("message_id", message_id)
    if "/" in message_id or "\\" in message_id:
        # Postmark message ids are UUIDs; a separator can only be a mistake or an attack.
        msg = f"message_id must not contain '/' or '\\', got {message_id!r}"
        raise ValueError(msg)
    segment = quote(message_id, safe="")
    if segment in {".", ".."}:  # a dot segment would be folded into its parent path
        segment = segment.replace(".", "%2E")
    return segment


def _check_day(name: str, day: dt.date, value: dt.date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        msg = (
            f"{name} must fall between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}"
            f" (US Eastern time), got {value.isoformat()}"
        )
        raise ValueError(msg)


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
        try:
            eastern = value.astimezone(EASTERN)
        except OverflowError:
            eastern = None
        _check_day(name, dt.date.min if eastern is None else eastern.date(), value)
        return value
    if isinstance(value, dt.date):
        _check_day(name, value, value)
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

    A bound's day (a datetime's day in US Eastern time) must fall between
    :data:`FIRST_DAY` (1900-01-01) and :data:`LAST_DAY` (9998-12-31).

    Raises:
        TypeError: A bound is not a date (or, with *dates_only*, is a datetime).
        ValueError: A datetime is naive, a bound is outside the supported days, or
            ``from_date`` is after ``to_date``.
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
        check_encodable("a metadata value", value)
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


#: The ``MessageStreamType`` filter values ``GET /message-streams`` takes.
MESSAGE_STREAM_TYPES: Final = ("All", "Transactional", "Broadcasts", "Inbound")


def message_streams_request(
    stream_type: object = "All", *, include_archived: object = False
) -> Request:
    """Return the request listing a server's message streams.

    Raises:
        TypeError: *stream_type* is not a string or *include_archived* not a bool.
        ValueError: *stream_type* is not one of :data:`MESSAGE_STREAM_TYPES`.
    """
    if not isinstance(stream_type, str):
        msg = f"stream_type must be a string, got {type(stream_type).__name__}"
        raise TypeError(msg)
    by_lower = {name.lower(): name for name in MESSAGE_STREAM_TYPES}
    name = by_lower.get(stream_type.lower())
    if name is None:
        msg = f"stream_type must be one of {', '.join(MESSAGE_STREAM_TYPES)}, got {stream_type!r}"
        raise ValueError(msg)
    check_bool("include_archived", include_archived)
    params = (
        ("MessageStreamType", name),
        ("IncludeArchivedStreams", "true" if include_archived else "false"),
    )
    return Request("GET", MESSAGE_STREAMS_PATH, params=params, endpoint=MESSAGE_STREAMS_ENDPOINT)


def stats_request(stats: str | StatsEndpoint[Any], filters: Params) -> Request:
    """Return the request for a stats endpoint: a :data:`STATS` entry or its name."""
    path = (STATS[stats] if isinstance(stats, str) else stats).path
    return Request("GET", path, params=filters, endpoint=f"GET {path}")
