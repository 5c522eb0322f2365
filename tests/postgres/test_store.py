"""``PostgresStore`` on a real server behaves as ``SQLiteStore`` does, and keeps secrets.

Rows are merged by natural key (new keys inserted, changed rows updated, unchanged rows
counted nowhere with their ``_synced_at`` kept); a ``replace`` write deletes only the
rows of its scope that are gone; a reset touches one account and the streams reset;
state survives reopening; the schema is created, completed and checked. The account's
lock is an advisory lock: refused at once while held, free once its holder's
connection is gone. The DSN's password never appears in an error or a ``repr``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from asyncmailstats import Session
from asyncmailstats.sync import PostgresStore, SyncError, SyncLockedError, Write
from asyncmailstats.sync._postgres import SMALL_WRITE, lock_key
from asyncmailstats.sync._postmark import PostmarkPlan
from asyncmailstats.sync._store import SCHEMA_VERSION, Counts
from asyncmailstats.sync._tables import POSTMARK_MESSAGES, POSTMARK_OPENS, POSTMARK_STATS, Row
from tests.postgres.pg import admin_connect, advisory_locks, fetch, rows, with_user

pytestmark = pytest.mark.postgres

#: Seconds a refusal may take: the lock is tried, never waited for.
AT_ONCE = 5.0


def stat(day: int, value: Any, *, account: str = "a", series: str = "sent-counts") -> Row:
    """Return a ``postmark_stats`` row of May *day*, 2024."""
    return (account, series, "", "", f"2024-05-{day:02d}", "sent", value)


def upsert(rows_: list[Row], state: tuple[str, Any] | None = None) -> Write:
    """Return an upsert of ``postmark_stats`` rows."""
    return Write(POSTMARK_STATS, rows_, state=state)


async def stats(dsn: str, account: str = "a", schema: str = "public") -> set[Row]:
    """Return *account*'s ``postmark_stats`` rows."""
    return set(await rows(dsn, "postmark_stats", account, schema))


async def synced_at(dsn: str) -> dict[str, Any]:
    """Return the ``_synced_at`` of every ``postmark_stats`` row, by date."""
    return dict(await fetch(dsn, "SELECT date, _synced_at FROM postmark_stats"))


async def execute(dsn: str, *statements: str) -> None:
    """Run *statements* as the test's own session."""
    conn = await admin_connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def schema_version(dsn: str, schema: str = "public") -> str | None:
    """Return the schema version the database records."""
    found = await fetch(dsn, f"SELECT value FROM \"{schema}\"._sync_meta WHERE key = 'schema'")  # noqa: S608
    return found[0][0] if found else None


async def test_upsert_counts_inserted_updated_and_leaves_unchanged_rows_alone(pg_dsn: str) -> None:
    """New keys count as inserted, changed rows as updated, equal rows as nothing."""
    async with PostgresStore(pg_dsn) as store:
        first = [stat(1, 10), stat(2, None), stat(3, 30)]
        assert await store.write("a", upsert(first)) == Counts(inserted=3)
        stamps = await synced_at(pg_dsn)
        # The same rows again: nothing changes, not even _synced_at.
        assert await store.write("a", upsert(first)) == Counts()
        assert await synced_at(pg_dsn) == stamps
        # NULL to a value, a value to NULL, one equal, one new.
        second = [stat(1, None), stat(2, 20), stat(3, 30), stat(4, 40)]
        assert await store.write("a", upsert(second)) == Counts(inserted=1, updated=2)
        assert await store.write("a", upsert(second)) == Counts()
        after = await synced_at(pg_dsn)
        assert after["2024-05-03"] == stamps["2024-05-03"]
        assert after["2024-05-01"] > stamps["2024-05-01"]
        # A key twice in one write: the last row wins; the key counts once.
        assert await store.write("a", upsert([stat(5, 1), stat(5, 2)])) == Counts(inserted=1)
        # An empty write changes nothing; a state-only write stores the state.
        assert await store.write("a", upsert([])) == Counts()
        assert await store.write("a", Write(None, state=("s", 1))) == Counts()
    assert await stats(pg_dsn) == {*second, stat(5, 2)}
    assert await fetch(pg_dsn, "SELECT account, stream FROM _sync_state") == [("a", "s")]


