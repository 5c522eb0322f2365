"""The three providers synced into PostgreSQL over HTTP against the fakes: exact,
incremental, and sound while records arrive.

The same checks as the SQLite sync tests (``tests/sync``), with the rows read back from
the server: every table equals what the fake holds (``truth``) as a multiset; an idle
second run costs at most a tenth of the first's requests and changes nothing; a run
after changes is exact again; records arriving during a run are stored once, or not
yet, and never invented.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from asyncmailstats import Session
from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark, LivePlan
from tests.postgres.pg import rows, sync, tables
from tests.sync import test_emailconsul_sync as ec
from tests.sync import test_getresponse_sync as gr
from tests.sync import test_postmark_sync as pm
from tests.sync.truth import (
    Rows,
    assert_cheap,
    assert_nothing_changed,
    assert_row_keys_between,
    assert_rows,
    assert_rows_between,
    assert_rows_unique,
    column,
    getresponse_truth,
    link_stats,
    postmark_opens,
    postmark_truth,
)

pytestmark = pytest.mark.postgres


async def assert_exact(dsn: str, expected: dict[str, Rows]) -> None:
    """Check every table of *expected* against the rows the database holds."""
    found = await tables(dsn, list(expected))
    for name, want in expected.items():
        assert_rows(name, found[name], want)


async def test_postmark_past_the_ceiling_is_exact_and_later_runs_are_incremental(
    pg_dsn: str,
) -> None:
    """25 000+ opens and 10 000+ clicks in one stream, messages and every stats series
    are stored exactly; an idle run is cheap and changes nothing; after new opens,
    clicks and messages (also on a day two days back) a run restores the exact copy."""
    async with (
        FakePostmark(
            messages=8000,
            seed=7,
            now=pm.NOW,
            retention_days=pm.RETENTION,
            open_rate=0.8,
            click_rate=0.25,
            multi_recipient_rate=1.0,
            max_recipients=8,
        ) as fake,
        Session() as session,
    ):
        fake.record_requests = False
        api = pm.connect(session, fake)
        truth = postmark_truth(fake, pm.FIRST, pm.TODAY)
        assert sum(truth["postmark_opens"].values()) >= 25_000
        assert pm.in_stream("postmark_opens", truth["postmark_opens"], "outbound") > 10_000
        assert pm.in_stream("postmark_clicks", truth["postmark_clicks"], "outbound") > 10_000
        pm.check_stats_shape(truth["postmark_stats"])

        first = await sync(api, pg_dsn, until=pm.TODAY)
        await assert_exact(pg_dsn, truth)
        assert first.gaps == []
        assert first.tables["postmark_opens"].inserted == sum(truth["postmark_opens"].values())
        # The lists stopped at the ceiling: the rest came message by message.
        assert fake.requests_by_endpoint[pm.PER_MESSAGE_OPENS] > 0
        assert fake.requests_by_endpoint[pm.PER_MESSAGE_CLICKS] > 0

        second = await sync(api, pg_dsn, until=pm.TODAY)
        assert_cheap(second, first)
        assert_nothing_changed(second)
        await assert_exact(pg_dsn, truth)

        opens = fake.add_opens(300) + fake.add_opens(80, stream="broadcast")
        clicks = fake.add_clicks(200) + fake.add_clicks(40, stream="broadcast")
        messages = fake.add_messages(25, at=pm.NOW - 2 * pm.DAY)
        messages += fake.add_messages(15, at=pm.NOW + dt.timedelta(minutes=5))
        third = await sync(api, pg_dsn, until=pm.TODAY)
        await assert_exact(pg_dsn, postmark_truth(fake, pm.FIRST, pm.TODAY))
        assert third.tables["postmark_messages"].inserted == len(messages)
        assert third.tables["postmark_opens"].inserted == len(opens)
        assert third.tables["postmark_clicks"].inserted == len(clicks)
        assert third.tables["postmark_stats"].updated > 0
        assert third.gaps == []


async def test_postmark_more_than_the_ceiling_new_goes_message_by_message(pg_dsn: str) -> None:
    """When more opens arrived since the last run than the list serves, the run reads
    the rest per message, and the table is exact again."""
    async with (
        FakePostmark(
            messages=3000,
            seed=8,
            now=pm.NOW,
            retention_days=pm.RETENTION,
            open_rate=0.1,
            click_rate=0.05,
            multi_recipient_rate=1.0,
            max_recipients=16,
        ) as fake,
        Session() as session,
    ):
        fake.record_requests = False
        api = pm.connect(session, fake)
        await sync(api, pg_dsn, until=pm.TODAY, streams="opens")
        assert_rows("postmark_opens", await rows(pg_dsn, "postmark_opens"), postmark_opens(fake))
        assert len(fake.add_opens(10_200)) == 10_200
        later = await sync(api, pg_dsn, until=pm.TODAY, streams="opens")
        assert_rows("postmark_opens", await rows(pg_dsn, "postmark_opens"), postmark_opens(fake))
        assert later.tables["postmark_opens"].inserted == 10_200
        assert fake.requests_by_endpoint[pm.PER_MESSAGE_OPENS] > 0


async def test_postmark_records_arriving_during_a_run_break_nothing(pg_dsn: str) -> None:
    """With opens, clicks and messages arriving after every page (pages capped and cut
    short), a run stores every record that existed when it began exactly once and
    nothing the server never had; the next run makes every table exact."""
    live = LivePlan(arrivals=2, message_arrivals=1, page_cap=200, short_every=3)
    async with (
        FakePostmark(
            messages=6500,
            seed=5,
            now=pm.NOW,
            retention_days=pm.RETENTION,
            open_rate=0.5,
            click_rate=0.3,
            multi_recipient_rate=1.0,
            max_recipients=8,
            live=live,
        ) as fake,
        Session() as session,
    ):
        fake.record_requests = False
        api = pm.connect(session, fake)
        before = postmark_truth(fake, pm.FIRST, pm.TODAY, stats=False)
        assert pm.in_stream("postmark_opens", before["postmark_opens"], "outbound") > 10_000

        await sync(api, pg_dsn, until=pm.TODAY)
        after = postmark_truth(fake, pm.FIRST, pm.TODAY, stats=False)
        assert fake.requests_by_endpoint[pm.PER_MESSAGE_OPENS] > 0
        found = await tables(pg_dsn, pm.EVENT_TABLES)
        for table in pm.EVENT_TABLES:
            assert sum(after[table].values()) > sum(before[table].values())  # arrivals
            assert_rows_between(table, found[table], before[table], after[table])

        fake.set_live(None)
        await sync(api, pg_dsn, until=pm.TODAY)
        await assert_exact(pg_dsn, postmark_truth(fake, pm.FIRST, pm.TODAY))


async def test_emailconsul_link_stats_are_exact_incremental_and_sound_while_clicks_arrive(
    pg_dsn: str,
) -> None:
    """Every UTC day and group value with its count; an idle run is cheap and changes
    nothing; new clicks are counted by the next run. Then, with clicks arriving after
    every page, past days stay exact and today's counts lie between the start's and
    the end's; the run after that is exact."""
    table = ec.TABLE
    options = {"until": ec.TODAY, "lookback_days": ec.LOOKBACK}
    async with FakeEmailConsul(link_logs=5000, seed=3, now=ec.NOW) as fake, Session() as session:
        api = ec.connect(session, fake)
        first = await sync(api, pg_dsn, **options)
        truth = link_stats(fake, ec.FIRST, ec.TODAY, ec.DEFAULT_GROUPS)
        assert_rows(table, await rows(pg_dsn, table), truth)
        second = await sync(api, pg_dsn, **options)
        assert_cheap(second, first)
        assert_nothing_changed(second)
        fake.add_link_logs(60)
        third = await sync(api, pg_dsn, **options)
        truth = link_stats(fake, ec.FIRST, ec.TODAY, ec.DEFAULT_GROUPS)
        assert_rows(table, await rows(pg_dsn, table), truth)
        assert third.tables[table].inserted > 0
        assert third.tables[table].updated > 0

    groups = (*ec.DEFAULT_GROUPS, "subscriber_id")
    live = LivePlan(arrivals=3, page_cap=50, short_every=4)
    async with (
        FakeEmailConsul(link_logs=4000, seed=5, now=ec.NOW, live=live) as fake,
        Session() as session,
    ):
        api = ec.connect(session, fake)
        before = link_stats(fake, ec.FIRST, ec.TODAY, groups)
        await sync(api, pg_dsn, account="live", groups=groups, **options)
        after = link_stats(fake, ec.FIRST, ec.TODAY, groups)
        found = relabelled(await rows(pg_dsn, table, "live"))
        assert_rows_unique(table, found)
        day, count, today = column(table, "day"), column(table, "count"), ec.TODAY.isoformat()
        past = Rows({row: n for row, n in after.items() if row[day] != today})
        assert Rows({row: n for row, n in found.items() if row[day] != today}) == past
        low = {row[:count]: row[count] for row in before}
        high = {row[:count]: row[count] for row in after}
        for row in found:
            assert low.get(row[:count], 0) <= row[count] <= high[row[:count]], row
        stored_keys = {row[:count] for row in found}
        assert all(key in stored_keys for key in low)
        fake.set_live(None)
        await sync(api, pg_dsn, account="live", groups=groups, **options)
        truth = link_stats(fake, ec.FIRST, ec.TODAY, groups)
        assert_rows(table, relabelled(await rows(pg_dsn, table, "live")), truth)


