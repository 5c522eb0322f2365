"""A sync killed with SIGKILL at any moment leaves whole units, and the next run completes it.

The fake Postmark server runs in the test's event loop and keeps one dataset for the
whole test; each sync runs in a child process (``_child.py``) that tells every unit it
commits. A child is killed after it committed one, two or three units it had not
committed before (the first one before it commits any), so the kills land all over one
account's first sync: in the message days, in the opens read past the ceiling, in the
clicks and the stats. After every kill the database must hold only whole units, and rows
that are all real records; the run that is let finish must leave every table equal to
the fake's data, and a run after it must change nothing.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import os
import signal
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

import attrs

from asyncmailstats import Session
from asyncmailstats.postmark import PostmarkAPI
from asyncmailstats.postmark._args import EASTERN
from asyncmailstats.postmark._convert import CONVERTER
from asyncmailstats.postmark.models import Click, Open, OutboundMessage
from asyncmailstats.sync import SQLiteStore, read_rows, run
from asyncmailstats.sync._postmark import STATS_SERIES, stats_rows
from asyncmailstats.sync._tables import POSTMARK_CLICK, POSTMARK_MESSAGE, POSTMARK_OPEN, Row
from asyncmailstats.testing import FakePostmark

CHILD = Path(__file__).with_name("_child.py")
#: The dataset ends here; its ten days hold the start of US summer time (March 8).
NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
TODAY = NOW.astimezone(EASTERN).date()
RETENTION = 10
LOOKBACK = 1
STREAMS = ("outbound", "broadcast")
#: New units a child commits before it is killed, in turn (0: killed before any).
STEPS = (1, 2, 3)
#: Seconds to wait for a child's next line before the test fails.
LINE_TIMEOUT = 60.0
Counter = collections.Counter


def fake_server() -> FakePostmark:
    """Return a server whose outbound opens are past the 10 000-row ceiling."""
    return FakePostmark(
        messages=6000,
        seed=7,
        now=NOW,
        retention_days=RETENTION,
        open_rate=1.0,
        click_rate=0.1,
        max_recipients=8,
        multi_recipient_rate=1.0,
    )


@attrs.define
class Truth:
    """What the fake serves, as the rows of each table."""

    messages: Counter[Row]
    opens: Counter[Row]
    clicks: Counter[Row]
    stats: dict[str, Counter[Row]]
    #: The rows of each (message stream, Eastern day of sending).
    message_days: dict[tuple[str, dt.date], Counter[Row]]
    #: The open (click) rows of the messages of each (message stream, day of sending).
    open_days: dict[tuple[str, dt.date], Counter[Row]]
    click_days: dict[tuple[str, dt.date], Counter[Row]]

    def table(self, name: str) -> Counter[Row]:
        """Return the truth of table *name*."""
        if name == "postmark_stats":
            return sum(self.stats.values(), Counter())
        return {
            "postmark_messages": self.messages,
            "postmark_opens": self.opens,
            "postmark_clicks": self.clicks,
        }[name]


async def truth_of(fake: FakePostmark, api: PostmarkAPI) -> Truth:
    """Return the fake's data as table rows (the stats as its API serves them)."""
    sent: dict[str, tuple[str, dt.date]] = {}
    messages: Counter[Row] = Counter()
    message_days: dict[tuple[str, dt.date], Counter[Row]] = collections.defaultdict(Counter)
    for wire in fake.messages:
        message = CONVERTER.structure(wire, OutboundMessage)
        where = (str(message.message_stream), message.received_at.astimezone(EASTERN).date())
        sent[message.message_id] = where
        row = ("default", *POSTMARK_MESSAGE.row(message))
        messages[row] += 1
        message_days[where][row] += 1
    opens: Counter[Row] = Counter()
    open_days: dict[tuple[str, dt.date], Counter[Row]] = collections.defaultdict(Counter)
    for wire in fake.opens:
        record = CONVERTER.structure(wire, Open)
        row = ("default", *POSTMARK_OPEN.row(record))
        opens[row] += 1
        open_days[sent[record.message_id]][row] += 1
    clicks: Counter[Row] = Counter()
    click_days: dict[tuple[str, dt.date], Counter[Row]] = collections.defaultdict(Counter)
    for wire in fake.clicks:
        click = CONVERTER.structure(wire, Click)
        row = ("default", *POSTMARK_CLICK.row(click))
        clicks[row] += 1
        click_days[sent[click.message_id]][row] += 1
    first = TODAY - dt.timedelta(days=RETENTION)
    stats = {}
    for series, method in STATS_SERIES.items():
        counts = await getattr(api, method)(from_date=first, to_date=TODAY)
        stats[series] = Counter(stats_rows("default", series, counts))
    return Truth(messages, opens, clicks, stats, message_days, open_days, click_days)