async def test_a_failing_write_leaves_nothing_of_itself(pg_dsn: str) -> None:
    """A row without a key value, or one the server refuses, fails the write: none of
    its rows, nor its state, stay; the store goes on working."""
    async with PostgresStore(pg_dsn) as store:
        await store.write("a", upsert([stat(1, 1)], state=("s", 1)))
        broken = [stat(2, 2), ("a", "sent-counts", "", "", None, "sent", 3)]
        with pytest.raises(SyncError, match="postmark_stats has no date, a column of its key"):
            await store.write("a", upsert(broken, state=("s", 2)))
        # Text where a number goes, in a small write and in one copied: refused.
        with pytest.raises(SyncError, match="a row of postmark_stats does not fit its columns"):
            await store.write("a", upsert([stat(3, 3), stat(4, "four")], state=("s", 3)))
        many = [stat(3, 3, series=f"s{n}") for n in range(SMALL_WRITE)] + [stat(4, "four")]
        with pytest.raises(SyncError, match="a row of postmark_stats does not fit its columns"):
            await store.write("a", upsert(many, state=("s", 3)))
        # A NUL character, which PostgreSQL text cannot hold.
        with pytest.raises(SyncError, match=r"does not fit its columns .*: invalid byte seq"):
            await store.write("a", upsert([stat(4, 4, series="sent\x00")], state=("s", 4)))
        assert await store.load_state("a") == {"s": 1}
        assert await store.write("a", upsert([stat(3, 3)])) == Counts(inserted=1)
    assert await stats(pg_dsn) == {stat(1, 1), stat(3, 3)}


async def test_replace_deletes_what_is_gone_from_its_scope_only(pg_dsn: str) -> None:
    """Rows of other series, dates out of the range and other accounts stay."""
    async with PostgresStore(pg_dsn) as store:
        all_rows = [stat(d, d) for d in range(1, 8)]
        all_rows += [stat(3, 0, series="bounce-counts"), stat(3, 0, account="b")]
        for account in ("a", "b"):
            await store.write(account, upsert([r for r in all_rows if r[0] == account]))
        scope = {
            "series": "sent-counts",
            "message_stream": "",
            "tag": "",
            "date": ("2024-05-02", "2024-05-05"),
        }
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
    assert await stats(pg_dsn) == {stat(1, 1), stat(2, 2), stat(3, 33), stat(6, 6), stat(7, 7)}
    assert await stats(pg_dsn, "b") == {stat(3, 0, account="b")}


async def test_a_replace_of_many_rows_goes_through_copy_with_the_same_result(
    pg_dsn: str,
) -> None:
    """More rows than a small write: copied, merged and compared the same way."""
    scope = {"series": "opens", "message_stream": "", "tag": ""}
    metrics = [f"m{n:03d}" for n in range(3 * SMALL_WRITE)]

    def rows_of(values: dict[str, int]) -> list[Row]:
        return [("a", "opens", "", "", "2024-05-01", m, v) for m, v in values.items()]

    async with PostgresStore(pg_dsn) as store:
        first = dict.fromkeys(metrics, 1)
        write = Write(POSTMARK_STATS, rows_of(first), mode="replace", scope=scope)
        assert await store.write("a", write) == Counts(inserted=len(metrics))
        assert await store.write("a", write) == Counts()
        # A third gone, a third changed, a third the same; a row twice (the last wins).
        second = {m: 2 if n % 3 == 1 else 1 for n, m in enumerate(metrics) if n % 3}
        again = [*rows_of(second), ("a", "opens", "", "", "2024-05-01", metrics[1], 0)]
        write = Write(POSTMARK_STATS, again, mode="replace", scope=scope)
        assert await store.write("a", write) == Counts(updated=SMALL_WRITE, deleted=SMALL_WRITE)
    assert await stats(pg_dsn) == set(rows_of({**second, metrics[1]: 0}))


