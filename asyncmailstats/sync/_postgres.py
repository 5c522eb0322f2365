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
import hashlib
import json
import os
import re
import socket
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, NoReturn, Self
from urllib.parse import parse_qsl, unquote, urlencode

import attrs

from ._store import SCHEMA_VERSION, Counts, SyncError, SyncLockedError, Write
from ._tables import SYNCED_AT, TABLES, Column, Row, Table

if TYPE_CHECKING:
    import asyncpg

#: Seconds a connection attempt may take.
CONNECT_TIMEOUT: Final = 30.0
#: The PostgreSQL type of each column type of the table definitions.
PG_TYPES: Final[Mapping[str, str]] = {
    "INTEGER": "BIGINT",
    "REAL": "DOUBLE PRECISION",
    "TEXT": "TEXT",
    "BOOLEAN": "BOOLEAN",
}
#: The temporary table a write's rows are copied into (dropped at commit).
_INCOMING: Final = "_ams_incoming"
#: Writes of at most this many rows send them as arrays in the merge itself: a
#: temporary table and its COPY cost more than they save on a few rows.
SMALL_WRITE: Final = 64
#: The longest identifier PostgreSQL keeps (longer ones are cut without a word).
_MAX_IDENTIFIER: Final = 63
_INSTALL: Final = "PostgresStore needs asyncpg: install asyncmailstats[postgres]"


def _asyncpg() -> Any:
    """Import asyncpg, or say which extra brings it."""
    try:
        import asyncpg  # noqa: PLC0415 - optional: the postgres extra
    except ImportError as error:
        raise ImportError(_INSTALL) from error
    return asyncpg


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pg_type(column: Column) -> str:
    """Return the PostgreSQL type of *column*: ``_synced_at`` is a ``TIMESTAMPTZ``."""
    if column.name == SYNCED_AT:
        return "TIMESTAMPTZ"
    return PG_TYPES.get(column.sql_type.upper(), "TEXT")


def lock_key(schema: str, account: str) -> int:
    """Return the advisory-lock key of *account* in *schema*: 64 bits, the same everywhere."""
    text = f"asyncmailstats\x00{schema}\x00{account}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


def _split(dsn: str) -> tuple[str, str, str, str]:
    """Return the scheme, user info, hosts and the rest (path, query) of a URL.

    Split by hand rather than by ``urlsplit``, which refuses some URLs (an unclosed
    IPv6 bracket) that still hold a password.
    """
    scheme, sep, rest = dsn.partition("://")
    if not sep:
        return "", "", "", dsn
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, _, hosts = rest[:end].rpartition("@")
    return scheme, userinfo, hosts, rest[end:]


def _query(rest: str) -> list[tuple[str, str]]:
    return parse_qsl(rest.partition("?")[2].partition("#")[0], keep_blank_values=True)


def _secrets(dsn: str) -> tuple[str, ...]:
    """Return the password of *dsn* in every spelling it may be shown in."""
    _, userinfo, _, rest = _split(dsn)
    found = {userinfo.partition(":")[2]}
    found |= {value for name, value in _query(rest) if name == "password"}
    found |= {match.group(1) for match in re.finditer(r"password=([^&\s]*)", dsn)}
    found |= {unquote(s) for s in found}
    return tuple(sorted((s for s in found if s), key=len, reverse=True))


def display_dsn(dsn: str) -> str:
    """Return *dsn* without its password, fit to be shown."""
    scheme, userinfo, hosts, rest = _split(dsn)
    if not scheme:
        return "the PostgreSQL database"
    user = userinfo.partition(":")[0]
    shown = f"{scheme}://{user}@{hosts}" if user else f"{scheme}://{hosts}"
    shown += rest.partition("?")[0].partition("#")[0]
    query = [(k, v) for k, v in _query(rest) if k != "password"]
    if query:
        shown += "?" + urlencode(query)
    for secret in _secrets(dsn):
        shown = shown.replace(secret, "***")
    return shown


def _identity() -> str:
    """Return the ``application_name`` of the store's connections: who runs the sync."""
    return f"asyncmailstats pid {os.getpid()} on {socket.gethostname()}"[:_MAX_IDENTIFIER]


@attrs.frozen
class _Statements:
    """The SQL of one table's writes, and where a row's values sit."""

    create: str
    columns: tuple[str, ...]
    #: The merge of the rows copied into the temporary table.
    merge_copied: str
    #: The merge of the rows given as one array per column ($1, $2, …).
    merge_arrays: str
    key_index: tuple[int, ...]
    key_columns: tuple[Column, ...]
    bool_index: tuple[int, ...]


def unnest(columns: Sequence[Column], first: int) -> str:
    """Return ``unnest($first::type[], …) AS i(name, …)``: a row per array element."""
    arrays = ", ".join(f"${first + i}::{pg_type(c)}[]" for i, c in enumerate(columns))
    return f"unnest({arrays}) AS i({', '.join(_quote(c.name) for c in columns)})"


