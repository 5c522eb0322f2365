"""Seeded generation of the fake Postmark server's messages, events, opens and clicks."""

from __future__ import annotations

import bisect

from ._postmark_data import (
    _INVOICE,
    _KINDS,
    _LINK_SETS,
    _LINKS,
    _METADATA,
    _OPEN_PROFILES,
    _TRACK_LINKS,
    STREAMS,
    TICKS,
    _Click,
    _Message,
    _neg_ticks,
    _Open,
    _State,
    _Timeline,
    _uuid4,
)


class _Generation(_State):
    """Draw the dataset from ``_rng`` and keep its indexes sorted newest first.

    The order of the draws is the dataset: the same seed gives the same records only as
    long as every draw happens in the same order.
    """

    def _generate(self, count: int) -> None:
        span = self.retention_days * 86_400 * TICKS
        rng, now = self._rng, self._now_ticks
        made = [self._new_message(seq, now - int(rng.random() * span)) for seq in range(count)]
        for message in made:
            self._engage(message)
        newest_first = sorted(made, key=_neg_ticks)
        self._all = _Timeline(newest_first)
        self._by_id = {m.id: m for m in newest_first}
        for stream in STREAMS:
            messages = [m for m in newest_first if m.stream == stream]
            self._messages[stream] = _Timeline(messages)
            self._opens[stream] = _Timeline(
                sorted((o for m in messages for o in m.opens), key=_neg_ticks)
            )
            self._clicks[stream] = _Timeline(
                sorted((c for m in messages for c in m.clicks), key=_neg_ticks)
            )

    def _new_message(self, seq: int, ticks: int) -> _Message:
        rng = self._rng
        draw = rng.random
        size = len(self._pool)
        message = _Message(seq, _uuid4(rng.getrandbits(128)), ticks)
        message.stream = STREAMS[draw() >= 0.8]
        message.kind = kind = int(draw() * len(_KINDS))
        if draw() < self.multi_recipient_rate and self.max_recipients > 1:
            wanted = min(size, 2 + int(draw() * (self.max_recipients - 1)))
            picked: dict[int, None] = {}
            while len(picked) < wanted:
                picked[int(draw() * size)] = None
            message.to = tuple(picked)
        else:
            message.to = (int(draw() * size),)
        copy, extra = draw(), int(draw() * size)
        message.cc = (extra,) if copy < 0.1 and extra not in message.to else ()
        message.bcc = (extra,) if 0.1 <= copy < 0.15 and extra not in message.to else ()
        state = draw()
        message.status = "Queued" if state < 0.01 else "Processed" if state < 0.03 else "Sent"
        message.track_opens = draw() < 0.8
        message.track_links = _TRACK_LINKS[int(draw() * len(_TRACK_LINKS))]
        message.metadata = _METADATA[int(draw() * len(_METADATA))]
        message.attachments = ("invoice.pdf",) if kind == _INVOICE else ()
        message.links = _LINK_SETS[int(draw() * len(_LINKS))][seq % 3]
        message.delay = TICKS + int(draw() * 4 * TICKS)
        return message

    def _engage(self, message: _Message) -> None:
        """Deliver, bounce, open and click *message* for each of its recipients."""
        if message.status == "Queued":
            return
        rng, now = self._rng, self._now_ticks
        sent = min(message.ticks + message.delay, now)  # nothing happens after `now`
        hour = 3600 * TICKS
        for rcpt in message.everyone:
            fate = rng.random()
            if fate < 0.033:
                kind = (
                    "HardBounce" if fate < 0.02 else "SoftBounce" if fate < 0.03 else "SMTPApiError"
                )
                message.events.append((kind, rcpt, sent))
                continue
            delivered = sent
            if fate < 0.04:
                message.events.append(("Transient", rcpt, sent))
                delivered = min(sent + hour // 6, now)
            message.events.append(("Delivered", rcpt, delivered))
            if fate > 0.998 and delivered + hour <= now:
                message.events.append(("SpamComplaint", rcpt, delivered + hour))
            if message.track_opens and rng.random() < self.open_rate:
                at = delivered + 5 * TICKS + int(rng.expovariate(1 / (6 * hour)))
                if at <= now:
                    profile = self._open_pick[int(rng.random() * len(self._open_pick))]
                    geo = self._geo_pick[int(rng.random() * len(self._geo_pick))]
                    opened = _Open(message, rcpt, at, profile, geo)
                    if _OPEN_PROFILES[profile][6] != "Unknown" and rng.random() < 0.9:
                        opened.read = int(rng.random() * 30)
                    opened.repeats = int(rng.expovariate(1.0))
                    message.opens.append(opened)
            if message.track_links == "None":
                continue
            for link in message.links:
                if rng.random() >= self.click_rate:
                    continue
                at = delivered + 20 * TICKS + int(rng.expovariate(1 / (8 * hour)))
                if at > now:
                    continue
                profile = self._click_pick[int(rng.random() * len(self._click_pick))]
                geo = self._geo_pick[int(rng.random() * len(self._geo_pick))]
                click = _Click(message, rcpt, at, profile, geo)
                click.link = link
                if message.track_links == "TextOnly" or (
                    message.track_links == "HtmlAndText" and rng.random() < 0.2
                ):
                    click.location = "Text"
                click.repeats = int(rng.expovariate(1.5))
                message.clicks.append(click)
        message.opens.sort(key=_neg_ticks)
        message.clicks.sort(key=_neg_ticks)

    def _index(self, message: _Message) -> None:
        """Add *message* to the indexes where its timestamp puts it (bisection, no sort)."""
        self._clock = max(self._clock, message.ticks)
        self._by_id[message.id] = message
        for timeline in (self._all, self._messages[message.stream]):
            timeline.insert(bisect.bisect_left(timeline, -message.ticks, key=_neg_ticks), message)
