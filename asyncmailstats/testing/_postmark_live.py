"""Arrivals in the fake Postmark dataset while the server keeps recording.

New opens and clicks go to existing messages the way the generator made them: an open
to a delivered recipient of an open-tracked message who has not opened it yet (Postmark
keeps first opens only), a click to a delivered recipient of a link-tracked message on
one of its links that recipient has not clicked yet. New messages are drawn like the
generated ones, in the ``outbound`` stream, not yet delivered. Every arrival is 1 ms
after the newest timestamp so far (the dataset's ``clock``), so it lands at the head of
every newest-first list: an O(1) prepend. Caches of the affected kind are dropped, and
built stats are tallied one record at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ._postmark_data import STREAMS, ClickRecord, MessageRecord, OpenRecord
from ._postmark_dataset import PostmarkDataset
from ._postmark_generate import draw_click, draw_open

#: Random messages tried before scanning the stream for one that can still engage.
_PROBES: Final = 32


def arrive(data: PostmarkDataset, records: int, messages: int, floor: int | None) -> None:
    """Record *messages* new messages, then *records* opens and *records* clicks."""
    for _ in range(messages):
        data.add_message(data.next_ticks(floor))
    if messages:
        data.forget("messages")
    if records:
        add_opens(data, records, "outbound", floor)
        add_clicks(data, records, "outbound", floor)


def add_opens(
    data: PostmarkDataset, count: int, stream: str, floor: int | None
) -> list[OpenRecord]:
    """Record up to *count* new first opens on messages of *stream*; return them, oldest first."""
    added = []
    for _ in range(count):
        target = _target(data, stream, _unopened)
        if target is None:
            break
        message, (rcpt, _) = target
        opened = draw_open(data.live_rng, message, rcpt, data.next_ticks(floor))
        data.add_open(opened)
        added.append(opened)
    data.forget("opens")
    return added


def add_clicks(
    data: PostmarkDataset, count: int, stream: str, floor: int | None
) -> list[ClickRecord]:
    """Record up to *count* new clicks on messages of *stream*; return them, oldest first."""
    added = []
    for _ in range(count):
        target = _target(data, stream, _unclicked)
        if target is None:
            break
        message, (rcpt, link) = target
        click = draw_click(data.live_rng, message, rcpt, data.next_ticks(floor), link)
        data.add_click(click)
        added.append(click)
    data.forget("clicks")
    return added


def _target(
    data: PostmarkDataset, stream: str, free: Callable[[MessageRecord], list[tuple[int, int]]]
) -> tuple[MessageRecord, tuple[int, int]] | None:
    """Pick a message of *stream* and one of its *free* (recipient, link) pairs.

    A few random messages are tried first; when engagement is dense, the stream is
    scanned from a random point, so a pair is found whenever one is left.
    """
    pool, rng = data.messages[stream], data.live_rng
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


def _delivered(message: MessageRecord) -> list[int]:
    if message.status == "Queued":
        return []
    return [rcpt for kind, rcpt, _ in message.events if kind == "Delivered"]


def _unopened(message: MessageRecord) -> list[tuple[int, int]]:
    """Return (recipient, 0) for each delivered recipient who has not opened *message*."""
    if not message.track_opens:
        return []
    opened = {o.rcpt for o in message.opens}
    return [(rcpt, 0) for rcpt in _delivered(message) if rcpt not in opened]


def _unclicked(message: MessageRecord) -> list[tuple[int, int]]:
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


def checked_count(count: object, stream: object) -> int:
    """Refuse a bad arrival *count* or *stream* the way ``add_opens``/``add_clicks`` do."""
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"count must be an integer, got {type(count).__name__}")
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {', '.join(STREAMS)}, got {stream!r}")
    return count
