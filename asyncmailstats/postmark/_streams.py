"""Streams that go past Postmark's offset ceiling: date windows and per-message history.

Postmark pages its searches by offset, and ``count + offset`` may not exceed 10 000.
:func:`window_pages` reads any number of messages by splitting the date range into
windows of at most that many results; :func:`history_pages` reads every open or click by
fanning out over those messages.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, Final, TypeVar

from .._fanout import FanOut, fan_out, retrieve
from .._offset_pages import OffsetPages
from .._page_source import Page, PagedEndpoint, Parsed
from ..exceptions import NotFoundError, ResultWindowError
from ._args import EASTERN, Params, date_params, end_instant, start_instant
from ._wire import OFFSET_CEILING
from .models import OutboundMessage

T = TypeVar("T")

#: Filters work to the second and both bounds are inclusive, so two windows that share
#: an edge may both return what happened during that second.
EDGE: Final = dt.timedelta(seconds=1)

#: The messages search with the given filters (dates included), as a paged endpoint.
Search = Callable[[Params], PagedEndpoint[OutboundMessage, Any]]

#: How many results a slice holds on average when a window over the ceiling is cut:
#: well below the ceiling, so that the slices of an uneven range are likely under it.
SLICE_TARGET: Final = 8_000

#: The most windows one stream plans: ~80 million messages at :data:`SLICE_TARGET`.
#: A total that would need more is refused at once rather than planned (or believed).
MAX_WINDOWS: Final = 10_000

#: How many cut points are placed between two turns of the event loop.
_PLAN_BATCH: Final = 256

_WINDOW_HINT: Final = (
    "the date range cannot be split further (over 10000 messages within one second, or "
    "within the hour repeated when daylight saving time ends); narrow it with filters"
)


def unambiguous(moment: dt.datetime) -> bool:
    """Return whether *moment*'s Eastern wall time names only this instant.

    When daylight saving time ends, the wall times of one hour occur twice; Postmark reads
    filters as wall times, so such a time may be read as either instant.
    """
    local = moment.astimezone(EASTERN)
    return local.replace(fold=1 - local.fold).utcoffset() == local.utcoffset()


def split_point(lower: dt.date, upper: dt.date) -> dt.datetime | None:
    """Return a whole second strictly inside ``[lower, upper]``, or ``None`` if too narrow.

    Bounds are what a filter covers: a date bound covers its whole Eastern day. The point
    is near the middle, moved out of the repeated hour when daylight saving time ends, so
    that Postmark reads the shared edge of the two halves as the instant meant here.
    """
    points = split_points(lower, upper, 2)
    return points[0] if points else None


def split_points(lower: dt.date, upper: dt.date, parts: int) -> list[dt.datetime]:
    """Return up to ``parts - 1`` whole seconds strictly inside ``[lower, upper]``, ascending.

    They cut the range into about *parts* equal slices. Like :func:`split_point` (the
    case of two parts), each point is moved out of the repeated hour when daylight saving
    time ends; a point that cannot be placed after the one before it is left out, so the
    points are distinct and there may be fewer of them. A range under two seconds has
    none.
    """
    return list(iter_split_points(lower, upper, parts))


def iter_split_points(lower: dt.date, upper: dt.date, parts: int) -> Iterator[dt.datetime]:
    """Yield the points of :func:`split_points` one by one (so a caller can pause)."""
    start = start_instant(lower)
    end = end_instant(upper)
    span = end - start
    if span < 2 * EDGE:
        return
    # No more slices than whole seconds: a larger count could not be placed anyway.
    parts = min(parts, int(span / EDGE))
    after = start
    for part in range(1, parts):
        target = (start + span * part / parts).astimezone(dt.UTC).replace(microsecond=0)
        for candidate in _around(target):
            if after < candidate < end and unambiguous(candidate):
                yield candidate
                after = candidate
                break


def _around(middle: dt.datetime) -> list[dt.datetime]:
    """Return *middle*, then points up to three hours after and before it."""
    steps = [dt.timedelta(minutes=15 * n) for n in range(1, 13)]
    return [middle, *(middle + step for step in steps), *(middle - step for step in steps)]


class _Window:
    """One window of the date range, and the request for its first page once sent.

    That request (the probe) tells the window's total. When the window is read rather
    than cut, the reply is also its first page, so no page is requested twice.
    """

    __slots__ = ("endpoint", "high", "low", "task")

    def __init__(self, low: dt.date, high: dt.date) -> None:
        self.low = low
        self.high = high
        self.endpoint: PagedEndpoint[OutboundMessage, Any] | None = None
        self.task: asyncio.Future[Any] | None = None

    @property
    def search(self) -> PagedEndpoint[OutboundMessage, Any]:
        """The window's search, once :meth:`probe` has made it."""
        assert self.endpoint is not None  # noqa: S101 - probe() sets it
        return self.endpoint

    def params(self, filters: Params) -> Params:
        """Return the search filters with this window's dates."""
        return filters + date_params(self.low, self.high)

    def probe(self, search: Search, filters: Params, count: int) -> None:
        """Send the request for the window's first *count* messages."""
        self.endpoint = search(self.params(filters))
        self.task = asyncio.ensure_future(self.endpoint.fetch(0, count))
        self.task.add_done_callback(retrieve)


