"""The SQLite store: merges and their counts, replaced scopes, resets, state, schema, threads.

Rows are merged by natural key: new keys are inserted, changed rows updated, and rows
that did not change are left alone (counted nowhere, ``_synced_at`` kept). A ``replace``
write deletes only the rows of its scope that are gone. A reset deletes one account's rows
and the state of the streams reset, and nothing else. Every call runs on the store's own
thread, never on the event loop's.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from asyncmailstats import Session
from asyncmailstats.postmark._args import EASTERN
from asyncmailstats.sync import SQLiteStore, SyncError, Write, read_rows, run
from asyncmailstats.sync import _store as store_module
from asyncmailstats.sync._postmark import PostmarkPlan
from asyncmailstats.sync._store import SCHEMA_VERSION, Counts
from asyncmailstats.sync._tables import POSTMARK_MESSAGES, POSTMARK_OPENS, POSTMARK_STATS, Row
from asyncmailstats.testing import FakePostmark

NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
TODAY = NOW.astimezone(EASTERN).date()


def stat(day: int, value: int | None, *, account: str = "a", series: str = "sent-counts") -> Row:
    """Return a ``postmark_stats`` row of May *day*, 2024."""
    return (account, series, "", "", f"2024-05-{day:02d}", "sent", value)


def upsert(rows: list[Row], state: tuple[str, Any] | None = None) -> Write:
    """Return an upsert of ``postmark_stats`` rows."""
    return Write(POSTMARK_STATS, rows, state=state)


def stats(db: Path, account: str = "a") -> set[Row]:
    """Return *account*'s ``postmark_stats`` rows."""
    return set(read_rows(db, "postmark_stats", account))


def synced_at(db: Path) -> dict[str, str]:
    """Return the ``_synced_at`` of every ``postmark_stats`` row, by date."""
    with closing(sqlite3.connect(db)) as conn:
        return dict(conn.execute("SELECT date, _synced_at FROM postmark_stats").fetchall())


def state_rows(db: Path) -> set[tuple[str, str]]:
    """Return every (account, stream key) of the state table."""
    with closing(sqlite3.connect(db)) as conn:
        return set(conn.execute("SELECT account, stream FROM _sync_state").fetchall())


async def test_upsert_counts_inserted_updated_and_leaves_unchanged_rows_alone(
    tmp_path: Path,
) -> None:
    """New keys count as inserted, changed rows as updated, equal rows as nothing."""
    db = tmp_path / "stats.db"
    async with SQLiteStore(db) as store:
        first = [stat(1, 10), stat(2, None), stat(3, 30)]
        assert await store.write("a", upsert(first)) == Counts(inserted=3)
        stamps = synced_at(db)
        # The same rows again: nothing changes, not even _synced_at.
        assert await store.write("a", upsert(first)) == Counts()
        assert synced_at(db) == stamps
        # NULL to a value, a value to NULL, one equal, one new.
        second = [stat(1, None), stat(2, 20), stat(3, 30), stat(4, 40)]
        assert await store.write("a", upsert(second)) == Counts(inserted=1, updated=2)
        assert await store.write("a", upsert(second)) == Counts()
        after = synced_at(db)
        assert after["2024-05-03"] == stamps["2024-05-03"]
        assert after["2024-05-01"] >= stamps["2024-05-01"]
        # An empty write changes nothing; a state-only write stores the state.
        assert await store.write("a", upsert([])) == Counts()
        assert await store.write("a", Write(None, state=("s", 1))) == Counts()
    assert stats(db) == set(second)
    assert state_rows(db) == {("a", "s")}


async def test_a_failing_write_leaves_nothing_of_itself(tmp_path: Path) -> None:
    """A row without a key value fails the write: none of its rows, nor its state, stay."""
    db = tmp_path / "stats.db"
    async with SQLiteStore(db) as store:
        await store.write("a", upsert([stat(1, 1)], state=("s", 1)))
        broken = [stat(2, 2), ("a", "sent-counts", "", "", None, "sent", 3)]
        with pytest.raises(SyncError, match="postmark_stats has no date, a column of its key"):
            await store.write("a", upsert(broken, state=("s", 2)))
        assert await store.load_state("a") == {"s": 1}
        # The store goes on working.
        assert await store.write("a", upsert([stat(3, 3)])) == Counts(inserted=1)
    assert stats(db) == {stat(1, 1), stat(3, 3)}


