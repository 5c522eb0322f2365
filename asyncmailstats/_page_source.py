"""What a page stream reads: paged endpoints, their parsed replies, and pages.

A paged endpoint is a :class:`PagedEndpoint`: ``fetch(offset, count)`` sends the request
for one page through the provider's limiter and retry path (its status checked inside
each attempt) and returns the raw reply; ``parse(raw)`` turns that reply, without I/O,
into a :class:`Parsed` page — the records, the total the provider reported and the page
size it says it applies. Its ``key`` and ``stable`` say how pages re-align when the list
moves (see :mod:`._offset_pages`). :class:`Page` is what a stream yields.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Hashable, Sequence
from typing import Any, Generic, TypeVar

import attrs

T = TypeVar("T")
R = TypeVar("R")

#: ``fetch(offset, count)`` returns the page's items and the provider's total.
Fetch = Callable[[int, int], Coroutine[Any, Any, tuple[Sequence[T], int]]]


@attrs.frozen(slots=True)
class Page(Generic[T]):
    """One page of a stream.

    Attributes:
        items: The page's items, in the provider's order.
        offset: The position of the first item in the stream (items yielded before it).
        total: How many items the provider reported in all (``None`` if unknown).
    """

    items: tuple[T, ...]
    offset: int
    total: int | None


@attrs.frozen(slots=True)
class Parsed(Generic[T]):
    """One parsed reply of a paged endpoint.

    Attributes:
        items: The records of the page.
        total: The total the provider reported with it.
        limit: The page size the provider says it applied, if it says one.
    """

    items: Sequence[T]
    total: int
    limit: int | None = None


@attrs.frozen(slots=True)
class PagedEndpoint(Generic[T, R]):
    """An offset-paged endpoint, as the page stream sees it.

    Attributes:
        fetch: Sends the request for ``(offset, count)`` through the provider's limiter
            and retry path (status checked inside each attempt); returns the raw reply.
        parse: Turns a raw reply into a :class:`Parsed` page; pure, no I/O.
        key: The natural key of a record (unique within the result), used to re-align
            pages when the result moves; ``None`` pages by position only.
        stable: Whether records keep their relative order while new ones arrive (newest
            first by an immutable time, or sorted by the key). When false, a moved
            anchor raises instead of being re-aligned.
        label: The endpoint, for error messages.
    """

    fetch: Callable[[int, int], Coroutine[Any, Any, R]]
    parse: Callable[[R], Parsed[T]]
    key: Callable[[T], Hashable] | None = None
    stable: bool = True
    label: str = ""


def _as_parsed(reply: tuple[Sequence[Any], int]) -> Parsed[Any]:
    return Parsed(reply[0], reply[1])


def from_fetch(
    fetch: Fetch[T], *, key: Callable[[T], Hashable] | None = None
) -> PagedEndpoint[T, Any]:
    """Return the endpoint of a ``fetch(offset, count) -> (items, total)`` function."""
    return PagedEndpoint(fetch, _as_parsed, key)
