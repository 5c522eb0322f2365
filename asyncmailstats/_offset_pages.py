"""The offset page stream: ordered, bounded prefetch over ``fetch(offset, count)``.

:class:`OffsetPages` asks for the first page alone (it tells the total), then keeps up to
``prefetch`` later pages in flight through the provider's limiter and retry path, and
yields them strictly in order; the page after the window goes out before a page is
decoded (see :data:`~._client.DECODE_TURN`). :mod:`._paging` wraps it for users.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Self, TypeVar

import attrs

from ._client import DECODE_TURN
from .exceptions import ResultWindowError

T = TypeVar("T")

#: ``fetch(offset, count)`` returns the page's items and the provider's total.
Fetch = Callable[[int, int], Awaitable[tuple[Sequence[T], int]]]


@attrs.frozen(slots=True)
class Page(Generic[T]):
    """One page of a stream.

    Attributes:
        items: The page's items, in the provider's order.
        offset: The position of the first item in the whole result.
        total: How many items the provider reported in all (``None`` if unknown).
    """

    items: tuple[T, ...]
    offset: int
    total: int | None


def _retrieve(task: asyncio.Task[object]) -> None:
    # Mark the exception of an abandoned page as retrieved; awaiting still raises it.
    if not task.cancelled():
        task.exception()


class _Turn:
    """When one prefetched page is decoded: once the stream has reached it.

    The page's request awaits the turn (see :data:`DECODE_TURN`) between receiving a
    successful response and decoding it. The stream waits for the page to arrive, sends
    the request that refills the window, and only then lets the page be decoded: pages
    are decoded one at a time, in order, while the requests after them are already out.
    """

    __slots__ = ("arrived", "granted")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.arrived: asyncio.Future[None] = loop.create_future()
        self.granted: asyncio.Future[None] = loop.create_future()

    async def __call__(self) -> None:
        if not self.arrived.done():
            self.arrived.set_result(None)
        if not self.granted.done():
            await self.granted

    def grant(self) -> None:
        if not self.granted.done():
            self.granted.set_result(None)

    def ended(self, task: asyncio.Task[object]) -> None:
        # A page that failed, or ended without a successful response, has arrived too.
        _retrieve(task)
        if not self.arrived.done():
            self.arrived.set_result(None)


async def _page(fetch: Fetch[T], turn: _Turn, offset: int, count: int) -> tuple[Sequence[T], int]:
    DECODE_TURN.set(turn)  # in this page's own task context only
    return await fetch(offset, count)


class OffsetPages(Generic[T]):
    """Pages ``[start, min(total, start + limit, ceiling))`` of an offset-paged endpoint.

    ``first`` is the first page when it was fetched already, as ``(count asked for,
    items, total)``: the stream starts from it instead of requesting it again.
    """

    def __init__(
        self,
        fetch: Fetch[T],
        *,
        page_size: int,
        prefetch: int,
        limit: int | None,
        ceiling: int | None = None,
        narrow_hint: str = "",
        first: tuple[int, Sequence[T], int] | None = None,
    ) -> None:
        self._fetch = fetch
        self._given = first
        self._page_size = page_size
        self._prefetch = prefetch
        self._limit = limit
        self._ceiling = ceiling
        self._narrow_hint = narrow_hint
        self._window: collections.deque[
            tuple[int, int, asyncio.Task[tuple[Sequence[T], int]], _Turn]
        ] = collections.deque()
        self._next = 0
        self._end: int | None = None  # known once the first page told the total
        self._total: int | None = None
        self._done = False
        self._shrunk = False
        # Cancelled page requests that may still be unwinding; aclose() waits for them.
        self._stopping: list[asyncio.Task[tuple[Sequence[T], int]]] = []

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Page[T]:
        if self._done:
            raise StopAsyncIteration
        try:
            if self._end is None:
                return await self._first()
            if not self._window:
                self._finish()
            offset, count, task, turn = self._window[0]
            if not turn.arrived.done():
                await turn.arrived
            self._window.popleft()
            if task.done():
                items, total = task.result()
            else:
                # The response is in but not decoded yet: the next request goes out
                # first, and this page is decoded while it travels.
                self._fill()
                turn.grant()
                items, total = await task
            if len(items) < count:  # the result shrank since the first page: stop here
                self._cancel_window()
                self._end = offset + len(items)
                self._shrunk = True
            else:
                self._fill()
            return Page(tuple(items), offset, total)
        except BaseException:
            self._cancel_window()
            self._done = True
            raise

    async def _first(self) -> Page[T]:
        if self._given is not None:
            # Fetched already (a probe that told the total): not requested again.
            wanted, items, total = self._given
            self._given = None
        else:
            wanted = self._page_size if self._limit is None else min(self._page_size, self._limit)
            if self._ceiling is not None:
                wanted = min(wanted, self._ceiling)
            if wanted <= 0:
                self._done = True
                raise StopAsyncIteration
            token = DECODE_TURN.set(None)  # decoded at once: the first page tells the total
            try:
                items, total = await self._fetch(0, wanted)
            finally:
                DECODE_TURN.reset(token)
        self._total = total
        end = self._bound(total)
        if len(items) < wanted:
            end = min(end, len(items))
            self._shrunk = True
        self._end = end
        self._next = wanted
        self._fill()
        return Page(tuple(items), 0, total)

    def _bound(self, total: int) -> int:
        """Return where the stream ends: the total, cut by the limit and the ceiling."""
        end = total
        if self._limit is not None:
            end = min(end, self._limit)
        if self._ceiling is not None:
            end = min(end, self._ceiling)
        return end

    def _fill(self) -> None:
        end = self._end
        assert end is not None  # noqa: S101 - set by _first
        if len(self._window) >= self._prefetch or self._next >= end:
            return
        loop = asyncio.get_running_loop()
        while len(self._window) < self._prefetch and self._next < end:
            count = min(self._page_size, end - self._next)
            turn = _Turn(loop)
            task = loop.create_task(_page(self._fetch, turn, self._next, count))
            task.add_done_callback(turn.ended)
            self._window.append((self._next, count, task, turn))
            self._next += count

    def _finish(self) -> None:
        self._done = True
        total, ceiling = self._total, self._ceiling
        beyond = not self._shrunk and total is not None and ceiling is not None and total > ceiling
        wanted_more = self._limit is None or self._limit > (ceiling or 0)
        if beyond and wanted_more:
            assert total is not None  # noqa: S101
            assert ceiling is not None  # noqa: S101
            hint = f"; {self._narrow_hint}" if self._narrow_hint else ""
            msg = (
                f"reached the provider's offset ceiling: only {ceiling} of {total} results "
                f"can be paged{hint}"
            )
            raise ResultWindowError(msg, total=total, ceiling=ceiling)
        raise StopAsyncIteration

    def _cancel_window(self) -> None:
        while self._window:
            task = self._window.popleft()[2]
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
        for entry in getattr(self, "_window", ()):
            entry[2].cancel()


#: The raw page stream of an offset-paged endpoint, for composing streams.
offset_pages = OffsetPages