async def test_replace_deletes_what_is_gone_from_its_scope_only(tmp_path: Path) -> None:
    """Rows of other series, dates out of the range and other accounts stay."""
    db = tmp_path / "stats.db"
    async with SQLiteStore(db) as store:
        rows = [stat(d, d) for d in range(1, 8)]
        rows += [stat(3, 0, series="bounce-counts"), stat(3, 0, account="b")]
        for account in ("a", "b"):
            await store.write(account, upsert([r for r in rows if r[0] == account]))
        scope = {"series": "sent-counts", "message_stream": "", "tag": "", "date": ()}
        scope["date"] = ("2024-05-02", "2024-05-05")
        # Days 2-5 become: 2 unchanged, 3 changed, 4 gone, 5 gone, 6 (outside) written.
        write = Write(
            POSTMARK_STATS, [stat(2, 2), stat(3, 33), stat(6, 6)], mode="replace", scope=scope
        )
        assert await store.write("a", write) == Counts(updated=1, deleted=2)
        # Replaced again with the same rows: nothing changes.
        assert await store.write("a", write) == Counts()
        # An empty replace empties its scope only.
        empty = Write(POSTMARK_STATS, [], mode="replace", scope={"series": "bounce-counts"})
        assert await store.write("a", empty) == Counts(deleted=1)
    assert stats(db) == {stat(1, 1), stat(2, 2), stat(3, 33), stat(6, 6), stat(7, 7)}
    assert stats(db, "b") == {stat(3, 0, account="b")}


async def test_reset_deletes_one_accounts_rows_and_state_of_its_streams(tmp_path: Path) -> None:
    """Other accounts, other tables and the state of other streams stay."""
    db = tmp_path / "stats.db"
    async with Session() as session:
        plan = PostmarkPlan(session.postmark(server_token="unused"))
    keys = ["messages:outbound", "messages:broadcast", "opens:outbound", "stats"]
    async with SQLiteStore(db) as store:
        for account in ("a", "b"):
            await store.write(account, upsert([stat(1, 1, account=account)]))
            row = (account, "m1", *(None,) * (len(POSTMARK_MESSAGES.names) - 3))
            await store.write(account, Write(POSTMARK_MESSAGES, [row]))
            for key in keys:
                await store.write(account, Write(None, state=(key, {"through": "2024-05-01"})))
        await store.reset("a", plan.tables("stats"), [plan.state_prefix("stats")])
        assert set(await store.load_state("a")) == set(keys) - {"stats"}
        assert read_rows(db, "postmark_messages", "a")
        assert stats(db) == set()
        await store.reset("a", plan.tables("messages"), [plan.state_prefix("messages")])
        assert set(await store.load_state("a")) == {"opens:outbound"}
        assert set(await store.load_state("b")) == set(keys)
    assert read_rows(db, "postmark_messages", "a") == []
    assert stats(db, "b") == {stat(1, 1, account="b")}
    assert len(read_rows(db, "postmark_messages", "b")) == 1


async def test_full_refresh_rebuilds_one_account_and_leaves_the_others(tmp_path: Path) -> None:
    """A full refresh of account a: its rows come back whole; account b is not touched."""
    db = tmp_path / "stats.db"
    async with (
        FakePostmark(messages=150, seed=31, now=NOW, retention_days=4) as fake,
        Session() as session,
        SQLiteStore(db) as store,
    ):
        api = session.postmark(server_token=fake.token, base_url=fake.url, retention_days=4)
        for account in ("a", "b"):
            await run(api, store, account=account, until=TODAY, streams="messages,stats")
        b_rows = {t: read_rows(db, t, "b") for t in ("postmark_messages", "postmark_stats")}
        b_state = await store.load_state("b")
        a_rows = collections.Counter(read_rows(db, "postmark_messages", "a"))
        # A row of a that the server does not have: the refresh removes it.
        with closing(sqlite3.connect(db)) as conn, conn:
            conn.execute(
                "INSERT INTO postmark_messages (account, message_id) VALUES ('a', 'stray')"
            )
        report = await run(
            api, store, account="a", until=TODAY, streams="messages", full_refresh=True
        )
        assert await store.load_state("b") == b_state
    assert report.full_refresh
    assert report.tables["postmark_messages"].inserted == len(fake.messages)
    assert collections.Counter(read_rows(db, "postmark_messages", "a")) == a_rows
    assert {t: read_rows(db, t, "b") for t in b_rows} == b_rows
    # Only the streams refreshed were reset: a's stats are still there.
    assert read_rows(db, "postmark_stats", "a")


