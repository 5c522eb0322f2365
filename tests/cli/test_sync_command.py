"""End-to-end tests of ``asyncmailstats sync`` against the fake servers.

The command runs in a worker thread (``main`` starts its own event loop) while the
test's loop keeps the fakes serving; one test runs it in a subprocess to send it Ctrl-C.
Every run names its last day (``--until``) and the fakes end at a fixed instant, so the
data read does not depend on the day the tests run.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path

import pytest

from asyncmailstats import Session
from asyncmailstats.cli import build_parser, main
from asyncmailstats.cli._sync import sync_once
from asyncmailstats.sync import TABLES, SQLiteStore, read_rows
from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
UNTIL = "2026-03-10"
SINCE = "2026-03-08"
POSTMARK_TABLES = ("postmark_messages", "postmark_opens", "postmark_clicks", "postmark_stats")


async def _main(*argv: str) -> int:
    """Run ``main(argv)`` in a thread, so that this loop keeps the fakes serving."""
    return await asyncio.to_thread(main, list(argv))


def usage(provider: str, message: str) -> str:
    """The one line of a usage error of ``sync PROVIDER``, with its pointer to --help."""
    prog = f"asyncmailstats sync {provider}"
    return f"{prog}: error: {message} (see '{prog} --help')\n"


def _table_rows(err: str) -> dict[str, tuple[int, int, int]]:
    """Return the summary's rows: table → (inserted, updated, deleted)."""
    found = {}
    for line in err.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] in TABLES:
            found[parts[0]] = tuple(int(p.replace(",", "")) for p in parts[1:])
    return found


def _postmark(fake: FakePostmark, db: Path, *extra: str) -> list[str]:
    return [
        "sync", "postmark", "--db", str(db), "--base-url", fake.url,
        "--since", SINCE, "--until", UNTIL, *extra,
    ]  # fmt: skip


@pytest.fixture
def postmark_env(monkeypatch: pytest.MonkeyPatch):
    """Return a setter of the Postmark token variable (no --token warning line)."""

    def set_token(token: str) -> None:
        monkeypatch.setenv("POSTMARK_SERVER_TOKEN", token)

    return set_token


async def test_postmark_sync_fills_every_table_and_a_second_run_changes_nothing(
    tmp_path: Path, capsys, postmark_env
):
    """The first run fills the four tables; the next inserts and updates nothing."""
    db = tmp_path / "stats.db"
    async with FakePostmark(messages=300, seed=1, now=NOW) as fake:
        postmark_env(fake.token)
        assert await _main(*_postmark(fake, db, "--no-progress")) == 0
        first = capsys.readouterr()
        assert await _main(*_postmark(fake, db, "--no-progress")) == 0
        second = capsys.readouterr()
        truth = {
            m["MessageID"]
            for m in fake.messages
            if SINCE <= m["ReceivedAt"][:10] <= UNTIL and m["MessageStream"] == "outbound"
        }
    assert first.out == second.out == ""
    counts = _table_rows(first.err)
    assert list(counts) == list(POSTMARK_TABLES)
    for table in POSTMARK_TABLES:
        rows = read_rows(db, table)
        assert rows, table
        assert counts[table] == (len(rows), 0, 0)
    stored = {r[1] for r in read_rows(db, "postmark_messages")}
    assert truth
    assert truth <= stored
    assert first.err.splitlines()[0] == (
        "postmark sync of account 'default': messages, opens, clicks, stats"
    )
    assert "requests: " in first.err
    assert "units: " in first.err
    assert _table_rows(second.err) == dict.fromkeys(POSTMARK_TABLES, (0, 0, 0))


async def test_emailconsul_sync_per_group_and_day(tmp_path: Path, capsys):
    """Link stats land per grouping and UTC day; a re-run changes nothing."""
    db = tmp_path / "stats.db"
    key = tmp_path / "key"
    names = TABLES["emailconsul_link_stats"].names
    async with FakeEmailConsul(link_logs=800, seed=2, now=NOW) as fake:
        key.write_text(fake.api_key + "\n")
        argv = [
            "sync", "emailconsul", "--db", str(db), "--token-file", str(key),
            "--base-url", fake.url, "--since", SINCE, "--until", UNTIL, "--group", "country",
        ]  # fmt: skip
        assert await _main(*argv) == 0
        first = capsys.readouterr()
        assert await _main(*argv) == 0
        second = capsys.readouterr()
    rows = read_rows(db, "emailconsul_link_stats")
    assert rows
    assert {r[names.index("group_by")] for r in rows} == {"country"}
    assert {r[names.index("day")] for r in rows} <= {"2026-03-08", "2026-03-09", "2026-03-10"}
    assert _table_rows(first.err) == {"emailconsul_link_stats": (len(rows), 0, 0)}
    assert _table_rows(second.err) == {"emailconsul_link_stats": (0, 0, 0)}
    assert first.out == ""


