"""The Postmark sync over HTTP against the fake server: exact, incremental, live, gaps.

Each test compares the stored tables with what the fake holds (``truth``), as
multisets: every record once, none missing, none extra.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from asyncmailstats import Session
from asyncmailstats.postmark import PostmarkAPI
from asyncmailstats.sync import Gap, SQLiteStore, SyncReport, run
from asyncmailstats.testing import FakePostmark, LivePlan
from tests.sync.truth import (
    POSTMARK_SERIES,
    Rows,
    assert_between,
    assert_cheap,
    assert_nothing_changed,
    assert_table,
    assert_tables,
    column,
    eastern_day,
    postmark_clicks,
    postmark_opens,
    postmark_truth,
)

#: 12:00 in New York: the fake's data ends mid-day, far from any day boundary.
NOW = dt.datetime(2025, 6, 10, 16, 0, tzinfo=dt.UTC)
TODAY = eastern_day(NOW)
RETENTION = 45
#: Where a first run starts by default: the server's retention before its last day.
FIRST = TODAY - dt.timedelta(days=RETENTION)
DAY = dt.timedelta(days=1)
EVENT_TABLES = ("postmark_messages", "postmark_opens", "postmark_clicks")
PER_MESSAGE_OPENS = "/messages/outbound/opens/{id}"
PER_MESSAGE_CLICKS = "/messages/outbound/clicks/{id}"


def connect(session: Session, fake: FakePostmark, retention: int = RETENTION) -> PostmarkAPI:
    """Return a client of *fake* that knows the server's retention."""
    return session.postmark(server_token=fake.token, base_url=fake.url, retention_days=retention)


async def sync(api: PostmarkAPI, db: Path, **options: Any) -> SyncReport:
    """Run one sync of *api* into the SQLite file *db*, closing the store after."""
    store = SQLiteStore(db)
    try:
        return await run(api, store, **options)
    finally:
        await store.aclose()


def in_stream(table: str, rows: Rows, stream: str) -> int:
    """Return how many rows of *table* are of message stream *stream*."""
    at = column(table, "message_stream")
    return sum(n for row, n in rows.items() if row[at] == stream)


def newest(table: str, rows: Rows, stream: str) -> dt.datetime:
    """Return the newest ``received_at`` of the rows of *table* of message stream *stream*."""
    at, when = column(table, "message_stream"), column(table, "received_at")
    return max(dt.datetime.fromisoformat(row[when]) for row in rows if row[at] == stream)


def check_stats_shape(rows: Rows) -> None:
    """Check that the expected stats cover what the test means to cover."""
    series, date, metric = (column("postmark_stats", c) for c in ("series", "date", "metric"))
    days: dict[str, set[str]] = {}
    metrics: dict[str, set[str]] = {}
    for row in rows:
        days.setdefault(row[series], set()).add(row[date])
        metrics.setdefault(row[series], set()).add(row[metric])
    assert set(days) == set(POSTMARK_SERIES)
    # Sparse days: complaints are rare, sends happen every day.
    assert len(days["spam-complaints"]) < len(days["sent-counts"])
    # Series whose keys are data.
    assert {"Gmail", "Apple Mail", "Outlook"} <= metrics["email-clients"]
    assert {"0s", "20s+", "unknown"} <= metrics["read-times"]
    assert {"Google Chrome", "Safari", "Firefox"} <= metrics["browser-families"]


