"""Seeded draws of the fake Postmark server's messages, events, opens and clicks.

Each function draws from the generator it is given and nothing else, so the dataset is
the order of the draws: the same seed gives the same records only as long as every draw
happens in the same order. Generation and later arrivals share the open and click draws.
"""

from __future__ import annotations

import random

from ._postmark_data import (
    CLICK_PICK,
    GEO_PICK,
    INVOICE,
    KINDS,
    LINK_SETS,
    LINKS,
    METADATA,
    OPEN_PICK,
    OPEN_PROFILES,
    STREAMS,
    TICKS,
    TRACK_LINKS,
    ClickRecord,
    MessageRecord,
    OpenRecord,
    neg_ticks,
    uuid4,
)


def draw_message(
    rng: random.Random,
    seq: int,
    ticks: int,
    *,
    pool_size: int,
    max_recipients: int,
    multi_recipient_rate: float,
) -> MessageRecord:
    """Draw message number *seq*, accepted at *ticks*, to addressees of the pool."""
    draw = rng.random
    message = MessageRecord(seq, uuid4(rng.getrandbits(128)), ticks)
    message.stream = STREAMS[draw() >= 0.8]
    message.kind = kind = int(draw() * len(KINDS))
    if draw() < multi_recipient_rate and max_recipients > 1:
        wanted = min(pool_size, 2 + int(draw() * (max_recipients - 1)))
        picked: dict[int, None] = {}
        while len(picked) < wanted:
            picked[int(draw() * pool_size)] = None
        message.to = tuple(picked)
    else:
        message.to = (int(draw() * pool_size),)
    copy, extra = draw(), int(draw() * pool_size)
    message.cc = (extra,) if copy < 0.1 and extra not in message.to else ()
    message.bcc = (extra,) if 0.1 <= copy < 0.15 and extra not in message.to else ()
    state = draw()
    message.status = "Queued" if state < 0.01 else "Processed" if state < 0.03 else "Sent"
    message.track_opens = draw() < 0.8
    message.track_links = TRACK_LINKS[int(draw() * len(TRACK_LINKS))]
    message.metadata = METADATA[int(draw() * len(METADATA))]
    message.attachments = ("invoice.pdf",) if kind == INVOICE else ()
    message.links = LINK_SETS[int(draw() * len(LINKS))][seq % 3]
    message.delay = TICKS + int(draw() * 4 * TICKS)
    return message


def draw_open(rng: random.Random, message: MessageRecord, rcpt: int, ticks: int) -> OpenRecord:
    """Draw how *rcpt* opened *message* at *ticks*: client, place, read time, repeats."""
    profile = OPEN_PICK[int(rng.random() * len(OPEN_PICK))]
    geo = GEO_PICK[int(rng.random() * len(GEO_PICK))]
    opened = OpenRecord(message, rcpt, ticks, profile, geo)
    if OPEN_PROFILES[profile][6] != "Unknown" and rng.random() < 0.9:
        opened.read = int(rng.random() * 30)
    opened.repeats = int(rng.expovariate(1.0))
    return opened


def draw_click(
    rng: random.Random, message: MessageRecord, rcpt: int, ticks: int, link: int
) -> ClickRecord:
    """Draw how *rcpt* clicked *link* of *message* at *ticks*: browser, place, part."""
    profile = CLICK_PICK[int(rng.random() * len(CLICK_PICK))]
    geo = GEO_PICK[int(rng.random() * len(GEO_PICK))]
    click = ClickRecord(message, rcpt, ticks, profile, geo)
    click.link = link
    if message.track_links == "TextOnly" or (
        message.track_links == "HtmlAndText" and rng.random() < 0.2
    ):
        click.location = "Text"
    click.repeats = int(rng.expovariate(1.5))
    return click


def engage(
    rng: random.Random, message: MessageRecord, now: int, open_rate: float, click_rate: float
) -> None:
    """Deliver, bounce, open and click *message* for each recipient, up to *now*."""
    if message.status == "Queued":
        return
    sent = min(message.ticks + message.delay, now)  # nothing happens after `now`
    hour = 3600 * TICKS
    for rcpt in message.everyone:
        fate = rng.random()
        if fate < 0.033:
            kind = "HardBounce" if fate < 0.02 else "SoftBounce" if fate < 0.03 else "SMTPApiError"
            message.events.append((kind, rcpt, sent))
            continue
        delivered = sent
        if fate < 0.04:
            message.events.append(("Transient", rcpt, sent))
            delivered = min(sent + hour // 6, now)
        message.events.append(("Delivered", rcpt, delivered))
        if fate > 0.998 and delivered + hour <= now:
            message.events.append(("SpamComplaint", rcpt, delivered + hour))
        if message.track_opens and rng.random() < open_rate:
            at = delivered + 5 * TICKS + int(rng.expovariate(1 / (6 * hour)))
            if at <= now:
                message.opens.append(draw_open(rng, message, rcpt, at))
        if message.track_links == "None":
            continue
        for link in message.links:
            if rng.random() >= click_rate:
                continue
            at = delivered + 20 * TICKS + int(rng.expovariate(1 / (8 * hour)))
            if at <= now:
                message.clicks.append(draw_click(rng, message, rcpt, at, link))
    message.opens.sort(key=neg_ticks)
    message.clicks.sort(key=neg_ticks)