async def test_getresponse_sync_messages_and_their_stats(tmp_path: Path, capsys, monkeypatch):
    """Every message and its daily stats land; a re-run changes nothing."""
    db = tmp_path / "stats.db"
    async with FakeGetResponse(messages=8, seed=3, now=NOW) as fake:
        monkeypatch.setenv("GETRESPONSE_API_KEY", fake.api_key)
        argv = ["sync", "getresponse", "--db", str(db), "--base-url", fake.url, "--until", UNTIL]
        assert await _main(*argv) == 0
        first = capsys.readouterr()
        assert await _main(*argv) == 0
        second = capsys.readouterr()
        truth = set(fake.messages)
    assert {r[1] for r in read_rows(db, "getresponse_messages")} == truth
    stats = read_rows(db, "getresponse_message_stats")
    assert stats
    assert _table_rows(first.err) == {
        "getresponse_messages": (len(truth), 0, 0),
        "getresponse_message_stats": (len(stats), 0, 0),
    }
    assert _table_rows(second.err) == {
        "getresponse_messages": (0, 0, 0),
        "getresponse_message_stats": (0, 0, 0),
    }


async def test_streams_subset_touches_only_those_tables(tmp_path: Path, capsys, postmark_env):
    """``--streams stats,messages`` reads those two, in plan order, and no event list."""
    db = tmp_path / "stats.db"
    async with FakePostmark(messages=200, seed=4, now=NOW) as fake:
        postmark_env(fake.token)
        argv = _postmark(fake, db, "--streams", "stats, messages", "--no-progress")
        assert await _main(*argv) == 0
        endpoints = set(fake.requests_by_endpoint)
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "postmark sync of account 'default': messages, stats"
    assert list(_table_rows(err)) == ["postmark_messages", "postmark_stats"]
    assert read_rows(db, "postmark_messages")
    assert read_rows(db, "postmark_opens") == read_rows(db, "postmark_clicks") == []
    events = ("/messages/outbound/opens", "/messages/outbound/clicks")
    assert not any(e.startswith(events) for e in endpoints), endpoints


async def test_full_refresh_and_accounts(tmp_path: Path, capsys, postmark_env):
    """``--full-refresh`` rebuilds the same rows; ``--account`` keeps accounts apart."""
    db = tmp_path / "stats.db"
    async with FakePostmark(messages=150, seed=5, now=NOW) as fake:
        postmark_env(fake.token)
        base = _postmark(fake, db, "--streams", "messages", "--no-progress")
        assert await _main(*base) == 0
        before = read_rows(db, "postmark_messages")
        capsys.readouterr()
        assert await _main(*base, "--full-refresh") == 0
        refreshed = capsys.readouterr().err
        assert await _main(*base, "--account", "second") == 0
    assert "(full refresh)" in refreshed.splitlines()[0]
    assert _table_rows(refreshed) == {"postmark_messages": (len(before), 0, 0)}
    assert sorted(read_rows(db, "postmark_messages")) == sorted(before)
    second = read_rows(db, "postmark_messages", account="second")
    assert sorted(r[1:] for r in second) == sorted(r[1:] for r in before)


async def test_gaps_past_retention_are_listed(tmp_path: Path, capsys, postmark_env):
    """Days older than ``--retention-days`` are named, one ``gap:`` line each."""
    db = tmp_path / "stats.db"
    async with FakePostmark(messages=100, seed=6, now=NOW) as fake:
        postmark_env(fake.token)
        argv = [
            "sync", "postmark", "--db", str(db), "--base-url", fake.url, "--until", UNTIL,
            "--since", "2026-03-01", "--retention-days", "3", "--streams", "messages",
            "--message-stream", "outbound", "--no-progress",
        ]  # fmt: skip
        assert await _main(*argv) == 0
    gaps = [line for line in capsys.readouterr().err.splitlines() if line.startswith("gap: ")]
    assert gaps == [
        (
            "gap: messages (outbound): 2026-03-01 to 2026-03-06 not synced "
            "(older than the server's 3-day retention)"
        )
    ]


