"""The fake Postmark server's dataset: generated records, their indexes and the clock.

:class:`PostmarkDataset` draws its messages, opens and clicks from a seed when it is
built and keeps them in newest-first timelines (every message, and per stream the
messages, opens and clicks), by ID, with the recipient pool they point into. It also
holds what the queries cache (filtered selections, stats tables) and records arrivals:
each lands where its timestamp puts it and drops or updates the caches it affects.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Mapping
from typing import Any, Final

from ._postmark_data import (
    STREAMS,
    TICKS,
    ClickRecord,
    MessageRecord,
    OpenRecord,
    Timeline,
    merge_newest_first,
    neg_ticks,
    recipient_pool,
)
from ._postmark_generate import draw_message, engage
from ._postmark_stats import StatsTables

MS: Final = TICKS // 1000


def check_int(name: str, value: object, minimum: int | None) -> None:
    """Refuse *value* unless it is an integer (not a bool) of at least *minimum*."""
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be an integer, got {type(value).__name__}"
        raise TypeError(msg)
    if minimum is not None and value < minimum:
        msg = f"{name} must be at least {minimum}, got {value}"
        raise ValueError(msg)


def check_arguments(
    sizes: Mapping[str, tuple[object, int | None]], rates: Mapping[str, object]
) -> None:
    """Refuse bad dataset arguments: *sizes* maps a name to (value, minimum), in order."""
    for name, (value, minimum) in sizes.items():
        check_int(name, value, minimum)
    for name, rate in rates.items():
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise TypeError(f"{name} must be a number")
        if not 0 <= rate <= 1:
            raise ValueError(f"{name} must be between 0 and 1")


class PostmarkDataset:
    """Seeded Postmark data: messages with their events, opens and clicks.

    The records depend only on the arguments (checked by the caller). ``all`` holds
    every message and ``messages``, ``opens`` and ``clicks`` each stream's records, all
    newest first; ``by_id`` finds a message; ``pool`` holds the recipients the records
    point into (address, display name, address as JSON) and ``pool_index`` their
    lower-cased addresses. ``clock`` is the newest timestamp any record has.
    """

    def __init__(
        self,
        *,
        messages: int,
        seed: int,
        now_ticks: int,
        retention_days: int,
        open_rate: float,
        click_rate: float,
        recipients: int,
        max_recipients: int,
        multi_recipient_rate: float,
    ) -> None:
        self.now_ticks = now_ticks
        self.retention_days = retention_days
        self.open_rate = open_rate
        self.click_rate = click_rate
        self.max_recipients = max_recipients
        self.multi_recipient_rate = multi_recipient_rate
        self.rng = random.Random(seed)
        """Draws the generated records and the messages added later."""
        self.live_rng = random.Random(f"live-{seed}")
        """Draws the opens and clicks that arrive later."""
        self.pool = recipient_pool(self.rng, recipients)
        self.pool_index = {address.lower(): i for i, (address, _, _) in enumerate(self.pool)}
        self.selections: dict[tuple[Any, ...], list[Any]] = {}
        """Filtered search selections by query; ``key[0]`` is the kind of record."""
        self.stats: StatsTables | None = None
        """The stats counts, once a stats request has aggregated them."""
        self.clock = now_ticks  # nothing generated is later than `now`
        self._merged_opens: Timeline[OpenRecord] | None = None
        self._merged_clicks: Timeline[ClickRecord] | None = None
        self._generate(messages)

    def _generate(self, count: int) -> None:
        span = self.retention_days * 86_400 * TICKS
        rng, now = self.rng, self.now_ticks
        made = [self._draw(seq, now - int(rng.random() * span)) for seq in range(count)]
        for message in made:
            engage(rng, message, now, self.open_rate, self.click_rate)
        newest_first = sorted(made, key=neg_ticks)
        self.all: Timeline[MessageRecord] = Timeline(newest_first)
        self.by_id: dict[str, MessageRecord] = {m.id: m for m in newest_first}
        self.messages: dict[str, Timeline[MessageRecord]] = {}
        self.opens: dict[str, Timeline[OpenRecord]] = {}
        self.clicks: dict[str, Timeline[ClickRecord]] = {}
        for stream in STREAMS:
            messages = [m for m in newest_first if m.stream == stream]
            self.messages[stream] = Timeline(messages)
            self.opens[stream] = Timeline(
                sorted((o for m in messages for o in m.opens), key=neg_ticks)
            )
            self.clicks[stream] = Timeline(
                sorted((c for m in messages for c in m.clicks), key=neg_ticks)
            )

    def _draw(self, seq: int, ticks: int) -> MessageRecord:
        return draw_message(
            self.rng,
            seq,
            ticks,
            pool_size=len(self.pool),
            max_recipients=self.max_recipients,
            multi_recipient_rate=self.multi_recipient_rate,
        )

    # -- reading ----------------------------------------------------------------------------

    def all_opens(self) -> Timeline[OpenRecord]:
        """Every open of every stream, newest first (merged the first time)."""
        if self._merged_opens is None:
            self._merged_opens = merge_newest_first(self.opens)
        return self._merged_opens

    def all_clicks(self) -> Timeline[ClickRecord]:
        """Every click of every stream, newest first (merged the first time)."""
        if self._merged_clicks is None:
            self._merged_clicks = merge_newest_first(self.clicks)
        return self._merged_clicks

    def lookup(self, message_id: str) -> MessageRecord:
        """Return the message with *message_id*; ``KeyError`` if there is none."""
        try:
            return self.by_id[message_id]
        except KeyError:
            raise KeyError(f"no message {message_id!r}") from None

    # -- recording arrivals ---------------------------------------------------------------

    def next_ticks(self, floor: int | None) -> int:
        """Advance the clock to the next arrival: 1 ms after the newest, at least *floor*."""
        self.clock = max(self.clock + MS, floor or 0)
        return self.clock

    def add_message(self, ticks: int) -> MessageRecord:
        """Draw a just-sent ``outbound`` message at *ticks* and index it where it belongs.

        Call :meth:`forget` ``("messages")`` once a batch of messages is in.
        """
        message = self._draw(len(self.by_id), ticks)
        message.stream = "outbound"
        self.clock = max(self.clock, message.ticks)
        self.by_id[message.id] = message
        for timeline in (self.all, self.messages[message.stream]):
            timeline.insert(bisect.bisect_left(timeline, -message.ticks, key=neg_ticks), message)
        if self.stats is not None:
            self.stats.tally_message(message)
        return message

    def add_open(self, opened: OpenRecord) -> None:
        """Record *opened*, newer than every record, at the head of its lists."""
        opened.msg.opens.insert(0, opened)
        self.opens[opened.msg.stream].prepend(opened)
        if self._merged_opens is not None:
            self._merged_opens.prepend(opened)
        if self.stats is not None:
            self.stats.tally_open(opened)

    def add_click(self, click: ClickRecord) -> None:
        """Record *click*, newer than every record, at the head of its lists."""
        click.msg.clicks.insert(0, click)
        self.clicks[click.msg.stream].prepend(click)
        if self._merged_clicks is not None:
            self._merged_clicks.prepend(click)
        if self.stats is not None:
            self.stats.tally_click(click)

    def forget(self, kind: str) -> None:
        """Drop the cached selections of *kind* (``messages``, ``opens`` or ``clicks``)."""
        for key in [key for key in self.selections if key[0] == kind]:
            del self.selections[key]
