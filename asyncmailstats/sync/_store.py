"""Where a sync keeps its rows and its state: the store protocol and ``SQLiteStore``.

A store applies one :class:`Write` — rows of one table and, when the unit of work it ends
is done, the stream's new state — in one transaction, so that a run killed at any moment
leaves whole units behind. Rows are merged by natural key: ``upsert`` inserts new keys
and updates rows whose values changed (a re-read of unchanged data writes nothing);
``replace`` makes the rows of a scope (a stats window, one message's stats) exactly the
given ones, deleting those that are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, Literal, Protocol, Self, TypeVar

import attrs

from ..exceptions import MailStatsError
from ._sqlite_sql import (
    META,
    Statements,
    alive,
    create_statements,
    now,
    quote,
    statements,
    transaction,
)
from ._tables import TABLES, Row, Table

T = TypeVar("T")

#: The schema version this code writes; older databases are migrated on open.
SCHEMA_VERSION: Final = 1
#: How long a write waits for another connection's transaction, in seconds.
BUSY_TIMEOUT: Final = 30.0


class SyncError(MailStatsError):
    """A sync could not run (its store or its options), apart from provider errors."""


class SyncLockedError(SyncError):
    """Another sync of the same account holds the database."""


@attrs.frozen
class Write:
    """What one transaction applies: rows of a table, and a stream's state.

    Attributes:
        table: The table the rows go to (``None`` for a state-only write).
        rows: Rows in the table's column order, without ``_synced_at``.
        mode: ``upsert`` (merge by key) or ``replace`` (the scope holds exactly these).
        scope: For ``replace``: column → value pairs (after ``account``) selecting the
            rows this write owns; a pair whose value is a 2-tuple selects the inclusive
            range between its ends.
        state: ``(stream key, value)`` to store with the rows, when a unit ends here.
        unit: What the write covers, for progress (``"opens 2024-05-02"``).
    """

    table: Table | None
    rows: Sequence[Row] = ()
    mode: Literal["upsert", "replace"] = "upsert"
    scope: Mapping[str, Any] | None = None
    state: tuple[str, Any] | None = None
    unit: str = ""


@attrs.define
class Counts:
    """Rows a write inserted, updated and deleted."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0


class Store(Protocol):
    """The storage a sync writes to."""

    async def open(self) -> None:
        """Connect, and create or migrate the schema."""
        ...

    async def lock(self, account: str) -> None:
        """Take the account's lock, or raise :class:`SyncLockedError`."""
        ...

    async def unlock(self, account: str) -> None:
        """Release the account's lock."""
        ...

    async def load_state(self, account: str) -> dict[str, Any]:
        """Return every stream's state of *account*: stream key → value."""
        ...

    async def write(self, account: str, write: Write) -> Counts:
        """Apply *write* in one transaction and return what it changed."""
        ...

    async def reset(self, account: str, tables: Iterable[Table], prefixes: Iterable[str]) -> None:
        """Delete the account's rows of *tables* and its state keys under *prefixes*."""
        ...

    async def aclose(self) -> None:
        """Close the connection."""
        ...


