"""Postmark's wire layer, without I/O: requests out; replies, or the errors they stand for, in.

Requests are :class:`~asyncmailstats._http.Request` values built from arguments
:mod:`._args` has checked (a message id is checked where it becomes a path segment).
A non-2xx reply is mapped to its error by the body's ``ErrorCode`` first and the HTTP
status second (:func:`raise_for_status`); a body is structured through the Postmark
converter (lenient in production, strict in tests).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Final, Generic, NamedTuple, TypeVar

import cattrs

from .._convert import loads, structure
from .._errors import make_status_error
from .._http import Request, Response
from .._page_source import Parsed
from .._validate import check_bool
from ..exceptions import (
    APIError,
    AuthenticationError,
    DecodeError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
)
from . import _convert, models
from ._args import Params, check_stream_type, encode_message_id
from .models import (
    Click,
    MessageStream,
    Open,
    OutboundMessage,
    OutboundMessageDetails,
    PostmarkErrorCode,
)

T = TypeVar("T")
M = TypeVar("M")

#: The provider name carried by every error.
PROVIDER: Final = "postmark"
#: The largest ``count`` Postmark accepts on its list endpoints.
MAX_PAGE_SIZE: Final = 500
#: ``count + offset`` may not exceed this on the list endpoints.
OFFSET_CEILING: Final = 10_000

DETAILS_ENDPOINT: Final = "GET /messages/outbound/{id}/details"
DUMP_ENDPOINT: Final = "GET /messages/outbound/{id}/dump"


# -- records ---------------------------------------------------------------------------


def message_key(record: OutboundMessage) -> Hashable:
    """Return what tells one message from another: its ``MessageID``."""
    return record.message_id


def open_key(record: Open) -> Hashable:
    """Return what tells one open from another: message, recipient and time."""
    return (record.message_id, record.recipient, record.received_at)


def click_key(record: Click) -> Hashable:
    """Return what tells one click from another: message, recipient, time and link."""
    return (record.message_id, record.recipient, record.received_at, record.original_link)


# -- requests --------------------------------------------------------------------------


def _page(count: int, offset: int) -> Params:
    return (("count", str(count)), ("offset", str(offset)))


class Listing(NamedTuple, Generic[T]):
    """One of Postmark's lists: where it is, and how its reply holds the records.

    Attributes:
        path: The list's path; its endpoint label is ``GET`` and the path.
        member: The member of the reply that lists the records (beside ``TotalCount``).
        model: The class each record is structured as.
        key: What tells one record from another, for paging by offset.
    """

    path: str
    member: str
    model: type[T]
    key: Callable[[T], Hashable] | None = None

    @property
    def endpoint(self) -> str:
        """The endpoint label: ``GET`` and the path."""
        return f"GET {self.path}"

    def request(self, filters: Params, *, count: int, offset: int) -> Request:
        """Return the search for one page: *count* records from *offset*, with *filters*."""
        params = _page(count, offset) + filters
        return Request("GET", self.path, params=params, endpoint=self.endpoint)

    def message_request(self, message_id: str, *, count: int, offset: int) -> Request:
        """Return one page of the records of one message (``GET <path>/{id}``)."""
        path = f"{self.path}/{encode_message_id(message_id)}"
        label = f"{self.endpoint}/{{id}}"
        return Request("GET", path, params=_page(count, offset), endpoint=label)

    def parse(
        self,
        body: bytes,
        *,
        endpoint: str | None = None,
        converter: cattrs.Converter = _convert.CONVERTER,
    ) -> Parsed[T]:
        """Return the records of one successful reply and its ``TotalCount``."""
        label = self.endpoint if endpoint is None else endpoint
        return parse_list(body, self.member, self.model, endpoint=label, converter=converter)

    def decode(
        self,
        response: Response,
        *,
        endpoint: str | None = None,
        converter: cattrs.Converter = _convert.CONVERTER,
    ) -> tuple[Sequence[T], int]:
        """Return the records of one page and the ``TotalCount``; raise for an error reply."""
        label = self.endpoint if endpoint is None else endpoint
        raise_for_status(response, endpoint=label)
        page = self.parse(response.body, endpoint=label, converter=converter)
        return page.items, page.total


#: ``GET /messages/outbound``: the outbound-message search.
MESSAGES: Final = Listing("/messages/outbound", _convert.MESSAGES, OutboundMessage, message_key)
#: ``GET /messages/outbound/opens``: the opens search (and, below it, one message's opens).
OPENS: Final = Listing("/messages/outbound/opens", _convert.OPENS, Open, open_key)
#: ``GET /messages/outbound/clicks``: the clicks search (and, below it, one message's clicks).
CLICKS: Final = Listing("/messages/outbound/clicks", _convert.CLICKS, Click, click_key)
#: ``GET /message-streams``: a server's message streams, in one reply.
MESSAGE_STREAMS: Final = Listing("/message-streams", _convert.MESSAGE_STREAMS, MessageStream)


def details_request(message_id: str) -> Request:
    """Return the request for a message's details."""
    path = f"{MESSAGES.path}/{encode_message_id(message_id)}/details"
    return Request("GET", path, endpoint=DETAILS_ENDPOINT)


