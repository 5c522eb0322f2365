"""Models of GetResponse API 1.5 results, and the conditions its methods take.

GetResponse states no time zone for its timestamps or its stats periods: every
``datetime`` here is naive and means the account's local time, exactly as the API wrote it.
Keys a result has that its model does not declare are kept, read-only, in the model's last
field, ``extra`` (empty, and shared, when there are none).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

import attrs

from .._convert import OpenStrEnum
from .._extra import FrozenDict, extra_field
from .._model import inherited_before_extra

__all__ = [
    "COUNTER_NAMES",
    "Grouping",
    "Link",
    "Message",
    "MessageStatsSeries",
    "MessageType",
    "PeriodStats",
    "StatsTotals",
    "TimeRange",
]


class Grouping(enum.StrEnum):
    """How ``get_message_stats`` groups its periods, and the form of each period key."""

    HOURLY = "hourly"
    """Keys ``YYYY-MM-DD HH``."""
    DAILY = "daily"
    """Keys ``YYYY-MM-DD`` (the API's default)."""
    MONTHLY = "monthly"
    """Keys ``YYYY-MM``."""
    YEARLY = "yearly"
    """Keys ``YYYY``."""


class MessageType(OpenStrEnum):
    """The kind of a message; values GetResponse adds later are kept as they come."""

    NEWSLETTER = "newsletter"
    AUTORESPONDER = "autoresponder"
    AB_TEST = "ab_test"
    DRAFT = "draft"


def _check_day(name: str) -> Any:
    def check(_: object, __: attrs.Attribute[Any], value: object) -> None:
        if value is None:
            return
        if isinstance(value, datetime):
            msg = f"TimeRange.{name} takes a date; GetResponse compares whole days, pass .date()"
            raise TypeError(msg)
        if not isinstance(value, date):
            msg = f"TimeRange.{name} must be a datetime.date, got {type(value).__name__}"
            raise TypeError(msg)

    return check


@attrs.frozen(kw_only=True, weakref_slot=False)
class TimeRange:
    """A time condition on a GetResponse date field (``created_on``, ``send_on``).

    GetResponse compares whole days, so the bounds are :class:`datetime.date` objects and
    a :class:`datetime.datetime` is rejected rather than silently cut to its day. Both
    bounds are inclusive. Give ``from_`` and/or ``to``, or ``at`` alone::

        TimeRange(from_=date(2024, 1, 1), to=date(2024, 1, 31))
        TimeRange(at=date(2024, 2, 29))

    Raises:
        TypeError: A bound is not a ``date`` (or is a ``datetime``).
        ValueError: No bound is given, ``at`` is combined with another bound, or
            ``from_`` is after ``to``.
    """

    from_: date | None = attrs.field(default=None, validator=_check_day("from_"))
    """The first day included."""
    to: date | None = attrs.field(default=None, validator=_check_day("to"))
    """The last day included."""
    at: date | None = attrs.field(default=None, validator=_check_day("at"))
    """The only day included."""

    def __attrs_post_init__(self) -> None:
        if self.at is None and self.from_ is None and self.to is None:
            msg = "TimeRange needs from_, to or at"
            raise ValueError(msg)
        if self.at is not None and (self.from_ is not None or self.to is not None):
            msg = "TimeRange takes either at or from_/to, not both"
            raise ValueError(msg)
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            msg = f"TimeRange.from_ ({self.from_}) is after to ({self.to})"
            raise ValueError(msg)


@attrs.frozen(kw_only=True, weakref_slot=False)
class _Counters:
    """The 19 counters of ``get_message_stats``, each 0 by default, in the API's order.

    Written once for :class:`StatsTotals` and :class:`PeriodStats`, which are not
    instances of one another.
    """

    sent: int = 0
    """Messages sent."""
    opened: int = 0
    """Opens, counting repeats."""
    unique_opened: int = 0
    """Recipients who opened for the first time."""
    clicked: int = 0
    """Clicks on tracked links, counting repeats."""
    unique_clicked: int = 0
    """Recipients who clicked for the first time."""
    goals: int = 0
    """Goals reached, counting repeats."""
    unique_goals: int = 0
    """Recipients who reached a goal for the first time."""
    forwarded: int = 0
    """Forwards."""
    unsubscribes: int = 0
    """Unsubscriptions."""
    bounces_user_unknown: int = 0
    """Hard bounces: unknown recipient."""
    bounces_user_recycled: int = 0
    """Bounces: recycled address."""
    bounces_mailbox_full: int = 0
    """Bounces: mailbox full."""
    bounces_block_content: int = 0
    """Blocks because of the content."""
    bounces_block_timeout: int = 0
    """Blocks by timeout."""
    bounces_block_other: int = 0
    """Other blocks."""
    bounces_other_soft: int = 0
    """Other soft bounces."""
    bounces_other_hard: int = 0
    """Other hard bounces."""
    complaints_handled: int = 0
    """Spam complaints that were handled."""
    complaints_unhandled: int = 0
    """Spam complaints not handled."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class StatsTotals(_Counters):
    """The 19 counters of ``get_message_stats``, summed over a message's periods.

    Unique counters count a recipient only in the period of their first action, so their
    sum over periods is the message's unique total.
    """


#: The names of the 19 counters, in the API's order.
COUNTER_NAMES: Final[tuple[str, ...]] = tuple(a.name for a in attrs.fields(StatsTotals))


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class PeriodStats(_Counters):
    """The counters of one period of a message's stats.

    Periods are sparse: the API lists a period only when one of its counters is positive,
    and a period may have ``sent == 0`` with opens or clicks that arrived later.
    """

    period: str
    """The period as the API keys it: ``2024-01-31 13``, ``2024-01-31``, ``2024-01`` or ``2024``."""
    start: datetime
    """The naive local start of the period (the API states no time zone)."""
    extra: Mapping[str, Any] = extra_field()
    """Keys GetResponse sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class MessageStatsSeries:
    """The stats of one message, period by period.

    The result it is read from is keyed by period only, so it has no ``extra`` of its own;
    each period keeps its unknown keys.
    """

    message_id: str
    """The message the stats are for."""
    grouping: Grouping
    """How the periods are grouped."""
    periods: tuple[PeriodStats, ...] = ()
    """The periods with activity, oldest first; periods without any are absent."""

    def totals(self) -> StatsTotals:
        """Return every counter summed over all periods."""
        return StatsTotals(
            **{name: sum(getattr(p, name) for p in self.periods) for name in COUNTER_NAMES}
        )


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    return None if value is None else FrozenDict(value)


def _read_only(value: Any) -> Any:
    """Return a JSON value with its outer object or list read-only (a FrozenDict, a tuple)."""
    if isinstance(value, Mapping):
        return FrozenDict(value)
    if isinstance(value, list):
        return tuple(value)
    return value


@attrs.frozen(kw_only=True, weakref_slot=False)
class Message:
    """A newsletter, autoresponder, A/B test or draft, as ``get_messages`` lists it."""

    id: str
    """The message ID (the key of the API's result)."""
    campaign: str
    """The ID of the campaign the message belongs to."""
    type: MessageType
    """``newsletter``, ``autoresponder``, ``ab_test`` or ``draft``."""
    subject: str
    """The subject line."""
    created_on: datetime
    """When the message was created (naive; the API states no time zone)."""
    name: str | None = None
    """The message's internal name, if it has one."""
    content_types: tuple[str, ...] = ()
    """The parts the message has: ``plain`` and/or ``html``."""
    flags: tuple[str, ...] = ()
    """Flags: ``clicktrack``, ``openrate``, ``subscription_reminder``, ``google_analytics``."""
    send_on: datetime | None = None
    """When a newsletter is or was sent (newsletters only)."""
    status: str | None = None
    """Autoresponders only: ``active`` or ``inactive``."""
    autoresponder_name: str | None = None
    """Autoresponders only: the autoresponder's name."""
    based_on: str | None = None
    """Autoresponders only: ``time`` or ``action``."""
    day_of_cycle: int | None = None
    """Autoresponders only: the subscription day the message goes out on."""
    action: Mapping[str, Any] | None = attrs.field(
        default=None, converter=_frozen_mapping, hash=False
    )
    """Autoresponders only: the triggering action (``event``, …, ``recurrent``), read-only."""
    days_of_week: tuple[Any, ...] | None = None
    """Autoresponders only: the weekdays the message may go out on."""
    at_hour: int | None = None
    """Autoresponders only: the hour the message goes out at."""
    delay_hours: int | None = None
    """Autoresponders only: the delay after the trigger, in hours."""
    time_travel: bool | None = None
    """Autoresponders only: whether sending follows each recipient's time zone."""
    ab_test: Any = attrs.field(default=None, converter=_read_only, hash=False)
    """A/B tests only: what GetResponse sends under ``ab_test``; ``None`` when absent.

    The API documents the key, on messages of type ``ab_test``, but not its shape, so the
    JSON value is kept as it comes: an object as a read-only mapping, a list as a tuple.
    """
    extra: Mapping[str, Any] = extra_field()
    """Keys GetResponse sent that this model does not declare: wire name → JSON value."""

    @property
    def click_tracked(self) -> bool:
        """Return whether clicks on this message's links are tracked."""
        return "clicktrack" in self.flags


@attrs.frozen(kw_only=True, weakref_slot=False)
class Link:
    """A click-tracked link of a message, as ``get_links`` lists it."""

    id: str
    """The link ID (the key of the API's result)."""
    message: str
    """The ID of the message the link is in."""
    name: str
    """The link's name."""
    url: str
    """The target URL."""
    clicks: int = 0
    """How many times the link was clicked."""
    extra: Mapping[str, Any] = extra_field()
    """Keys GetResponse sent that this model does not declare: wire name → JSON value."""
