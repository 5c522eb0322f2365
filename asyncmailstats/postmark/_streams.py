"""Streams that go past Postmark's offset ceiling: date windows and per-message history.

Postmark pages its searches by offset, and ``count + offset`` may not exceed 10 000.
:func:`window_pages` reads any number of messages by splitting the date range into
windows of at most that many results; :func:`history_pages` reads every open or click by
fanning out over those messages.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import Final, TypeVar

from .._fanout import FanOut, fan_out
from .._paging import Page, offset_pages
from ..exceptions import NotFoundError
from ._wire import EASTERN, OFFSET_CEILING, Params, date_params, end_instant, start_instant
from .models import OutboundMessage

T = TypeVar("T")

#: Filters work to the second and both bounds are inclusive, so two windows that share
#: an edge may both return what happened during that second.
EDGE: Final = dt.timedelta(seconds=1)

#: Fetch one page of a search: ``(filters with dates, offset, count) -> (items, total)``.
SearchFetch = Callable[[Params, int, int], Awaitable[tuple[Sequence[OutboundMessage], int]]]

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
    start = start_instant(lower)
    end = end_instant(upper)
    span = end - start
    if span < 2 * EDGE:
        return None
    middle = (start + span / 2).astimezone(dt.UTC).replace(microsecond=0)
    for candidate in _around(middle):
        if start < candidate < end and unambiguous(candidate):
            return candidate
    return None


def _around(middle: dt.datetime) -> list[dt.datetime]:
    """Return *middle*, then points up to three hours after and before it."""
    steps = [dt.timedelta(minutes=15 * n) for n in range(1, 13)]
    return [middle, *(middle + step for step in steps), *(middle - step for step in steps)]


class _Probe:
    """One window of the date range and the request for its first page, sent at once.

    The reply tells the window's total; when the window is not split, it is also the
    window's first page, so that page is not requested twice.
    """

    __slots__ = ("count", "high", "low", "params", "task")

    def __init__(
        self, fetch: SearchFetch, filters: Params, low: dt.date, high: dt.date, count: int
    ) -> None:
        self.low = low
        self.high = high
        self.count = count
        self.params = filters + date_params(low, high)
        self.task = asyncio.ensure_future(fetch(self.params, 0, count))
        self.task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Task[object]) -> None:
    # Mark the exception of a dropped probe as retrieved; awaiting still raises it.
    if not task.cancelled():
        task.exception()


class _EdgeFilter:
    """Drops from a window what the newer window already yielded from their shared second."""

    __slots__ = ("_at_edge", "_edge_end", "_seen")

    def __init__(self) -> None:
        self._seen: frozenset[str] = frozenset()
        self._at_edge: set[str] = set()
        self._edge_end: dt.datetime | None = None

    @property
    def carried(self) -> int:
        """How many messages of the newer window the current one may repeat."""
        return len(self._seen)

    def start(self, low: dt.date) -> None:
        """Begin the next (older) window, whose lower bound is *low*."""
        self._seen = frozenset(self._at_edge)
        self._at_edge = set()
        self._edge_end = start_instant(low) + EDGE

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
        return fresh


async def window_pages(
    fetch: SearchFetch,
    filters: Params,
    lower: dt.date,
    upper: dt.date,
    *,
    page_size: int,
    prefetch: int,
    limit: int | None,
) -> AsyncGenerator[Page[OutboundMessage], None]:
    """Yield every message of ``[lower, upper]``, newest first, in windows under the ceiling.

    A window is probed to learn its total: with a request for one result when it is
    expected over the ceiling, else for its first page. A window over the ceiling is
    bisected in time, both halves are probed at once (through the limiter, like any
    request), and the newer half is read first. The probe of a window that is read is
    its first page: no page is requested twice. Neighbouring windows share their edge
    second, so nothing falling within it can be missed; the messages of that second seen
    in the newer window are remembered (only those) and skipped in the older one.

    Args:
        fetch: Fetches one page of the search.
        filters: The search filters, without dates.
        lower: The lower bound (a date or an aware datetime).
        upper: The upper bound, fixed for the whole stream.
        page_size: Messages per request.
        prefetch: Pages in flight at once within a window.
        limit: Stop after about this many messages (the caller cuts exactly).
    """
    full = page_size if limit is None else max(1, min(page_size, limit))
    # Without a limit, the whole range may well be split: its probe asks for one result.
    pending = [_Probe(fetch, filters, lower, upper, 1 if limit is None else full)]
    edges = _EdgeFilter()
    yielded = 0
    try:
        while pending and (limit is None or yielded < limit):
            probe = pending.pop()
            items, total = await probe.task
            if total > OFFSET_CEILING:
                middle = split_point(probe.low, probe.high)
                if middle is not None:
                    # A half expected over the ceiling is split again: one result tells
                    # its total. Any other half is probed with its first page.
                    count = 1 if total // 2 > OFFSET_CEILING else full
                    newer = _Probe(fetch, filters, middle, probe.high, count)
                    older = _Probe(fetch, filters, probe.low, middle, count)
                    pending += (older, newer)  # the newer half is popped first
                    continue
            # A window too narrow to split is read whatever its total: paging it then
            # stops at the ceiling with ResultWindowError.
            edges.start(probe.low)
            if total == 0:
                continue

            async def fetch_window(
                offset: int, count: int, window: Params = probe.params
            ) -> tuple[Sequence[OutboundMessage], int]:
                return await fetch(window, offset, count)

            pages = offset_pages(
                fetch_window,
                page_size=page_size,
                prefetch=prefetch,
                limit=None if limit is None else limit - yielded + edges.carried,
                ceiling=OFFSET_CEILING,
                narrow_hint=_WINDOW_HINT,
                # A probe for one result is not a page: the window is read from 0, but
                # its total is known, so its first page goes out with those after it.
                first=None if probe.count < full else (probe.count, items, total),
                total=total if probe.count < full else None,
            )
            try:
                async for page in pages:
                    fresh = edges.fresh(page.items)
                    if fresh:
                        yield Page(tuple(fresh), yielded, None)
                        yielded += len(fresh)
            finally:
                await pages.aclose()
    finally:
        dropped = [probe.task for probe in pending if probe.task.cancel()]
        if dropped:
            await asyncio.gather(*dropped, return_exceptions=True)


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