async def test_progress_on_a_terminal_and_elsewhere(tmp_path: Path):
    """A terminal gets a redrawn line per stream, ended when it finishes; a log one line."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    async with FakePostmark(messages=100, seed=7, now=NOW) as fake:
        outputs = []
        for stream in (Terminal(), io.StringIO()):
            argv = _postmark(fake, tmp_path / f"{len(outputs)}.db", "--token", fake.token)
            argv += ["--streams", "messages,stats", "--message-stream", "outbound"]
            args = build_parser().parse_args(argv)
            with contextlib.redirect_stderr(io.StringIO()):  # the --token warning
                await sync_once(args, session_factory=Session, stream=stream)
            outputs.append(stream.getvalue())
    terminal, log = outputs
    assert "\r\x1b[2Kpostmark messages: 1 unit, last outbound 2026-03-08" in terminal
    assert "\r\x1b[2Kpostmark messages: 3 units, last outbound 2026-03-10\n" in terminal
    assert "\r\x1b[2Kpostmark stats: 1 unit, last 2026-03-08 to 2026-03-10\n" in terminal
    assert log.splitlines()[:3] == [
        "postmark messages: 3 units, last outbound 2026-03-10",
        "postmark stats: 1 unit, last 2026-03-08 to 2026-03-10",
        "postmark sync of account 'default': messages, stats",
    ]
    assert "\r" not in log


@pytest.mark.parametrize(
    "db_url",
    ["postgresql://user:s3cret@db.example/stats", "POSTGRES://user:s3cret@localhost/stats"],
)
async def test_postgres_url_without_asyncpg_is_refused_before_any_request(
    tmp_path: Path, capsys, postmark_env, monkeypatch, db_url: str
):
    """Without asyncpg a PostgreSQL URL exits 2 with one line naming the extra; nothing
    is sent, and the URL (it may carry a password) is never echoed."""
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # import asyncpg fails
    async with FakePostmark(messages=10, seed=8, now=NOW) as fake:
        postmark_env(fake.token)
        code = await _main("sync", "postmark", "--db", db_url, "--base-url", fake.url)
        requests = fake.request_count
    err = capsys.readouterr().err
    assert code == 2
    assert requests == 0
    assert err == usage(
        "postmark", "--db: a PostgreSQL database needs asyncpg: install asyncmailstats[postgres]"
    )
    assert list(tmp_path.iterdir()) == []


async def test_postgres_url_that_cannot_be_read_is_a_usage_error(capsys, postmark_env):
    """A URL whose port is no number exits 2 before anything is sent, without echoing it."""
    async with FakePostmark(messages=10, seed=8, now=NOW) as fake:
        postmark_env(fake.token)
        db_url = "postgresql://user:s3cret@localhost:54x2/stats"
        code = await _main("sync", "postmark", "--db", db_url, "--base-url", fake.url)
        requests = fake.request_count
    assert code == 2
    assert requests == 0
    assert capsys.readouterr().err == usage(
        "postmark", "--db: not a valid PostgreSQL URL (postgresql://user@host:port/database)"
    )


async def test_postgres_server_not_reachable_exits_1_without_the_password(capsys, postmark_env):
    """Nobody listens at the URL: exit 1, one line naming the database, no password, no
    request sent."""
    pytest.importorskip("asyncpg")
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        async with FakePostmark(messages=10, seed=8, now=NOW) as fake:
            postmark_env(fake.token)
            db_url = f"postgresql://user:s3cret@127.0.0.1:{port}/stats"
            code = await _main("sync", "postmark", "--db", db_url, "--base-url", fake.url)
            requests = fake.request_count
    err = capsys.readouterr().err
    assert code == 1
    assert requests == 0
    assert err.startswith(
        f"asyncmailstats: cannot connect to postgresql://user@127.0.0.1:{port}/stats "
        "(schema public): "
    )
    assert err.count("\n") == 1
    assert "s3cret" not in err


def _not_sqlite(tmp_path: Path) -> str:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n")
    return str(path)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--since", "2026-3-1"], "--since: not a date (YYYY-MM-DD): '2026-3-1'"),
        (["--since", "2026-02-30"], "--since: not a valid date: '2026-02-30'"),
        (["--until", "0999-01-01"], "--until: year 999 is outside 1900..9998"),
        (["--since", "2026-03-11"], "--since 2026-03-11 is after --until 2026-03-10"),
        (["--streams", "messages,bounces"], "--streams: unknown postmark stream 'bounces'; "),
        (["--streams", ","], "--streams: no stream given; "),
        (["--lookback-days", "-1"], "--lookback-days must be between 0 and 3650, not -1"),
        (["--lookback-days", "week"], "--lookback-days: not a whole number: 'week'"),
        (["--retention-days", "0"], "--retention-days must be between 1 and 36500, not 0"),
        (["--account", " "], "--account must not be empty"),
        (["--message-stream", ""], "--message-stream must not be empty"),
        (["--db", "{tmp}"], "--db {tmp} is a directory"),
        (["--db", "{tmp}/missing/stats.db"], "--db {tmp}/missing/stats.db: folder "),
        (["--db", "{notes}"], "--db {notes} is not a SQLite database"),
    ],
)
async def test_bad_options_exit_2_before_any_request(
    tmp_path: Path, capsys, postmark_env, options: list[str], message: str
):
    """Each refused value is one usage line pointing at --help, exit 2, and no request."""
    notes = _not_sqlite(tmp_path)
    options = [o.format(tmp=tmp_path, notes=notes) for o in options]
    message = message.format(tmp=tmp_path, notes=notes)
    async with FakePostmark(messages=10, seed=9, now=NOW) as fake:
        postmark_env(fake.token)
        argv = _postmark(fake, tmp_path / "stats.db", "--until", UNTIL)
        code = await _main(*argv, *options)
        requests = fake.request_count
    err = capsys.readouterr().err
    assert code == 2
    assert requests == 0
    assert len(err.splitlines()) == 1
    assert err.startswith(f"asyncmailstats sync postmark: error: {message}")
    assert err.endswith(" (see 'asyncmailstats sync postmark --help')\n")
    assert not (tmp_path / "stats.db").exists()


async def test_until_after_today_and_unknown_group_are_refused(tmp_path: Path, capsys):
    """A last day in the future, or a grouping EmailConsul lacks, exit 2 and send nothing."""
    future = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()
    async with FakeEmailConsul(link_logs=10, seed=10, now=NOW) as fake:
        base = [
            "sync", "emailconsul", "--db", str(tmp_path / "stats.db"), "--token", fake.api_key,
            "--base-url", fake.url,
        ]  # fmt: skip
        assert await _main(*base, "--until", future) == 2
        late = capsys.readouterr().err
        assert await _main(*base, "--group", "planet") == 2
        group = capsys.readouterr().err
        requests = fake.request_count
    assert requests == 0
    assert late.startswith(
        f"asyncmailstats sync emailconsul: error: --until {future} is after today ("
    )
    assert late.endswith(" (see 'asyncmailstats sync emailconsul --help')\n")
    assert len(late.splitlines()) == 1
    assert group == usage(
        "emailconsul",
        "--group: unknown group 'planet'; expected one of: campaign_id, "
        "subscriber_id, device, country, ip, browser, custom_link_title, params",
    )
    assert not (tmp_path / "stats.db").exists()


async def test_missing_token_is_reported_like_export(tmp_path: Path, capsys, monkeypatch):
    """Without a credential: export's message as a usage error (exit 2), before any request."""
    monkeypatch.delenv("POSTMARK_SERVER_TOKEN", raising=False)
    async with FakePostmark(messages=10, seed=11, now=NOW) as fake:
        code = await _main(*_postmark(fake, tmp_path / "stats.db"))
        requests = fake.request_count
    assert code == 2
    assert requests == 0
    assert capsys.readouterr().err == usage(
        "postmark", "no credential: set POSTMARK_SERVER_TOKEN, or pass --token-file or --token"
    )


