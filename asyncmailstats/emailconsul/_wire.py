"""EmailConsul's protocol without I/O: check arguments, build requests, read responses.

Everything here takes and returns plain values, :class:`~asyncmailstats._http.Request`
and :class:`~asyncmailstats._http.Response`, so it is tested with bytes alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final, TypeVar

from .._convert import loads, structure
from .._errors import make_status_error
from .._http import Request, Response
from .._page_source import Parsed
from ..exceptions import DecodeError
from ._convert import CONVERTER, PagedBody, SeriesBody
from .models import (
    DeliveryDay,
    LinkGroup,
    LinkStat,
    LinkTimeseriesPoint,
    PixelTimeseriesPoint,
)

if TYPE_CHECKING:
    import cattrs

T = TypeVar("T")

#: The provider name carried by every error.
PROVIDER: Final = "emailconsul"

LINK_STATS: Final = "GET /tracking/link/stats/aggregated"
LINK_TIMESERIES: Final = "GET /tracking/link/stats/timeseries"
PIXEL_TIMESERIES: Final = "GET /tracking/pixel/stats/timeseries"
DELIVERY_TIMESERIES: Final = "GET /email_delivery/emails/stats/timeseries"

#: The groupings the pixel time series documents (its items carry only these fields).
PIXEL_GROUPS: Final = frozenset({LinkGroup.CAMPAIGN_ID, LinkGroup.SUBSCRIBER_ID})

Params = tuple[tuple[str, str], ...]
#: A decoder of one page: its items and the total the server reports.
PageDecoder = Callable[[Response], tuple[Sequence[T], int]]

_SORT = re.compile(r"-?[a-z_]+")
_CAMPAIGN_ID = re.compile(r"[A-Za-z0-9_-]+")
_SUBSCRIBER_ID = re.compile(r"[A-Za-z0-9._-]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_STATUS = re.compile(r"[A-Za-z_]+")
_MESSAGE_KEYS: Final = ("message", "error", "detail", "title", "error_description")
_MESSAGE_CHARS: Final = 200


# -- arguments -------------------------------------------------------------------------


def check_period(value: object, name: str) -> datetime:
    """Return *value* if it is an aware datetime.

    Raises:
        TypeError: *value* is not a :class:`~datetime.datetime`.
        ValueError: *value* is naive (its time zone would be a guess).
    """
    if not isinstance(value, datetime):
        kind = "a date" if isinstance(value, date) else type(value).__name__
        raise TypeError(f"{name} must be an aware datetime, got {kind}")
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware; naive datetimes are ambiguous")
    return value


def format_period(value: datetime, name: str) -> str:
    """Return aware datetime *value* as ISO-8601 UTC with milliseconds (``…T00:00:00.000Z``).

    Sub-millisecond digits are dropped.
    """
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{name} is out of range once converted to UTC") from None
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )


def period_params(period_from: object, period_to: object) -> Params:
    """Return the ``period_from`` / ``period_to`` parameters after checking the range."""
    start = check_period(period_from, "period_from")
    end = check_period(period_to, "period_to")
    if start > end:
        raise ValueError("period_from must not be after period_to")
    return (
        ("period_from", format_period(start, "period_from")),
        ("period_to", format_period(end, "period_to")),
    )


def check_group(group: object, allowed: frozenset[LinkGroup] | None = None) -> LinkGroup | None:
    """Return *group* as a :class:`LinkGroup` (``None`` stays ``None``).

    Args:
        group: A :class:`LinkGroup`, its string value, or ``None``.
        allowed: The groupings the endpoint accepts; every one when ``None``.
    """
    if group is None:
        return None
    if not isinstance(group, str):
        raise TypeError(f"group must be a LinkGroup or str, got {type(group).__name__}")
    try:
        member = LinkGroup(group)
    except ValueError:
        known = ", ".join(g.value for g in LinkGroup)
        raise ValueError(f"unknown group {group!r}; expected one of: {known}") from None
    if allowed is not None and member not in allowed:
        names = ", ".join(sorted(g.value for g in allowed))
        raise ValueError(f"group {member.value!r} is not available here; expected: {names}")
    return member


def _check_text(value: object, name: str, pattern: re.Pattern[str] | None, shape: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    if pattern is not None and pattern.fullmatch(value) is None:
        raise ValueError(f"{name} must be {shape}, got {value!r}")
    if not value.isprintable():
        raise ValueError(f"{name} must not contain control characters")
    return value


def check_sort(sort: object) -> str:
    """Check a sort key: a lower-case field name, ``-`` in front for descending."""
    return _check_text(sort, "sort", _SORT, "a field name with an optional leading '-'")


def check_campaign_id(value: object) -> str:
    """Check a campaign ID: letters, digits, ``-`` and ``_``."""
    return _check_text(value, "campaign_id", _CAMPAIGN_ID, "letters, digits, '-' or '_'")


def check_subscriber_id(value: object) -> str:
    """Check a subscriber ID: letters, digits, ``-``, ``_``, ``.``, or an email address."""
    text = _check_text(value, "subscriber_id", None, "")
    if _SUBSCRIBER_ID.fullmatch(text) is None and _EMAIL.fullmatch(text) is None:
        raise ValueError(
            f"subscriber_id must be letters, digits, '-', '_', '.' or an email address, "
            f"got {text!r}"
        )
    return text


def check_status(status: object) -> str:
    """Return delivery *status* (one word or a sequence of words) comma-separated."""
    if isinstance(status, str):
        words: Sequence[object] = status.split(",")
    elif isinstance(status, Sequence) and not isinstance(status, bytes | bytearray):
        words = status
        if not words:
            raise ValueError("status must name at least one status")
    else:
        raise TypeError(f"status must be a str or a sequence of str, got {type(status).__name__}")
    return ",".join(
        _check_text(w, "status", _STATUS, "a status word such as DELIVERED") for w in words
    )


def optional(name: str, value: object, check: Callable[[object], str]) -> Params:
    """Return ``((name, check(value)),)``, or nothing when *value* is ``None``."""
    if value is None:
        return ()
    return ((name, check(value)),)


def check_profile_id(value: object) -> str:
    """Check a profile ID: any non-empty printable text."""
    return _check_text(value, "profile_id", None, "")


def check_domain(value: object) -> str:
    """Check a domain filter (matched partially by the server)."""
    return _check_text(value, "domain", None, "")


# -- requests --------------------------------------------------------------------------


def _path(endpoint: str) -> str:
    return endpoint.split(" ", 1)[1]


def get(endpoint: str, params: Params) -> Request:
    """Return the GET request for *endpoint* (one of this module's labels)."""
    return Request("GET", _path(endpoint), params=params, endpoint=endpoint)


def paged(endpoint: str, params: Params, offset: int, limit: int) -> Request:
    """Return the GET request for one page: *params* plus ``offset`` and ``limit``."""
    return get(endpoint, (*params, ("offset", str(offset)), ("limit", str(limit))))


# -- responses -------------------------------------------------------------------------


def _error_details(body: bytes) -> tuple[str | None, int | None]:
    """Read a message and a numeric code from an undocumented error body."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return None, None
    try:
        data = loads(body)
    except DecodeError:
        # Plain text; an HTML page from a proxy says nothing useful in one line.
        if text.startswith("<"):
            return None, None
        return text.splitlines()[0][:_MESSAGE_CHARS], None
    if isinstance(data, dict):
        return _message_from(data), _code_from(data)
    return None, None


def _message_from(data: dict[str, Any]) -> str | None:
    for key in _MESSAGE_KEYS:
        value = data.get(key)
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, str) and value.strip():
            return value.strip()[:_MESSAGE_CHARS]
    return None


def _code_from(data: dict[str, Any]) -> int | None:
    nested = data.get("error")
    for value in (data.get("code"), nested.get("code") if isinstance(nested, dict) else None):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def raise_for_status(response: Response, *, endpoint: str) -> None:
    """Raise the error a non-2xx *response* stands for; do nothing for a 2xx one.

    The message and code come from the body when it has them; the status picks the class.
    """
    status = response.status
    if 200 <= status < 300:
        return
    message, code = _error_details(response.body)
    if message is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "error"
        message = f"HTTP {status} {phrase}"
    raise make_status_error(PROVIDER, response, message, endpoint=endpoint, code=code)


def _body(response: Response, endpoint: str, cls: type[T], converter: cattrs.Converter) -> T:
    raise_for_status(response, endpoint=endpoint)
    return _parse_body(response.body, endpoint, cls, converter)


def _parse_body(body: bytes, endpoint: str, cls: type[T], converter: cattrs.Converter) -> T:
    data = loads(body, endpoint=endpoint)
    # cattrs would read any iterable as a sequence (a dict as its keys): insist on a list.
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        msg = 'response is not an object with a "data" list'
        raise DecodeError(msg, endpoint=endpoint, body=body)
    return structure(converter, data, cls, endpoint=endpoint)


def parse_link_stats(body: bytes, converter: cattrs.Converter = CONVERTER) -> Parsed[LinkStat]:
    """Return one successful aggregated link-stats page: rows, total and applied limit."""
    page = _parse_body(body, LINK_STATS, PagedBody[LinkStat], converter)
    return Parsed(page.data, page.meta.count, page.meta.limit)


def parse_delivery_timeseries(
    body: bytes, converter: cattrs.Converter = CONVERTER
) -> Parsed[DeliveryDay]:
    """Return one successful delivery time-series page: days, total and applied limit."""
    page = _parse_body(body, DELIVERY_TIMESERIES, PagedBody[DeliveryDay], converter)
    return Parsed(page.data, page.meta.count, page.meta.limit)


def link_stat_key(row: LinkStat) -> tuple[str | None, ...]:
    """Return what tells one aggregated row from another: the values it is grouped by."""
    return (
        row.campaign_id,
        row.subscriber_id,
        row.device,
        row.country,
        row.ip,
        row.browser,
        row.custom_link_title,
        row.params_name,
        row.params_value,
    )


def delivery_day_key(row: DeliveryDay) -> date:
    """Return what tells one delivery row from another: its day."""
    return row.date


def sorted_by_key(group: LinkGroup | None, sort: str | None) -> bool:
    """Return whether link stats grouped by *group* and sorted by *sort* keep their order.

    Rows sorted by their own group value keep their relative order while clicks arrive;
    rows sorted by ``count`` (or in the server's unstated default order) may move.
    """
    if group is None or sort is None or group is LinkGroup.PARAMS:
        return False
    return sort.removeprefix("-") == group.value


def decode_link_stats(
    response: Response, converter: cattrs.Converter = CONVERTER
) -> tuple[tuple[LinkStat, ...], int]:
    """Return the rows of one aggregated link-stats page and the total row count."""
    body = _body(response, LINK_STATS, PagedBody[LinkStat], converter)
    return body.data, body.meta.count


def decode_link_timeseries(
    response: Response, converter: cattrs.Converter = CONVERTER
) -> list[LinkTimeseriesPoint]:
    """Return the points of a link-log time series."""
    body = _body(response, LINK_TIMESERIES, SeriesBody[LinkTimeseriesPoint], converter)
    return list(body.data)


def decode_pixel_timeseries(
    response: Response, converter: cattrs.Converter = CONVERTER
) -> list[PixelTimeseriesPoint]:
    """Return the points of a pixel-log time series."""
    body = _body(response, PIXEL_TIMESERIES, SeriesBody[PixelTimeseriesPoint], converter)
    return list(body.data)


def decode_delivery_timeseries(
    response: Response, converter: cattrs.Converter = CONVERTER
) -> tuple[tuple[DeliveryDay, ...], int]:
    """Return the days of one delivery time-series page and the total day count."""
    body = _body(response, DELIVERY_TIMESERIES, PagedBody[DeliveryDay], converter)
    return body.data, body.meta.count
