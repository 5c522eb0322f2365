"""The sync's schema in PostgreSQL: its names, types, tables and advisory locks.

The tables are made or migrated when a store opens; an account's advisory lock has a
key the same in every process, and the catalog tells who holds it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from ._store import SCHEMA_VERSION, SyncError
from ._tables import SYNCED_AT, TABLES, Column, Table

if TYPE_CHECKING:
    import asyncpg

__all__ = ["PG_TYPES", "lock_holder", "lock_key", "migrate", "pg_type", "quote"]

#: The PostgreSQL type of each column type of the table definitions.
PG_TYPES: Final[Mapping[str, str]] = {
    "INTEGER": "BIGINT",
    "REAL": "DOUBLE PRECISION",
    "TEXT": "TEXT",
    "BOOLEAN": "BOOLEAN",
}


def quote(name: str) -> str:
    """Return *name* as a quoted SQL identifier."""
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


async def lock_holder(conn: asyncpg.Connection, key: int) -> str:
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


async def migrate(conn: asyncpg.Connection, schema: str, where: str) -> None:
    """Create what is missing: the schema, tables, and columns added to a table since."""
    quoted = quote(schema)
    async with conn.transaction():
        # One migration at a time: processes opening one database together would
        # otherwise race to create the same tables.
        # The key of no account: an account label is never empty.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_key(schema, ""))
        exists = await conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema)
        if not exists:
            await conn.execute(f"CREATE SCHEMA {quoted}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {quoted}._sync_meta"
            " (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {quoted}._sync_state (account TEXT NOT NULL,"
            " stream TEXT NOT NULL, value TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL,"
            " PRIMARY KEY (account, stream))"
        )
        found = await conn.fetchval(
            f"SELECT value FROM {quoted}._sync_meta WHERE key = 'schema'"  # noqa: S608
        )
        version = int(found) if found is not None else 0
        if version > SCHEMA_VERSION:
            msg = (
                f"the database {where} has schema {version}, newer than this "
                f"version of asyncmailstats ({SCHEMA_VERSION}): upgrade it"
            )
            raise SyncError(msg)
        columns, keys = await _layout(conn, schema)
        for table in TABLES.values():
            await _migrate_table(
                conn, schema, where, table, have=columns.get(table.name), keys=keys
            )
        if version != SCHEMA_VERSION:
            await conn.execute(
                f"INSERT INTO {quoted}._sync_meta (key, value) VALUES ('schema', $1)"  # noqa: S608
                " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                str(SCHEMA_VERSION),
            )


async def _layout(
    conn: asyncpg.Connection, schema: str
) -> tuple[dict[str, set[str]], dict[str, tuple[str, ...]]]:
    """Return the columns and the primary key of each of our tables the schema has."""
    names = list(TABLES)
    rows = await conn.fetch(
        "SELECT c.relname, a.attname FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE n.nspname = $1 AND c.relname = ANY($2::text[])",
        schema,
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
        schema,
        names,
    )
    keys = {row[0]: tuple(row[1]) for row in rows}
    return columns, keys


async def _migrate_table(
    conn: asyncpg.Connection,
    schema: str,
    where: str,
    table: Table,
    *,
    have: set[str] | None,
    keys: Mapping[str, tuple[str, ...]],
) -> None:
    target = f"{quote(schema)}.{quote(table.name)}"
    if have is None:
        columns = ", ".join(f"{quote(c.name)} {pg_type(c)}" for c in table.columns)
        key = ", ".join(quote(k) for k in table.key)
        await conn.execute(f"CREATE TABLE {target} ({columns}, PRIMARY KEY ({key}))")
        return
    key_found = keys.get(table.name, ())
    if key_found != table.key:
        shown = ", ".join(key_found) or "nothing"
        msg = (
            f"the table {table.name} in {where} is keyed by {shown}, "
            f"not {', '.join(table.key)}: rebuild it or use another schema"
        )
        raise SyncError(msg)
    for column in table.columns:
        if column.name not in have:
            await conn.execute(
                f"ALTER TABLE {target} ADD COLUMN {quote(column.name)} {pg_type(column)}"
            )
