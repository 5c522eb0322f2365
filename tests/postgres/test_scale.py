"""Several processes, one PostgreSQL database: one process per account, at the same time.

Each account is synced by a process of its own (``tests/sync/_child.py``, or the
command itself) from a fake server of its own, into one database. The children stop
after their first unit until told to go on, so that every one of them holds its
account's lock at the same moment; then each account's tables must equal its fake's
data. A second process on an account being synced is refused at once (exit status 1,
one line naming the holder) and sends nothing, while the first completes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import sys

import pytest

from asyncmailstats.testing import FakePostmark
from tests.postgres.pg import advisory_locks, rows
from tests.sync.test_crash import CHILD, LINE_TIMEOUT, NOW, TODAY
from tests.sync.truth import assert_rows, postmark_truth, relabel

pytestmark = pytest.mark.postgres

RETENTION = 10
FIRST = TODAY - dt.timedelta(days=RETENTION)
TABLES = ("postmark_messages", "postmark_opens", "postmark_clicks", "postmark_stats")


def fake(seed: int) -> FakePostmark:
    """Return a Postmark server of its own for one account."""
    return FakePostmark(
        messages=1200,
        seed=seed,
        now=NOW,
        retention_days=RETENTION,
        open_rate=0.6,
        click_rate=0.2,
        max_recipients=4,
        multi_recipient_rate=0.5,
    )


async def start_child(dsn: str, server: FakePostmark, account: str) -> asyncio.subprocess.Process:
    """Start a child syncing *server* into *dsn* as *account*; it pauses after one unit."""
    env = {
        **os.environ,
        "AMS_FAKE_URL": server.url,
        "AMS_FAKE_TOKEN": server.token,
        "AMS_CHILD_ACCOUNT": account,
        "AMS_CHILD_PAUSE": "1",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        "sync",
        dsn,
        TODAY.isoformat(),
        str(RETENTION),
        "1",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_until(proc: asyncio.subprocess.Process, word: str) -> str:
    """Return the child's first line starting with *word*; fail if it ends before."""
    assert proc.stdout is not None
    while True:
        line = (await asyncio.wait_for(proc.stdout.readline(), LINE_TIMEOUT)).decode()
        assert line, f"the child ended before saying {word!r}"
        if line.startswith(word):
            return line


async def go_on(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    """Let a paused child go on; return its exit status and stderr once it ends."""
    assert proc.stdin is not None
    assert proc.stderr is not None
    proc.stdin.write(b"\n")
    await proc.stdin.drain()
    await read_until(proc, "done")
    stderr = (await proc.stderr.read()).decode()
    return await proc.wait(), stderr


async def assert_account(dsn: str, server: FakePostmark, account: str) -> None:
    """Check that *account*'s tables hold exactly what *server* serves."""
    truth = postmark_truth(server, FIRST, TODAY)
    for table in TABLES:
        assert_rows(table, await rows(dsn, table, account), relabel(truth[table], account))


async def test_four_accounts_synced_by_four_processes_at_once(pg_dsn: str) -> None:
    """Four children, four accounts, one database: all hold their locks at once, and
    every account's tables equal its own server's data."""
    accounts = [f"account-{n}" for n in range(4)]
    async with fake(61) as a, fake(62) as b, fake(63) as c, fake(64) as d:
        servers = [a, b, c, d]
        children = [
            await start_child(pg_dsn, server, account)
            for server, account in zip(servers, accounts, strict=True)
        ]
        try:
            for child in children:
                await read_until(child, "paused")
            # Each child is in the middle of its run, holding its account's lock.
            assert await advisory_locks(pg_dsn) == 4
            ended = await asyncio.gather(*(go_on(child) for child in children))
        finally:
            for child in children:
                if child.returncode is None:
                    child.kill()
                    await child.wait()
        assert ended == [(0, "")] * 4
        assert await advisory_locks(pg_dsn) == 0
        for server, account in zip(servers, accounts, strict=True):
            await assert_account(pg_dsn, server, account)


async def test_a_second_process_on_the_same_account_is_refused_while_the_first_completes(
    pg_dsn: str,
) -> None:
    """The command started while a child syncs the account exits 1 at once with one
    line naming the holder, and sends nothing; the child then completes exactly."""
    async with fake(71) as first, fake(72) as second:
        child = await start_child(pg_dsn, first, "shared")
        try:
            await read_until(child, "paused")
            command = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "asyncmailstats",
                "sync",
                "postmark",
                "--db",
                pg_dsn,
                "--account",
                "shared",
                "--base-url",
                second.url,
                "--retention-days",
                str(RETENTION),
                "--until",
                TODAY.isoformat(),
                env={**os.environ, "POSTMARK_SERVER_TOKEN": second.token},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(command.communicate(), LINE_TIMEOUT)
            code, stderr = await go_on(child)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        assert command.returncode == 1
        assert out == b""
        assert second.request_count == 0
        lines = err.decode().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith(
            "asyncmailstats: another sync of account 'shared' is running on postgresql://"
        )
        holder = f" in schema public (asyncmailstats pid {child.pid} on {socket.gethostname()}"
        assert holder in lines[0]
        assert lines[0].endswith("; try again later")
        assert (code, stderr) == (0, "")
        await assert_account(pg_dsn, first, "shared")