def stored(db: Path, table: str) -> Counter[Row]:
    """Return the rows of *table*, counted."""
    return Counter(read_rows(db, table))


def state_of(db: Path) -> dict[str, Any]:
    """Return the committed state of the default account."""
    with closing(sqlite3.connect(db)) as conn:
        found = conn.execute("SELECT stream, value FROM _sync_state WHERE account = 'default'")
        state = {stream: json.loads(value) for stream, value in found}
    # Every key is kept under the provider's name.
    assert all(key.startswith("postmark/") for key in state)
    return {key.removeprefix("postmark/"): value for key, value in state.items()}


def covers(have: Counter[Row], want: Counter[Row]) -> bool:
    """Return whether *have* holds every row of *want*."""
    return not want - have


def rows_of(days: dict[tuple[str, dt.date], Counter[Row]], keys: Iterable[Any]) -> Counter[Row]:
    """Return the rows of the (stream, day) *keys* of *days* together."""
    return sum((days[k] for k in keys if k in days), Counter())


def check_whole_units(db: Path, truth: Truth) -> None:
    """Fail unless *db* holds real records only, and every committed unit whole."""
    state = state_of(db)
    tables = {name: stored(db, name) for name in ("postmark_messages", "postmark_opens")}
    tables["postmark_clicks"] = stored(db, "postmark_clicks")
    tables["postmark_stats"] = stored(db, "postmark_stats")
    for name, rows in tables.items():
        assert not rows - truth.table(name), f"{name} holds rows the server never sent"
    # Messages: one transaction per stream and day, so every day is all there or absent.
    messages = tables["postmark_messages"]
    for (stream, day), rows in truth.message_days.items():
        present = sum((messages[row] for row in rows), 0)
        assert present in {0, len(rows)}, f"a part of the messages of {stream} {day}"
    for stream in STREAMS:
        for kind, days in (("opens", truth.open_days), ("clicks", truth.click_days)):
            have = tables[f"postmark_{kind}"]
            mark = state.pop(f"{kind}:{stream}", None)
            if mark is None:
                continue
            history = mark.pop("history", None)
            assert set(mark) == {"cursor"}, f"unexpected {kind} state {mark}"
            if history is None:
                want = rows_of(days, [k for k in days if k[0] == stream])
            else:
                through = dt.date.fromisoformat(history["through"])
                want = rows_of(days, [k for k in days if k[0] == stream and k[1] <= through])
            assert covers(have, want), f"{kind} of {stream}: a committed unit is not whole"
        mark = state.pop(f"messages:{stream}", None)
        if mark is not None:
            through = dt.date.fromisoformat(mark["through"])
            keys = [k for k in truth.message_days if k[0] == stream and k[1] <= through]
            want = rows_of(truth.message_days, keys)
            assert covers(messages, want), f"messages of {stream}: a committed day is missing"
    # Stats: each series is replaced in one transaction; the state comes with the last.
    for series, want in truth.stats.items():
        have = Counter({r: n for r, n in tables["postmark_stats"].items() if r[1] == series})
        assert have in (Counter(), want), f"stats {series} are partly stored"
        if "stats" in state:
            assert have == want, f"stats committed without {series}"
    state.pop("stats", None)
    assert not state, f"unknown state keys {sorted(state)}"


