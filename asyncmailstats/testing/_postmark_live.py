"""The fake Postmark server while it keeps recording: arrivals and shaped list pages.

New opens and clicks go to existing messages the way the generator made them: an open
to a delivered recipient of an open-tracked message who has not opened it yet (Postmark
keeps first opens only), a click to a delivered recipient of a link-tracked message on
one of its links that recipient has not clicked yet. New messages are drawn like the
generated ones, in the ``outbound`` stream, not yet delivered. Every arrival is 1 ms
after the newest timestamp so far (``_clock``), so it lands at the head of every
newest-first list: an O(1) prepend. Caches of the affected kind are dropped, and built
stats are tallied one record at a time.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from typing import Any, Final

from ._live import _LiveFake
from ._postmark_data import (
    _OPEN_PROFILES,
    STREAMS,
    TICKS,
    _Click,
    _Message,
    _Open,
)
from ._postmark_generate import _Generation
from ._postmark_query import _page
from ._postmark_render import _Rendering
from ._postmark_stats import _Statistics

_MS: Final = TICKS // 1000
#: Random messages tried before scanning the stream for one that can still engage.
_PROBES: Final = 32


class _Arrivals(_Generation, _Rendering, _Statistics, _LiveFake):
    """Record opens, clicks and messages after the dataset was generated."""

    _live_rng: random.Random

    # -- public arrivals ----------------------------------------------------------------

    def add_opens(self, count: int, *, stream: str = "outbound") -> list[dict[str, Any]]:
        """Record *count* new first opens on messages of *stream*, newer than any record.

        Each goes to a delivered recipient of an open-tracked message who has not
        opened it yet, so there are fewer only when no such recipient is left. Call it
        from the server's event loop, between requests; every endpoint sees them at once.

        Returns:
            The new opens as the opens search returns them, newest first.
        """
        added = self._add_opens(_checked(count, stream), stream, None)
        return [json.loads(self._render_open(o)) for o in reversed(added)]

    def add_clicks(self, count: int, *, stream: str = "outbound") -> list[dict[str, Any]]:
        """Record *count* new clicks on messages of *stream*, newer than any record.

        Each goes to a delivered recipient of a link-tracked message, on one of its links
        that recipient has not clicked yet; fewer only when no such pair is left. Call it
        from the server's event loop, between requests.

        Returns:
            The new clicks as the clicks search returns them, newest first.
        """
        added = self._add_clicks(_checked(count, stream), stream, None)
        return [json.loads(self._render_click(c)) for c in reversed(added)]

    # -- what the live plan calls ---------------------------------------------------------

    def _arrive(self, records: int, messages: int, elapsed: float | None) -> None:
        floor = None if elapsed is None else self._now_ticks + int(elapsed * TICKS)
        if messages:
            self._add_live_messages(messages, floor)
        if records:
            self._add_opens(records, "outbound", floor)
            self._add_clicks(records, "outbound", floor)

    def _list_page(
        self,
        name: str,
        found: tuple[Sequence[Any], int, int],
        paging: tuple[int, int],
        render: Callable[[Any], bytes],
        unfiltered: Callable[[], int] | None = None,
    ) -> bytes:
        """Render one list page as the live plan shapes it, then count it (and arrive).

        *unfiltered* counts the matches without the date filter, for
        ``total_ignores_filter``; only the messages search passes it.
        """
        seq, lo, hi = found
        count, offset = paging
        shaped = self._shape(offset, count, hi - lo)
        if shaped is None:
            body = _page(name, found, paging, render)
        else:
            take, total = shaped
            plan = self.live
            if unfiltered is not None and plan is not None and plan.total is None:
                total = unfiltered() if plan.total_ignores_filter else total
            start = lo + offset
            items = b",".join(render(r) for r in seq[start : start + take])
            body = b'{"TotalCount":%d,"%s":[%s]}' % (total, name.encode(), items)
        self._served_list_page()
        return body

    # -- the records ----------------------------------------------------------------------

    def _next_ticks(self, floor: int | None) -> int:
        """Return the next arrival timestamp: 1 ms after the newest, at least *floor*."""
        self._clock = max(self._clock + _MS, floor or 0)
        return self._clock

    def _add_live_messages(self, count: int, floor: int | None) -> None:
        for _ in range(count):
            message = self._new_message(len(self._by_id), self._next_ticks(floor))
            message.stream = "outbound"
            self._index(message)
            if self._stats is not None:
                self._tally_message(message)
        self._forget("messages")

    def _add_opens(self, count: int, stream: str, floor: int | None) -> list[_Open]:
        rng, added = self._live_rng, []
        for _ in range(count):
            target = self._target(stream, _unopened)
            if target is None:
                break
            message, (rcpt, _) = target
            profile = self._open_pick[int(rng.random() * len(self._open_pick))]
            geo = self._geo_pick[int(rng.random() * len(self._geo_pick))]
            opened = _Open(message, rcpt, self._next_ticks(floor), profile, geo)
            if _OPEN_PROFILES[profile][6] != "Unknown" and rng.random() < 0.9:
                opened.read = int(rng.random() * 30)
            opened.repeats = int(rng.expovariate(1.0))
            message.opens.insert(0, opened)
            self._opens[stream].prepend(opened)
            if self._merged_opens is not None:
                self._merged_opens.prepend(opened)
            if self._stats is not None:
                self._tally_open(opened)
            added.append(opened)
        self._forget("opens")
        return added

    def _add_clicks(self, count: int, stream: str, floor: int | None) -> list[_Click]:
        rng, added = self._live_rng, []
        for _ in range(count):
            target = self._target(stream, _unclicked)
            if target is None:
                break
            message, (rcpt, link) = target
            profile = self._click_pick[int(rng.random() * len(self._click_pick))]
            geo = self._geo_pick[int(rng.random() * len(self._geo_pick))]
            click = _Click(message, rcpt, self._next_ticks(floor), profile, geo)
            click.link = link
            if message.track_links == "TextOnly" or (
                message.track_links == "HtmlAndText" and rng.random() < 0.2
            ):
                click.location = "Text"
            click.repeats = int(rng.expovariate(1.5))
            message.clicks.insert(0, click)
            self._clicks[stream].prepend(click)
            if self._merged_clicks is not None:
                self._merged_clicks.prepend(click)
            if self._stats is not None:
                self._tally_click(click)
            added.append(click)
        self._forget("clicks")
        return added

    def _target(
        self, stream: str, free: Callable[[_Message], list[tuple[int, int]]]
    ) -> tuple[_Message, tuple[int, int]] | None:
        """Pick a message of *stream* and one of its *free* (recipient, link) pairs.

        A few random messages are tried first; when engagement is dense, the stream is
        scanned from a random point, so a pair is found whenever one is left.
        """
        pool, rng = self._messages[stream], self._live_rng
        if not pool:
            return None
        for _ in range(_PROBES):
            message = pool[int(rng.random() * len(pool))]
            pairs = free(message)
            if pairs:
                return message, pairs[int(rng.random() * len(pairs))]
        start = int(rng.random() * len(pool))
        for step in range(len(pool)):
            message = pool[(start + step) % len(pool)]
            pairs = free(message)
            if pairs:
                return message, pairs[int(rng.random() * len(pairs))]
        return None

    def _forget(self, kind: str) -> None:
        """Drop the cached filtered selections of *kind* (messages, opens or clicks)."""
        for key in [key for key in self._cache if key[0] == kind]:
            del self._cache[key]


def _delivered(message: _Message) -> list[int]:
    if message.status == "Queued":
        return []
    return [rcpt for kind, rcpt, _ in message.events if kind == "Delivered"]


def _unopened(message: _Message) -> list[tuple[int, int]]:
    """Return (recipient, 0) for each delivered recipient who has not opened *message*."""
    if not message.track_opens:
        return []
    opened = {o.rcpt for o in message.opens}
    return [(rcpt, 0) for rcpt in _delivered(message) if rcpt not in opened]


def _unclicked(message: _Message) -> list[tuple[int, int]]:
    """Return each (delivered recipient, link) of *message* not clicked yet."""
    if message.track_links == "None":
        return []
    clicked = {(c.rcpt, c.link) for c in message.clicks}
    return [
        (rcpt, link)
        for rcpt in _delivered(message)
        for link in message.links
        if (rcpt, link) not in clicked
    ]


def _checked(count: object, stream: object) -> int:
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"count must be an integer, got {type(count).__name__}")
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {', '.join(STREAMS)}, got {stream!r}")
    return count
