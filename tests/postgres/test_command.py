"""``asyncmailstats sync … --db postgresql://…`` end to end, against the fakes and a server.

The command runs in a worker thread (``main`` starts its own event loop) while the
test's loop keeps the fakes serving, as in ``tests/cli/test_sync_command.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from asyncmailstats.cli import main
from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark
from tests.postgres.pg import admin_connect, rows, with_user
from tests.sync.truth import assert_rows, getresponse_truth, link_stats, postmark_truth

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
UNTIL = dt.date(2026, 3, 10)
#: Where a first run starts by default: the server's retention (45 days) before its end.
FIRST = UNTIL - dt.timedelta(days=45)
POSTMARK_TABLES = ("postmark_messages", "postmark_opens", "postmark_clicks", "postmark_stats")


async def _main(*argv: str) -> int:
    """Run ``main(argv)`` in a thread, so that this loop keeps the fakes serving."""
    return await asyncio.to_thread(main, list(argv))


def summary_rows(err: str) -> dict[str, tuple[int, ...]]:
    """Return the summary's rows: table → (inserted, updated, deleted)."""
    found = {}
    for line in err.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0].startswith(("postmark_", "emailconsul_", "getresponse_")):
            found[parts[0]] = tuple(int(p.replace(",", "")) for p in parts[1:])
    return found


async def test_postmark_into_postgres_fills_the_tables_and_later_runs_are_incremental(
    pg_dsn: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run fills the four tables exactly; the next changes nothing; a full
    refresh (given a ``postgres://`` URL) rebuilds them, exactly again."""
    async with FakePostmark(messages=400, seed=1, now=NOW) as fake:
        monkeypatch.setenv("POSTMARK_SERVER_TOKEN", fake.token)
        argv = ["sync", "postmark", "--base-url", fake.url, "--until", UNTIL.isoformat()]
        assert await _main(*argv, "--db", pg_dsn, "--no-progress") == 0
        first = capsys.readouterr()
        truth = postmark_truth(fake, FIRST, UNTIL)
        for table in POSTMARK_TABLES:
            assert_rows(table, await rows(pg_dsn, table), truth[table])
        counts = summary_rows(first.err)
        assert counts == {t: (sum(truth[t].values()), 0, 0) for t in POSTMARK_TABLES}

        assert await _main(*argv, "--db", pg_dsn, "--no-progress") == 0
        second = capsys.readouterr()
        assert summary_rows(second.err) == dict.fromkeys(POSTMARK_TABLES, (0, 0, 0))

        other_scheme = "postgres://" + pg_dsn.removeprefix("postgresql://")
        refresh = [*argv, "--db", other_scheme, "--full-refresh", "--no-progress"]
        assert await _main(*refresh) == 0
        third = capsys.readouterr()
        assert summary_rows(third.err) == counts
        for table in POSTMARK_TABLES:
            assert_rows(table, await rows(pg_dsn, table), truth[table])
    assert first.out == second.out == third.out == ""
    assert first.err.splitlines()[0] == (
        "postmark sync of account 'default': messages, opens, clicks, stats"
    )


async def test_emailconsul_and_getresponse_share_the_database(
    pg_dsn: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two more providers synced into the same database land in their own tables."""
    async with (
        FakeEmailConsul(link_logs=800, seed=2, now=NOW) as consul,
        FakeGetResponse(messages=30, seed=3, now=NOW) as getresponse,
    ):
        monkeypatch.setenv("EMAILCONSUL_API_KEY", consul.api_key)
        monkeypatch.setenv("GETRESPONSE_API_KEY", getresponse.api_key)
        common = ["--db", pg_dsn, "--until", UNTIL.isoformat(), "--no-progress"]
        assert await _main("sync", "emailconsul", "--base-url", consul.url, *common) == 0
        assert await _main("sync", "getresponse", "--base-url", getresponse.url, *common) == 0
        captured = capsys.readouterr()
        table = "emailconsul_link_stats"
        groups = ("campaign_id", "country")
        truth = link_stats(consul, FIRST, UNTIL, groups)
        assert_rows(table, await rows(pg_dsn, table), truth)
        for name, want in getresponse_truth(getresponse).items():
            assert_rows(name, await rows(pg_dsn, name), want)
    assert captured.out == ""
    assert set(summary_rows(captured.err)) == {
        "emailconsul_link_stats",
        "getresponse_messages",
        "getresponse_message_stats",
    }


async def test_a_refused_password_exits_1_with_one_line_that_does_not_show_it(
    pg_dsn: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong password: exit status 1, one line naming the database without the
    password, and no request sent."""
    conn = await admin_connect(pg_dsn)
    try:
        # Roles belong to the whole server, which CI shares between two test sessions.
        await conn.execute(
            "DO $$ BEGIN CREATE ROLE ams_cli; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        await conn.execute("ALTER ROLE ams_cli LOGIN PASSWORD 'right-Pw7'")
    finally:
        await conn.close()
    wrong = with_user(pg_dsn, "ams_cli", "wrong-Pw7")
    try:
        await (await admin_connect(wrong)).close()
    except Exception:  # noqa: S110 - refused, as it should be
        pass
    else:
        pytest.skip("the server lets any password in: a refused password cannot be tried")
    async with FakePostmark(messages=20, seed=4, now=NOW) as fake:
        monkeypatch.setenv("POSTMARK_SERVER_TOKEN", fake.token)
        argv = ["sync", "postmark", "--db", wrong, "--base-url", fake.url]
        code = await _main(*argv, "--until", UNTIL.isoformat())
        requests = fake.request_count
    captured = capsys.readouterr()
    assert code == 1
    assert requests == 0
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("asyncmailstats: cannot connect to postgresql://ams_cli@127.0.0.1:")
    assert lines[0].endswith('password authentication failed for user "ams_cli"')
    assert "Pw7" not in captured.err