def _statements(schema: str, table: Table) -> _Statements:
    target = f"{_quote(schema)}.{_quote(table.name)}"
    columns = [c for c in table.columns if c.name != SYNCED_AT]
    names = [c.name for c in columns]
    create = (
        f"CREATE TEMPORARY TABLE {_INCOMING} ("
        + ", ".join(f"{_quote(c.name)} {pg_type(c)}" for c in columns)
        + ") ON COMMIT DROP"
    )
    listed = ", ".join(_quote(n) for n in names)
    key = ", ".join(_quote(k) for k in table.key)
    data = table.data_columns
    if data:
        sets = ", ".join(f"{_quote(n)} = EXCLUDED.{_quote(n)}" for n in (*data, SYNCED_AT))
        old = ", ".join(f"t.{_quote(n)}" for n in data)
        new = ", ".join(f"EXCLUDED.{_quote(n)}" for n in data)
        action = f"DO UPDATE SET {sets} WHERE ROW({old}) IS DISTINCT FROM ROW({new})"
    else:
        action = "DO NOTHING"

    # Names come from the fixed table definitions, never from input. xmax is 0 in a
    # row this statement inserted, and this transaction's ID in a row it updated.
    def merge(source: str) -> str:
        return (
            f"WITH merged AS (INSERT INTO {target} AS t ({listed}, {_quote(SYNCED_AT)}) "  # noqa: S608
            f"SELECT {listed}, now() FROM {source} "
            f"ON CONFLICT ({key}) {action} RETURNING (t.xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) "
            "FROM merged"
        )

    return _Statements(
        create=create,
        columns=tuple(names),
        merge_copied=merge(f"{_INCOMING} AS i"),
        merge_arrays=merge(unnest(columns, 1)),
        key_index=tuple(names.index(k) for k in table.key),
        key_columns=tuple(columns[names.index(k)] for k in table.key),
        bool_index=tuple(i for i, c in enumerate(columns) if pg_type(c) == "BOOLEAN"),
    )