async def test_state_survives_reopening(tmp_path: Path) -> None:
    """State written with a unit is read back, as JSON values, by the next store."""
    db = tmp_path / "stats.db"
    value = {"cursor": "2024-05-01T00:00:00+00:00", "history": {"through": "2024-04-30"}}
    async with SQLiteStore(db) as store:
        await store.write("a", upsert([stat(1, 1)], state=("opens:outbound", value)))
        await store.write("a", Write(None, state=("stats", {"through": "2024-05-01"})))
        await store.write("b", Write(None, state=("stats", [1, "x", None, True])))
        # A later value of a key replaces the earlier one.
        await store.write("a", Write(None, state=("stats", {"through": "2024-05-02"})))
    async with SQLiteStore(db) as store:
        assert await store.load_state("a") == {
            "opens:outbound": value,
            "stats": {"through": "2024-05-02"},
        }
        assert await store.load_state("b") == {"stats": [1, "x", None, True]}
        assert await store.load_state("c") == {}


def schema_version(db: Path) -> str | None:
    """Return the schema version the database records."""
    with closing(sqlite3.connect(db)) as conn:
        found = conn.execute("SELECT value FROM _sync_meta WHERE key = 'schema'").fetchone()
    return None if found is None else str(found[0])


async def test_a_database_of_no_schema_yet_is_completed(tmp_path: Path) -> None:
    """A database with other tables and no sync schema (version 0) gets the tables."""
    db = tmp_path / "stats.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        conn.execute("INSERT INTO notes (text) VALUES ('kept')")
    async with SQLiteStore(db) as store:
        await store.write("a", upsert([stat(1, 1)]))
    assert schema_version(db) == str(SCHEMA_VERSION)
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT text FROM notes").fetchall() == [("kept",)]
    assert stats(db) == {stat(1, 1)}


async def test_a_table_of_an_older_layout_gets_the_new_columns(tmp_path: Path) -> None:
    """A table that lacks columns (a model has since gained fields) is given them."""
    db = tmp_path / "stats.db"
    names = POSTMARK_OPENS.names
    missing = [n for n in names if n not in POSTMARK_OPENS.key][:3]
    kept = [n for n in names if n not in missing]
    with closing(sqlite3.connect(db)) as conn, conn:
        key = ", ".join(POSTMARK_OPENS.key)
        conn.execute(
            f"CREATE TABLE postmark_opens ({', '.join(kept)}, PRIMARY KEY ({key})) WITHOUT ROWID"
        )
        values = "'a', 'm1', 'r@example.com', 't'"
        conn.execute(f"INSERT INTO postmark_opens ({key}) VALUES ({values})")  # noqa: S608
        conn.execute("CREATE TABLE _sync_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO _sync_meta VALUES ('schema', '0')")
    async with SQLiteStore(db):
        pass
    with closing(sqlite3.connect(db)) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(postmark_opens)")]
    assert set(columns) == set(names)
    assert schema_version(db) == str(SCHEMA_VERSION)
    assert len(read_rows(db, "postmark_opens", "a")) == 1


