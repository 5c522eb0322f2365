"""The offset page stream: ordered, bounded prefetch that stays exact over a live list.

It reads a :class:`~._page_source.PagedEndpoint` (a request per page, and a pure parser
of each reply). :class:`OffsetPages` asks for the first page alone (it tells the
total), then keeps up to ``prefetch`` later pages in flight and yields them strictly in
order. It owns when a page is parsed: on the consumer's task, in order, after the
request that refills the window has gone out.

Over a live list (records arriving while the stream runs) offsets move. With a natural
``key`` for the records, every page after the first re-reads the last record of the page
before it (the anchor): finding it where the previous page left it proves the two pages
meet; finding it further on means records arrived before it, and what precedes it is
dropped as already yielded; not finding it at all sends one page around where the
anchor should be now (by how much the total moved) and, failing that, raises
:class:`~asyncmailstats.PagingError`. For a list whose order is stable (newest first by
an immutable time, or sorted by the key itself) this yields every record that existed
for the whole stream exactly once; for one sorted by a value that changes, a moved
anchor is reported, not guessed at. A page shorter than asked before the total is
reached is not the end: the stream goes on from where it stopped, and adopts a smaller
page size the server states (or shows twice in a row).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Hashable, Sequence
from typing import Any, Generic, Self, TypeVar

from . import _offset_parts as parts
from ._offset_parts import MAX_SEARCH_PAGES, REALIGN_ATTEMPTS, Request, retrieve, scan_from
from ._page_source import Fetch, Page, PagedEndpoint, Parsed, from_fetch
from .exceptions import PagingError

__all__ = ["MAX_SEARCH_PAGES", "REALIGN_ATTEMPTS", "OffsetPages", "offset_pages"]

T = TypeVar("T")


class OffsetPages(Generic[T]):
    """Pages of an offset-paged endpoint, up to its total, ``limit`` and ``ceiling``.

    ``first`` is the first page when it was fetched already, as ``(count asked for,
    parsed page)``: the stream starts from it instead of requesting it again. A
    plain ``fetch(offset, count) -> (items, total)`` function may stand for the
    endpoint. Reaching the ``ceiling`` before the total raises ``ResultWindowError``,
    or, with ``stop_at_ceiling``, ends the stream and sets :attr:`stopped_at_ceiling`
    (for a caller that goes on another way, such as a narrower date window).
    """

    def __init__(
        self,
        source: PagedEndpoint[T, Any] | Fetch[T],
        *,
        page_size: int,
        prefetch: int,
        limit: int | None,
        ceiling: int | None = None,
        narrow_hint: str = "",
        first: tuple[int, Parsed[T]] | None = None,
        stop_at_ceiling: bool = False,
    ) -> None:
        if not isinstance(source, PagedEndpoint):
            source = from_fetch(source)
        self._source: PagedEndpoint[T, Any] = source
        self._key = source.key
        self._given = first
        self._page_size = page_size
        self._prefetch = prefetch
        self._limit = limit
        self._ceiling = ceiling
        self._narrow_hint = narrow_hint
        self._stop_at_ceiling = stop_at_ceiling
        #: Whether the stream stopped at the ceiling before its total (with
        #: ``stop_at_ceiling``, instead of raising ``ResultWindowError``).
        self.stopped_at_ceiling = False
        self._window: collections.deque[Request] = collections.deque()
        self._started = False
        self._next = 0  # where the next planned request's new records start
        self._end = 0  # where planning stops, as far as the last page tells
        self._base = 0  # the position after the last page read, in its snapshot
        self._anchor: Hashable = None  # the key of the last record read
        self._anchor_item: T | None = None
        self._has_anchor = False
        self._total: int | None = None
        self._growth = 0  # how much the total grew between the last two pages
        self._stalled = 0  # pages in a row that brought nothing new
        self._yielded = 0
        self._short: int | None = None  # the length of the last short page
        self._reached = False  # the last page reached the total
        # A page went past the total its reply gave: the provider's totals understate
        # the list, so only a short or empty page can tell where it ends.
        self._understated = False
        self._done = False
        self._running = False
        # Cancelled page requests that may still be unwinding; aclose() waits for them.
        self._stopping: list[asyncio.Task[Any]] = []

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Page[T]:
        if self._running:
            msg = "anext(): this page stream is already being iterated by another task"
            raise RuntimeError(msg)
        if self._done:
            raise StopAsyncIteration
        self._running = True
        try:
            while True:
                first = not self._started
                page = await self._step()
                if page.items or first:
                    return page
        except BaseException:
            self._cancel_window()
            self._done = True
            raise
        finally:
            self._running = False

    # ------------------------------------------------------------------ steps

    async def _step(self) -> Page[T]:
        if not self._started:
            self._started = True
            return await self._first()
        if self._reached or self._limit_reached() or not self._window:
            self._finish()
        request = self._window[0]
        if not request.task.done():
            await asyncio.wait((request.task,))
        self._window.popleft()
        raw = request.task.result()
        # The request that refills the window goes out before this page is parsed.
        if self._fill():
            await asyncio.sleep(0)
        parsed = self._source.parse(raw)
        return await self._take(request.offset, request.count, parsed)

    async def _first(self) -> Page[T]:
        if self._given is not None:
            wanted, parsed = self._given
            self._given = None
        else:
            wanted = self._page_size if self._limit is None else min(self._page_size, self._limit)
            if self._ceiling is not None:
                wanted = min(wanted, self._ceiling)
            if wanted <= 0:
                self._done = True
                raise StopAsyncIteration
            parsed = await self._get(0, wanted)
        return await self._take(0, wanted, parsed)

    async def _get(self, offset: int, count: int) -> Parsed[T]:
        return self._source.parse(await self._source.fetch(offset, count))

    async def _take(self, offset: int, count: int, parsed: Parsed[T]) -> Page[T]:
        """Read one page: re-align it, note where the stream is, plan what comes next."""
        self._adopt(parsed.limit)
        items = parsed.items
        if offset + len(items) > parsed.total:
            self._understated = True
        if self._understated and not items:
            # Past an understated total, an empty page is the end of the list.
            self._reached = True
            self._cancel_window()
            return Page((), self._yielded, parsed.total)
        if not items and offset < parsed.total:
            self._empty(offset, parsed.total)
        start = self._align(offset, items)
        if start is None:
            offset, count, parsed = await self._search(offset, items, parsed.total)
            items = parsed.items
            start = self._align(offset, items)
            assert start is not None  # noqa: S101 - _search returns a page holding it
        if self._understated:
            parsed = self._bounded(parsed, offset)
        if not self._source.stable and self._has_anchor:
            self._check_unmoved(offset, start, items, parsed.total)
        fresh = tuple(items[start:]) if start else tuple(items)
        self._progress(fresh, offset + len(items), parsed.total)
        position = self._yielded
        self._yielded += len(fresh)
        # Pages of one record cannot overlap: such a stream pages by position alone.
        self._has_anchor = self._key is not None and self._page_size > 1
        if items and self._key is not None:
            last = items[-1]
            self._anchor_item = last
            self._anchor = self._key(last)
        self._base = offset + len(items)
        if self._total is not None:
            self._growth = max(0, parsed.total - self._total)
        self._total = parsed.total
        self._plan(offset, count, len(items), parsed.total)
        return Page(fresh, position, parsed.total)

    def _bounded(self, parsed: Parsed[T], offset: int) -> Parsed[T]:
        """Return *parsed* with a total one page past what it served.

        Used once a reply's total has been found below what was served: the totals
        cannot tell where the list ends, and a short page may be a cap, so the stream
        asks on until a page comes back empty.
        """
        end = offset + len(parsed.items) + self._page_size
        return Parsed(parsed.items, max(end, parsed.total), parsed.limit)

    def _progress(self, fresh: Sequence[T], base: int, total: int) -> None:
        """Give up on a list that grows ahead of the stream faster than it is read.

        *base* is where the page just read ends, *total* the total it reported.
        """
        if fresh or base >= total:
            self._stalled = 0
            return
        self._stalled += 1
        if self._stalled > REALIGN_ATTEMPTS:
            msg = parts.outpaced(self._label(), self._page_size, self._total, total, self._stalled)
            raise self._error(msg, offset=base, total=total)

    def _plan(self, offset: int, count: int, got: int, total: int) -> None:
        """Decide what to request next after a page of *got* records out of *count*."""
        end = total
        if self._ceiling is not None:
            end = min(end, self._ceiling)
        if self._limit is not None:
            end = min(end, self._base + self._limit - self._yielded)
        self._end = end
        if self._base >= total:
            self._reached = True
            self._cancel_window()
            return
        if got < count and offset + got < end:
            # A short page before the total: go on from where it stopped. The pages in
            # flight were planned to start after it, so they are dropped.
            if got == self._short:
                self._page_size = got  # the same short length twice in a row: a cap
            self._short = got
            self._cancel_window()
        else:
            self._short = None
        if not self._window:
            # Nothing in flight (or what was is dropped): the next page starts here.
            self._next = self._base
        self._fill()

    def _align(self, offset: int, items: Sequence[T]) -> int | None:
        """Return the index of the first record not read yet, or ``None`` if lost.

        Without an anchor (the first page, or no key) pages meet by position.
        """
        if not self._has_anchor:
            return max(0, min(self._base - offset, len(items)))
        key = self._key
        assert key is not None  # noqa: S101 - only keyed streams have an anchor
        anchor = self._anchor
        expected = self._base - 1 - offset
        if 0 <= expected < len(items) and key(items[expected]) == anchor:
            return expected + 1
        for index, item in enumerate(items):
            if key(item) == anchor:
                return index + 1
        return None

    async def _search(
        self, offset: int, items: Sequence[T], total: int
    ) -> tuple[int, int, Parsed[T]]:
        """Find the anchor after a page that lost it; return the page that holds it.

        Records arriving at the head push the anchor on by as many places as the total
        grew, so the first page asked for starts just before where the total puts it.
        Records arriving anywhere (a list sorted by its key) put it somewhere between
        where it was and there, so the search then reads that stretch page by page.
        It fails (raising :class:`PagingError`) once the whole stretch was read without
        the anchor — records were removed or reordered — or when after a bounded number
        of replies the list still grows faster than it is read.
        """
        self._cancel_window()
        previous = self._total if self._total is not None else total
        if self._understated:
            # The totals say nothing of how the list moved: look a page on from where
            # the anchor was.
            total = max(total, previous)
        size = self._page_size
        was = self._base - 1  # where the anchor was when last seen
        scan: int | None = None  # where the page-by-page reading goes on
        asked = 0
        # Enough pages to read the stretch the total's change allows, and a few more.
        while asked < REALIGN_ATTEMPTS + min(max(0, total - previous) // size, MAX_SEARCH_PAGES):
            moved = total - previous
            furthest = max(0, was + moved)  # every arrival ahead of the anchor
            if self._ceiling is not None and furthest >= self._ceiling - 1:
                self._at_ceiling(total)  # pushed past what offsets can reach
            scan = scan_from(scan, offset, len(items), furthest, max(0, was + min(0, moved) - 1))
            if scan is not None and scan > furthest:
                break  # the whole stretch was read
            at = max(0, furthest - 1) if scan is None else scan
            count = size
            if self._ceiling is not None:
                at = min(at, max(0, self._ceiling - count))
                count = min(count, self._ceiling - at)
            parsed = await self._get(at, count)
            asked += 1
            offset, items, total = at, parsed.items, parsed.total
            if self._align(offset, items) is not None:
                return offset, count, parsed
            if scan is not None:
                scan = at + max(1, len(items) - 1)  # the next page re-reads this one's last
        self._lost(offset, total)
        raise AssertionError  # pragma: no cover - _lost raises

    def _check_unmoved(self, offset: int, start: int, items: Sequence[T], total: int) -> None:
        shift = offset + start - self._base
        if shift == 0 and items[start - 1] == self._anchor_item:
            return
        msg = parts.moved(self._label(), shift, self._total, total)
        raise self._error(msg, offset=self._base, total=total)

    def _adopt(self, limit: int | None) -> None:
        # The server says it serves smaller pages than asked: ask for what it serves.
        if limit is not None and 0 < limit < self._page_size:
            self._page_size = limit

    def _fill(self) -> bool:
        """Send requests until ``prefetch`` are in flight or the plan ends; return if any."""
        sent = False
        if len(self._window) >= self._prefetch or self._next >= self._end:
            return sent
        loop = asyncio.get_running_loop()
        size = self._page_size
        overlap = 1 if self._has_anchor else 0
        fetch = self._source.fetch
        while len(self._window) < self._prefetch and self._next < self._end:
            offset = self._next - overlap if self._next > 0 else 0
            # Up to the end the last page told, and as far again as the list just grew.
            count = min(size, self._end + self._growth - offset)
            if self._ceiling is not None:
                count = min(count, self._ceiling - offset)
            if count <= 0 or offset + count <= self._next:
                break
            task = loop.create_task(fetch(offset, count))
            task.add_done_callback(retrieve)
            self._window.append(Request(offset, count, task))
            self._next = offset + count
            sent = True
        return sent

    # ------------------------------------------------------------------ endings

    @property
    def total(self) -> int | None:
        """The total the provider reported with the last page read (``None`` before)."""
        return self._total

    def _limit_reached(self) -> bool:
        return self._limit is not None and self._yielded >= self._limit

    def _finish(self) -> None:
        self._done = True
        self._cancel_window()
        total, ceiling = self._total, self._ceiling
        if self._reached or self._limit_reached() or total is None or ceiling is None:
            raise StopAsyncIteration
        if total > ceiling and self._base >= ceiling:
            self._at_ceiling(total)
        raise StopAsyncIteration

    def _at_ceiling(self, total: int) -> None:
        """End the stream at the ceiling: quietly if asked to, else with an error."""
        ceiling = self._ceiling
        assert ceiling is not None  # noqa: S101 - only called with a ceiling
        self._done = True
        self._cancel_window()
        if self._stop_at_ceiling:
            self.stopped_at_ceiling = True
            raise StopAsyncIteration
        raise parts.ceiling_error(total, ceiling, self._narrow_hint)

    def _label(self) -> str:
        return self._source.label or "paged endpoint"

    def _error(self, msg: str, *, offset: int, total: int) -> PagingError:
        return PagingError(
            msg,
            endpoint=self._source.label or None,
            offset=offset,
            total=total,
            previous_total=self._total,
        )

    def _empty(self, offset: int, total: int) -> None:
        msg = parts.empty_page(self._label(), offset, total)
        raise self._error(msg, offset=offset, total=total)

    def _lost(self, offset: int, total: int) -> None:
        msg = parts.lost(self._label(), self._base - 1, self._total, total)
        raise self._error(msg, offset=offset, total=total)

    # ------------------------------------------------------------------ closing

    def _cancel_window(self) -> None:
        while self._window:
            task = self._window.popleft().task
            if task.cancel():
                self._stopping.append(task)

    def cancel(self) -> None:
        """Cancel every page request in flight now, without waiting (see :meth:`aclose`)."""
        self._done = True
        self._cancel_window()

    async def aclose(self) -> None:
        """Cancel every page request in flight and wait until they have stopped."""
        self.cancel()
        tasks, self._stopping = self._stopping, []
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def __del__(self) -> None:
        # Leaving a loop without aclose(): cancel now rather than when GC runs a finalizer.
        for request in getattr(self, "_window", ()):
            request.task.cancel()


#: The raw page stream of an offset-paged endpoint, for composing streams.
offset_pages = OffsetPages
