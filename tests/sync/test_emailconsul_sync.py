"""The EmailConsul sync over HTTP against the fake server: exact, incremental, live.

The expected link stats are counted from the fake's link logs: clicks per UTC day and
value of each grouping.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from asyncmailstats import Session
from asyncmailstats.emailconsul import EmailConsulAPI
from asyncmailstats.sync import SQLiteStore, SyncReport, run
from asyncmailstats.testing import FakeEmailConsul, LivePlan
from tests.sync.truth import (
    LINK_GROUPS,
    Rows,
    assert_cheap,
    assert_nothing_changed,
    assert_table,
    assert_unique_keys,
    column,
    link_stats,
    stored,
)

#: Noon UTC: arrivals (1 ms apart after the newest log) stay on the same UTC day.
NOW = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
#: Where a first run starts by default: 45 days before its last.
FIRST = TODAY - dt.timedelta(days=45)
DEFAULT_GROUPS = ("campaign_id", "country")
TABLE = "emailconsul_link_stats"
#: Each re-read day costs a request per grouping; a first run reads 46 days.
LOOKBACK = 3


def connect(session: Session, fake: FakeEmailConsul) -> EmailConsulAPI:
    """Return a client of *fake*."""
    return session.emailconsul(api_key=fake.api_key, base_url=fake.url)


async def sync(api: EmailConsulAPI, db: Path, **options: Any) -> SyncReport:
    """Run one sync of *api* into the SQLite file *db*, closing the store after."""
    store = SQLiteStore(db)
    try:
        return await run(api, store, until=TODAY, lookback_days=LOOKBACK, **options)
    finally:
        await store.aclose()


async def test_link_stats_are_exact_and_later_runs_are_incremental(tmp_path: Path) -> None:
    """Every UTC day and group value is stored with its count; an idle run is cheap and
    changes nothing; after new clicks (new campaigns and countries among them) a run
    makes the table exact again."""
    db = tmp_path / "stats.db"
    async with FakeEmailConsul(link_logs=5000, seed=3, now=NOW) as fake, Session() as session:
        api = connect(session, fake)
        first = await sync(api, db)
        assert_table(db, TABLE, link_stats(fake, FIRST, TODAY, DEFAULT_GROUPS))

        second = await sync(api, db)
        assert_cheap(second, first)
        assert_nothing_changed(second)

        fake.add_link_logs(60)
        third = await sync(api, db)
        truth = link_stats(fake, FIRST, TODAY, DEFAULT_GROUPS)
        assert_table(db, TABLE, truth)
        assert third.tables[TABLE].inserted > 0  # group values new today
        assert third.tables[TABLE].updated > 0  # counts of today that grew


async def test_every_grouping_is_exact(tmp_path: Path) -> None:
    """Each grouping fills its own columns ('' elsewhere), ``params`` two of them."""
    db = tmp_path / "stats.db"
    async with FakeEmailConsul(link_logs=1500, seed=4, now=NOW) as fake, Session() as session:
        await sync(connect(session, fake), db, groups=list(LINK_GROUPS))
        assert_table(db, TABLE, link_stats(fake, FIRST, TODAY, LINK_GROUPS))


def assert_counts_between(db: Path, before: Rows, after: Rows) -> None:
    """Check the table while clicks arrive: at least each count that existed at the
    start, at most the final one, and no group value the server never had."""
    assert_unique_keys(db, TABLE)
    count = column(TABLE, "count")

    def counts(rows: Rows) -> dict[tuple[Any, ...], int]:
        return {row[:count]: row[count] for row in rows}

    found, low, high = counts(stored(db, TABLE)), counts(before), counts(after)
    missing = [key for key in low if key not in found]
    assert not missing, f"groups that existed at the start are missing: {missing[:3]}"
    unknown = [key for key in found if key not in high]
    assert not unknown, f"groups the server never had: {unknown[:3]}"
    wrong = [
        (key, low.get(key, 0), n, high[key])
        for key, n in found.items()
        if not low.get(key, 0) <= n <= high[key]
    ]
    assert not wrong, f"counts outside what the server had: {wrong[:3]}"


async def test_clicks_arriving_during_a_run_break_nothing_and_the_next_run_takes_them(
    tmp_path: Path,
) -> None:
    """With clicks arriving after every page (pages capped and cut short; a grouping by
    subscriber spans many pages a day), past days are stored exactly and today's
    counts lie between the start and the end; the next run is exact."""
    db = tmp_path / "stats.db"
    groups = (*DEFAULT_GROUPS, "subscriber_id")
    live = LivePlan(arrivals=3, page_cap=50, short_every=4)
    async with (
        FakeEmailConsul(link_logs=6000, seed=5, now=NOW, live=live) as fake,
        Session() as session,
    ):
        api = connect(session, fake)
        before = link_stats(fake, FIRST, TODAY, groups)
        await sync(api, db, groups=groups)
        after = link_stats(fake, FIRST, TODAY, groups)
        assert len(fake.link_logs) > 6000

        day = column(TABLE, "day")
        today = TODAY.isoformat()
        past = Rows({row: n for row, n in after.items() if row[day] != today})
        assert past == Rows({row: n for row, n in before.items() if row[day] != today})
        found = stored(db, TABLE)
        assert Rows({row: n for row, n in found.items() if row[day] != today}) == past
        assert_counts_between(db, before, after)

        fake.set_live(None)
        await sync(api, db, groups=groups)
        assert_table(db, TABLE, link_stats(fake, FIRST, TODAY, groups))