async def test_a_held_lock_exits_1_and_leaves_the_database_alone(
    tmp_path: Path, capsys, postmark_env
):
    """While another run holds the account, the command says so; other accounts run."""
    db = tmp_path / "stats.db"
    holder = SQLiteStore(db)
    try:
        await holder.open()
        await holder.lock("default")
        async with FakePostmark(messages=50, seed=12, now=NOW) as fake:
            postmark_env(fake.token)
            argv = _postmark(fake, db, "--streams", "messages", "--no-progress")
            code = await _main(*argv)
            err = capsys.readouterr().err
            requests = fake.request_count
            other = await _main(*argv, "--account", "other")
        with sqlite3.connect(db) as conn:
            locks = conn.execute("SELECT account FROM _sync_lock").fetchall()
        conn.close()
    finally:
        await holder.aclose()
    assert code == 1
    assert requests == 0
    assert len(err.splitlines()) == 1
    assert err.startswith(f"asyncmailstats: another sync of account 'default' is running on {db}")
    assert err.rstrip().endswith("try again later")
    assert read_rows(db, "postmark_messages") == []
    assert other == 0
    assert read_rows(db, "postmark_messages", account="other")
    assert locks == [("default",)]


async def test_refused_credential_exits_1_with_one_line(tmp_path: Path, capsys, postmark_env):
    """A token the server refuses: one line naming the variable, no traceback, no secret."""
    async with FakePostmark(messages=10, seed=13, now=NOW) as fake:
        postmark_env("wrong-token-value")
        code = await _main(*_postmark(fake, tmp_path / "stats.db"))
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err == (
        "asyncmailstats: authentication failed: check POSTMARK_SERVER_TOKEN (or --token)\n"
    )
    with sqlite3.connect(tmp_path / "stats.db") as conn:
        assert conn.execute("SELECT count(*) FROM _sync_lock").fetchone() == (0,)
    conn.close()