def dump_request(message_id: str) -> Request:
    """Return the request for a message's raw source."""
    path = f"{MESSAGES.path}/{encode_message_id(message_id)}/dump"
    return Request("GET", path, endpoint=DUMP_ENDPOINT)


def message_streams_request(
    stream_type: object = "All", *, include_archived: object = False
) -> Request:
    """Return the request listing a server's message streams.

    Raises:
        TypeError: *stream_type* is not a string or *include_archived* not a bool.
        ValueError: *stream_type* is not one of :data:`._args.MESSAGE_STREAM_TYPES`.
    """
    name = check_stream_type(stream_type)
    check_bool("include_archived", include_archived)
    params = (
        ("MessageStreamType", name),
        ("IncludeArchivedStreams", "true" if include_archived else "false"),
    )
    return Request("GET", MESSAGE_STREAMS.path, params=params, endpoint=MESSAGE_STREAMS.endpoint)


class StatsEndpoint(NamedTuple, Generic[M]):
    """A stats endpoint: its path, and the model its reply is read as."""

    path: str
    model: type[M]


OUTBOUND_OVERVIEW: Final = StatsEndpoint("/stats/outbound", models.OutboundOverview)
SENT_COUNTS: Final = StatsEndpoint("/stats/outbound/sends", models.SentCounts)
BOUNCE_COUNTS: Final = StatsEndpoint("/stats/outbound/bounces", models.BounceCounts)
SPAM_COMPLAINTS: Final = StatsEndpoint("/stats/outbound/spam", models.SpamComplaintCounts)
TRACKED_COUNTS: Final = StatsEndpoint("/stats/outbound/tracked", models.TrackedCounts)
OPEN_COUNTS: Final = StatsEndpoint("/stats/outbound/opens", models.OpenCounts)
OPEN_PLATFORMS: Final = StatsEndpoint("/stats/outbound/opens/platforms", models.OpenPlatformCounts)
EMAIL_CLIENTS: Final = StatsEndpoint("/stats/outbound/opens/emailclients", models.DynamicCounts)
READ_TIMES: Final = StatsEndpoint("/stats/outbound/opens/readtimes", models.DynamicCounts)
CLICK_COUNTS: Final = StatsEndpoint("/stats/outbound/clicks", models.ClickCounts)
BROWSER_FAMILIES: Final = StatsEndpoint(
    "/stats/outbound/clicks/browserfamilies", models.DynamicCounts
)
CLICK_PLATFORMS: Final = StatsEndpoint(
    "/stats/outbound/clicks/platforms", models.ClickPlatformCounts
)
CLICK_LOCATIONS: Final = StatsEndpoint(
    "/stats/outbound/clicks/location", models.ClickLocationCounts
)

#: Stats endpoints: the name of the :class:`PostmarkAPI` method → (path, model).
STATS: Final[Mapping[str, StatsEndpoint[Any]]] = {
    "outbound_overview": OUTBOUND_OVERVIEW,
    "sent_counts": SENT_COUNTS,
    "bounce_counts": BOUNCE_COUNTS,
    "spam_complaints": SPAM_COMPLAINTS,
    "tracked_counts": TRACKED_COUNTS,
    "open_counts": OPEN_COUNTS,
    "open_platforms": OPEN_PLATFORMS,
    "email_clients": EMAIL_CLIENTS,
    "read_times": READ_TIMES,
    "click_counts": CLICK_COUNTS,
    "browser_families": BROWSER_FAMILIES,
    "click_platforms": CLICK_PLATFORMS,
    "click_locations": CLICK_LOCATIONS,
}


def stats_request(stats: str | StatsEndpoint[Any], filters: Params) -> Request:
    """Return the request for a stats endpoint: a :data:`STATS` entry or its name."""
    path = (STATS[stats] if isinstance(stats, str) else stats).path
    return Request("GET", path, params=filters, endpoint=f"GET {path}")


# -- errors ----------------------------------------------------------------------------


def _error_fields(response: Response) -> tuple[int | None, str | None]:
    code: int | None = None
    message: str | None = None
    try:
        data = loads(response.body)
    except DecodeError:
        data = None
    if isinstance(data, dict):
        raw_code = data.get(_convert.ERROR_CODE)
        if isinstance(raw_code, int) and not isinstance(raw_code, bool):
            code = raw_code
        raw_message = data.get(_convert.ERROR_MESSAGE)
        if isinstance(raw_message, str) and raw_message:
            message = raw_message
    if code is None:
        header = response.header("x-pm-apierrorcode")
        if header is not None and header.strip().isdigit():
            code = int(header.strip())
    return code, message


