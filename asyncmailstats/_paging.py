"""One generic offset pager with ordered, bounded prefetch.

Providers supply a :class:`PagedEndpoint` (the request for a page, sent through the
retry path with its status checked, and a pure parser of the reply); this module owns
the loop, the prefetch window, the order pages are parsed in, and cancellation. Once the
first page has told the total, up to ``prefetch`` later pages are in flight at once
(through the provider's limiter and retry path, like any request) and are yielded
strictly in order, so memory stays bounded by ``prefetch`` pages. Leaving a stream early
cancels every page request still in flight.

The page stream itself is :class:`~._offset_pages.OffsetPages`; this module checks the
paging arguments and gives users the :class:`Paginator` around it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, Self, TypeVar

from ._closing import AsyncClosing
from ._offset_pages import OffsetPages, offset_pages
from ._page_source import Fetch, Page, PagedEndpoint, Parsed
from ._validate import check_int

__all__ = [
    "Fetch",
    "OffsetPages",
    "Page",
    "PageSource",
    "PagedEndpoint",
    "Paginator",
    "Parsed",
    "check_limit",
    "check_paging",
    "offset_pages",
    "offset_paginator",
]

T = TypeVar("T")


class PageSource(Protocol[T]):
    """An async iterator of pages that can be closed early."""

    def __aiter__(self) -> PageSource[T]: ...

    async def __anext__(self) -> Page[T]: ...

    async def aclose(self) -> None: ...


def check_limit(limit: object) -> int | None:
    """Validate a stream's ``limit`` (``None`` or an int >= 0)."""
    if limit is None:
        return None
    return check_int("limit", limit, 0)


def check_paging(limit: object, page_size: object, max_page_size: int, prefetch: object) -> int:
    """Validate paging arguments and return the page size to use.

    Raises:
        TypeError: An argument is not an int (or ``None`` where allowed).
        ValueError: An argument is out of range.
    """
    check_limit(limit)
    check_int("prefetch", prefetch, 1)
    if page_size is None:
        return max_page_size
    size = check_int("page_size", page_size, 1)
    if size > max_page_size:
        msg = f"page_size must be at most {max_page_size}, got {size}"
        raise ValueError(msg)
    return size


#: Tasks closing page sources that were dropped mid-stream; held here so they finish.
_CLOSING: set[asyncio.Task[None]] = set()


class _LimitedPages(AsyncClosing, Generic[T]):
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
        self._running = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Page[T]:
        if self._running:
            # Like an async generator: a second task would take pages meant for the first.
            msg = "anext(): this stream is already being iterated by another task"
            raise RuntimeError(msg)
        if self._done:
            raise StopAsyncIteration
        if self._remaining == 0:
            await self.aclose()
            raise StopAsyncIteration
        self._source_open = True
        self._running = True
        try:
            page = await self._source.__anext__()
        except StopAsyncIteration:
            self._done = True
            self._source_open = False
            raise
        except BaseException:
            self._done = True
            raise
        finally:
            self._running = False
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


class Paginator(AsyncClosing, Generic[T]):
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


def offset_paginator(
    fetch: PagedEndpoint[T, Any] | Fetch[T],
    *,
    limit: int | None,
    page_size: int | None,
    max_page_size: int,
    prefetch: int,
    ceiling: int | None = None,
    narrow_hint: str = "",
) -> Paginator[T]:
    """Validate the paging arguments now and return a :class:`Paginator` over *fetch*.

    *fetch* is the endpoint, or a plain ``fetch(offset, count) -> (items, total)``.

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
