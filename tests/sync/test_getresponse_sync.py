"""The GetResponse sync over HTTP against the fake server: exact, incremental, live.

The fake has no arrivals of its own: new messages and changed stats are written into
its public dictionaries, as an account would change between (or during) runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asyncmailstats import Session
from asyncmailstats.getresponse import GetResponseAPI
from asyncmailstats.getresponse.models import COUNTER_NAMES
from asyncmailstats.sync import SQLiteStore, SyncReport, run
from asyncmailstats.testing import FakeGetResponse
from tests.sync.truth import (
    assert_between,
    assert_cheap,
    assert_keys_between,
    assert_nothing_changed,
    assert_tables,
    getresponse_truth,
)

#: GetResponse's times are naive (the account's local time); the run's days are UTC.
NOW = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC).replace(tzinfo=None)
TODAY = NOW.date()
#: A later run reads again the messages created in the trailing days, and their stats.
LOOKBACK = 3
STATS = "getresponse_message_stats"
MESSAGES = "getresponse_messages"


def connect(session: Session, fake: FakeGetResponse) -> GetResponseAPI:
    """Return a client of *fake*."""
    return session.getresponse(api_key=fake.api_key, base_url=fake.url)


async def sync(api: GetResponseAPI, db: Path, **options: Any) -> SyncReport:
    """Run one sync of *api* into the SQLite file *db*, closing the store after."""
    store = SQLiteStore(db)
    try:
        return await run(api, store, until=TODAY, lookback_days=LOOKBACK, **options)
    finally:
        await store.aclose()


def counters(**values: int) -> dict[str, int]:
    """Return the 19 counters of one stats hour: *values*, 0 elsewhere."""
    return {name: values.get(name, 0) for name in COUNTER_NAMES}


def hour(moment: dt.datetime) -> str:
    """Return the key of an hour of stats."""
    return moment.strftime("%Y-%m-%d %H")


def add_message(fake: FakeGetResponse, message_id: str) -> None:
    """Record a newsletter created and sent two hours ago, with its first stats."""
    created = NOW - dt.timedelta(hours=2)
    fake.messages[message_id] = {
        "campaign": next(iter(fake.messages.values()))["campaign"],
        "type": "newsletter",
        "subject": "Flash sale",
        "name": "newsletter flash",
        "content_types": ["plain", "html"],
        "flags": ["clicktrack", "openrate"],
        "created_on": created.strftime("%Y-%m-%d %H:%M:%S"),
        "send_on": (created + dt.timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S"),
    }
    fake.hourly_stats[message_id] = {
        hour(created): counters(sent=120, bounces_mailbox_full=2),
        hour(NOW - dt.timedelta(hours=1)): counters(opened=30, unique_opened=21, clicked=4),
    }


def recent_message(fake: FakeGetResponse) -> str:
    """Return a message created in the lookback that already has stats."""
    since = TODAY - dt.timedelta(days=LOOKBACK)
    for message_id, fields in fake.messages.items():
        created = dt.date.fromisoformat(fields["created_on"][:10])
        if created >= since and fake.hourly_stats[message_id]:
            return message_id
    msg = "no recent message with stats"
    raise AssertionError(msg)


def change_stats(fake: FakeGetResponse, message_id: str) -> None:
    """Count more opens in the message's newest hour, and clicks in the current one."""
    hours = fake.hourly_stats[message_id]
    newest = max(hours)
    hours[newest] = {**hours[newest], "opened": hours[newest]["opened"] + 9}
    hours.setdefault(hour(NOW), counters())
    hours[hour(NOW)] = {**hours[hour(NOW)], "clicked": hours[hour(NOW)]["clicked"] + 3}


async def test_messages_and_stats_are_exact_and_later_runs_are_incremental(
    tmp_path: Path,
) -> None:
    """Every message of every type and each one's daily stats are stored exactly; an
    idle run is cheap and changes nothing; after a new message and changed recent
    stats a run makes both tables exact again."""
    db = tmp_path / "stats.db"
    async with (
        FakeGetResponse(messages=5000, seed=3, now=NOW.replace(tzinfo=dt.UTC)) as fake,
        Session() as session,
    ):
        api = connect(session, fake)
        first = await sync(api, db)
        assert_tables(db, getresponse_truth(fake))
        kinds = {fields["type"] for fields in fake.messages.values()}
        assert kinds == {"newsletter", "autoresponder", "ab_test", "draft"}

        second = await sync(api, db)
        assert_cheap(second, first)
        assert_nothing_changed(second)

        add_message(fake, "zNew1")
        change_stats(fake, recent_message(fake))
        third = await sync(api, db)
        assert_tables(db, getresponse_truth(fake))
        assert third.tables[MESSAGES].inserted == 1
        assert third.tables[STATS].inserted >= 1  # the new message's day, maybe today's
        assert third.tables[STATS].updated >= 1  # the changed day


async def test_changes_during_a_run_break_nothing_and_the_next_run_takes_them(
    tmp_path: Path,
) -> None:
    """A message added and stats changed while a run goes on (between its streams):
    every message that existed at the start is stored once, every stats row is one the
    server had, and the next run is exact."""
    db = tmp_path / "stats.db"
    async with (
        FakeGetResponse(messages=400, seed=4, now=NOW.replace(tzinfo=dt.UTC)) as fake,
        Session() as session,
    ):
        before = getresponse_truth(fake)
        changed = recent_message(fake)

        def arrive(stream: str, unit: str) -> None:
            del unit
            if stream == "messages":
                add_message(fake, "zNew2")
                change_stats(fake, changed)

        progress: Callable[[str, str], None] = arrive
        await sync(connect(session, fake), db, progress=progress)
        after = getresponse_truth(fake)
        assert after[STATS] != before[STATS]
        assert_between(db, MESSAGES, before[MESSAGES], after[MESSAGES])
        assert_keys_between(db, STATS, before[STATS], after[STATS])

        await sync(connect(session, fake), db)
        assert_tables(db, getresponse_truth(fake))