async def test_reset_deletes_one_accounts_rows_and_state_of_its_streams(pg_dsn: str) -> None:
    """Other accounts, other tables and the state of other streams stay."""
    async with Session() as session:
        plan = PostmarkPlan(session.postmark(server_token="unused"))
    keys = ["messages:outbound", "messages:broadcast", "opens:outbound", "stats"]
    async with PostgresStore(pg_dsn) as store:
        for account in ("a", "b"):
            await store.write(account, upsert([stat(1, 1, account=account)]))
            row = (account, "m1", *(None,) * (len(POSTMARK_MESSAGES.names) - 3))
            await store.write(account, Write(POSTMARK_MESSAGES, [row]))
            for key in keys:
                await store.write(account, Write(None, state=(key, {"through": "2024-05-01"})))
        await store.reset("a", plan.tables("stats"), [plan.state_prefix("stats")])
        assert set(await store.load_state("a")) == set(keys) - {"stats"}
        assert await rows(pg_dsn, "postmark_messages", "a")
        assert await stats(pg_dsn) == set()
        await store.reset("a", plan.tables("messages"), [plan.state_prefix("messages")])
        assert set(await store.load_state("a")) == {"opens:outbound"}
        assert set(await store.load_state("b")) == set(keys)
    assert not await rows(pg_dsn, "postmark_messages", "a")
    assert await stats(pg_dsn, "b") == {stat(1, 1, account="b")}
    assert sum((await rows(pg_dsn, "postmark_messages", "b")).values()) == 1


async def test_state_survives_reopening(pg_dsn: str) -> None:
    """State written with a unit is read back, as JSON values, by the next store."""
    value = {"cursor": "2024-05-01T00:00:00+00:00", "history": {"through": "2024-04-30"}}
    async with PostgresStore(pg_dsn) as store:
        await store.write("a", upsert([stat(1, 1)], state=("opens:outbound", value)))
        await store.write("a", Write(None, state=("stats", {"through": "2024-05-01"})))
        await store.write("b", Write(None, state=("stats", [1, "x", None, True])))
        # A later value of a key replaces the earlier one.
        await store.write("a", Write(None, state=("stats", {"through": "2024-05-02"})))
    async with PostgresStore(pg_dsn) as store:
        assert await store.load_state("a") == {
            "opens:outbound": value,
            "stats": {"through": "2024-05-02"},
        }
        assert await store.load_state("b") == {"stats": [1, "x", None, True]}
        assert await store.load_state("c") == {}


async def test_a_schema_is_created_and_a_table_of_an_older_layout_completed(
    pg_dsn: str,
) -> None:
    """A missing schema is created with every table; a table that lacks columns (a model
    has since gained fields) is given them, its rows kept; other tables are left alone."""
    names = POSTMARK_OPENS.names
    missing = [n for n in names if n not in POSTMARK_OPENS.key][:3]
    kept = ", ".join(f'"{n}" TEXT' for n in names if n not in missing)
    key = ", ".join(POSTMARK_OPENS.key)
    await execute(
        pg_dsn,
        "CREATE TABLE notes (id serial PRIMARY KEY, text TEXT)",
        "INSERT INTO notes (text) VALUES ('kept')",
        f"CREATE TABLE postmark_opens ({kept}, PRIMARY KEY ({key}))",
        f"INSERT INTO postmark_opens ({key}) VALUES ('a', 'm1', 'r@example.com', 't')",  # noqa: S608
    )
    async with PostgresStore(pg_dsn), PostgresStore(pg_dsn, schema="Other Schema"):
        pass
    columns = await fetch(
        pg_dsn,
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = 'postmark_opens'",
    )
    assert {c for (c,) in columns} == set(names)
    assert await schema_version(pg_dsn) == str(SCHEMA_VERSION)
    assert await schema_version(pg_dsn, "Other Schema") == str(SCHEMA_VERSION)
    assert await fetch(pg_dsn, "SELECT text FROM notes") == [("kept",)]
    assert sum((await rows(pg_dsn, "postmark_opens", "a")).values()) == 1
    # The types of a created table: numbers, text, and when each row last changed.
    types = dict(
        await fetch(
            pg_dsn,
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'Other Schema' AND table_name = 'postmark_stats'",
        )
    )
    assert types["value"] == "bigint"
    assert types["date"] == "text"
    assert types["_synced_at"] == "timestamp with time zone"


