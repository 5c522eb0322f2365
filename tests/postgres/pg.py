"""Reading what a ``PostgresStore`` wrote, for checks: rows, state, locks, backends."""

from __future__ import annotations

import asyncio
import collections
import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from asyncmailstats.sync import TABLES, SyncReport, run
from asyncmailstats.sync import PostgresStore as Store
from tests.sync.truth import Rows

#: Seconds a wait for the server to notice a killed client may take.
GONE_TIMEOUT = 30.0


def database_dsn(dsn: str, database: str) -> str:
    """Return *dsn* pointing at *database*."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


def with_user(dsn: str, user: str, password: str) -> str:
    """Return *dsn* logging in as *user* with *password*."""
    parts = urlsplit(dsn)
    hosts = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}:{password}@{hosts}", parts.path, parts.query, ""))


async def admin_connect(dsn: str) -> Any:
    """Connect to *dsn* for the test's own queries (an asyncpg connection)."""
    import asyncpg  # noqa: PLC0415 - the postgres extra: checked by the fixtures first

    return await asyncpg.connect(dsn, server_settings={"application_name": "tests"})


async def server_version(dsn: str) -> str:
    """Return the server's version number (``15.18``)."""
    conn = await admin_connect(dsn)
    try:
        found: str = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return found.split(maxsplit=1)[0]


async def rows(dsn: str, table: str, account: str = "default", schema: str = "public") -> Rows:
    """Return *account*'s rows of *table*, without ``_synced_at``, as a multiset."""
    names = ", ".join(f'"{n}"' for n in TABLES[table].names[:-1])
    conn = await admin_connect(dsn)
    try:
        found = await conn.fetch(
            f'SELECT {names} FROM "{schema}"."{table}" WHERE account = $1',  # noqa: S608
            account,
        )
    finally:
        await conn.close()
    return collections.Counter(tuple(record) for record in found)


async def tables(
    dsn: str, names: list[str] | tuple[str, ...], account: str = "default"
) -> dict[str, Rows]:
    """Return the rows of each table of *names*."""
    return {name: await rows(dsn, name, account) for name in names}


async def state(dsn: str, account: str = "default", schema: str = "public") -> dict[str, Any]:
    """Return *account*'s committed state: stream key -> value."""
    conn = await admin_connect(dsn)
    try:
        found = await conn.fetch(
            f'SELECT stream, value FROM "{schema}"._sync_state WHERE account = $1',  # noqa: S608
            account,
        )
    finally:
        await conn.close()
    return {stream: json.loads(value) for stream, value in found}


async def fetch(dsn: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    """Return the rows of *query*."""
    conn = await admin_connect(dsn)
    try:
        return [tuple(r) for r in await conn.fetch(query, *args)]
    finally:
        await conn.close()


async def advisory_locks(dsn: str) -> int:
    """Return how many advisory locks are held in *dsn*'s database."""
    found = await fetch(
        dsn,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    return int(found[0][0])


async def wait_backends_gone(dsn: str, pid: int) -> None:
    """Wait until the server has ended every session of the (killed) process *pid*.

    A killed client's sessions end when the server reads the closed socket; until then
    its advisory lock is held and its last transaction may still be open.
    """
    name = f"asyncmailstats pid {pid} on {socket.gethostname()}"[:63]
    deadline = time.monotonic() + GONE_TIMEOUT
    while True:
        found = await fetch(
            dsn, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name
        )
        if found[0][0] == 0:
            return
        assert time.monotonic() < deadline, f"the sessions of process {pid} did not end"
        await asyncio.sleep(0.01)


async def sync(api: Any, dsn: str, **options: Any) -> SyncReport:
    """Run one sync of *api* into the PostgreSQL database *dsn*, closing the store after."""
    store = Store(dsn)
    try:
        return await run(api, store, **options)
    finally:
        await store.aclose()