@attrs.define
class Kill:
    """Where a child was killed: units committed so far, and the stream it was in."""

    committed: int
    stream: str


async def run_child(
    db: Path | str,
    fake: FakePostmark,
    seen: set[str],
    step: int,
    after_kill: Callable[[int], Awaitable[None]] | None = None,
) -> tuple[Kill | None, str]:
    """Run a child sync into *db* (a file or a URL) and kill it after *step* new units.

    *step* 0 kills it at once. *after_kill* is awaited with the child's pid once it was
    killed and reaped (a server store waits there for its sessions to end).

    Returns:
        The kill (``None`` when the child finished first) and the child's stderr.
    """
    env = {**os.environ, "AMS_FAKE_URL": fake.url, "AMS_FAKE_TOKEN": fake.token}
    argv = [str(CHILD), "sync", str(db), TODAY.isoformat(), str(RETENTION), str(LOOKBACK)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    errors = asyncio.ensure_future(proc.stderr.read())
    new, stream, kill, ended = 0, "", None, False
    try:
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), LINE_TIMEOUT)).decode()
            if not line:
                ended = True  # the child is ending: it finished, or it failed
                break
            words = line.split()
            if words[0] == "unit":
                stream = words[1]
                if line not in seen:
                    seen.add(line)
                    new += 1
            if words[0] in {"started", "unit"} and new >= step:
                # os.kill, not proc.send_signal: the latter polls the child first, and a
                # poll that reaps a child just ending leaves asyncio its status as 255.
                os.kill(proc.pid, signal.SIGKILL)
                kill = Kill(len(seen), stream)
                break
    finally:
        if proc.returncode is None and kill is None and not ended:
            os.kill(proc.pid, signal.SIGKILL)  # the test failed: do not leave the child
        # Reaped, so that its lock is seen to belong to a process that is gone.
        code = await proc.wait()
    stderr = (await errors).decode()
    if kill is not None and code == 0:
        kill = None  # it had finished when the signal came
    if kill is not None:
        assert code == -signal.SIGKILL, stderr
        if after_kill is not None:
            await after_kill(proc.pid)
    else:
        assert code == 0, f"the child sync failed ({code}):\n{stderr}"
    return kill, stderr


async def test_killed_runs_leave_whole_units_and_the_next_run_completes(tmp_path: Path) -> None:
    """At least ten SIGKILLs all over a first sync; then the tables equal the fake's data."""
    db = tmp_path / "stats.db"
    async with fake_server() as fake, Session() as session:
        api = session.postmark(server_token=fake.token, base_url=fake.url, retention_days=10)
        truth = await truth_of(fake, api)
        seen: set[str] = set()
        kills: list[Kill] = []
        stderr = ""
        for attempt in range(100):
            step = 0 if attempt == 0 else STEPS[(attempt - 1) % len(STEPS)]
            kill, stderr = await run_child(db, fake, seen, step)
            if kill is None:
                break
            kills.append(kill)
            if db.exists():
                check_whole_units(db, truth)
        else:
            raise AssertionError("the sync never finished")
        assert stderr == "", stderr
        # The last child ran to its end: every table is the fake's data, once.
        for name in ("postmark_messages", "postmark_opens", "postmark_clicks", "postmark_stats"):
            assert stored(db, name) == truth.table(name), name
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("SELECT count(*) FROM _sync_lock").fetchone() == (0,)
        # And a run after it finds nothing to change.
        async with SQLiteStore(db) as store:
            again = await run(api, store, until=TODAY, lookback_days=LOOKBACK)
        assert again.changed == 0, again.tables
        assert again.gaps == []
    # Kills landed at distinct points, in more than one stream of the run.
    assert len(kills) >= 10
    points = [k.committed for k in kills]
    assert points == sorted(set(points))
    assert {"messages", "opens"} <= {k.stream for k in kills}
