"""The SQLite side of :class:`~asyncmailstats.sync.SQLiteStore`: its SQL and its checks.

The tables' ``CREATE`` statements, the write statements made once per table, one write
transaction, and whether the process holding an account's lock still runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import sqlite3
from collections.abc import Iterator
from typing import Final

import attrs

from ._tables import SYNCED_AT, Table

__all__ = [
    "META",
    "Statements",
    "alive",
    "create_statements",
    "now",
    "quote",
    "statements",
    "transaction",
]


def quote(name: str) -> str:
    """Return *name* as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def now() -> str:
    """Return the time now, in UTC, as ISO 8601 text."""
    return dt.datetime.now(dt.UTC).isoformat()


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """Run the block in one write transaction: committed whole, or rolled back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        # A failed COMMIT may have ended the transaction already.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def create_statements(table: Table) -> list[str]:
    """Return the ``CREATE`` statements of *table* (SQLite dialect)."""
    columns = ", ".join(f"{quote(c.name)} {c.sql_type}" for c in table.columns)
    key = ", ".join(quote(k) for k in table.key)
    # Names come from the fixed table definitions, never from input.
    create = f"CREATE TABLE IF NOT EXISTS {quote(table.name)}"
    return [f"{create} ({columns}, PRIMARY KEY ({key})) WITHOUT ROWID"]


META: Final = [
    "CREATE TABLE IF NOT EXISTS _sync_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    (
        "CREATE TABLE IF NOT EXISTS _sync_state (account TEXT NOT NULL, stream TEXT NOT NULL,"
        " value TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (account, stream))"
    ),
    (
        "CREATE TABLE IF NOT EXISTS _sync_lock (account TEXT PRIMARY KEY, host TEXT NOT NULL,"
        " pid INTEGER NOT NULL, run_id TEXT NOT NULL, started_at TEXT NOT NULL)"
    ),
]


@attrs.frozen
class Statements:
    """The SQL of one table's writes, and where a row's key and data values sit."""

    insert: str
    update: str | None
    delete_key: str
    key_index: tuple[int, ...]
    data_index: tuple[int, ...]
    key_names: tuple[str, ...]


def statements(table: Table) -> Statements:
    """Return the write statements of *table*."""
    names = table.names[:-1]  # without _synced_at
    placeholders = ", ".join("?" for _ in table.names)
    into = ", ".join(quote(n) for n in table.names)
    # Names come from the fixed table definitions, never from input.
    insert = f"INSERT OR IGNORE INTO {quote(table.name)} ({into}) VALUES ({placeholders})"  # noqa: S608
    data = table.data_columns
    key_where = " AND ".join(f"{quote(k)} = ?" for k in table.key)
    update = None
    if data:
        sets = ", ".join(f"{quote(n)} = ?" for n in (*data, SYNCED_AT))
        differs = " OR ".join(f"{quote(n)} IS NOT ?" for n in data)
        update = f"UPDATE {quote(table.name)} SET {sets} WHERE {key_where} AND ({differs})"  # noqa: S608
    delete_key = f"DELETE FROM {quote(table.name)} WHERE {key_where}"  # noqa: S608
    key_index = tuple(names.index(k) for k in table.key)
    data_index = tuple(names.index(n) for n in data)
    return Statements(insert, update, delete_key, key_index, data_index, table.key)


def alive(host: str, pid: int) -> bool:
    """Return whether the lock holder *pid* on *host* may still run (another host: yes)."""
    if host != socket.gethostname():
        return True  # another machine's run: assume it is running
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
