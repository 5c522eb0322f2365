"""A sync into PostgreSQL killed with SIGKILL at any moment leaves whole units, and the
next run completes it.

As ``tests/sync/test_crash.py`` does for SQLite, with the same fake and the same child
(``tests/sync/_child.py``, given the database's URL): a child is killed after it
committed one, two or three units it had not committed before (the first one before it
commits any), so that the kills land all over a first sync. After each kill, once the
server has ended the child's sessions (its open transaction rolled back, its advisory
lock gone), the tables hold real records only and every committed unit whole; the run
that is let finish leaves every table equal to the fake's data, and a run after it
changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from asyncmailstats import Session
from asyncmailstats.sync import PostgresStore, run
from asyncmailstats.testing import FakePostmark
from tests.postgres.pg import advisory_locks, state, tables, wait_backends_gone
from tests.sync.test_crash import (
    LOOKBACK,
    STEPS,
    STREAMS,
    TODAY,
    Kill,
    Truth,
    covers,
    fake_server,
    rows_of,
    truth_of,
)
from tests.sync.test_crash import run_child as run_child_into
from tests.sync.truth import Rows

pytestmark = pytest.mark.postgres

TABLES = ("postmark_messages", "postmark_opens", "postmark_clicks", "postmark_stats")


def check_whole_units(found: dict[str, Rows], stored_state: dict[str, Any], truth: Truth) -> None:
    """Fail unless *found* holds real records only, and every committed unit whole."""
    assert all(key.startswith("postmark/") for key in stored_state)
    mark_of = {key.removeprefix("postmark/"): value for key, value in stored_state.items()}
    for name, found_rows in found.items():
        assert not found_rows - truth.table(name), f"{name} holds rows the server never sent"
    # Messages: one transaction per stream and day, so every day is all there or absent.
    messages = found["postmark_messages"]
    for (stream, day), day_rows in truth.message_days.items():
        present = sum((messages[row] for row in day_rows), 0)
        assert present in {0, len(day_rows)}, f"a part of the messages of {stream} {day}"
    for stream in STREAMS:
        for kind, days in (("opens", truth.open_days), ("clicks", truth.click_days)):
            mark = mark_of.pop(f"{kind}:{stream}", None)
            if mark is None:
                continue
            history = mark.pop("history", None)
            assert set(mark) == {"cursor"}, f"unexpected {kind} state {mark}"
            keys = [k for k in days if k[0] == stream]
            if history is not None:
                through = dt.date.fromisoformat(history["through"])
                keys = [k for k in keys if k[1] <= through]
            have = found[f"postmark_{kind}"]
            assert covers(have, rows_of(days, keys)), f"{kind} of {stream}: a unit is not whole"
        mark = mark_of.pop(f"messages:{stream}", None)
        if mark is not None:
            through = dt.date.fromisoformat(mark["through"])
            keys = [k for k in truth.message_days if k[0] == stream and k[1] <= through]
            want = rows_of(truth.message_days, keys)
            assert covers(messages, want), f"messages of {stream}: a committed day is missing"
    # Stats: each series is replaced in one transaction; the state comes with the last.
    for series, want in truth.stats.items():
        have = Rows({r: n for r, n in found["postmark_stats"].items() if r[1] == series})
        assert have in (Rows(), want), f"stats {series} are partly stored"
        if "stats" in mark_of:
            assert have == want, f"stats committed without {series}"
    mark_of.pop("stats", None)
    assert not mark_of, f"unknown state keys {sorted(mark_of)}"


async def run_child(
    dsn: str, fake: FakePostmark, seen: set[str], step: int
) -> tuple[Kill | None, str]:
    """Run a child sync into *dsn* and kill it after *step* new units (0: at once).

    After a kill the server ends the child's sessions once it reads their closed
    sockets: its lock goes, and a transaction it left open is rolled back. The checks
    wait for that.
    """

    async def sessions_gone(pid: int) -> None:
        await wait_backends_gone(dsn, pid)

    return await run_child_into(dsn, fake, seen, step, after_kill=sessions_gone)


async def test_killed_runs_leave_whole_units_and_the_next_run_completes(pg_dsn: str) -> None:
    """At least ten SIGKILLs all over a first sync; then the tables equal the fake's data."""
    async with fake_server() as fake, Session() as session:
        api = session.postmark(server_token=fake.token, base_url=fake.url, retention_days=10)
        truth = await truth_of(fake, api)
        seen: set[str] = set()
        kills: list[Kill] = []
        stderr = ""
        for attempt in range(100):
            step = 0 if attempt == 0 else STEPS[(attempt - 1) % len(STEPS)]
            kill, stderr = await run_child(pg_dsn, fake, seen, step)
            if kill is None:
                break
            kills.append(kill)
            assert await advisory_locks(pg_dsn) == 0
            found = await tables(pg_dsn, TABLES)
            check_whole_units(found, await state(pg_dsn), truth)
        else:
            raise AssertionError("the sync never finished")
        assert stderr == "", stderr
        # The last child ran to its end: every table is the fake's data, once.
        found = await tables(pg_dsn, TABLES)
        for name in TABLES:
            assert found[name] == truth.table(name), name
        assert await advisory_locks(pg_dsn) == 0
        # And a run after it finds nothing to change.
        async with PostgresStore(pg_dsn) as store:
            again = await run(api, store, until=TODAY, lookback_days=LOOKBACK)
        assert again.changed == 0, again.tables
        assert again.gaps == []
    # Kills landed at distinct points, in more than one stream of the run.
    assert len(kills) >= 10
    points = [k.committed for k in kills]
    assert points == sorted(set(points))
    assert {"messages", "opens"} <= {k.stream for k in kills}
