"""Postmark days are US-Eastern days: the fall-back day has 25 hours, none lost or doubled."""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path

from asyncmailstats import Session
from asyncmailstats.postmark._args import EASTERN
from asyncmailstats.postmark._convert import CONVERTER
from asyncmailstats.postmark.models import Open, OutboundMessage
from asyncmailstats.sync import SQLiteStore, read_rows
from asyncmailstats.sync._postmark import PostmarkPlan
from asyncmailstats.sync._runner import run_plan
from asyncmailstats.sync._tables import POSTMARK_MESSAGE, POSTMARK_OPEN
from asyncmailstats.testing import FakePostmark

#: 2025-11-02 is the US fall-back day: 01:00-02:00 Eastern happens twice.
NOW = dt.datetime(2025, 11, 3, 15, 0, tzinfo=dt.UTC)
TODAY = NOW.astimezone(EASTERN).date()


async def test_the_fall_back_day_is_synced_whole_and_once(tmp_path: Path) -> None:
    """Every message of the 25-hour day, the repeated hour included, is stored once."""
    db = tmp_path / "stats.db"
    async with (
        FakePostmark(messages=3000, seed=11, now=NOW, retention_days=4) as fake,
        Session() as session,
    ):
        api = session.postmark(server_token=fake.token, base_url=fake.url)
        plan = PostmarkPlan(api, message_streams=("outbound", "broadcast"), today=TODAY)
        store = SQLiteStore(db)
        try:
            report = await run_plan(
                plan, store, streams=["messages", "opens"], since=dt.date(2025, 10, 30)
            )
        finally:
            await store.aclose()
        messages = [CONVERTER.structure(m, OutboundMessage) for m in fake.messages]
        opens = [CONVERTER.structure(o, Open) for o in fake.opens]
    assert report.gaps == []
    repeated = [
        m
        for m in messages
        if m.received_at.astimezone(EASTERN).date() == dt.date(2025, 11, 2)
        and m.received_at.astimezone(EASTERN).hour == 1
    ]
    # Both occurrences of 01:xx Eastern hold messages (EDT, then EST).
    offsets = {m.received_at.astimezone(EASTERN).utcoffset() for m in repeated}
    assert offsets == {dt.timedelta(hours=-4), dt.timedelta(hours=-5)}
    stored = collections.Counter(read_rows(db, "postmark_messages"))
    truth = collections.Counter(("default", *POSTMARK_MESSAGE.row(m)) for m in messages)
    assert stored == truth
    stored_opens = collections.Counter(read_rows(db, "postmark_opens"))
    assert stored_opens == collections.Counter(("default", *POSTMARK_OPEN.row(o)) for o in opens)