def relabelled(found: Rows) -> Rows:
    """Return rows of another account as rows of the default one (as ``truth`` makes them)."""
    return Rows({("default", *row[1:]): n for row, n in found.items()})


async def test_getresponse_is_exact_incremental_and_sound_while_it_changes(
    pg_dsn: str,
) -> None:
    """Every message and its daily stats; an idle run is cheap and changes nothing; a
    new message and changed stats are taken by the next run. A message added and stats
    changed during a run break nothing; the run after that is exact."""
    options = {"until": gr.TODAY, "lookback_days": gr.LOOKBACK}
    async with (
        FakeGetResponse(messages=5000, seed=3, now=gr.NOW.replace(tzinfo=dt.UTC)) as fake,
        Session() as session,
    ):
        api = gr.connect(session, fake)
        first = await sync(api, pg_dsn, **options)
        await assert_exact(pg_dsn, getresponse_truth(fake))
        second = await sync(api, pg_dsn, **options)
        assert_cheap(second, first)
        assert_nothing_changed(second)
        gr.add_message(fake, "zNew1")
        gr.change_stats(fake, gr.recent_message(fake))
        third = await sync(api, pg_dsn, **options)
        await assert_exact(pg_dsn, getresponse_truth(fake))
        assert third.tables[gr.MESSAGES].inserted == 1
        assert third.tables[gr.STATS].inserted >= 1
        assert third.tables[gr.STATS].updated >= 1

    async with (
        FakeGetResponse(messages=400, seed=4, now=gr.NOW.replace(tzinfo=dt.UTC)) as fake,
        Session() as session,
    ):
        before = getresponse_truth(fake)
        changed = gr.recent_message(fake)

        def arrive(stream: str, unit: str) -> None:
            del unit
            if stream == "messages":
                gr.add_message(fake, "zNew2")
                gr.change_stats(fake, changed)

        progress: Callable[[str, str], None] = arrive
        api = gr.connect(session, fake)
        await sync(api, pg_dsn, account="live", progress=progress, **options)
        after = getresponse_truth(fake)
        assert after[gr.STATS] != before[gr.STATS]
        found = {t: relabelled(await rows(pg_dsn, t, "live")) for t in (gr.MESSAGES, gr.STATS)}
        assert_rows_between(
            gr.MESSAGES, found[gr.MESSAGES], before[gr.MESSAGES], after[gr.MESSAGES]
        )
        assert_row_keys_between(gr.STATS, found[gr.STATS], before[gr.STATS], after[gr.STATS])
        await sync(api, pg_dsn, account="live", **options)
        truth = getresponse_truth(fake)
        for name in (gr.MESSAGES, gr.STATS):
            assert_rows(name, relabelled(await rows(pg_dsn, name, "live")), truth[name])