class _Windows:
    """The windows still to read, newest last, and the probes sent ahead of reading them.

    At most ``ahead`` probes are out (sent and not yet taken) at once, so however many
    windows a range is cut into, the replies held are bounded; and one stream plans at
    most :data:`MAX_WINDOWS` windows, so a total that cannot be true costs no flood.
    """

    __slots__ = ("_ahead", "_count", "_filters", "_out", "_planned", "_search", "_todo")

    def __init__(
        self,
        search: Search,
        filters: Params,
        lower: dt.date,
        upper: dt.date,
        *,
        count: int,
        ahead: int,
    ) -> None:
        self._search = search
        self._filters = filters
        self._count = count
        self._ahead = ahead
        self._todo = [_Window(lower, upper)]
        self._out = 0
        self._planned = 1

    def __bool__(self) -> bool:
        return bool(self._todo)

    def push(self, window: _Window) -> None:
        """Put *window* back as the next one to read (the rest of one read in part)."""
        self._todo.append(window)
        self._planned += 1

    async def take(self) -> tuple[_Window, Parsed[OutboundMessage]]:
        """Remove the newest window; return it with its probe's reply (probed now if not yet)."""
        window = self._todo.pop()
        if window.task is None:
            window.probe(self._search, self._filters, self._count)
        else:
            self._out -= 1
        assert window.task is not None  # noqa: S101 - probe() sets it
        return window, window.search.parse(await window.task)

    async def cut(self, window: _Window, total: int, need: int | None) -> bool:
        """Put back *window* as slices to read first, if it has to be cut; return whether.

        It has to be when its *total* is over the ceiling and the stream needs more of it
        than the ceiling lets through (*need* is ``None`` for all of it). It is cut into
        ``ceil(total / SLICE_TARGET)`` slices, unless it is too narrow to cut at all.

        Raises:
            ResultWindowError: The slices would take the stream past :data:`MAX_WINDOWS`.
        """
        if total <= OFFSET_CEILING or (need is not None and need <= OFFSET_CEILING):
            return False
        parts = -(-total // SLICE_TARGET)
        if self._planned + parts > MAX_WINDOWS:
            msg = (
                f"Postmark reports {total} messages from {window.low} to {window.high}: "
                f"reading them would take {parts} date windows, more than the "
                f"{MAX_WINDOWS} one stream plans (or the reported total is wrong); narrow "
                "the date range or the filters"
            )
            raise ResultWindowError(msg, total=total, ceiling=OFFSET_CEILING)
        points = []
        for point in iter_split_points(window.low, window.high, parts):
            points.append(point)
            if len(points) % _PLAN_BATCH == 0:
                await asyncio.sleep(0)  # thousands of slices: let the loop run between
        if not points:
            return False
        bounds = [window.low, *points, window.high]
        self._todo += (_Window(low, high) for low, high in itertools.pairwise(bounds))
        self._planned += len(bounds) - 1
        if need is None:
            self._probe_ahead(self._ahead)
        return True

    def reading(self, total: int, need: int | None) -> None:
        """Probe the next windows while one of *total* messages is read up to *need*.

        Without a limit, up to ``ahead`` probes are out. With one, only the next window is
        probed, and only if this window cannot reach the limit by itself.
        """
        if need is None:
            self._probe_ahead(self._ahead)
        elif need > min(total, OFFSET_CEILING):
            self._probe_ahead(1)

    def _probe_ahead(self, most: int) -> None:
        # The newest windows not probed yet are probed first, up to *most* probes out.
        for window in reversed(self._todo):
            if self._out >= most:
                return
            if window.task is None:
                window.probe(self._search, self._filters, self._count)
                self._out += 1

    async def aclose(self) -> None:
        """Cancel the probes still out and wait until they have stopped."""
        tasks = [w.task for w in self._todo if w.task is not None and w.task.cancel()]
        self._todo.clear()
        self._out = 0
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


class _EdgeFilter:
    """Drops from a window what the newer window already yielded from their shared second.

    It also remembers the messages yielded within the second of the newest one read
    last (the *tail*): when a window grows past the ceiling while it is read, the rest
    of it is read as a window ending at that second, which repeats them.
    """

    __slots__ = ("_at_edge", "_edge_end", "_seen", "_tail", "_tail_second")

    def __init__(self) -> None:
        self._seen: frozenset[str] = frozenset()
        self._at_edge: set[str] = set()
        self._edge_end: dt.datetime | None = None
        self._tail: set[str] = set()
        self._tail_second: dt.datetime | None = None

    @property
    def upcoming(self) -> int:
        """How many messages of the current window the next (older) one may repeat."""
        return len(self._at_edge)

    @property
    def tail_second(self) -> dt.datetime | None:
        """The whole second of the last message yielded (``None`` before any)."""
        return self._tail_second

    def start(self, low: dt.date) -> None:
        """Begin the next (older) window, whose lower bound is *low*."""
        self._seen = frozenset(self._at_edge)
        self._at_edge = set()
        self._edge_end = start_instant(low) + EDGE

    def resume(self) -> None:
        """Let the next window also skip what was yielded within the tail second."""
        self._at_edge |= self._tail

    def fresh(self, messages: Sequence[OutboundMessage]) -> list[OutboundMessage]:
        """Return the messages not yielded before, remembering those at the lower edge."""
        assert self._edge_end is not None  # noqa: S101 - start() comes first
        fresh = []
        for message in messages:
            if message.message_id in self._seen:
                continue
            if message.received_at < self._edge_end:
                self._at_edge.add(message.message_id)
            fresh.append(message)
        if fresh:
            second = fresh[-1].received_at.replace(microsecond=0)
            if second != self._tail_second:
                self._tail = {m.message_id for m in fresh if m.received_at >= second}
                self._tail_second = second
            else:
                self._tail.update(m.message_id for m in fresh)
        return fresh


def _rest_of(window: _Window, edges: _EdgeFilter, total: int) -> _Window:
    """Return the part of *window* not read yet, after its stream stopped at the ceiling.

    That happens when messages arriving in the window push it past the ceiling while it
    is read: the rest is every message up to the second of the last one yielded (those
    of that second already yielded are skipped by *edges*).

    Raises:
        ResultWindowError: The rest would not be narrower (over 10 000 messages within
            one second), or its bound falls in the hour repeated when daylight saving
            time ends, where Postmark may read it as another instant.
    """
    second = edges.tail_second
    if second is None or end_instant(second) >= end_instant(window.high) or not unambiguous(second):
        msg = f"reached the provider's offset ceiling within one window; {_WINDOW_HINT}"
        raise ResultWindowError(msg, total=total, ceiling=OFFSET_CEILING)
    edges.resume()
    return _Window(window.low, second)


async def window_pages(
    search: Search,
    filters: Params,
    lower: dt.date,
    upper: dt.date,
    *,
    page_size: int,
    prefetch: int,
    limit: int | None,
) -> AsyncGenerator[Page[OutboundMessage], None]:
    """Yield every message of ``[lower, upper]``, newest first, in windows under the ceiling.

    Every window is probed with a request for its first page, which tells its total. A
    window within the ceiling is read from that page on: no page is requested twice. A
    window over it is cut at once into ``ceil(total / SLICE_TARGET)`` slices (at whole
    seconds unambiguous in Eastern time, see :func:`split_points`), read newest first;
    a slice still over the ceiling is cut again the same way, and one too narrow to cut
    is read anyway (paging it then stops at the ceiling with ``ResultWindowError``).

    Probes go through the search like pages do (so the limiter bounds them too), for the
    next windows while the current one is read: at most ``max(2, prefetch)`` probes are
    out at once, and with a *limit* only the next window's, and only if the current one
    cannot reach the limit. With a limit that the first 10 000 results of a window
    already reach, that window is read rather than cut.

    Neighbouring windows share their edge second, so nothing falling within it can be
    missed; the messages of that second seen in the newer window are remembered (only
    those) and skipped in the older one.

    Within a window, pages re-align over messages that arrive while it is read (see
    :class:`~asyncmailstats._offset_pages.OffsetPages`), by ``MessageID``.

    Args:
        search: The messages search for given filters, as a paged endpoint.
        filters: The search filters, without dates.
        lower: The lower bound (a date or an aware datetime).
        upper: The upper bound, fixed for the whole stream.
        page_size: Messages per request.
        prefetch: Pages in flight at once within a window.
        limit: Stop after about this many messages (the caller cuts exactly).
    """
    full = page_size if limit is None else max(1, min(page_size, limit))
    windows = _Windows(search, filters, lower, upper, count=full, ahead=max(2, prefetch))
    edges = _EdgeFilter()
    yielded = 0
    try:
        while windows and (limit is None or yielded < limit):
            window, first = await windows.take()
            total = first.total
            # How far into this window the stream may go (``None``: to its end).
            need = None if limit is None else limit - yielded + edges.upcoming
            if await windows.cut(window, total, need):
                continue
            edges.start(window.low)
            windows.reading(total, need)
            if total == 0 and not first.items:
                continue
            pages = OffsetPages(
                window.search,
                page_size=page_size,
                prefetch=prefetch,
                limit=need,
                ceiling=OFFSET_CEILING,
                narrow_hint=_WINDOW_HINT,
                first=(full, first),
                stop_at_ceiling=True,
            )
            try:
                async for page in pages:
                    fresh = edges.fresh(page.items)
                    if fresh:
                        yield Page(tuple(fresh), yielded, None)
                        yielded += len(fresh)
            finally:
                await pages.aclose()
            if pages.stopped_at_ceiling and (limit is None or yielded < limit):
                windows.push(_rest_of(window, edges, pages.total or total))
    finally:
        await windows.aclose()


async def history_pages(
    messages: AsyncIterator[OutboundMessage],
    fetch_all: Callable[[str], Awaitable[Sequence[T]]],
    tracked: Callable[[OutboundMessage], bool],
    *,
    concurrency: int,
) -> AsyncGenerator[Page[T], None]:
    """Yield the events (opens or clicks) of every message, fetched concurrently.

    Messages for which ``tracked`` is false are skipped without a request. Postmark
    answers "message not found" (ErrorCode 701) for the events of a message the search
    has just returned when that message has none, so that answer counts as no events.
    Any other error ends the stream and propagates; leaving early cancels the requests
    in flight.
    """

    async def events_of(message: OutboundMessage) -> Sequence[T]:
        if not tracked(message):
            return ()
        try:
            return await fetch_all(message.message_id)
        except NotFoundError:
            return ()

    offset = 0
    outcomes: FanOut[OutboundMessage, Sequence[T]] = fan_out(
        events_of, messages, concurrency=concurrency
    )
    try:
        async with outcomes:
            async for outcome in outcomes:
                events = outcome.unwrap()
                if events:
                    yield Page(tuple(events), offset, None)
                    offset += len(events)
    finally:
        aclose = getattr(messages, "aclose", None)
        if aclose is not None:
            await aclose()
