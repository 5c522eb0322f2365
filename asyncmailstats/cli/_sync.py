"""``asyncmailstats sync``: keep an incremental copy of an account in SQLite or PostgreSQL.

Every option is checked before anything is sent or opened (:mod:`._sync_options`): a
refused value is a :class:`~asyncmailstats.cli._target.UsageError` (exit status 2). The
run itself is :func:`asyncmailstats.sync.run`; this module draws its progress, prints
its summary on stderr, and makes sure the store and the session are closed on every
path. The command line is defined in :mod:`._sync_parser`.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import time
from collections.abc import Callable
from typing import TextIO

from .._session import Session
from ..sync import PostgresStore, SQLiteStore, SyncError, SyncReport, plan_for, run
from ._credentials import open_api, resolve_token
from ._sync_options import (
    STREAMS,
    SyncOptions,
    check_db,
    check_options,
    check_postgres,
    is_postgres,
    provider_today,
)
from ._sync_parser import add_sync_parser
from ._target import UsageError

__all__ = [
    "STREAMS",
    "SyncOptions",
    "SyncProgress",
    "add_sync_parser",
    "check_db",
    "check_options",
    "check_postgres",
    "is_postgres",
    "open_store",
    "provider_today",
    "run_sync",
    "summary",
    "sync_once",
]


class SyncProgress:
    """One line per stream: units committed and the last one.

    On a terminal the line is redrawn as units are committed and ended when the stream
    finishes; elsewhere (a log file, a pipe) only the finished line is printed.

    Args:
        provider: The provider's name, the first word of each line.
        stream: Where to draw (stderr by default).
        enabled: Draw at all.
        interval: Seconds between redraws on a terminal.
    """

    def __init__(
        self,
        provider: str,
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
        interval: float = 0.1,
    ) -> None:
        self.provider = provider
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = enabled
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._interval = interval
        self._current: str | None = None
        self._units = 0
        self._last = ""
        self._drawn_at: float | None = None

    def line(self) -> str:
        """Return the current stream's line."""
        plural = "unit" if self._units == 1 else "units"
        return f"{self.provider} {self._current}: {self._units:,} {plural}, last {self._last}"

    def __call__(self, stream: str, unit: str) -> None:
        """Count one committed *unit* of *stream* (the callback of a run)."""
        if stream != self._current:
            self.finish()
            self._current, self._units = stream, 0
        self._units += 1
        self._last = unit
        if not (self._enabled and self._tty):
            return
        now = time.monotonic()
        if self._drawn_at is None or now - self._drawn_at >= self._interval:
            self._drawn_at = now
            self._write("\r\x1b[2K" + self.line())

    def finish(self) -> None:
        """End the current stream's line: it is done."""
        if self._current is not None and self._enabled:
            self._write(("\r\x1b[2K" if self._tty else "") + self.line() + "\n")
        self._current, self._drawn_at = None, None

    def abort(self) -> None:
        """End a line left open on a terminal, without claiming the stream finished."""
        if self._current is not None and self._enabled and self._tty and self._drawn_at:
            self._write("\n")
        self._current, self._drawn_at = None, None

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


def summary(report: SyncReport, tables: list[str]) -> str:
    """Return the summary of *report*: a row per table, the traffic, the gaps."""
    rows: list[tuple[str, ...]] = [("table", "inserted", "updated", "deleted")]
    names = list(dict.fromkeys([*tables, *report.tables]))
    for name in names:
        counts = report.tables.get(name)
        figures = (0, 0, 0) if counts is None else (counts.inserted, counts.updated, counts.deleted)
        rows.append((name, *(f"{n:,}" for n in figures)))
    width = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        f"{report.provider} sync of account {report.account!r}"
        + (" (full refresh)" if report.full_refresh else "")
        + f": {', '.join(report.streams)}"
    ]
    lines += [
        "  ".join([row[0].ljust(width[0]), *(row[i].rjust(width[i]) for i in (1, 2, 3))])
        for row in rows
    ]
    lines.append(
        f"requests: {report.requests:,}  retries: {report.retries:,}  "
        f"units: {report.units:,}  time: {report.seconds:.1f} s"
    )
    lines += [f"gap: {gap}" for gap in report.gaps]
    return "\n".join(lines) + "\n"


# -- the run -------------------------------------------------------------------------------


def open_store(options: SyncOptions) -> SQLiteStore | PostgresStore:
    """Return the store ``--db`` names (not opened yet)."""
    if options.dsn is not None:
        return PostgresStore(options.dsn)
    assert options.db is not None  # noqa: S101 - check_options sets one of them
    return SQLiteStore(options.db)


async def _close(store: SQLiteStore | PostgresStore) -> None:
    """Close *store* whole, even when Ctrl-C or SIGTERM cancels the command meanwhile."""
    closing = asyncio.ensure_future(store.aclose())
    try:
        await asyncio.shield(closing)
    except asyncio.CancelledError:
        await closing
        raise


async def sync_once(
    args: argparse.Namespace,
    *,
    session_factory: Callable[[], Session],
    stream: TextIO | None = None,
) -> SyncReport:
    """Run one sync and print its progress and summary on *stream* (stderr by default).

    Raises:
        UsageError: A refused option or no credential, before anything is opened or sent.
        SyncError: The store failed; :class:`~asyncmailstats.sync.SyncLockedError` when
            another run of the account holds the database.
        MailStatsError: The provider failed; the units committed stay.
    """
    out = stream if stream is not None else sys.stderr
    options = check_options(args)
    token = resolve_token(args)
    progress = SyncProgress(options.provider, stream=out, enabled=not args.no_progress)
    async with session_factory() as session:
        try:
            retention = options.retention_days
            extra = {} if retention is None else {"retention_days": retention}
            api = open_api(session, args, token, **extra)
            plan = plan_for(api, message_streams=options.message_streams, groups=options.groups)
        except (ValueError, TypeError) as error:
            msg = f"invalid argument: {error}"
            raise UsageError(msg) from None
        store = open_store(options)
        try:
            report = await run(
                api,
                store,
                streams=options.streams,
                since=options.since,
                until=options.until,
                lookback_days=options.lookback_days,
                full_refresh=options.full_refresh,
                account=options.account,
                message_streams=options.message_streams,
                groups=options.groups,
                progress=progress,
            )
        except sqlite3.Error as error:
            progress.abort()
            msg = f"database error in {options.db}: {error}"
            raise SyncError(msg) from None
        except BaseException:
            progress.abort()
            raise
        finally:
            await _close(store)
        progress.finish()
    tables = [t.name for name in report.streams for t in plan.tables(name)]
    out.write(summary(report, tables))
    out.flush()
    return report


async def run_sync(args: argparse.Namespace, *, session_factory: Callable[[], Session]) -> None:
    """Run the ``sync`` command (see :func:`sync_once`)."""
    await sync_once(args, session_factory=session_factory)