class SQLiteStore:
    """A :class:`Store` in one SQLite file (stdlib ``sqlite3``, WAL journal).

    Every call runs on one worker thread that owns the connection, so the event loop
    never blocks on the disk. The account lock is a row of ``_sync_lock`` taken under
    ``BEGIN IMMEDIATE``; a lock left by a process that no longer runs (killed) on this
    machine is taken over, and one store never holds an account twice. Errors of the
    database are raised as :class:`SyncError`.

    Args:
        path: The database file; created with its tables if missing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._statements: dict[str, Statements] = {}
        self._run_id = uuid.uuid4().hex
        # The accounts this store holds the lock of (used on the worker thread only).
        self._held: set[str] = set()

    def __repr__(self) -> str:
        return f"<SQLiteStore {str(self.path)!r}>"

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _run(self, fn: Any, *args: Any) -> Any:
        if self._executor is None:
            msg = "the store is not open"
            raise SyncError(msg)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            msg = f"database error in {self.path}: {exc}"
            raise SyncError(msg) from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            msg = "the store is not open"
            raise SyncError(msg)
        return self._conn

    # -- open and schema -----------------------------------------------------------------

    async def open(self) -> None:
        """Open (or create) the database and create or migrate the schema.

        Raises:
            SyncError: The file is no database, its schema is newer than this code's,
                or one of its tables has another key; the store is closed again.
        """
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="asyncmailstats-sqlite")
        try:
            await self._run(self._open)
        except BaseException as exc:
            await self.aclose()
            if isinstance(exc, SyncError) and isinstance(exc.__cause__, sqlite3.Error):
                msg = f"cannot open the database {self.path}: {exc.__cause__}"
                raise SyncError(msg) from None
            raise

    def _open(self) -> None:
        if self._conn is not None:
            return
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            with transaction(conn):
                self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Create what is missing: tables, and columns added to a table since."""
        for statement in META:
            conn.execute(statement)
        found = conn.execute("SELECT value FROM _sync_meta WHERE key = 'schema'").fetchone()
        version = int(found[0]) if found else 0
        if version > SCHEMA_VERSION:
            msg = (
                f"the database {self.path} has schema {version}, newer than this "
                f"version of asyncmailstats ({SCHEMA_VERSION}): upgrade it"
            )
            raise SyncError(msg)
        for table in TABLES.values():
            info = conn.execute(f"PRAGMA table_info({quote(table.name)})").fetchall()
            if not info:
                for statement in create_statements(table):
                    conn.execute(statement)
                continue
            # table_info rows: (cid, name, type, notnull, default, pk position or 0).
            key = tuple(row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5]))
            if key != table.key:
                msg = (
                    f"the table {table.name} in {self.path} is keyed by {', '.join(key)}, "
                    f"not {', '.join(table.key)}: rebuild it or use another database"
                )
                raise SyncError(msg)
            have = {row[1] for row in info}
            for column in table.columns:
                if column.name not in have:
                    conn.execute(
                        f"ALTER TABLE {quote(table.name)} "
                        f"ADD COLUMN {quote(column.name)} {column.sql_type}"
                    )
        conn.execute(
            "INSERT OR REPLACE INTO _sync_meta (key, value) VALUES ('schema', ?)",
            (str(SCHEMA_VERSION),),
        )

    async def aclose(self) -> None:
        """Close the connection and the worker thread. Idempotent."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(executor, self._close)
        except BaseException:
            executor.shutdown(wait=False)  # the thread closes and ends on its own
            raise
        executor.shutdown(wait=True)  # idle by now: returns at once

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        self._held.clear()
        if conn is not None:
            conn.close()

    # -- lock ------------------------------------------------------------------------------

    async def lock(self, account: str) -> None:
        """Take *account*'s lock, or raise :class:`SyncLockedError` naming who holds it."""
        await self._run(self._lock, account)

    def _lock(self, account: str) -> None:
        conn = self._connection()
        if account in self._held:
            msg = (
                f"another sync of account {account!r} is running on {self.path} "
                f"(with the same store, in this process); try again later"
            )
            raise SyncLockedError(msg)
        with transaction(conn):
            held = conn.execute(
                "SELECT host, pid, run_id, started_at FROM _sync_lock WHERE account = ?",
                (account,),
            ).fetchone()
            if held is not None and held[2] != self._run_id and alive(held[0], held[1]):
                msg = (
                    f"another sync of account {account!r} is running on {self.path} "
                    f"(process {held[1]} on {held[0]}, since {held[3]}); try again later"
                )
                raise SyncLockedError(msg)
            conn.execute(
                "INSERT OR REPLACE INTO _sync_lock (account, host, pid, run_id, started_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (account, socket.gethostname(), os.getpid(), self._run_id, now()),
            )
        self._held.add(account)

    async def unlock(self, account: str) -> None:
        """Release *account*'s lock if this store holds it."""
        await self._run(self._unlock, account)

    def _unlock(self, account: str) -> None:
        self._held.discard(account)
        self._connection().execute(
            "DELETE FROM _sync_lock WHERE account = ? AND run_id = ?", (account, self._run_id)
        )

    # -- state -----------------------------------------------------------------------------

    async def load_state(self, account: str) -> dict[str, Any]:
        """Return the state of every stream of *account*."""
        result: dict[str, Any] = await self._run(self._load_state, account)
        return result

    def _load_state(self, account: str) -> dict[str, Any]:
        rows = self._connection().execute(
            "SELECT stream, value FROM _sync_state WHERE account = ?", (account,)
        )
        return {stream: json.loads(value) for stream, value in rows}

    # -- writes ----------------------------------------------------------------------------

    async def write(self, account: str, write: Write) -> Counts:
        """Apply *write* (rows and state) in one transaction."""
        counts: Counts = await self._run(self._write, account, write)
        return counts

    def _write(self, account: str, write: Write) -> Counts:
        conn = self._connection()
        counts = Counts()
        with transaction(conn):
            if write.table is not None:
                if write.mode == "replace":
                    self._replace(conn, account, write, counts)
                else:
                    self._upsert(conn, write.table, write.rows, counts)
            if write.state is not None:
                key, value = write.state
                conn.execute(
                    "INSERT OR REPLACE INTO _sync_state (account, stream, value, updated_at)"
                    " VALUES (?, ?, ?, ?)",
                    (account, key, json.dumps(value, sort_keys=True), now()),
                )
        return counts

    def _prepared(self, table: Table) -> Statements:
        found = self._statements.get(table.name)
        if found is None:
            found = self._statements[table.name] = statements(table)
        return found

    def _upsert(
        self, conn: sqlite3.Connection, table: Table, rows: Sequence[Row], counts: Counts
    ) -> None:
        if not rows:
            return
        sql = self._prepared(table)
        stamp = now()
        before = conn.total_changes
        conn.executemany(sql.insert, [(*row, stamp) for row in rows])
        inserted = conn.total_changes - before
        counts.inserted += inserted
        if inserted == len(rows):
            return
        # Rows not inserted: known keys, or a NULL in the key, which INSERT OR IGNORE
        # skips without a word. Fail the write rather than lose such a row.
        for row in rows:
            for index, name in zip(sql.key_index, sql.key_names, strict=True):
                if row[index] is None:
                    msg = f"a row of {table.name} has no {name}, a column of its key"
                    raise SyncError(msg)
        if sql.update is None:
            return
        keys, data = sql.key_index, sql.data_index
        params = (
            (
                *(row[i] for i in data),
                stamp,
                *(row[i] for i in keys),
                *(row[i] for i in data),
            )
            for row in rows
        )
        before = conn.total_changes
        conn.executemany(sql.update, params)
        counts.updated += conn.total_changes - before

    def _replace(
        self, conn: sqlite3.Connection, account: str, write: Write, counts: Counts
    ) -> None:
        table = write.table
        assert table is not None  # noqa: S101 - checked by the caller
        sql = self._prepared(table)
        where = ["account = ?"]
        args: list[Any] = [account]
        for name, value in (write.scope or {}).items():
            if isinstance(value, tuple):
                where.append(f"{quote(name)} BETWEEN ? AND ?")
                args += list(value)
            else:
                where.append(f"{quote(name)} = ?")
                args.append(value)
        keys = ", ".join(quote(k) for k in table.key)
        existing = {
            tuple(found)
            for found in conn.execute(
                f"SELECT {keys} FROM {quote(table.name)} WHERE {' AND '.join(where)}",  # noqa: S608
                args,
            )
        }
        wanted = {tuple(row[i] for i in sql.key_index) for row in write.rows}
        gone = [key for key in existing if key not in wanted]
        if gone:
            before = conn.total_changes
            conn.executemany(sql.delete_key, gone)
            counts.deleted += conn.total_changes - before
        self._upsert(conn, table, write.rows, counts)

    async def reset(self, account: str, tables: Iterable[Table], prefixes: Iterable[str]) -> None:
        """Delete *account*'s rows of *tables* and its state under *prefixes*, at once."""
        await self._run(self._reset, account, tuple(tables), tuple(prefixes))

    def _reset(self, account: str, tables: Sequence[Table], prefixes: Sequence[str]) -> None:
        conn = self._connection()
        with transaction(conn):
            for table in tables:
                conn.execute(f"DELETE FROM {quote(table.name)} WHERE account = ?", (account,))  # noqa: S608
            for prefix in prefixes:
                conn.execute(
                    "DELETE FROM _sync_state WHERE account = ? AND substr(stream, 1, ?) = ?",
                    (account, len(prefix), prefix),
                )


def read_rows(path: str | os.PathLike[str], table: str, account: str = "default") -> list[Row]:
    """Return every row of *table* for *account*, without ``_synced_at`` (for checks)."""
    known = TABLES[table]
    names = ", ".join(quote(n) for n in known.names[:-1])
    with contextlib.closing(sqlite3.connect(path)) as conn:
        cursor = conn.execute(
            f"SELECT {names} FROM {quote(table)} WHERE account = ?",  # noqa: S608
            (account,),
        )
        return [tuple(row) for row in cursor]
