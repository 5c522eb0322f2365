"""One generic offset pager with ordered, bounded prefetch.

Providers supply ``fetch(offset, count) -> (items, total)``; this module owns the loop,
the prefetch window and cancellation. Once the first page has told the total, up to
``prefetch`` later pages are in flight at once (through the provider's limiter and retry
path, like any request) and are yielded strictly in order, so memory stays bounded by
``prefetch`` pages. Leaving a stream early cancels every page request still in flight.
"""

from __future__ import annotations

import asyncio
import collections
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

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


class PageSource(Protocol[T]):
    """An async iterator of pages that can be closed early."""

    def __aiter__(self) -> PageSource[T]: ...

    async def __anext__(self) -> Page[T]: ...

    async def aclose(self) -> None: ...


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be an int, got {type(value).__name__}"
        raise TypeError(msg)
    if value < minimum:
        msg = f"{name} must be at least {minimum}, got {value}"
        raise ValueError(msg)
    return value


def check_limit(limit: object) -> int | None:
    """Validate a stream's ``limit`` (``None`` or an int >= 0)."""
    if limit is None:
        return None
    return _check_int("limit", limit, 0)


def check_paging(limit: object, page_size: object, max_page_size: int, prefetch: object) -> int:
    """Validate paging arguments and return the page size to use.

    Raises:
        TypeError: An argument is not an int (or ``None`` where allowed).
        ValueError: An argument is out of range.
    """
    check_limit(limit)
    _check_int("prefetch", prefetch, 1)
    if page_size is None:
        return max_page_size
    size = _check_int("page_size", page_size, 1)
    if size > max_page_size:
        msg = f"page_size must be at most {max_page_size}, got {size}"
        raise ValueError(msg)
    return size


#: Tasks closing page sources that were dropped mid-stream; held here so they finish.
_CLOSING: set[asyncio.Task[None]] = set()


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
    """Pages ``[start, min(total, start + limit, ceiling))`` of an offset-paged endpoint."""

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


class _LimitedPages(Generic[T]):
    """Pages of a source, cut at ``limit`` items; closes the source when it ends early."""

    def __init__(
        self,
        source: PageSource[T],
        limit: int | None,
        closing: set[asyncio.Task[None]] | None = None,
    ) -> None:
        self._source = source
        self._remaining = limit
        self._done = False
        self._source_open = False  # started and neither exhausted nor closed
        self._closing = closing

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Page[T]:
        if self._done:
            raise StopAsyncIteration
        if self._remaining == 0:
            await self.aclose()
            raise StopAsyncIteration
        self._source_open = True
        try:
            page = await self._source.__anext__()
        except StopAsyncIteration:
            self._done = True
            self._source_open = False
            raise
        except BaseException:
            self._done = True
            raise
        if self._remaining is not None:
            if len(page.items) >= self._remaining:
                page = Page(page.items[: self._remaining], page.offset, page.total)
            self._remaining -= len(page.items)
        return page

    @property
    def closed(self) -> bool:
        """Whether the stream has ended or was closed."""
        return self._done

    async def aclose(self) -> None:
        """Close the underlying source."""
        self._done = True
        self._source_open = False
        await self._source.aclose()

    def __del__(self) -> None:
        # Dropped mid-stream (a ``break``): stop the source's requests now, and close it
        # in a task the paginator's aclose() can wait for.
        if not getattr(self, "_source_open", False):
            return
        self._source_open = False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the source's own finaliser does what it can
        cancel = getattr(self._source, "cancel", None)
        if callable(cancel):
            cancel()
        task = loop.create_task(self._source.aclose())
        _CLOSING.add(task)
        task.add_done_callback(_CLOSING.discard)
        if self._closing is not None:
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class _Items(Generic[T]):
    """The items of a page stream, one by one."""

    __slots__ = ("_items", "_pages")

    def __init__(self, pages: _LimitedPages[T]) -> None:
        self._pages = pages
        self._items: Iterator[T] = iter(())

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        pages = self._pages
        if pages._done:  # noqa: SLF001 - closed early: the rest of a buffered page is dropped
            raise StopAsyncIteration
        for item in self._items:
            return item
        while True:
            self._items = iter((await pages.__anext__()).items)
            for item in self._items:
                return item

    async def aclose(self) -> None:
        """Stop the stream and cancel whatever is in flight."""
        await self._pages.aclose()


class Paginator(Generic[T]):
    """A stream of items, fetched page by page; returned without awaiting.

    ``async for item in paginator`` yields every item; :meth:`pages` yields
    :class:`Page` objects; :meth:`first_page` and :meth:`to_list` are awaitable
    shortcuts. Nothing is requested until iteration starts, and each iteration starts
    from the beginning. Leaving a loop early — ``break``, an exception, cancellation,
    :meth:`aclose` — cancels the page requests still in flight.
    """

    def __init__(
        self, open_pages: Callable[[int | None], PageSource[T]], *, limit: int | None = None
    ) -> None:
        self._open_pages = open_pages
        self._limit = check_limit(limit)
        self._open: weakref.WeakSet[_LimitedPages[T]] = weakref.WeakSet()
        self._closing: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"<Paginator limit={self._limit}>"

    def pages(self) -> _LimitedPages[T]:
        """Return an async iterator over the stream's pages (also an async context manager)."""
        pages = _LimitedPages(self._open_pages(self._limit), self._limit, self._closing)
        self._open.add(pages)
        return pages

    def __aiter__(self) -> _Items[T]:
        return _Items(self.pages())

    async def first_page(self) -> Page[T]:
        """Fetch and return the first page only (empty when there are no items)."""
        async with self.pages() as pages:
            async for page in pages:
                return page
        return Page((), 0, 0)

    async def to_list(self) -> list[T]:
        """Fetch every item (up to ``limit``) into a list."""
        result: list[T] = []
        async with self.pages() as pages:
            async for page in pages:
                result.extend(page.items)
        return result

    async def aclose(self) -> None:
        """Close every iteration of this paginator, and wait for those left by a ``break``."""
        for pages in list(self._open):
            await pages.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def offset_pages(
    fetch: Fetch[T],
    *,
    page_size: int,
    prefetch: int,
    limit: int | None,
    ceiling: int | None = None,
    narrow_hint: str = "",
    first: tuple[int, Sequence[T], int] | None = None,
) -> OffsetPages[T]:
    """Return the raw page stream of an offset-paged endpoint, for composing streams.

    ``first`` is the first page when it was fetched already, as ``(count asked for,
    items, total)``: the stream starts from it instead of requesting it again.
    """
    return OffsetPages(
        fetch,
        page_size=page_size,
        prefetch=prefetch,
        limit=limit,
        ceiling=ceiling,
        narrow_hint=narrow_hint,
        first=first,
    )


def offset_paginator(
    fetch: Fetch[T],
    *,
    limit: int | None,
    page_size: int | None,
    max_page_size: int,
    prefetch: int,
    ceiling: int | None = None,
    narrow_hint: str = "",
) -> Paginator[T]:
    """Validate the paging arguments now and return a :class:`Paginator` over *fetch*.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An argument is out of range.
    """
    size = check_paging(limit, page_size, max_page_size, prefetch)
    assert isinstance(prefetch, int)  # noqa: S101 - checked above

    def open_pages(lim: int | None) -> OffsetPages[T]:
        return offset_pages(
            fetch,
            page_size=size,
            prefetch=prefetch,
            limit=lim,
            ceiling=ceiling,
            narrow_hint=narrow_hint,
        )

    return Paginator(open_pages, limit=limit)
