"""What a fake server does wrong on purpose: the :class:`FaultPlan` and its validators.

A plan is pure data: it says how often each kind of misbehaviour happens and draws one
kind per request from a seeded generator; :class:`~asyncmailstats.testing.FakeServer`
carries the faults out. (What a server does wrong while it keeps recording is a
:class:`~asyncmailstats.testing.LivePlan`, in ``_live``.)
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Final

import attrs

#: The fault kinds a :class:`FaultPlan` draws from, in the order they are drawn.
DRAWN_FAULTS: Final = (
    "rate_limit",
    "rate_limit_no_header",
    "server_error",
    "bad_gateway",
    "unavailable",
    "reset",
    "truncate",
    "stall",
    "non_json",
)

#: Every key of :attr:`FakeServer.faults_injected`: the drawn faults plus the limits.
FAULT_KINDS: Final = (*DRAWN_FAULTS, "max_concurrency", "max_rate")


def utc_now(now: object) -> dt.datetime:
    """Check a fake's ``now`` argument and return it in UTC.

    Every fake takes the instant its dataset ends at the same way: an aware datetime,
    or ``None`` for the current time in whole seconds. A naive datetime, or anything
    else, is a :class:`TypeError`.
    """
    if now is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    if not isinstance(now, dt.datetime) or now.utcoffset() is None:
        msg = "now must be an aware datetime"
        raise TypeError(msg)
    return now.astimezone(dt.UTC)


def _probability(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{attribute.name} must be a number, got {type(value).__name__}"
        raise TypeError(msg)
    if not 0.0 <= value <= 1.0:
        msg = f"{attribute.name} must be between 0 and 1, got {value!r}"
        raise ValueError(msg)


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{attribute.name} must be a number, got {type(value).__name__}"
        raise TypeError(msg)
    if value < 0:
        msg = f"{attribute.name} must not be negative, got {value!r}"
        raise ValueError(msg)


def _positive_or_none(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{attribute.name} must be a number or None, got {type(value).__name__}"
        raise TypeError(msg)
    if value <= 0:
        msg = f"{attribute.name} must be positive, got {value!r}"
        raise ValueError(msg)


@attrs.frozen
class FaultPlan:
    """How often a fake server misbehaves, per request, reproducibly.

    Each request takes exactly one draw from ``random.Random(seed)`` in arrival order,
    so the same sequence of requests meets the same faults. The probabilities of the
    drawn kinds must add up to at most 1. ``max_concurrency`` and ``max_rate`` are not
    drawn: they answer 429 (without ``Retry-After``) whenever the client goes above them.
    """

    rate_limit: float = attrs.field(default=0.0, validator=_probability)
    """Probability of a 429 carrying ``Retry-After: <retry_after>``."""
    rate_limit_no_header: float = attrs.field(default=0.0, validator=_probability)
    """Probability of a 429 without ``Retry-After``."""
    server_error: float = attrs.field(default=0.0, validator=_probability)
    """Probability of a 500."""
    bad_gateway: float = attrs.field(default=0.0, validator=_probability)
    """Probability of a 502."""
    unavailable: float = attrs.field(default=0.0, validator=_probability)
    """Probability of a 503."""
    reset: float = attrs.field(default=0.0, validator=_probability)
    """Probability of the connection being dropped before any response."""
    truncate: float = attrs.field(default=0.0, validator=_probability)
    """Probability of a body cut short (``Content-Length`` larger than what is sent)."""
    stall: float = attrs.field(default=0.0, validator=_probability)
    """Probability of waiting ``stall_seconds`` before answering normally."""
    stall_seconds: float = attrs.field(default=5.0, validator=_non_negative)
    """How long a stalled request waits."""
    non_json: float = attrs.field(default=0.0, validator=_probability)
    """Probability of a 200 whose body is HTML instead of JSON."""
    retry_after: float = attrs.field(default=0.0, validator=_non_negative)
    """The value sent in ``Retry-After``, in seconds."""
    max_concurrency: int | None = attrs.field(default=None, validator=_positive_or_none)
    """Answer 429 while more than this many requests are in flight."""
    max_rate: float | None = attrs.field(default=None, validator=_positive_or_none)
    """Answer 429 above this many accepted requests in any sliding one-second window."""
    seed: int = 0
    """Seed of the per-request draws."""

    def __attrs_post_init__(self) -> None:
        total = sum(getattr(self, kind) for kind in DRAWN_FAULTS)
        if total > 1.0 + 1e-9:
            msg = f"fault probabilities add up to {total:g}, more than 1"
            raise ValueError(msg)

    def draw(self, rng: random.Random) -> str | None:
        """Return the fault kind for one request (or ``None``), using one draw of *rng*."""
        point = rng.random()
        for kind in DRAWN_FAULTS:
            point -= getattr(self, kind)
            if point < 0:
                return kind
        return None
