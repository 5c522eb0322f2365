"""A real PostgreSQL server for the tests marked ``postgres``, one database per test.

The server is ``$AMS_TEST_POSTGRES_DSN`` when set (a role that may create databases);
otherwise a throwaway cluster is started from the local PostgreSQL binaries for the
session (``tests/pgcluster.py``). Without binaries (or asyncpg) the tests are skipped,
unless ``AMS_REQUIRE_POSTGRES=1``: then they fail. The summary says which server ran
them, or why none did.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests import pgcluster
from tests.postgres.pg import admin_connect, database_dsn, server_version

DSN_ENV = "AMS_TEST_POSTGRES_DSN"
REQUIRE_ENV = "AMS_REQUIRE_POSTGRES"
#: What the session's server was: its version, or why there was none.
_SERVER: dict[str, str] = {}


def _unavailable(reason: str) -> None:
    _SERVER["skipped"] = reason
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 and no PostgreSQL server: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Yield the DSN of a PostgreSQL superuser (or a role that may create databases)."""
    try:
        import asyncpg  # noqa: F401, PLC0415 - the postgres extra
    except ImportError:
        _unavailable("asyncpg is not installed (asyncmailstats[postgres])")
    dsn = os.environ.get(DSN_ENV)
    with contextlib.ExitStack() as stack:
        if not dsn:
            if pgcluster.find_bindir() is None:
                _unavailable(
                    "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found; "
                    f"install PostgreSQL or set {DSN_ENV}"
                )
            dsn = stack.enter_context(pgcluster.throwaway_cluster())
        _SERVER["version"] = asyncio.run(server_version(dsn))
        yield dsn


@pytest.fixture
async def pg_dsn(postgres_server: str) -> AsyncIterator[str]:
    """Yield the DSN of a new database of this test's own; it is dropped afterwards."""
    name = f"ams_test_{os.urandom(6).hex()}"
    admin = await admin_connect(postgres_server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield database_dsn(postgres_server, name)
    finally:
        admin = await admin_connect(postgres_server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


#: The node IDs of the tests marked ``postgres`` this session collected.
_MARKED: set[str] = set()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Note which tests need the server, for the summary."""
    _MARKED.update(item.nodeid for item in items if item.get_closest_marker("postgres"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many ``postgres`` tests ran against which server, or why they did not."""
    counts = {"ran": 0, "skipped": 0, "failed to start": 0}
    for outcome, reports in terminalreporter.stats.items():
        for report in reports:
            if getattr(report, "nodeid", None) not in _MARKED:
                continue
            when = getattr(report, "when", None)
            if outcome == "skipped":
                counts["skipped"] += 1
            elif when == "call":
                counts["ran"] += 1
            elif outcome == "error" and when == "setup":
                counts["failed to start"] += 1
    why = _SERVER.get("skipped")
    if counts["ran"]:
        line = (
            f"postgres: {counts['ran']} tests ran against PostgreSQL {_SERVER.get('version', '?')}"
        )
        if counts["skipped"]:
            line += f", {counts['skipped']} skipped"
    elif counts["skipped"]:
        line = f"postgres: {counts['skipped']} tests skipped: {why or 'see their reasons'}"
    elif counts["failed to start"] and why:
        line = f"postgres: {counts['failed to start']} tests could not run: {why}"
    else:
        return
    terminalreporter.write_line(line)