@pytest.mark.parametrize("provider", ["postmark", "emailconsul", "getresponse"])
def test_help_of_each_provider_shows_an_example(capsys, provider: str):
    """``sync PROVIDER --help`` lists the options and ends with runnable examples."""
    assert main(["sync", provider, "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:\n" in out
    assert f"\n  asyncmailstats sync {provider} --db stats.db" in out
    for option in ("--db", "--token-file", "--since", "--until", "--streams", "--full-refresh"):
        assert option in out


class WatchedPostmark(FakePostmark):
    """A FakePostmark that tells when the first stats request arrives."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stats_asked = asyncio.Event()

    def endpoint_of(self, request) -> str:
        name = super().endpoint_of(request)
        if name.startswith("/stats/"):
            self.stats_asked.set()
        return name


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
async def test_ctrl_c_exits_130_and_keeps_whole_units(tmp_path: Path, capsys, postmark_env):
    """Ctrl-C mid-run exits 130 without a traceback; the lock is released, a re-run ends."""
    db = tmp_path / "stats.db"
    # Each stats request is answered after 0.1 s: the signal arrives while the first
    # one waits, with eleven more series to go.
    async with WatchedPostmark(messages=100, seed=14, now=NOW, latency=0.1) as fake:
        argv = _postmark(fake, db, "--streams", "messages,stats", "--message-stream", "outbound")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "asyncmailstats", *argv,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "POSTMARK_SERVER_TOKEN": fake.token},
        )  # fmt: skip
        done = asyncio.ensure_future(proc.communicate())
        asked = asyncio.ensure_future(fake.stats_asked.wait())
        await asyncio.wait([done, asked], return_when=asyncio.FIRST_COMPLETED)
        asked.cancel()
        assert not done.done(), "the sync ended before it was interrupted"
        proc.send_signal(signal.SIGINT)
        out, err_bytes = await done
        err = err_bytes.decode()
        assert proc.returncode == 130, err
        assert out == b""
        assert err.endswith("interrupted\n")
        assert "Traceback" not in err
        messages = read_rows(db, "postmark_messages")
        with sqlite3.connect(db) as conn:
            locks = conn.execute("SELECT count(*) FROM _sync_lock").fetchone()
            state = conn.execute("SELECT stream FROM _sync_state").fetchall()
        conn.close()
        postmark_env(fake.token)
        assert await _main(*argv, "--no-progress") == 0
    assert locks == (0,)
    assert state == [("postmark/messages:outbound",)]
    assert messages
    assert sorted(read_rows(db, "postmark_messages")) == sorted(messages)
    assert read_rows(db, "postmark_stats")
