"""One sync per database and account at a time; the lock never outlives its run.

A second run of an account that is being synced is refused at once with a message that
says who holds it; other accounts run beside it. A lock whose process was killed is
taken over. Errors, cancellations (also while the lock is being taken) and refusals
leave the lock as it should be.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import os
import signal
import socket
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from asyncmailstats import Session
from asyncmailstats.exceptions import MailStatsError
from asyncmailstats.postmark import PostmarkAPI
from asyncmailstats.postmark._args import EASTERN
from asyncmailstats.postmark._convert import CONVERTER
from asyncmailstats.postmark.models import OutboundMessage
from asyncmailstats.sync import SQLiteStore, SyncLockedError, Write, read_rows, run
from asyncmailstats.sync._runner import Context, run_plan
from asyncmailstats.sync._tables import POSTMARK_MESSAGE, POSTMARK_STATS, Row
from asyncmailstats.testing import FakePostmark

CHILD = Path(__file__).with_name("_child.py")
NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
TODAY = NOW.astimezone(EASTERN).date()
#: Seconds a refusal may take: far less than the store's 30 s wait for a busy database.
AT_ONCE = 5.0


class GatedPlan:
    """A plan of one stream: a unit, a wait for *gate* (then *fail*, if given), a unit."""

    provider = "test"
    streams: tuple[str, ...] = ("rows",)

    def __init__(
        self, gate: asyncio.Event | None = None, fail: BaseException | None = None
    ) -> None:
        self.gate = gate
        self.fail = fail
        self.reached = asyncio.Event()

    def tables(self, stream: str) -> tuple[Any, ...]:
        del stream
        return (POSTMARK_STATS,)

    def state_prefix(self, stream: str) -> str:
        return f"{stream}:"

    def statistics(self) -> tuple[int, int]:
        return 0, 0

    async def writes(self, stream: str, ctx: Context) -> AsyncIterator[Write]:
        del stream
        yield Write(POSTMARK_STATS, [row(ctx.account, 1)], state=("rows:n", 1), unit="first")
        self.reached.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        yield Write(POSTMARK_STATS, [row(ctx.account, 2)], state=("rows:n", 2), unit="second")


def row(account: str, day: int) -> Row:
    """Return a ``postmark_stats`` row of *day* (of May 2024)."""
    return (account, "sent-counts", "", "", f"2024-05-{day:02d}", "sent", day)


def locks(db: Path) -> list[tuple[Any, ...]]:
    """Return the lock rows: account, host, pid."""
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT account, host, pid FROM _sync_lock").fetchall()


def state(db: Path, account: str = "default") -> dict[str, str]:
    """Return *account*'s state rows as stored (JSON text)."""
    with closing(sqlite3.connect(db)) as conn:
        found = conn.execute("SELECT stream, value FROM _sync_state WHERE account = ?", (account,))
        return dict(found.fetchall())


def fake_server() -> FakePostmark:
    """Return a small Postmark server with a fixed dataset."""
    return FakePostmark(messages=200, seed=21, now=NOW, retention_days=5)


def postmark(session: Session, fake: FakePostmark, token: str | None = None) -> PostmarkAPI:
    """Return a client of *fake*."""
    return session.postmark(
        server_token=token or fake.token, base_url=fake.url, retention_days=fake.retention_days
    )


def message_rows(fake: FakePostmark, account: str) -> collections.Counter[Row]:
    """Return the fake's messages as rows of *account*."""
    structure = CONVERTER.structure
    return collections.Counter(
        (account, *POSTMARK_MESSAGE.row(structure(m, OutboundMessage))) for m in fake.messages
    )


async def test_a_second_run_of_the_account_is_refused_at_once(tmp_path: Path) -> None:
    """It raises SyncLockedError naming the holder, sends nothing, and takes nothing over."""
    db = tmp_path / "stats.db"
    gate = asyncio.Event()
    plan = GatedPlan(gate)
    async with (
        SQLiteStore(db) as first_store,
        SQLiteStore(db) as second_store,
        fake_server() as fake,
        Session() as session,
    ):
        first = asyncio.create_task(run_plan(plan, first_store))
        try:
            await plan.reached.wait()
            api = postmark(session, fake)
            with pytest.raises(SyncLockedError) as refused:
                await asyncio.wait_for(run(api, second_store, until=TODAY), AT_ONCE)
            assert fake.request_count == 0
            # The holder keeps its lock.
            assert locks(db) == [("default", socket.gethostname(), os.getpid())]
        finally:
            gate.set()
            report = await first
    message = str(refused.value)
    assert message.startswith(f"another sync of account 'default' is running on {db} ")
    assert f"(process {os.getpid()} on {socket.gethostname()}, since " in message
    assert message.endswith("; try again later")
    assert report.units == 2
    assert locks(db) == []
    assert read_rows(db, "postmark_messages") == []


async def test_one_store_does_not_run_an_account_twice(tmp_path: Path) -> None:
    """Two runs given the same store object: the second is refused, and runs once it is free."""
    db = tmp_path / "stats.db"
    gate = asyncio.Event()
    plan = GatedPlan(gate)
    async with SQLiteStore(db) as store:
        first = asyncio.create_task(run_plan(plan, store))
        try:
            await plan.reached.wait()
            with pytest.raises(SyncLockedError, match="with the same store, in this process"):
                await asyncio.wait_for(run_plan(GatedPlan(), store), AT_ONCE)
            assert len(locks(db)) == 1
        finally:
            gate.set()
            await first
        assert locks(db) == []
        report = await run_plan(GatedPlan(), store)
    assert report.units == 2
    assert locks(db) == []