async def test_a_first_run_past_the_ceiling_is_exact_and_later_runs_are_incremental(
    tmp_path: Path,
) -> None:
    """25 000+ opens and 10 000+ clicks in one stream are stored exactly, as are messages
    and every stats series; an idle run is cheap and changes nothing; after new opens,
    clicks and messages (also on a day two days back) a run restores the exact copy."""
    db = tmp_path / "stats.db"
    async with (
        FakePostmark(
            messages=8000,
            seed=7,
            now=NOW,
            retention_days=RETENTION,
            open_rate=0.8,
            click_rate=0.25,
            multi_recipient_rate=1.0,
            max_recipients=8,
        ) as fake,
        Session() as session,
    ):
        fake.record_requests = False
        api = connect(session, fake)
        truth = postmark_truth(fake, FIRST, TODAY)
        assert sum(truth["postmark_opens"].values()) >= 25_000
        assert in_stream("postmark_opens", truth["postmark_opens"], "outbound") > 10_000
        assert in_stream("postmark_clicks", truth["postmark_clicks"], "outbound") > 10_000
        check_stats_shape(truth["postmark_stats"])

        first = await sync(api, db, until=TODAY)
        assert_tables(db, truth)
        assert first.gaps == []
        # The lists stopped at the ceiling: the rest came message by message.
        assert fake.requests_by_endpoint[PER_MESSAGE_OPENS] > 0
        assert fake.requests_by_endpoint[PER_MESSAGE_CLICKS] > 0

        second = await sync(api, db, until=TODAY)
        assert_cheap(second, first)
        assert_nothing_changed(second)
        assert_tables(db, truth)

        opens = fake.add_opens(300) + fake.add_opens(80, stream="broadcast")
        clicks = fake.add_clicks(200) + fake.add_clicks(40, stream="broadcast")
        # A day two days back changes (its sends too), and today.
        messages = fake.add_messages(25, at=NOW - 2 * DAY)
        messages += fake.add_messages(15, at=NOW + dt.timedelta(minutes=5))
        assert (len(opens), len(clicks), len(messages)) == (380, 240, 40)
        third = await sync(api, db, until=TODAY)
        assert_tables(db, postmark_truth(fake, FIRST, TODAY))
        assert third.tables["postmark_messages"].inserted == len(messages)
        assert third.tables["postmark_opens"].inserted == len(opens)
        assert third.tables["postmark_clicks"].inserted == len(clicks)
        assert third.tables["postmark_stats"].updated > 0
        assert third.gaps == []


async def test_a_later_run_with_more_than_the_ceiling_new_goes_message_by_message(
    tmp_path: Path,
) -> None:
    """When more opens arrived since the last run than the list serves, the run reads
    the rest per message, and the table is exact again."""
    db = tmp_path / "stats.db"
    async with (
        FakePostmark(
            messages=3000,
            seed=8,
            now=NOW,
            retention_days=RETENTION,
            open_rate=0.1,
            click_rate=0.05,
            multi_recipient_rate=1.0,
            max_recipients=16,
        ) as fake,
        Session() as session,
    ):
        fake.record_requests = False
        api = connect(session, fake)
        await sync(api, db, until=TODAY, streams="opens")
        assert_table(db, "postmark_opens", postmark_opens(fake))
        assert fake.requests_by_endpoint[PER_MESSAGE_OPENS] == 0

        assert len(fake.add_opens(10_200)) == 10_200
        later = await sync(api, db, until=TODAY, streams="opens")
        assert_table(db, "postmark_opens", postmark_opens(fake))
        assert later.tables["postmark_opens"].inserted == 10_200
        assert fake.requests_by_endpoint[PER_MESSAGE_OPENS] > 0
        assert later.gaps == []


