"""``PostgresStore``: the sync's tables and state in a PostgreSQL database (asyncpg).

Each write is one transaction: its rows are copied (binary ``COPY``) into a temporary
table (a write of a few rows sends them as arrays instead), merged into the table with
``INSERT … ON CONFLICT (key) DO UPDATE`` where a value differs, and, for a ``replace``
write, the rows of its scope absent from it are deleted; the stream's state is upserted
in the same transaction. The account's lock is a session-level advisory lock held on a
connection of its own for the run, so that processes on several machines can sync
several accounts into one database, one process per account at a time.

asyncpg is imported when a store is made: ``import asyncmailstats.sync`` works without
the ``postgres`` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, NoReturn, Self

from ._postgres_dsn import MAX_IDENTIFIER, display_dsn, dsn_secrets, identity
from ._postgres_schema import lock_holder, lock_key, migrate, quote
from ._postgres_sql import INCOMING, Statements, deleted, statements, unnest
from ._store import Counts, SyncError, SyncLockedError, Write
from ._tables import Row, Table

if TYPE_CHECKING:
    import asyncpg

#: Seconds a connection attempt may take.
CONNECT_TIMEOUT: Final = 30.0
#: Writes of at most this many rows send them as arrays in the merge itself: a
#: temporary table and its COPY cost more than they save on a few rows.
SMALL_WRITE: Final = 64
_INSTALL: Final = "PostgresStore needs asyncpg: install asyncmailstats[postgres]"


def _asyncpg() -> Any:
    """Import asyncpg, or say which extra brings it."""
    try:
        import asyncpg  # noqa: PLC0415 - optional: the postgres extra
    except ImportError as error:
        raise ImportError(_INSTALL) from error
    return asyncpg


class PostgresStore:
    """A :class:`~asyncmailstats.sync.Store` in a PostgreSQL database (asyncpg).

    The tables, ``_sync_state`` and ``_sync_meta`` are created in *schema* when missing,
    and columns added to a table since are added to it. Writes run one at a time on
    one connection, each in one transaction. The account's lock is an advisory lock
    (keyed by schema and account) held on a second connection while a run lasts:
    another process, on any machine, asking for it is refused at once with
    :class:`SyncLockedError`; a process that dies lets go of it with its connection.
    Errors of the database or the network are raised as :class:`SyncError`; the DSN's
    password is never part of a message or a ``repr``.

    Args:
        dsn: A ``postgresql://`` URL (``postgres://`` works too), as asyncpg takes it.
        schema: The schema of the tables; created if missing.

    Raises:
        ImportError: asyncpg is not installed (the ``postgres`` extra).
        TypeError: *dsn* or *schema* is not a string.
        ValueError: *dsn* is empty, or *schema* is empty, too long, or holds a NUL.
    """

    def __init__(self, dsn: str, *, schema: str = "public") -> None:
        if not isinstance(dsn, str) or not isinstance(schema, str):
            msg = "dsn and schema must be strings"
            raise TypeError(msg)
        if not dsn:
            msg = "dsn must be a postgresql:// URL, not empty"
            raise ValueError(msg)
        if not schema or "\x00" in schema:
            msg = "schema must be a non-empty name without NUL characters"
            raise ValueError(msg)
        if len(schema.encode()) > MAX_IDENTIFIER:
            msg = f"schema must be at most {MAX_IDENTIFIER} bytes long"
            raise ValueError(msg)
        self._pg = _asyncpg()
        self._dsn = dsn
        self._secrets = dsn_secrets(dsn)
        #: The DSN without its password.
        self.url = display_dsn(dsn)
        self.schema = schema
        self._conn: asyncpg.Connection | None = None
        self._lock_conn: asyncpg.Connection | None = None
        # Writes, state and resets share one connection, in the order they are asked.
        self._writing = asyncio.Lock()
        self._locking = asyncio.Lock()
        self._held: set[str] = set()
        self._statements: dict[str, Statements] = {}

    def __repr__(self) -> str:
        return f"<PostgresStore {self.url!r} schema={self.schema!r}>"

    @property
    def where(self) -> str:
        """Return where the tables are, for messages: the DSN without password, the schema."""
        return f"{self.url} (schema {self.schema})"

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # -- errors and connections ------------------------------------------------------------

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _fail(self, what: str, exc: BaseException) -> NoReturn:
        """Raise *exc* as a one-line :class:`SyncError` that shows no password.

        The original error is kept as the cause unless it shows the password itself.
        """
        text = " ".join(str(exc).split()) or type(exc).__name__
        error = SyncError(self._redact(f"{what} {self.where}: {text}"))
        if any(s in f"{exc!s} {exc!r}" for s in self._secrets):
            raise error from None
        raise error from exc

    def _failures(self) -> tuple[type[BaseException], ...]:
        pg = self._pg
        return (pg.PostgresError, pg.InterfaceError, pg.InternalClientError, OSError, TimeoutError)

    @contextlib.asynccontextmanager
    async def _errors(self, what: str = "database error in") -> AsyncIterator[None]:
        """Raise the database's and the network's errors in the block as SyncError."""
        try:
            yield
        except SyncError:
            raise
        except self._failures() as exc:
            self._fail(what, exc)

    async def _connect(self) -> asyncpg.Connection:
        # A malformed DSN raises ValueError (a bad port OverflowError) from asyncpg.
        failures: tuple[type[BaseException], ...] = (*self._failures(), ValueError, OverflowError)
        try:
            conn: asyncpg.Connection = await self._pg.connect(
                self._dsn,
                timeout=CONNECT_TIMEOUT,
                server_settings={"application_name": identity()},
            )
        except failures as exc:
            self._fail("cannot connect to", exc)
        return conn

    def _connection(self) -> asyncpg.Connection:
        if self._conn is None:
            msg = "the store is not open"
            raise SyncError(msg)
        return self._conn

    # -- open and schema -------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, and create or migrate the schema. A second call keeps the connection.

        Raises:
            SyncError: The server cannot be reached or refuses the login, the schema
                is newer than this code's, or a table has another key; the store is
                closed again and nothing was created.
        """
        async with self._writing:
            if self._conn is not None and not self._conn.is_closed():
                return
            self._conn = None  # a connection the server or the network ended
            conn = await self._connect()
            try:
                async with self._errors("cannot open the database"):
                    await migrate(conn, self.schema, self.where)
            except BaseException:
                await _close(conn)
                raise
            self._conn = conn

    async def aclose(self) -> None:
        """Let the writes asked for finish, then close both connections. Idempotent.

        A lock still held is released with its connection.
        """
        async with self._locking:
            lock_conn, self._lock_conn = self._lock_conn, None
            self._held.clear()
            if lock_conn is not None:
                await _close(lock_conn)
        async with self._writing:
            conn, self._conn = self._conn, None
            if conn is not None:
                await _close(conn)

    # -- lock ------------------------------------------------------------------------------

    async def lock(self, account: str) -> None:
        """Take *account*'s advisory lock, or raise :class:`SyncLockedError` at once."""
        async with self._locking:
            self._connection()
            if account in self._held:
                msg = (
                    f"another sync of account {account!r} is running on {self.url} in schema "
                    f"{self.schema} (with the same store, in this process); try again later"
                )
                raise SyncLockedError(msg)
            if self._lock_conn is None or self._lock_conn.is_closed():
                self._lock_conn = await self._connect()
            conn = self._lock_conn
            key = lock_key(self.schema, account)
            async with self._errors():
                taken = await conn.fetchval("SELECT pg_try_advisory_lock($1)", key)
                if not taken:
                    holder = await lock_holder(conn, key)
                    msg = (
                        f"another sync of account {account!r} is running on {self.url} in "
                        f"schema {self.schema}{holder}; try again later"
                    )
                    raise SyncLockedError(msg)
            self._held.add(account)

    async def unlock(self, account: str) -> None:
        """Release *account*'s lock if this store holds it."""
        async with self._locking:
            if account not in self._held:
                return
            self._held.discard(account)
            conn = self._lock_conn
            if conn is None or conn.is_closed():
                return  # gone with its connection
            async with self._errors():
                await conn.fetchval("SELECT pg_advisory_unlock($1)", lock_key(self.schema, account))
            if not self._held:
                self._lock_conn = None
                await _close(conn)

    def _check_lock(self, account: str) -> None:
        """Refuse to write for a locked account whose lock went with its connection."""
        if account in self._held and (self._lock_conn is None or self._lock_conn.is_closed()):
            msg = (
                f"the lock of account {account!r} on {self.where} was lost with its "
                "connection; run the sync again"
            )
            raise SyncError(msg)

    # -- state -----------------------------------------------------------------------------

    async def load_state(self, account: str) -> dict[str, Any]:
        """Return the state of every stream of *account*."""
        async with self._writing, self._errors():
            rows = await self._connection().fetch(
                f"SELECT stream, value FROM {quote(self.schema)}._sync_state"  # noqa: S608
                " WHERE account = $1",
                account,
            )
        return {row[0]: json.loads(row[1]) for row in rows}

    # -- writes ----------------------------------------------------------------------------

    def _prepared(self, table: Table) -> Statements:
        found = self._statements.get(table.name)
        if found is None:
            found = self._statements[table.name] = statements(self.schema, table)
        return found

    def _records(self, table: Table, rows: Sequence[Row]) -> list[Row]:
        """Return *rows* to copy: checked for NULL keys, one per key (the last one wins)."""
        sql = self._prepared(table)
        index = sql.key_index
        last: dict[tuple[Any, ...], Row] = {}
        for row in rows:
            key = tuple(row[i] for i in index)
            if None in key:
                name = table.key[key.index(None)]
                msg = f"a row of {table.name} has no {name}, a column of its key"
                raise SyncError(msg)
            last[key] = row
        records = list(last.values()) if len(last) < len(rows) else list(rows)
        if sql.bool_index:
            flags = set(sql.bool_index)
            records = [
                tuple(bool(v) if i in flags and v is not None else v for i, v in enumerate(row))
                for row in records
            ]
        return records

    async def write(self, account: str, write: Write) -> Counts:
        """Apply *write* (rows and state) in one transaction."""
        records = self._records(write.table, write.rows) if write.table is not None else []
        counts = Counts()
        async with self._writing, self._errors():
            conn = self._connection()
            self._check_lock(account)
            async with conn.transaction():
                if write.table is not None:
                    await self._apply(conn, account, write, records, counts)
                if write.state is not None:
                    key, value = write.state
                    await conn.execute(
                        f"INSERT INTO {quote(self.schema)}._sync_state"  # noqa: S608
                        " (account, stream, value, updated_at) VALUES ($1, $2, $3, now())"
                        " ON CONFLICT (account, stream) DO UPDATE"
                        " SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
                        account,
                        key,
                        json.dumps(value, sort_keys=True),
                    )
        return counts

    async def _apply(
        self,
        conn: asyncpg.Connection,
        account: str,
        write: Write,
        records: list[Row],
        counts: Counts,
    ) -> None:
        """Merge the rows of *write*; for a ``replace``, delete the scope's rows gone.

        Many rows are copied into a temporary table first; a few are sent as arrays.
        """
        table = write.table
        assert table is not None  # noqa: S101 - checked by the caller
        sql = self._prepared(table)
        copied = len(records) > SMALL_WRITE
        arrays: list[list[Any]] = []
        misfits = (TypeError, ValueError, OverflowError, self._pg.DataError)
        try:
            if copied:
                await conn.execute(sql.create)
                await conn.copy_records_to_table(INCOMING, records=records, columns=sql.columns)
            elif records:
                arrays = [list(column) for column in zip(*records, strict=True)]
            if write.mode == "replace":
                keys = None if copied else [arrays[i] for i in sql.key_index] if records else []
                counts.deleted = await self._delete_gone(
                    conn, account, table, write.scope or {}, keys
                )
            if records:
                merge = sql.merge_copied if copied else sql.merge_arrays
                found = await conn.fetchrow(merge, *arrays)
                counts.inserted += found[0]
                counts.updated += found[1]
        except misfits as exc:
            # A value of the wrong type for its column, seen while encoding the rows, or
            # one the server refuses (a NUL in a text, a number out of range).
            msg = f"a row of {table.name} does not fit its columns in {self.where}: {exc}"
            raise SyncError(self._redact(msg)) from exc

    async def _delete_gone(
        self,
        conn: asyncpg.Connection,
        account: str,
        table: Table,
        scope: Mapping[str, Any],
        keys: list[list[Any]] | None,
    ) -> int:
        """Delete the scope's rows whose key the write does not hold; return how many.

        *keys* holds the write's keys as one array per key column (empty: no rows), or
        is ``None`` when the rows were copied into the temporary table.
        """
        where = ["t.account = $1"]
        args: list[Any] = [account]
        for name, value in scope.items():
            if isinstance(value, tuple):
                args += list(value)
                where.append(f"t.{quote(name)} BETWEEN ${len(args) - 1} AND ${len(args)}")
            else:
                args.append(value)
                where.append(f"t.{quote(name)} = ${len(args)}")
        source = None
        if keys is None:
            source = f"{INCOMING} AS i"
        elif keys:
            source = unnest(self._prepared(table).key_columns, len(args) + 1)
            args += keys
        if source is not None:
            same = " AND ".join(f"i.{quote(k)} = t.{quote(k)}" for k in table.key)
            where.append(f"NOT EXISTS (SELECT 1 FROM {source} WHERE {same})")  # noqa: S608
        target = f"{quote(self.schema)}.{quote(table.name)}"
        status = await conn.execute(
            f"DELETE FROM {target} AS t WHERE {' AND '.join(where)}",  # noqa: S608
            *args,
        )
        return deleted(status)

    async def reset(self, account: str, tables: Iterable[Table], prefixes: Iterable[str]) -> None:
        """Delete *account*'s rows of *tables* and its state under *prefixes*, at once."""
        tables, prefixes = tuple(tables), tuple(prefixes)
        schema = quote(self.schema)
        async with self._writing, self._errors():
            conn = self._connection()
            async with conn.transaction():
                for table in tables:
                    await conn.execute(
                        f"DELETE FROM {schema}.{quote(table.name)} WHERE account = $1",  # noqa: S608
                        account,
                    )
                for prefix in prefixes:
                    await conn.execute(
                        f"DELETE FROM {schema}._sync_state WHERE account = $1"  # noqa: S608
                        " AND substr(stream, 1, length($2)) = $2",
                        account,
                        prefix,
                    )


async def _close(conn: asyncpg.Connection) -> None:
    """Close *conn* politely, or drop it when the server does not answer."""
    try:
        await conn.close(timeout=5)
    except Exception:  # noqa: BLE001 - a broken connection is closed all the same
        conn.terminate()
