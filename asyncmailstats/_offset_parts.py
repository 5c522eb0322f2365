"""The pieces of the offset page stream that hold none of its state.

The record of a page request in flight, where the search for a lost anchor reads next,
and the wording of the errors the stream raises. :mod:`._offset_pages` is the stream.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ._fanout import retrieve
from .exceptions import ResultWindowError

__all__ = [
    "MAX_SEARCH_PAGES",
    "REALIGN_ATTEMPTS",
    "Request",
    "ceiling_error",
    "empty_page",
    "lost",
    "moved",
    "outpaced",
    "retrieve",
    "scan_from",
]

#: How many pages the stream asks for to find its anchor after losing it, beyond those
#: needed to read the stretch the total's change allows (at most :data:`MAX_SEARCH_PAGES`).
REALIGN_ATTEMPTS = 4
MAX_SEARCH_PAGES = 16


def scan_from(scan: int | None, offset: int, got: int, furthest: int, lowest: int) -> int | None:
    """Return where a search reads next page by page, or ``None`` to look at *furthest*.

    The search looks where head growth puts the anchor until a reply covering that
    place lacks it; then it reads from *lowest* on, skipping what the last reply (*got*
    records from *offset*) covered.
    """
    if scan is None:
        if not offset <= furthest < offset + got:
            return None
        scan = lowest
    if offset <= scan < offset + got - 1:
        scan = offset + got - 1
    return scan


class Request:
    """One page request in flight: where it starts, how many it asked for, its task."""

    __slots__ = ("count", "offset", "task")

    def __init__(self, offset: int, count: int, task: asyncio.Task[Any]) -> None:
        self.offset = offset
        self.count = count
        self.task = task


def outpaced(label: str, page_size: int, previous: int | None, total: int, stalled: int) -> str:
    """Say that the list grows ahead of the stream faster than pages can read it."""
    return (
        f"{label}: the result grows ahead of the stream faster than pages "
        f"of {page_size} can read it ({previous} -> {total} results, "
        f"{stalled} pages in a row with nothing new); ask for larger pages "
        "or read a period that has ended"
    )


def moved(label: str, shift: int, previous: int | None, total: int) -> str:
    """Say that the anchor moved by *shift* places (or changed) in an unstable order."""
    what = f"moved by {shift:+d} places" if shift else "changed its values"
    return (
        f"{label}: the result changed while it was paged (the record read last "
        f"{what}; total {previous} -> {total}), and its order depends on values that "
        "change, so the stream cannot tell what it missed; sort by the key instead, or "
        "read a period that has ended"
    )


def empty_page(label: str, offset: int, total: int) -> str:
    """Say that a page before the total came back empty."""
    return (
        f"{label}: the page at offset {offset} came back empty although the "
        f"total says {total} results; the server's total does not match what it serves "
        "(a total that ignores the filter?), so the stream stops rather than miss records"
    )


def lost(label: str, anchor_at: int, previous: int | None, total: int) -> str:
    """Say that the anchor, last read at *anchor_at*, could not be found again."""
    return (
        f"{label}: the result moved while it was paged and the stream could not "
        f"find where it had got to: the record read last (at offset {anchor_at}) "
        f"is neither where the next page expected it nor near where the total's change "
        f"({previous} -> {total}) would put it; records were removed or reordered, "
        "so going on could skip or repeat some"
    )


def ceiling_error(total: int, ceiling: int, narrow_hint: str) -> ResultWindowError:
    """Return the error for a total past the provider's offset *ceiling*."""
    hint = f"; {narrow_hint}" if narrow_hint else ""
    msg = (
        f"reached the provider's offset ceiling: only {ceiling} of {total} results "
        f"can be paged{hint}"
    )
    return ResultWindowError(msg, total=total, ceiling=ceiling)