async def test_a_table_keyed_otherwise_is_refused_and_nothing_is_created(pg_dsn: str) -> None:
    """A table of the same name with another key cannot be merged into: open fails."""
    await execute(pg_dsn, "CREATE TABLE postmark_messages (message_id TEXT PRIMARY KEY)")
    store = PostgresStore(pg_dsn)
    with pytest.raises(SyncError, match=r"postmark_messages .* is keyed by message_id, not acc"):
        await store.open()
    # The store closed itself; nothing was created.
    with pytest.raises(SyncError, match="not open"):
        await store.write("a", upsert([stat(1, 1)]))
    await store.aclose()
    found = await fetch(pg_dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert found == [("postmark_messages",)]


async def test_a_newer_schema_is_refused(pg_dsn: str) -> None:
    """A database written by a later version is not opened, nor changed."""
    async with PostgresStore(pg_dsn) as store:
        await store.write("a", upsert([stat(1, 1)]))
    await execute(pg_dsn, f"UPDATE _sync_meta SET value = '{SCHEMA_VERSION + 1}'")  # noqa: S608
    store = PostgresStore(pg_dsn)
    with pytest.raises(SyncError, match=f"has schema {SCHEMA_VERSION + 1}, newer than"):
        await store.open()
    await store.aclose()
    assert await schema_version(pg_dsn) == str(SCHEMA_VERSION + 1)
    assert await stats(pg_dsn) == {stat(1, 1)}


async def test_stores_opening_a_new_database_together_all_succeed(pg_dsn: str) -> None:
    """Processes started together create the schema once, without tripping on each other."""
    stores = [PostgresStore(pg_dsn, schema="fresh") for _ in range(6)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
        counts = await asyncio.gather(
            *(s.write(f"a{i}", upsert([stat(1, i, account=f"a{i}")])) for i, s in enumerate(stores))
        )
    finally:
        await asyncio.gather(*(s.aclose() for s in stores))
    assert counts == [Counts(inserted=1)] * 6
    assert await schema_version(pg_dsn, "fresh") == str(SCHEMA_VERSION)


async def test_the_lock_is_refused_at_once_while_held_and_free_once_its_session_ends(
    pg_dsn: str,
) -> None:
    """A second holder (another store, or the same one) is refused at once, naming the
    holder; another account or schema is not concerned; a lock whose connection died
    is free, and the store that lost it refuses to write for that account."""
    async with (
        PostgresStore(pg_dsn) as first,
        PostgresStore(pg_dsn) as second,
        PostgresStore(pg_dsn, schema="elsewhere") as third,
    ):
        await first.lock("acme")
        with pytest.raises(SyncLockedError) as refused:
            await asyncio.wait_for(second.lock("acme"), AT_ONCE)
        message = str(refused.value)
        assert message.startswith("another sync of account 'acme' is running on postgresql://")
        assert " in schema public (asyncmailstats pid " in message
        assert message.endswith("; try again later")
        with pytest.raises(SyncLockedError, match="with the same store, in this process"):
            await first.lock("acme")
        await second.lock("other")
        await third.lock("acme")
        assert await advisory_locks(pg_dsn) == 3
        await first.unlock("acme")
        await second.lock("acme")
        await second.unlock("acme")
        await second.unlock("other")
        await third.unlock("acme")
        assert await advisory_locks(pg_dsn) == 0
        # The lock's session dies (a killed process, a restarted server): the lock is free.
        await first.lock("acme")
        key = lock_key("public", "acme") & 0xFFFF_FFFF_FFFF_FFFF
        ended = await fetch(
            pg_dsn,
            # Waits (up to 5 s) for the session to be gone.
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks WHERE locktype = 'advisory'"
            " AND classid = $1::bigint::oid AND objid = $2::bigint::oid",
            key >> 32,
            key & 0xFFFF_FFFF,
        )
        assert ended == [(True,)]
        await asyncio.wait_for(second.lock("acme"), AT_ONCE)
        with pytest.raises(SyncError, match=r"the lock of account 'acme' .* was lost"):
            await first.write("acme", upsert([stat(1, 1, account="acme")]))
        await second.unlock("acme")


async def test_aclose_is_idempotent_and_lets_queued_writes_finish(pg_dsn: str) -> None:
    """Closing twice, or a store never opened, is fine; writes asked for before aclose
    are committed; a closed store refuses work and can be opened again."""
    never = PostgresStore(pg_dsn)
    await never.aclose()
    await never.aclose()
    store = PostgresStore(pg_dsn)
    await store.open()
    await store.open()  # a second open keeps the same connection
    writes = [asyncio.ensure_future(store.write("a", upsert([stat(d, d)]))) for d in (1, 2, 3)]
    await asyncio.sleep(0)  # one loop turn: each write is waiting for the connection
    await store.aclose()
    await store.aclose()
    assert [w.result() for w in writes] == [Counts(inserted=1)] * 3
    with pytest.raises(SyncError, match="the store is not open"):
        await store.load_state("a")
    async with store:
        assert await store.write("a", upsert([stat(1, 1)])) == Counts()
    assert await stats(pg_dsn) == {stat(d, d) for d in (1, 2, 3)}
    sessions = await fetch(
        pg_dsn,
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name LIKE 'asyncmailstats %'",
    )
    assert sessions == [(0,)]


def _secret_free(error: BaseException, secret: str) -> None:
    """Fail if *secret* shows in *error*, its repr, or any error it was raised from."""
    seen: BaseException | None = error
    while seen is not None:
        assert secret not in str(seen)
        assert secret not in repr(seen)
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)


@contextmanager
def closed_port() -> Iterator[int]:
    """Hold a loopback port that refuses connections (bound, not listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_the_password_never_shows(pg_dsn: str) -> None:
    """A refused password, an unreachable server, a broken URL and a refused statement:
    the errors are one-line SyncErrors that name the database but never the password."""
    secret = "pw-Zq81x"
    await execute(
        pg_dsn,
        # Roles belong to the whole server, which CI shares between two test sessions.
        "DO $$ BEGIN CREATE ROLE ams_user; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        f"ALTER ROLE ams_user LOGIN PASSWORD '{secret}'",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    )
    wrong = with_user(pg_dsn, "ams_user", "wrong-" + secret)
    try:
        await (await admin_connect(wrong)).close()
    except Exception:  # noqa: S110 - refused, as it should be
        pass
    else:
        pytest.skip("the server lets any password in: a refused password cannot be tried")
    with pytest.raises(SyncError) as refused:
        await PostgresStore(wrong).open()
    message = str(refused.value)
    assert message.startswith("cannot connect to postgresql://ams_user@127.0.0.1:")
    assert message.endswith('password authentication failed for user "ams_user"')
    _secret_free(refused.value, secret)
    with closed_port() as port:
        for dsn in (
            f"postgresql://ams_user:{secret}@127.0.0.1:{port}/x",
            f"postgresql://ams_user@127.0.0.1:{port}/x?password={secret}",
            f"postgres://ams_user:{secret}@127.0.0.1:notaport/x",
            f"postgresql://ams_user:{secret}@[::1/x",
            f"postgresql://ams_user:{secret}@127.0.0.1:{port}/x?sslmode=sometimes",
        ):
            store = PostgresStore(dsn)
            assert secret not in repr(store)
            assert secret not in store.url
            with pytest.raises(SyncError) as failed:
                await store.open()
            assert "\n" not in str(failed.value)
            _secret_free(failed.value, secret)
    # The role may not create tables in public: the server's refusal names no password.
    with pytest.raises(SyncError, match="permission denied for schema public") as denied:
        await PostgresStore(with_user(pg_dsn, "ams_user", secret)).open()
    assert str(denied.value).startswith("cannot open the database postgresql://ams_user@")
    _secret_free(denied.value, secret)