async def test_records_arriving_during_a_run_break_nothing_and_the_next_run_takes_them(
    tmp_path: Path,
) -> None:
    """With opens, clicks and messages arriving after every page (and pages capped and
    cut short), a run stores every record that existed when it began exactly once and
    nothing the server never had; the next run makes every table exact."""
    db = tmp_path / "stats.db"
    live = LivePlan(arrivals=2, message_arrivals=1, page_cap=200, short_every=3)
    async with (
        FakePostmark(
            messages=6500,
            seed=5,
            now=NOW,
            retention_days=RETENTION,
            open_rate=0.5,
            click_rate=0.3,
            multi_recipient_rate=1.0,
            max_recipients=8,
            live=live,
        ) as fake,
        Session() as session,
    ):
        fake.record_requests = False
        api = connect(session, fake)
        before = postmark_truth(fake, FIRST, TODAY, stats=False)
        # The outbound list passes the ceiling: the per-message part runs while
        # records arrive too.
        assert in_stream("postmark_opens", before["postmark_opens"], "outbound") > 10_000

        await sync(api, db, until=TODAY)
        after = postmark_truth(fake, FIRST, TODAY, stats=False)
        assert fake.requests_by_endpoint[PER_MESSAGE_OPENS] > 0
        for table in EVENT_TABLES:
            assert sum(after[table].values()) > sum(before[table].values())  # arrivals
            assert_between(db, table, before[table], after[table])

        fake.set_live(None)
        await sync(api, db, until=TODAY)
        assert_tables(db, postmark_truth(fake, FIRST, TODAY))


async def test_days_past_retention_since_the_last_run_are_reported_as_gaps(
    tmp_path: Path,
) -> None:
    """A run whose messages cursor is older than the server's retention reports the
    days it cannot fill, and fills everything the server still keeps."""
    db = tmp_path / "stats.db"
    retention = 10
    early = TODAY - dt.timedelta(days=30)
    async with (
        FakePostmark(messages=600, seed=9, now=NOW, retention_days=retention) as fake,
        Session() as session,
    ):
        api = connect(session, fake, retention)
        first = await sync(api, db, until=early)
        assert first.gaps == []

        later = await sync(api, db, until=TODAY)
        # Days up to `early` were read by the first run (the last of them perhaps only
        # in part); from then to the day before the retention starts is lost.
        kept = TODAY - dt.timedelta(days=retention)
        reason = f"older than the server's {retention}-day retention"
        assert sorted(later.gaps, key=str) == [
            Gap("messages (broadcast)", early, kept - DAY, reason),
            Gap("messages (outbound)", early, kept - DAY, reason),
        ]
        # Stats are not bound by the retention; they span both runs' windows.
        assert_tables(db, postmark_truth(fake, early - dt.timedelta(days=retention), TODAY))


async def test_an_events_cursor_older_than_retention_is_reported_as_a_gap(
    tmp_path: Path,
) -> None:
    """Opens and clicks last read before the server's retention report the days from
    that cursor to the retention's start; what the server keeps is read whole."""
    db = tmp_path / "stats.db"
    retention = 10
    then = NOW - dt.timedelta(days=30)
    async with (
        # The same server thirty days apart: by then it has purged what it had.
        FakePostmark(messages=600, seed=10, now=then, retention_days=retention) as old,
        FakePostmark(messages=600, seed=11, now=NOW, retention_days=retention) as fake,
        Session() as session,
    ):
        streams = ["opens", "clicks"]
        first = await sync(
            connect(session, old, retention), db, until=eastern_day(then), streams=streams
        )
        assert first.gaps == []
        cursors = {
            f"{kind} ({stream})": newest(f"postmark_{kind}", rows, stream)
            for kind, rows in (("opens", postmark_opens(old)), ("clicks", postmark_clicks(old)))
            for stream in ("outbound", "broadcast")
        }

        later = await sync(connect(session, fake, retention), db, until=TODAY, streams=streams)
        kept = TODAY - dt.timedelta(days=retention)
        reason = f"older than the server's {retention}-day retention"
        # The list is read from an hour before the cursor (the overlap).
        expected = [
            Gap(label, eastern_day(cursor - dt.timedelta(hours=1)), kept - DAY, reason)
            for label, cursor in cursors.items()
        ]
        assert sorted(later.gaps, key=str) == sorted(expected, key=str)
        assert_table(db, "postmark_opens", postmark_opens(old) + postmark_opens(fake))
        assert_table(db, "postmark_clicks", postmark_clicks(old) + postmark_clicks(fake))
