"""Fake servers that behave like live, busy and sloppy ones: :class:`LivePlan`.

A real provider keeps recording while a client pages through it, and its pager is not
always honest: it may cap the page size, return short or empty pages, or report a total
that is not the number of items it will serve. A :class:`LivePlan` makes a fake server
do all of that reproducibly, so a client's tests can prove they see every record exactly
once anyway.

Arrivals are driven by a counter, not by time: after each *list page* a server serves
(a paged endpoint answering 200, whatever a fault then does to the bytes) it records
``arrivals`` new records, so the same sequence of requests meets the same data.
``arrivals_per_second`` adds arrivals by wall clock for demos. :class:`_LiveFake` is the
part of a fake server that counts pages, shapes them and runs that clock; each provider
supplies what an arrival is through ``_arrive``.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Final

import attrs

from ._faults import FaultPlan
from ._server import FakeServer

#: The shortest and longest pause of the wall-clock arrivals task, in seconds.
_TICK_BOUNDS: Final = (0.005, 0.25)


def _count(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{attribute.name} must be an integer, got {type(value).__name__}"
        raise TypeError(msg)
    if value < 0:
        msg = f"{attribute.name} must not be negative, got {value!r}"
        raise ValueError(msg)


def _count_or_none(_: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None:
        _count(_, attribute, value)


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    _count(_, attribute, value)
    if value == 0:
        msg = f"{attribute.name} must be positive, got 0"
        raise ValueError(msg)


def _positive_or_none(_: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None:
        _positive(_, attribute, value)


def _rate(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{attribute.name} must be a number, got {type(value).__name__}"
        raise TypeError(msg)
    if not math.isfinite(value) or value < 0:
        msg = f"{attribute.name} must be a finite number >= 0, got {value!r}"
        raise ValueError(msg)


def _flag(_: object, attribute: attrs.Attribute[bool], value: bool) -> None:
    if not isinstance(value, bool):
        msg = f"{attribute.name} must be a bool, got {type(value).__name__}"
        raise TypeError(msg)


@attrs.frozen
class LivePlan:
    """How a fake server keeps recording and how sloppily it pages, reproducibly.

    Every field defaults to "off"; ``LivePlan()`` behaves like no plan at all. Pages are
    numbered from 1 in the order the server serves them, over all its list endpoints,
    counting from when the plan was set. A *list page* is a 200 answer of a paged
    endpoint: Postmark's messages, opens and clicks searches and a message's opens and
    clicks; EmailConsul's aggregated link stats and delivery time series. It counts when
    the endpoint builds it: a page a fault then truncates or stalls counts, a request a
    fault answers instead (429, 5xx, reset) does not, nor does a refused one (4xx).

    Arrival timestamps only ever increase and are strictly newer than every record the
    server holds: each arrival is 1 ms after the newest timestamp so far (wall-clock
    arrivals: at least the dataset's ``now`` plus the time since they began, at the
    server's start or :meth:`~asyncmailstats.testing.FakePostmark.set_live`).
    """

    arrivals: int = attrs.field(default=0, validator=_count)
    """New records after each list page: Postmark records this many opens *and* this many
    clicks (on messages of the ``outbound`` stream, every search's default), EmailConsul
    this many link logs."""
    message_arrivals: int = attrs.field(default=0, validator=_count)
    """New Postmark messages after each list page (EmailConsul ignores it)."""
    arrivals_after: int = attrs.field(default=0, validator=_count)
    """Arrivals follow a page only once this many list pages have been served: the first
    arrivals come after page ``max(arrivals_after, 1)``."""
    arrivals_per_second: float = attrs.field(default=0.0, validator=_rate)
    """Also record arrivals by wall clock while the server runs: this many per second of
    each kind (Postmark opens and clicks, and messages too if ``message_arrivals`` is
    set; EmailConsul link logs). For demos; tests use the page counter."""
    page_cap: int | None = attrs.field(default=None, validator=_positive_or_none)
    """Serve at most this many items per page. Postmark does so silently; EmailConsul
    says so in ``meta.limit``."""
    short_every: int = attrs.field(default=0, validator=_count)
    """Every ``short_every``-th list page (0: never) leaves out its last ``short_by``
    items, when it would otherwise have been full; the total stays as it is."""
    short_by: int = attrs.field(default=1, validator=_positive)
    """How many items a short page leaves out."""
    empty_from: int | None = attrs.field(default=None, validator=_count_or_none)
    """A list page whose offset is at least this comes back empty, whatever the total."""
    total: int | None = attrs.field(default=None, validator=_count_or_none)
    """Report this total on every list page instead of the real one."""
    total_ignores_filter: bool = attrs.field(default=False, validator=_flag)
    """Report the total without the date filter: Postmark's messages search counts the
    matches of its other filters without ``fromdate``/``todate``, EmailConsul counts the
    whole dataset's rows without ``period_from``/``period_to``. The items served still
    honour the dates. ``total`` wins when both are set."""

    def shape(self, number: int, offset: int, limit: int, available: int) -> tuple[int, int]:
        """Return how many items list page *number* serves and the total it reports.

        Args:
            number: The page's number (from 1) since the plan was set.
            offset: Where the page starts among the matching items.
            limit: How many items the request asked for.
            available: How many items match in all.
        """
        cap = limit if self.page_cap is None else min(limit, self.page_cap)
        take = max(0, min(cap, available - offset))
        if self.short_every and number % self.short_every == 0 and take == cap:
            take = max(0, take - self.short_by)
        if self.empty_from is not None and offset >= self.empty_from:
            take = 0
        return take, available if self.total is None else self.total


def _check_plan(live: object) -> LivePlan | None:
    if live is not None and not isinstance(live, LivePlan):
        msg = f"live must be a LivePlan or None, got {type(live).__name__}"
        raise TypeError(msg)
    return live


class _LiveFake(FakeServer):
    """The part of a fake server that counts list pages, shapes them and records arrivals.

    Subclasses call :meth:`_served_list_page` after building each list page and implement
    ``_arrive``, which records new records with timestamps newer than any so far.
    """

    def __init__(
        self, *, latency: float = 0.0, faults: FaultPlan | None = None, live: LivePlan | None
    ) -> None:
        super().__init__(latency=latency, faults=faults)
        self._live_plan = _check_plan(live)
        self._live_pages = 0
        self.pages_served: int = 0
        """How many list pages were served (since start or :meth:`reset_stats`)."""
        self._ticker: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()

    @property
    def live(self) -> LivePlan | None:
        """The live plan in force."""
        return self._live_plan

    def set_live(self, live: LivePlan | None) -> None:
        """Replace the live plan; page numbers (``arrivals_after``, ``short_every``) restart.

        Call it from the event loop the server runs on; wall-clock arrivals restart too.
        """
        self._live_plan = _check_plan(live)
        self._live_pages = 0
        if self.running:
            self._restart_ticker()

    def reset_stats(self) -> None:
        """Forget request counts and the number of list pages served (see FakeServer)."""
        super().reset_stats()
        self.pages_served = 0

    async def start(self, port: int = 0) -> None:
        """Start listening, then start the wall-clock arrivals if the plan asks for them."""
        await super().start(port)
        self._restart_ticker()

    async def close(self) -> None:
        """Stop the wall-clock arrivals, then the server. Idempotent."""
        self._stop_ticker()
        while self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
        await super().close()

    # -- what the endpoints call -------------------------------------------------------

    def _shape(self, offset: int, limit: int, available: int) -> tuple[int, int] | None:
        """Return (items to serve, total to report) for the next list page, or ``None``."""
        plan = self._live_plan
        if plan is None:
            return None
        return plan.shape(self._live_pages + 1, offset, limit, available)

    def _served_list_page(self) -> None:
        """Count a list page just built and record the arrivals that follow it."""
        self.pages_served += 1
        plan = self._live_plan
        if plan is None:
            return
        self._live_pages += 1
        wanted = plan.arrivals or plan.message_arrivals
        if wanted and self._live_pages >= plan.arrivals_after:
            self._arrive(plan.arrivals, plan.message_arrivals, None)

    def _arrive(self, records: int, messages: int, elapsed: float | None) -> None:
        """Record *records* new records (and *messages* new messages, where that applies).

        *elapsed* is ``None`` for arrivals after a page, else the seconds since the
        wall-clock arrivals began: their timestamps are at least ``now`` plus that.
        """
        raise NotImplementedError

    # -- arrivals by wall clock -------------------------------------------------------------

    def _restart_ticker(self) -> None:
        self._stop_ticker()
        plan = self._live_plan
        if plan is not None and plan.arrivals_per_second > 0:
            rate = plan.arrivals_per_second
            self._ticker = asyncio.get_running_loop().create_task(
                self._tick(rate, bool(plan.message_arrivals))
            )

    def _stop_ticker(self) -> None:
        task, self._ticker = self._ticker, None
        if task is not None and not task.done():
            task.cancel()
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def _tick(self, rate: float, messages: bool) -> None:
        """Record ``rate`` arrivals per second of each kind until cancelled."""
        loop = asyncio.get_running_loop()
        begun, done = loop.time(), 0
        pause = min(max(1.0 / rate, _TICK_BOUNDS[0]), _TICK_BOUNDS[1])
        while True:
            await asyncio.sleep(pause)
            elapsed = loop.time() - begun
            due = int(elapsed * rate) - done
            if due > 0:
                done += due
                self._arrive(due, due if messages else 0, elapsed)