async def test_other_accounts_run_beside_it(tmp_path: Path) -> None:
    """While one account is being synced, others are synced into the same database."""
    db = tmp_path / "stats.db"
    gate = asyncio.Event()
    plan = GatedPlan(gate)
    async with (
        SQLiteStore(db) as held,
        SQLiteStore(db) as store_a,
        SQLiteStore(db) as store_b,
        fake_server() as fake,
        Session() as session,
    ):
        first = asyncio.create_task(run_plan(plan, held))
        try:
            await plan.reached.wait()
            api = postmark(session, fake)
            # Two more accounts at once, next to the one being held.
            reports = await asyncio.gather(
                run(api, store_a, until=TODAY, streams="messages", account="a"),
                run(api, store_b, until=TODAY, streams="messages", account="b"),
            )
            assert locks(db) == [("default", socket.gethostname(), os.getpid())]
        finally:
            gate.set()
            await first
        for report, account in zip(reports, "ab", strict=True):
            assert report.account == account
            assert report.tables["postmark_messages"].inserted == len(fake.messages)
            stored = collections.Counter(read_rows(db, "postmark_messages", account))
            assert stored == message_rows(fake, account)
    assert locks(db) == []
    assert len(read_rows(db, "postmark_stats")) == 2


async def hold_in_child(db: Path) -> asyncio.subprocess.Process:
    """Start a child process that takes the default account's lock and keeps it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        "hold",
        str(db),
        "default",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    assert line.decode() == f"locked {proc.pid}\n"
    return proc


async def test_a_lock_of_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    """While its holder lives the lock holds; once the holder is SIGKILLed, a run takes it."""
    db = tmp_path / "stats.db"
    proc = await hold_in_child(db)
    try:
        assert locks(db) == [("default", socket.gethostname(), proc.pid)]
        async with SQLiteStore(db) as store:
            with pytest.raises(SyncLockedError, match=f"process {proc.pid} on "):
                await asyncio.wait_for(run_plan(GatedPlan(), store), AT_ONCE)
    finally:
        proc.send_signal(signal.SIGKILL)
        code = await proc.wait()  # reaped: the process is gone
    assert code == -signal.SIGKILL
    # The dead holder's row is still there: the next run sees its process is gone.
    assert locks(db) == [("default", socket.gethostname(), proc.pid)]
    async with SQLiteStore(db) as store:
        report = await asyncio.wait_for(run_plan(GatedPlan(), store), AT_ONCE)
    assert report.units == 2
    assert locks(db) == []


async def test_a_lock_held_on_another_machine_is_respected(tmp_path: Path) -> None:
    """A lock row of another host is never taken over: its process cannot be checked."""
    db = tmp_path / "stats.db"
    async with SQLiteStore(db):
        pass
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(
            "INSERT INTO _sync_lock VALUES ('default', 'elsewhere.invalid', 1, 'x', '2026-01-01')"
        )
    async with SQLiteStore(db) as store:
        with pytest.raises(SyncLockedError, match=r"process 1 on elsewhere\.invalid"):
            await run_plan(GatedPlan(), store)
        # Another account is not concerned.
        await run_plan(GatedPlan(), store, account="other")
    assert locks(db) == [("default", "elsewhere.invalid", 1)]


async def test_the_lock_is_released_after_an_error(tmp_path: Path) -> None:
    """A failing plan and a provider refusing the token both leave no lock behind."""
    db = tmp_path / "stats.db"
    async with SQLiteStore(db) as store:
        with pytest.raises(RuntimeError, match="boom"):
            await run_plan(GatedPlan(fail=RuntimeError("boom")), store)
        assert locks(db) == []
        # The unit committed before the error stays.
        assert state(db) == {"test/rows:n": "1"}
    async with fake_server() as fake, Session() as session, SQLiteStore(db) as store:
        with pytest.raises(MailStatsError):
            await run(postmark(session, fake, token="refused"), store, until=TODAY)
        assert locks(db) == []
        report = await run(postmark(session, fake), store, until=TODAY, streams="messages")
    assert report.tables["postmark_messages"].inserted == len(fake.messages)
    assert locks(db) == []


async def test_the_lock_is_released_after_cancellation(tmp_path: Path) -> None:
    """A run cancelled mid-stream lets go of the lock; the unit it handed over is whole."""
    db = tmp_path / "stats.db"
    gate = asyncio.Event()
    plan = GatedPlan(gate)
    async with SQLiteStore(db) as store:
        task = asyncio.create_task(run_plan(plan, store))
        await plan.reached.wait()
        assert len(locks(db)) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert locks(db) == []
        assert state(db) == {"test/rows:n": "1"}
        report = await run_plan(GatedPlan(), store)
    assert report.units == 2


async def test_a_run_cancelled_while_taking_the_lock_leaves_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store thread takes the lock after the run was cancelled: it is released again."""
    db = tmp_path / "stats.db"
    loop = asyncio.get_running_loop()
    entered = asyncio.Event()
    release = threading.Event()
    take = SQLiteStore._lock  # the blocking half of lock()

    def slow_lock(self: SQLiteStore, account: str) -> None:
        loop.call_soon_threadsafe(entered.set)
        assert release.wait(60)
        take(self, account)

    monkeypatch.setattr(SQLiteStore, "_lock", slow_lock)
    async with SQLiteStore(db) as store:
        task = asyncio.create_task(run_plan(GatedPlan(), store))
        await entered.wait()
        task.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert locks(db) == []
    # Another run of this process is not refused by a lock nobody holds.
    async with SQLiteStore(db) as store:
        report = await asyncio.wait_for(run_plan(GatedPlan(), store), AT_ONCE)
    assert report.units == 2
    assert locks(db) == []