def _class_from_code(code: int | None, status: int) -> type[APIError] | None:
    """Return the class Postmark's ``ErrorCode`` decides, or ``None`` to go by the status.

    The code is read before the status, because Postmark reuses numbers: 10 (or HTTP 401)
    is an authentication failure and 701 (sent with HTTP 422) a missing message whatever
    the status; a 429 or 5xx then goes by its status; else code 100 (maintenance) is a
    server error and 614 a permission error.
    """
    if code == PostmarkErrorCode.INVALID_API_TOKEN or status == 401:
        return AuthenticationError
    if code == PostmarkErrorCode.MESSAGE_NOT_FOUND:
        return NotFoundError
    if status == 429 or status >= 500:
        return None
    if code == PostmarkErrorCode.MAINTENANCE:
        return ServerError
    if code == PostmarkErrorCode.STATS_NOT_ENTITLED:
        return PermissionDeniedError
    return None


def raise_for_status(response: Response, *, endpoint: str) -> None:
    """Raise the error a non-2xx reply stands for; do nothing for a 2xx reply.

    The class comes from ``ErrorCode`` first (:func:`_class_from_code`), then from the
    status: 429 a rate limit (with ``Retry-After`` when given); 5xx a server error; 403
    — which Postmark's own API does not send, but a security layer in front of it does,
    as HTML — a permission error; a bare 404 a missing object; any other 4xx an invalid
    request carrying its code.
    """
    status = response.status
    if 200 <= status < 300:
        return
    code, message = _error_fields(response)
    raise make_status_error(
        PROVIDER,
        response,
        message or f"HTTP {status} from Postmark",
        endpoint=endpoint,
        code=code,
        cls=_class_from_code(code, status),
        client_error=InvalidRequestError,
    )


# -- replies ---------------------------------------------------------------------------


def _object(body: bytes, endpoint: str) -> dict[str, Any]:
    data = loads(body, endpoint=endpoint)
    if not isinstance(data, dict):
        msg = f"expected a JSON object, got {type(data).__name__}"
        raise DecodeError(msg, endpoint=endpoint, body=body)
    return data


def _json_object(response: Response, endpoint: str) -> dict[str, Any]:
    raise_for_status(response, endpoint=endpoint)
    return _object(response.body, endpoint)


def parse_list(
    body: bytes,
    key: str,
    cls: type[T],
    *,
    endpoint: str,
    converter: cattrs.Converter = _convert.CONVERTER,
) -> Parsed[T]:
    """Return the records under *key* of a successful list reply and its ``TotalCount``."""
    data = _object(body, endpoint)
    raw_total = data.get(_convert.TOTAL_COUNT)
    if isinstance(raw_total, bool) or not isinstance(raw_total, int | str):
        msg = f"{_convert.TOTAL_COUNT} is missing or not an integer"
        raise DecodeError(msg, endpoint=endpoint, body=body)
    try:
        total = int(raw_total)
    except ValueError:
        msg = f"{_convert.TOTAL_COUNT} is not an integer: {raw_total!r}"
        raise DecodeError(msg, endpoint=endpoint, body=body) from None
    if total < 0:
        msg = f"{_convert.TOTAL_COUNT} is negative: {total}"
        raise DecodeError(msg, endpoint=endpoint, body=body)
    raw_items = data.get(key)
    if raw_items is None:
        raw_items = []
    if not isinstance(raw_items, list):
        msg = f"{key} is not a list"
        raise DecodeError(msg, endpoint=endpoint, body=body)
    hook = converter.get_structure_hook(cls)
    try:
        items = [hook(item, cls) for item in raw_items]
    except (cattrs.errors.CattrsError, ValueError, TypeError, KeyError, AttributeError):
        # Structure again one by one through the shared helper for a precise error.
        items = [structure(converter, item, cls, endpoint=endpoint) for item in raw_items]
    return Parsed(items, total)


def decode_message_streams(
    response: Response,
    *,
    endpoint: str = MESSAGE_STREAMS.endpoint,
    converter: cattrs.Converter = _convert.CONVERTER,
) -> tuple[MessageStream, ...]:
    """Return the message streams a ``GET /message-streams`` reply lists."""
    streams, _ = MESSAGE_STREAMS.decode(response, endpoint=endpoint, converter=converter)
    return tuple(streams)


def decode_details(
    response: Response,
    *,
    endpoint: str = DETAILS_ENDPOINT,
    converter: cattrs.Converter = _convert.CONVERTER,
) -> OutboundMessageDetails:
    """Return a message's details."""
    return decode_stats(response, OutboundMessageDetails, endpoint=endpoint, converter=converter)


def decode_dump(response: Response, *, endpoint: str = DUMP_ENDPOINT) -> str:
    """Return a message's raw source (``""`` when Postmark no longer has it)."""
    data = _json_object(response, endpoint)
    body = data.get(_convert.BODY)
    if body is None:
        return ""
    if not isinstance(body, str):
        msg = f"{_convert.BODY} is not a string"
        raise DecodeError(msg, endpoint=endpoint, body=response.body)
    return body


def decode_stats(
    response: Response,
    cls: type[T],
    *,
    endpoint: str,
    converter: cattrs.Converter = _convert.CONVERTER,
) -> T:
    """Return a stats reply (or any other one-object reply) as *cls*.

    Absent stats counters are 0.
    """
    data = _json_object(response, endpoint)
    return structure(converter, data, cls, endpoint=endpoint)
