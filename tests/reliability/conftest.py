"""Shared pieces of the reliability suite: the seed, the results ledger, leak checks.

``AMS_RELIABILITY_SEED`` picks the seed of every dataset and fault plan (default
:data:`DEFAULT_SEED`), so the suite can be run several times with different faults.
``AMS_RELIABILITY_REPORT=<path>`` writes the table of what each faulty run did (requests,
faults, records expected and delivered, duplicates, losses) as Markdown to *path* and
prints it at the end of the run.
"""

from __future__ import annotations

import asyncio
import os
import types
from collections import Counter
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from asyncmailstats import RetryPolicy, Session, Timeout

DEFAULT_SEED = 20_240_601

#: Enough attempts that a request meeting faults at these rates never runs out, and
#: delays short enough for a quick suite (a Retry-After of 0.01 s is still honoured).
RETRY = RetryPolicy(max_attempts=40, initial_delay=0.002, max_delay=0.02, max_retry_after=1.0)
#: Stalled requests are abandoned after this long and tried again.
TIMEOUT = Timeout(total=0.5, connect=0.5)


@attrs.frozen
class Row:
    """What one run under one fault plan did, checked against the fake's truth."""

    provider: str
    faults: str
    workload: str
    requests: int
    injected: int
    expected: int
    delivered: int
    duplicates: int
    losses: int


_ROWS: list[Row] = []


def seed() -> int:
    """Return the seed of this run."""
    return int(os.environ.get("AMS_RELIABILITY_SEED", DEFAULT_SEED))


def tally(
    provider: str,
    faults: str,
    workload: str,
    *,
    requests: int,
    injected: int,
    expected: Sequence[Hashable],
    delivered: Sequence[Hashable],
) -> Row:
    """Record a run's numbers in the ledger and return its row."""
    seen = Counter(delivered)
    row = Row(
        provider=provider,
        faults=faults,
        workload=workload,
        requests=requests,
        injected=injected,
        expected=len(expected),
        delivered=len(delivered),
        duplicates=sum(n - 1 for n in seen.values() if n > 1),
        losses=len(set(expected) - set(seen)),
    )
    _ROWS.append(row)
    return row


async def close_cleanly(session: Session) -> None:
    """Check that nothing is in flight or checked out, then close *session* and check it."""
    stats = session.statistics()
    assert (stats.in_flight, stats.waiting) == (0, 0)
    http = session._transport._session  # type: ignore[attr-defined]
    connector = http.connector
    assert not connector._acquired, "a connection is still checked out"
    await session.aclose()
    assert http.closed
    assert connector.closed


#: Loop turns a cancelled request gets to unwind (release its connection, end its task).
SETTLE_TURNS = 20


async def settle(turns: int = SETTLE_TURNS) -> None:
    """Let the loop run *turns* iterations: no waiting on a clock, only on ready work."""
    for _ in range(turns):
        await asyncio.sleep(0)


def _serving(task: asyncio.Task[Any]) -> bool:
    """Whether *task* belongs to an aiohttp server (a fake still answering), not the client."""
    return getattr(task.get_coro(), "__qualname__", "").startswith("RequestHandler.")


def pending_tasks() -> list[asyncio.Task[Any]]:
    """Return the client-side tasks of this loop, other than the running one, not yet done.

    Tasks of a fake server that is still running are not the client's and are left out.
    """
    current = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not current and not t.done() and not _serving(t)]


@pytest.fixture
def rel() -> types.SimpleNamespace:
    """Expose this module's helpers to the tests (a conftest cannot be imported)."""
    return types.SimpleNamespace(
        RETRY=RETRY,
        TIMEOUT=TIMEOUT,
        seed=seed(),
        tally=tally,
        close_cleanly=close_cleanly,
        pending_tasks=pending_tasks,
        settle=settle,
    )


def table(rows: Sequence[Row]) -> str:
    """Return *rows* as a Markdown table."""
    head = (
        "| provider | faults | workload | requests | faults injected | expected | delivered "
        "| duplicates | losses |"
    )
    lines = [head, "|---|---|---|--:|--:|--:|--:|--:|--:|"]
    lines.extend(
        f"| {r.provider} | {r.faults} | {r.workload} | {r.requests} | {r.injected} "
        f"| {r.expected} | {r.delivered} | {r.duplicates} | {r.losses} |"
        for r in sorted(rows, key=lambda r: (r.provider, r.faults, r.workload))
    )
    return "\n".join(lines) + "\n"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Write and show the table when ``AMS_RELIABILITY_REPORT`` names a file."""
    target = os.environ.get("AMS_RELIABILITY_REPORT")
    if not target or not _ROWS:
        return
    text = f"Seed {seed()}\n\n{table(_ROWS)}"
    Path(target).write_text(text, encoding="utf-8")
    terminalreporter.write_sep("-", "reliability results")
    terminalreporter.write(text)