async def test_a_table_keyed_otherwise_is_refused(tmp_path: Path) -> None:
    """A table of the same name with another key cannot be merged into: open fails."""
    db = tmp_path / "stats.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("CREATE TABLE postmark_messages (message_id TEXT PRIMARY KEY, account TEXT)")
    store = SQLiteStore(db)
    with pytest.raises(SyncError, match=r"postmark_messages .* is keyed by message_id, not acc"):
        await store.open()
    # The store closed itself; nothing was created.
    with pytest.raises(SyncError, match="not open"):
        await store.write("a", upsert([stat(1, 1)]))
    await store.aclose()
    with closing(sqlite3.connect(db)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "postmark_stats" not in tables
    assert "_sync_meta" not in tables


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database written by a later version is not opened, nor changed."""
    db = tmp_path / "stats.db"
    async with SQLiteStore(db) as store:
        await store.write("a", upsert([stat(1, 1)]))
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE _sync_meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION + 1,))
    store = SQLiteStore(db)
    with pytest.raises(SyncError, match=f"has schema {SCHEMA_VERSION + 1}, newer than"):
        await store.open()
    await store.aclose()
    assert schema_version(db) == str(SCHEMA_VERSION + 1)
    assert stats(db) == {stat(1, 1)}


async def test_a_file_that_is_no_database_is_refused(tmp_path: Path) -> None:
    """The error is a SyncError naming the file; the file is left as it was."""
    db = tmp_path / "stats.csv"
    db.write_bytes(b"day,count\n" * 200)
    store = SQLiteStore(db)
    with pytest.raises(SyncError, match=f"cannot open the database {db}: file is not a database"):
        await store.open()
    await store.aclose()
    assert db.read_bytes() == b"day,count\n" * 200


async def test_the_journal_is_wal(tmp_path: Path) -> None:
    """Readers never block the writer: the database is in WAL mode."""
    db = tmp_path / "stats.db"
    async with SQLiteStore(db) as store:
        await store.write("a", upsert([stat(1, 1)]))
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            # A reader in the middle of a read transaction does not stop a write.
            conn.execute("BEGIN")
            assert conn.execute("SELECT count(*) FROM postmark_stats").fetchone() == (1,)
            assert await store.write("a", upsert([stat(2, 2)])) == Counts(inserted=1)
            conn.execute("COMMIT")


async def test_a_busy_database_is_a_sync_error_and_the_store_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another connection's long write transaction: a SyncError, then it works again."""
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT", 0.05)
    db = tmp_path / "stats.db"
    async with SQLiteStore(db) as store:
        with closing(sqlite3.connect(db, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(SyncError, match=f"database error in {db}: database is locked"):
                await store.write("a", upsert([stat(1, 1)], state=("s", 1)))
            other.execute("ROLLBACK")
        assert await store.write("a", upsert([stat(1, 1)])) == Counts(inserted=1)
        assert await store.load_state("a") == {}


class RecordingConnection(sqlite3.Connection):
    """A connection that notes the thread of every call made on it."""

    threads: set[int] = set()  # noqa: RUF012 - filled by the test, on purpose shared

    def execute(self, *args: Any) -> sqlite3.Cursor:
        self.threads.add(threading.get_ident())
        return super().execute(*args)

    def executemany(self, *args: Any) -> sqlite3.Cursor:
        self.threads.add(threading.get_ident())
        return super().executemany(*args)

    def close(self) -> None:
        self.threads.add(threading.get_ident())
        super().close()


async def test_no_database_call_runs_on_the_event_loop_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connecting, writing, locking and closing all happen on the store's thread."""
    db = tmp_path / "stats.db"
    connect: Callable[..., sqlite3.Connection] = sqlite3.connect
    connecting: set[int] = set()

    def recording_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connecting.add(threading.get_ident())
        return connect(*args, factory=RecordingConnection, **kwargs)

    RecordingConnection.threads = set()
    monkeypatch.setattr(sqlite3, "connect", recording_connect)
    loop_thread = threading.get_ident()
    async with (
        FakePostmark(messages=100, seed=41, now=NOW, retention_days=3) as fake,
        Session() as session,
    ):
        api = session.postmark(server_token=fake.token, base_url=fake.url, retention_days=3)
        store = SQLiteStore(db)
        try:
            await run(api, store, until=TODAY)
            await run(api, store, until=TODAY, streams="messages", full_refresh=True)
        finally:
            await store.aclose()
    monkeypatch.undo()
    assert connecting
    assert RecordingConnection.threads
    assert loop_thread not in connecting | RecordingConnection.threads
    assert len(read_rows(db, "postmark_messages")) == len(fake.messages)


def store_threads() -> set[threading.Thread]:
    """Return the live worker threads of stores."""
    return {t for t in threading.enumerate() if t.name.startswith("asyncmailstats-sqlite")}


async def test_aclose_is_idempotent(tmp_path: Path) -> None:
    """Closing twice, or a store never opened, is fine; a closed store can be opened again."""
    db = tmp_path / "stats.db"
    threads_before = store_threads()
    never = SQLiteStore(db)
    await never.aclose()
    await never.aclose()
    assert not db.exists()
    store = SQLiteStore(db)
    await store.open()
    await store.open()  # a second open keeps the same connection
    await store.write("a", upsert([stat(1, 1)]))
    await store.aclose()
    await store.aclose()
    with pytest.raises(SyncError, match="the store is not open"):
        await store.load_state("a")
    async with store:
        assert await store.write("a", upsert([stat(1, 1)])) == Counts()
    await store.aclose()
    assert stats(db) == {stat(1, 1)}
    assert store_threads() == threads_before


async def test_aclose_while_writes_are_queued_lets_them_finish(tmp_path: Path) -> None:
    """Writes handed over before aclose are committed; the thread then ends."""
    db = tmp_path / "stats.db"
    store = SQLiteStore(db)
    await store.open()
    writes = [asyncio.ensure_future(store.write("a", upsert([stat(d, d)]))) for d in (1, 2, 3)]
    await asyncio.sleep(0)  # one loop turn: each write is handed to the store's thread
    await store.aclose()
    assert [w.result() for w in writes] == [Counts(inserted=1)] * 3
    assert stats(db) == {stat(d, d) for d in (1, 2, 3)}