def _deleted(status: str) -> int:
    """Return the row count of a ``DELETE n`` command status."""
    return int(status.rsplit(" ", 1)[-1])


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
        if len(schema.encode()) > _MAX_IDENTIFIER:
            msg = f"schema must be at most {_MAX_IDENTIFIER} bytes long"
            raise ValueError(msg)
        self._pg = _asyncpg()
        self._dsn = dsn
        self._secrets = _secrets(dsn)
        #: The DSN without its password.
        self.url = display_dsn(dsn)
        self.schema = schema
        self._conn: asyncpg.Connection | None = None
        self._lock_conn: asyncpg.Connection | None = None
        # Writes, state and resets share one connection, in the order they are asked.
        self._writing = asyncio.Lock()
        self._locking = asyncio.Lock()
        self._held: set[str] = set()
        self._statements: dict[str, _Statements] = {}

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
                server_settings={"application_name": _identity()},
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
                    await self._migrate(conn)
            except BaseException:
                await _close(conn)
                raise
            self._conn = conn

    async def _migrate(self, conn: asyncpg.Connection) -> None:
        """Create what is missing: the schema, tables, and columns added to a table since."""
        schema = _quote(self.schema)
        async with conn.transaction():
            # One migration at a time: processes opening one database together would
            # otherwise race to create the same tables.
            # The key of no account: an account label is never empty.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_key(self.schema, ""))
            exists = await conn.fetchval(
                "SELECT count(*) FROM pg_namespace WHERE nspname = $1", self.schema
            )
            if not exists:
                await conn.execute(f"CREATE SCHEMA {schema}")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}._sync_meta"
                " (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}._sync_state (account TEXT NOT NULL,"
                " stream TEXT NOT NULL, value TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL,"
                " PRIMARY KEY (account, stream))"
            )
            found = await conn.fetchval(
                f"SELECT value FROM {schema}._sync_meta WHERE key = 'schema'"  # noqa: S608
            )
            version = int(found) if found is not None else 0
            if version > SCHEMA_VERSION:
                msg = (
                    f"the database {self.where} has schema {version}, newer than this "
                    f"version of asyncmailstats ({SCHEMA_VERSION}): upgrade it"
                )
                raise SyncError(msg)
            columns, keys = await self._layout(conn)
            for table in TABLES.values():
                await self._migrate_table(conn, table, columns.get(table.name), keys)
            if version != SCHEMA_VERSION:
                await conn.execute(
                    f"INSERT INTO {schema}._sync_meta (key, value) VALUES ('schema', $1)"  # noqa: S608
                    " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    str(SCHEMA_VERSION),
                )

    async def _layout(
        self, conn: asyncpg.Connection
    ) -> tuple[dict[str, set[str]], dict[str, tuple[str, ...]]]:
        """Return the columns and the primary key of each of our tables the schema has."""
        names = list(TABLES)
        rows = await conn.fetch(
            "SELECT c.relname, a.attname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
            " WHERE n.nspname = $1 AND c.relname = ANY($2::text[])",
            self.schema,
            names,
        )
        columns: dict[str, set[str]] = {}
        for row in rows:
            columns.setdefault(row[0], set()).add(row[1])
        rows = await conn.fetch(
            "SELECT c.relname, array_agg(a.attname::text ORDER BY k.position) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum"
            " WHERE i.indisprimary AND n.nspname = $1 AND c.relname = ANY($2::text[])"
            " GROUP BY c.relname",
            self.schema,
            names,
        )
        keys = {row[0]: tuple(row[1]) for row in rows}
        return columns, keys

    async def _migrate_table(
        self,
        conn: asyncpg.Connection,
        table: Table,
        have: set[str] | None,
        keys: Mapping[str, tuple[str, ...]],
    ) -> None:
        target = f"{_quote(self.schema)}.{_quote(table.name)}"
        if have is None:
            columns = ", ".join(f"{_quote(c.name)} {pg_type(c)}" for c in table.columns)
            key = ", ".join(_quote(k) for k in table.key)
            await conn.execute(f"CREATE TABLE {target} ({columns}, PRIMARY KEY ({key}))")
            return
        key_found = keys.get(table.name, ())
        if key_found != table.key:
            shown = ", ".join(key_found) or "nothing"
            msg = (
                f"the table {table.name} in {self.where} is keyed by {shown}, "
                f"not {', '.join(table.key)}: rebuild it or use another schema"
            )
            raise SyncError(msg)
        for column in table.columns:
            if column.name not in have:
                await conn.execute(
                    f"ALTER TABLE {target} ADD COLUMN {_quote(column.name)} {pg_type(column)}"
                )

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
                    holder = await self._holder(conn, key)
                    msg = (
                        f"another sync of account {account!r} is running on {self.url} in "
                        f"schema {self.schema}{holder}; try again later"
                    )
                    raise SyncLockedError(msg)
            self._held.add(account)

    async def _holder(self, conn: asyncpg.Connection, key: int) -> str:
        """Return who holds the advisory lock *key*, as far as this role may see."""
        unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
        found = await conn.fetchrow(
            "SELECT a.application_name, a.backend_start FROM pg_locks l"
            " JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid",
            unsigned >> 32,
            unsigned & 0xFFFF_FFFF,
        )
        if found is None or not found[0]:
            return ""
        since = f", since {found[1]:%Y-%m-%d %H:%M:%S %Z}" if found[1] is not None else ""
        return f" ({found[0]}{since})"

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
                f"SELECT stream, value FROM {_quote(self.schema)}._sync_state"  # noqa: S608
                " WHERE account = $1",
                account,
            )
        return {row[0]: json.loads(row[1]) for row in rows}

    # -- writes ----------------------------------------------------------------------------

    def _prepared(self, table: Table) -> _Statements:
        found = self._statements.get(table.name)
        if found is None:
            found = self._statements[table.name] = _statements(self.schema, table)
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
                        f"INSERT INTO {_quote(self.schema)}._sync_state"  # noqa: S608
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
                await conn.copy_records_to_table(_INCOMING, records=records, columns=sql.columns)
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
                where.append(f"t.{_quote(name)} BETWEEN ${len(args) - 1} AND ${len(args)}")
            else:
                args.append(value)
                where.append(f"t.{_quote(name)} = ${len(args)}")
        source = None
        if keys is None:
            source = f"{_INCOMING} AS i"
        elif keys:
            source = unnest(self._prepared(table).key_columns, len(args) + 1)
            args += keys
        if source is not None:
            same = " AND ".join(f"i.{_quote(k)} = t.{_quote(k)}" for k in table.key)
            where.append(f"NOT EXISTS (SELECT 1 FROM {source} WHERE {same})")  # noqa: S608
        target = f"{_quote(self.schema)}.{_quote(table.name)}"
        status = await conn.execute(
            f"DELETE FROM {target} AS t WHERE {' AND '.join(where)}",  # noqa: S608
            *args,
        )
        return _deleted(status)

    async def reset(self, account: str, tables: Iterable[Table], prefixes: Iterable[str]) -> None:
        """Delete *account*'s rows of *tables* and its state under *prefixes*, at once."""
        tables, prefixes = tuple(tables), tuple(prefixes)
        schema = _quote(self.schema)
        async with self._writing, self._errors():
            conn = self._connection()
            async with conn.transaction():
                for table in tables:
                    await conn.execute(
                        f"DELETE FROM {schema}.{_quote(table.name)} WHERE account = $1",  # noqa: S608
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
