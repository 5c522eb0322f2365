"""Checkpoints: kept per provider, never moved back, a first run's start, the unlock."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from asyncmailstats import Session
from asyncmailstats.sync import SQLiteStore, run
from asyncmailstats.testing import FakeGetResponse, FakePostmark
from tests.sync.truth import assert_table, column, eastern_day, postmark_opens

NOW = dt.datetime(2025, 6, 10, 16, 0, tzinfo=dt.UTC)
TODAY = eastern_day(NOW)
DAY = dt.timedelta(days=1)
EASTERN = ZoneInfo("America/New_York")


def raw_state(db: Path) -> dict[str, Any]:
    """Return the default account's state rows as stored."""
    with closing(sqlite3.connect(db)) as conn:
        found = conn.execute("SELECT stream, value FROM _sync_state WHERE account = 'default'")
        return {stream: json.loads(value) for stream, value in found}


def lock_rows(db: Path) -> list[tuple[str]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT account FROM _sync_lock").fetchall()


async def test_two_providers_under_one_account_keep_their_checkpoints_apart(
    tmp_path: Path,
) -> None:
    """A GetResponse full refresh leaves the Postmark checkpoints of the same label alone."""
    db = tmp_path / "stats.db"
    async with (
        FakePostmark(messages=300, seed=5, now=NOW) as pm_fake,
        FakeGetResponse(messages=20, seed=5, now=NOW) as gr_fake,
        Session() as session,
        SQLiteStore(db) as store,
    ):
        pm = session.postmark(server_token=pm_fake.token, base_url=pm_fake.url)
        gr = session.getresponse(api_key=gr_fake.api_key, base_url=gr_fake.url)
        await run(pm, store, streams="messages", until=TODAY)
        await run(gr, store, streams="messages", until=NOW.date())
        before = raw_state(db)
        assert {"postmark/messages:outbound", "getresponse/messages"} <= set(before)
        await run(gr, store, streams="messages", until=NOW.date(), full_refresh=True)
        after = raw_state(db)
        pm_keys = {k for k in before if k.startswith("postmark/")}
        assert {k: after[k] for k in pm_keys} == {k: before[k] for k in pm_keys}
        again = await run(pm, store, streams="messages", until=TODAY)
    # The Postmark run after it re-reads only its lookback: 8 days of 2 streams, at most
    # a request or two each, not the 45 days of a first run.
    assert again.requests <= 2 * 8 * 2 + 1
    assert again.changed == 0


class StopError(Exception):
    """Raised from the progress callback to stop a run after a unit."""


async def test_a_run_stopped_in_its_lookback_does_not_move_the_checkpoint_back(
    tmp_path: Path,
) -> None:
    """Days re-read for the lookback keep the checkpoint where the last run finished."""
    db = tmp_path / "stats.db"
    async with (
        FakePostmark(messages=300, seed=6, now=NOW) as fake,
        Session() as session,
        SQLiteStore(db) as store,
    ):
        api = session.postmark(server_token=fake.token, base_url=fake.url)
        await run(api, store, streams="messages", message_streams=["outbound"], until=TODAY)
        assert raw_state(db)["postmark/messages:outbound"] == {"through": TODAY.isoformat()}

        def stop(stream: str, unit: str) -> None:
            raise StopError(unit)

        with pytest.raises(StopError):
            await run(
                api,
                store,
                streams="messages",
                message_streams=["outbound"],
                until=TODAY,
                progress=stop,
            )
        # The first lookback day was committed, and the checkpoint stayed put.
        assert raw_state(db)["postmark/messages:outbound"] == {"through": TODAY.isoformat()}
        assert lock_rows(db) == []


async def test_a_first_run_reads_events_from_since_on(tmp_path: Path) -> None:
    """With since, a first run stores the opens from that Eastern day on, and only those."""
    db = tmp_path / "stats.db"
    since = TODAY - 3 * DAY
    async with (
        FakePostmark(messages=2000, seed=8, now=NOW) as fake,
        Session() as session,
        SQLiteStore(db) as store,
    ):
        api = session.postmark(server_token=fake.token, base_url=fake.url)
        await run(api, store, streams="opens", since=since, until=TODAY)
        every = postmark_opens(fake)
    when = column("postmark_opens", "received_at")
    boundary = dt.datetime.combine(since, dt.time(), EASTERN)
    expected = Counter(
        {row: n for row, n in every.items() if dt.datetime.fromisoformat(row[when]) >= boundary}
    )
    assert 0 < sum(expected.values()) < sum(every.values())
    assert_table(db, "postmark_opens", expected)


class SlowUnlock(SQLiteStore):
    """A store whose unlock waits for the test to let it go."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.unlocking = asyncio.Event()
        self.release = asyncio.Event()

    async def unlock(self, account: str) -> None:
        self.unlocking.set()
        await self.release.wait()
        await super().unlock(account)


async def test_a_cancellation_during_the_unlock_still_releases_the_lock(tmp_path: Path) -> None:
    """Ctrl-C as a run ends cannot leave its lock row behind."""
    db = tmp_path / "stats.db"
    async with FakePostmark(messages=50, seed=9, now=NOW) as fake, Session() as session:
        api = session.postmark(server_token=fake.token, base_url=fake.url)
        store = SlowUnlock(db)
        try:
            task = asyncio.create_task(run(api, store, streams="stats", until=TODAY))
            await store.unlocking.wait()
            assert lock_rows(db) == [("default",)]
            task.cancel()
            await asyncio.sleep(0)
            store.release.set()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert lock_rows(db) == []
        finally:
            await store.aclose()
