"""Postmark's arguments, without I/O: checked, then spelt the way Postmark reads them.

The API methods call these before any request exists, so bad input fails at the call
(``TypeError`` for a wrong type, ``ValueError`` for a wrong value). Each check returns
the value, or the query pairs (:data:`Params`) a request sends: the search filters under
Postmark's names, dates in US Eastern time, a message id as one path segment. Building
the requests themselves, and reading the replies, is :mod:`._wire`'s part.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

from .._text import check_encodable
from .._validate import check_int, check_str
from .models import Platform, StatusFilter

#: Query pairs, in the order they are sent.
Params = tuple[tuple[str, str], ...]

#: Postmark reads date filters (and writes timestamps) in US Eastern time.
EASTERN: Final = ZoneInfo("America/New_York")
#: The first and last day a date filter may name (for a datetime: its day in Eastern
#: time). Outside them, converting to Eastern time and stepping past a day's end would
#: leave the range :mod:`datetime` can hold; no Postmark record is dated there anyway.
FIRST_DAY: Final = dt.date(1900, 1, 1)
LAST_DAY: Final = dt.date(9998, 12, 31)

#: The longest message retention ``retention_days`` may name: about a hundred years.
MAX_RETENTION_DAYS: Final = 36_500

#: The ``MessageStreamType`` filter values ``GET /message-streams`` takes.
MESSAGE_STREAM_TYPES: Final = ("All", "Transactional", "Broadcasts", "Inbound")

#: The outbound-message search filters, in the order they are sent (``metadata`` last).
MESSAGE_FILTERS: Final = ("recipient", "from_email", "tag", "status", "subject", "message_stream")
#: The opens/clicks search filters, in the order they are sent.
EVENT_FILTERS: Final = (
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
#: The query names of the filters Postmark does not spell like the argument.
_QUERY_NAMES: Final = {"from_email": "fromemail", "message_stream": "messagestream"}


# -- text, ids and settings ------------------------------------------------------------


def check_text(name: str, value: object) -> str | None:
    """Return *value* if it is ``None`` or a non-empty string; raise otherwise."""
    if value is None:
        return None
    return check_encodable(name, check_str(name, value))


def encode_message_id(message_id: object) -> str:
    r"""Validate a message id and return it percent-encoded as one path segment.

    An id holding a path separator (``/`` or ``\``) is refused with :class:`ValueError`.
    Every other reserved character is encoded, so ``"a?count=500#x"`` stays inside the
    segment and can never reach another endpoint; so are the dots of an id that is
    ``"."`` or ``".."``, which would otherwise be read as a dot segment.
    """
    text = check_encodable("message_id", check_str("message_id", message_id))
    if "/" in text or "\\" in text:
        # Postmark message ids are UUIDs; a separator can only be a mistake or an attack.
        msg = f"message_id must not contain '/' or '\\', got {text!r}"
        raise ValueError(msg)
    segment = quote(text, safe="")
    if segment in {".", ".."}:  # a dot segment would be folded into its parent path
        segment = segment.replace(".", "%2E")
    return segment


def check_stream_type(stream_type: object) -> str:
    """Return *stream_type* spelt as in :data:`MESSAGE_STREAM_TYPES` (any case is accepted).

    Raises:
        TypeError: *stream_type* is not a string.
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
    return name


def check_retention(value: object) -> int:
    """Return *value* if it is an int from 1 to :data:`MAX_RETENTION_DAYS`; raise otherwise."""
    days = check_int("retention_days", value, 1)
    if days > MAX_RETENTION_DAYS:
        msg = f"retention_days must be at most {MAX_RETENTION_DAYS}, got {days}"
        raise ValueError(msg)
    return days


# -- dates -----------------------------------------------------------------------------


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


# -- search filters --------------------------------------------------------------------


def _check_status(name: str, status: object) -> str | None:
    if status is None:
        return None
    if not isinstance(status, str):
        msg = f"{name} must be a StatusFilter or a string, got {type(status).__name__}"
        raise TypeError(msg)
    try:
        return StatusFilter(status.lower()).value
    except ValueError:
        allowed = ", ".join(s.value for s in StatusFilter)
        msg = f"{name} must be one of {allowed}; got {status!r}"
        raise ValueError(msg) from None


def _check_platform(name: str, platform: object) -> str | None:
    value = check_text(name, platform)
    if value is None:
        return None
    # Postmark documents lower-case platform names (webmail, desktop, mobile).
    return value.value.lower() if isinstance(value, Platform) else value.lower()


#: The filters checked otherwise than as text (:func:`check_text`).
_CHECKS: Final[Mapping[str, Callable[[str, object], str | None]]] = {
    "status": _check_status,
    "platform": _check_platform,
}


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


def _filter_params(names: tuple[str, ...], filters: Mapping[str, object]) -> Params:
    """Check *filters* (the keywords *names* allows) and return the pairs of those given."""
    unknown = sorted(set(filters) - set(names))
    if unknown:
        msg = f"unknown filter(s): {', '.join(unknown)}"
        raise TypeError(msg)
    params: list[tuple[str, str]] = []
    for name in names:
        value = _CHECKS.get(name, check_text)(name, filters.get(name))
        if value is not None:
            params.append((_QUERY_NAMES.get(name, name), value))
    return tuple(params)


def message_filters(**filters: Any) -> Params:
    """Validate the outbound-message search filters and return their query pairs.

    Keyword names are those of :data:`MESSAGE_FILTERS` and ``metadata``, as
    :meth:`PostmarkAPI.outbound_messages` takes them; ``None`` leaves a filter out.
    """
    metadata = filters.pop("metadata", None)
    return _filter_params(MESSAGE_FILTERS, filters) + _check_metadata(metadata)


def event_filters(**filters: Any) -> Params:
    """Validate the opens/clicks search filters and return their query pairs.

    Keyword names are those of :meth:`PostmarkAPI.opens`; values are strings (``platform``
    also takes a :class:`Platform`), or ``None`` to leave a filter out.
    """
    return _filter_params(EVENT_FILTERS, filters)


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
