"""``asyncmailstats sync``: keep an incremental copy of an account in SQLite or PostgreSQL.

Every option is checked before anything is sent or opened: a refused value is a
:class:`~asyncmailstats.cli._target.UsageError` (exit status 2). The run itself is
:func:`asyncmailstats.sync.run`; this module draws its progress, prints its summary on
stderr, and makes sure the store and the session are closed on every path.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import sqlite3
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TextIO
from urllib.parse import urlsplit

import attrs

from .._session import Session
from ..emailconsul._wire import check_group
from ..emailconsul.models import LinkGroup
from ..postmark._base import MAX_RETENTION_DAYS
from ..sync import (
    DEFAULT_LOOKBACK_DAYS,
    PostgresStore,
    SQLiteStore,
    SyncError,
    SyncReport,
    plan_for,
    run,
)
from ..sync._emailconsul import DEFAULT_GROUPS, EmailConsulPlan
from ..sync._getresponse import GetResponsePlan
from ..sync._postmark import PostmarkPlan, eastern_today
from ..sync._runner import MAX_LOOKBACK_DAYS
from ._export import MAX_YEAR, MIN_YEAR, TOKEN_ENV, resolve_token
from ._target import UsageError

#: The streams of each provider, in the order a run syncs them.
STREAMS: Final = {
    "postmark": PostmarkPlan.streams,
    "emailconsul": EmailConsulPlan.streams,
    "getresponse": GetResponsePlan.streams,
}

#: What each provider's stream names mean, for the help text.
_STREAMS_HELP: Final = {
    "postmark": "messages, opens, clicks (of every message stream) and stats (day series)",
    "emailconsul": "link-stats (link clicks per UTC day, for each --group)",
    "getresponse": "messages and message-stats (daily stats of each message)",
}

#: The day a provider counts in, for the help text.
_CALENDAR: Final = {
    "postmark": "US-Eastern",
    "emailconsul": "UTC",
    "getresponse": "UTC",
}

#: How a PostgreSQL URL starts (compared lower-cased).
_POSTGRES_SCHEMES: Final = ("postgresql://", "postgres://")
#: The first bytes of every SQLite database file.
_SQLITE_HEADER: Final = b"SQLite format 3\x00"
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTEGER: Final = re.compile(r"[+-]?\d{1,9}")

_EPILOGS: Final = {
    "postmark": """\
examples:
  export POSTMARK_SERVER_TOKEN=your-server-token
  asyncmailstats sync postmark --db stats.db --since 2026-11-01
  asyncmailstats sync postmark --db stats.db --streams opens,clicks \\
      --message-stream outbound --retention-days 90
  PGPASSWORD=… asyncmailstats sync postmark --account acme \\
      --db postgresql://sync@db.example.com/stats

The first run reads from --since (default: the --retention-days the server keeps);
later runs read what is new, and re-read the trailing --lookback-days.
Tables: postmark_messages, postmark_opens, postmark_clicks, postmark_stats.
""",
    "emailconsul": """\
examples:
  export EMAILCONSUL_API_KEY=your-api-key
  asyncmailstats sync emailconsul --db stats.db --since 2026-11-01
  asyncmailstats sync emailconsul --db stats.db --group campaign_id --group device

The first run reads from --since (default: 45 days ago); later runs read what is
new, and re-read the trailing --lookback-days. Table: emailconsul_link_stats.
""",
    "getresponse": """\
examples:
  export GETRESPONSE_API_KEY=your-api-key
  asyncmailstats sync getresponse --db stats.db
  asyncmailstats sync getresponse --db stats.db --streams messages --since 2026-01-01

The first run reads every message created since --since (default: all of them);
later runs read the messages created in the trailing --lookback-days and newer.
Tables: getresponse_messages, getresponse_message_stats.
""",
}


@attrs.frozen
class SyncOptions:
    """The checked options of one ``sync`` command.

    ``db`` is the SQLite file; for a PostgreSQL database it is ``None`` and ``dsn`` holds
    the URL (left out of the ``repr``: it may carry a password).
    """

    provider: str
    db: Path | None
    streams: tuple[str, ...] | None
    since: dt.date | None
    until: dt.date | None
    lookback_days: int
    account: str
    full_refresh: bool
    message_streams: tuple[str, ...] | None = None
    groups: tuple[LinkGroup, ...] | None = None
    retention_days: int | None = None
    dsn: str | None = attrs.field(default=None, repr=False)


# -- the parser ----------------------------------------------------------------------------


def _options(parser: argparse.ArgumentParser, provider: str) -> None:
    env = TOKEN_ENV[provider]
    calendar = _CALENDAR[provider]
    streams = ",".join(STREAMS[provider])
    parser.add_argument(
        "--db",
        required=True,
        metavar="PATH|URL",
        help="the SQLite database file (created with its tables if missing; its folder "
        "must exist), or a postgresql:// URL (the postgres extra; tables in the public "
        "schema, created if missing; keep the password in $PGPASSWORD or ~/.pgpass "
        "rather than in the URL, which other local users can see)",
    )
    tokens = parser.add_mutually_exclusive_group()
    tokens.add_argument(
        "--token",
        help=f"credential (default: ${env}); never printed by the command, but visible "
        f"to other local users in the process list: prefer ${env} or --token-file",
    )
    tokens.add_argument(
        "--token-file",
        metavar="PATH",
        help="read the credential from this file (one line; the trailing newline is dropped)",
    )
    parser.add_argument("--base-url", metavar="URL", help="API root (e.g. a fake server's URL)")
    parser.add_argument(
        "--account",
        default="default",
        metavar="NAME",
        help="the label every row and the sync state carry, so that one database can "
        "hold several accounts (default: default; never a secret)",
    )
    parser.add_argument(
        "--streams",
        metavar="LIST",
        help=f"comma-separated streams to sync (default: all of {streams}): "
        f"{_STREAMS_HELP[provider]}",
    )
    parser.add_argument(
        "--since",
        metavar="YYYY-MM-DD",
        help="the first day a first run reads; later runs go on from their state "
        f"({calendar} days)",
    )
    parser.add_argument(
        "--until",
        metavar="YYYY-MM-DD",
        help=f"the last day to read (default: today, in {calendar} days); a later run "
        "reads on from there",
    )
    parser.add_argument(
        "--lookback-days",
        metavar="N",
        default=str(DEFAULT_LOOKBACK_DAYS),
        help="trailing days re-read on every run, because their data still changes "
        f"(0 to {MAX_LOOKBACK_DAYS}; default: {DEFAULT_LOOKBACK_DAYS})",
    )
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="delete the account's rows and state of these streams first, and read "
        "everything again",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="hide the progress lines (the summary is still printed)",
    )


def add_sync_parser(sub: Any) -> None:
    """Add the ``sync`` command and its providers to the top-level subparsers."""
    sync = sub.add_parser(
        "sync",
        help="keep an incremental copy of an account in a SQLite or PostgreSQL database",
        description="Copy an account's engagement data into a SQLite or PostgreSQL "
        "database. The first run fills the tables; later runs fetch only what is new or "
        "may have changed. "
        "Every unit of work is committed with its checkpoint, so a run stopped at any "
        "moment leaves whole units and the next one completes the rest.",
        epilog="examples:\n"
        "  asyncmailstats sync postmark --db stats.db --since 2026-11-01\n"
        "  asyncmailstats sync emailconsul --db stats.db --group country\n"
        "  asyncmailstats sync getresponse --db postgresql://sync@db.example.com/stats\n"
        "\nsee 'asyncmailstats sync PROVIDER --help' for the options of each provider\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    providers = sync.add_subparsers(dest="provider", required=True, metavar="PROVIDER")
    helps = {
        "postmark": "Postmark messages, opens, clicks and stats",
        "emailconsul": "EmailConsul link stats",
        "getresponse": "GetResponse 1.5 messages and message stats",
    }
    for provider, text in helps.items():
        parser = providers.add_parser(
            provider,
            help=text,
            description=f"Sync {text} into a SQLite or PostgreSQL database.",
            epilog=_EPILOGS[provider],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _options(parser, provider)
        if provider == "postmark":
            parser.add_argument(
                "--message-stream",
                dest="message_streams",
                action="append",
                metavar="NAME",
                help="a message stream to sync (repeatable; default: every outbound and "
                "broadcast stream the server lists)",
            )
            parser.add_argument(
                "--retention-days",
                metavar="N",
                help="how many days the server keeps messages, opens and clicks "
                "(default: 45, Postmark's default); older days are reported as gaps",
            )
        elif provider == "emailconsul":
            parser.add_argument(
                "--group",
                dest="groups",
                action="append",
                metavar="NAME",
                help="a link-stats grouping to sync (repeatable; default: "
                f"{' and '.join(g.value for g in DEFAULT_GROUPS)}; one of "
                f"{', '.join(g.value for g in LinkGroup)})",
            )
            parser.add_argument(
                "--auth-header",
                default="X-API-Key",
                metavar="NAME",
                help="the header that carries the API key (default: X-API-Key)",
            )


# -- checking the options ------------------------------------------------------------------


def provider_today(provider: str) -> dt.date:
    """Return the current day in *provider*'s calendar (US-Eastern for Postmark, else UTC)."""
    if provider == "postmark":
        return eastern_today()
    return dt.datetime.now(dt.UTC).date()


def _date(option: str, text: str | None) -> dt.date | None:
    if text is None:
        return None
    if not _DATE.fullmatch(text):
        msg = f"{option}: not a date (YYYY-MM-DD): {text!r}"
        raise UsageError(msg)
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        msg = f"{option}: not a valid date: {text!r}"
        raise UsageError(msg) from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        msg = f"{option}: year {value.year} is outside {MIN_YEAR}..{MAX_YEAR}"
        raise UsageError(msg)
    return value


def _integer(option: str, text: str, low: int, high: int) -> int:
    if not _INTEGER.fullmatch(text.strip()):
        msg = f"{option}: not a whole number: {text!r}"
        raise UsageError(msg)
    value = int(text)
    if not low <= value <= high:
        msg = f"{option} must be between {low} and {high}, not {value}"
        raise UsageError(msg)
    return value


def _streams(provider: str, text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = STREAMS[provider]
    if not names:
        msg = f"--streams: no stream given; choose from {','.join(known)}"
        raise UsageError(msg)
    for name in names:
        if name not in known:
            msg = f"--streams: unknown {provider} stream {name!r}; choose from {','.join(known)}"
            raise UsageError(msg)
    return tuple(dict.fromkeys(names))


def _account(text: str) -> str:
    if not text.strip():
        msg = "--account must not be empty"
        raise UsageError(msg)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        msg = "--account must not contain control characters"
        raise UsageError(msg)
    return text


def is_postgres(text: str) -> bool:
    """Return whether ``--db`` names a PostgreSQL database (a ``postgresql://`` URL)."""
    return text.lower().startswith(_POSTGRES_SCHEMES)


def check_postgres(text: str) -> str:
    """Return a ``--db`` PostgreSQL URL, or refuse it; the URL is never echoed.

    Refused: asyncpg is not installed (the ``postgres`` extra), or the URL cannot be
    read (its port, its brackets). What the server says about the rest comes when the
    store connects.
    """
    try:
        import asyncpg  # noqa: F401, PLC0415 - optional: the postgres extra
    except ImportError:
        msg = "--db: a PostgreSQL database needs asyncpg: install asyncmailstats[postgres]"
        raise UsageError(msg) from None
    try:
        parts = urlsplit(text)
        if "," not in parts.netloc:  # one host: its port must be a number
            _ = parts.port
    except ValueError:
        # The URL is not echoed: it may carry a password.
        msg = "--db: not a valid PostgreSQL URL (postgresql://user@host:port/database)"
        raise UsageError(msg) from None
    return text


def check_db(text: str) -> Path:
    """Return ``--db`` as a path, or refuse it (a URL, a folder, a missing folder)."""
    if not text:
        msg = "--db must not be empty"
        raise UsageError(msg)
    if "://" in text:
        msg = "--db takes a SQLite file path or a postgresql:// URL, not another URL"
        raise UsageError(msg)
    path = Path(text)
    _check_existing(text, path)
    folder = Path(os.path.realpath(path)).parent
    if not folder.is_dir():
        msg = f"--db {text}: folder {folder} does not exist"
        raise UsageError(msg)
    if not os.access(folder, os.W_OK | os.X_OK):
        # SQLite creates its journal files next to the database.
        msg = f"--db {text}: folder {folder} is not writable"
        raise UsageError(msg)
    return path


def _check_existing(text: str, path: Path) -> None:
    """Refuse an existing ``--db`` that is no writable SQLite database file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    except OSError as error:
        msg = f"--db {text}: {error.strerror or error}"
        raise UsageError(msg) from None
    if stat.S_ISDIR(info.st_mode):
        msg = f"--db {text} is a directory"
        raise UsageError(msg)
    if not stat.S_ISREG(info.st_mode):
        msg = f"--db {text} is not a regular file"
        raise UsageError(msg)
    if not os.access(path, os.R_OK | os.W_OK):
        msg = f"--db {text} is not readable and writable"
        raise UsageError(msg)
    _check_header(text, path)


def _check_header(text: str, path: Path) -> None:
    try:
        with path.open("rb") as file:
            head = file.read(len(_SQLITE_HEADER))
    except OSError as error:
        msg = f"--db {text}: {error.strerror or error}"
        raise UsageError(msg) from None
    if head and head != _SQLITE_HEADER:
        msg = f"--db {text} is not a SQLite database"
        raise UsageError(msg)


def check_options(args: argparse.Namespace) -> SyncOptions:
    """Check every option of *args* before anything is opened or sent."""
    provider: str = args.provider
    dsn = check_postgres(args.db) if is_postgres(args.db) else None
    db = None if dsn is not None else check_db(args.db)
    since = _date("--since", args.since)
    until = _date("--until", args.until)
    today = provider_today(provider)
    if until is not None and until > today:
        msg = f"--until {until} is after today ({today}, {_CALENDAR[provider]})"
        raise UsageError(msg)
    if since is not None and since > (until or today):
        bound = f"--until {until}" if until else f"today ({today}, {_CALENDAR[provider]})"
        msg = f"--since {since} is after {bound}"
        raise UsageError(msg)
    options: dict[str, Any] = {}
    if provider == "postmark":
        names = args.message_streams
        if names is not None and any(not n.strip() for n in names):
            msg = "--message-stream must not be empty"
            raise UsageError(msg)
        options["message_streams"] = tuple(dict.fromkeys(names)) if names else None
        if args.retention_days is not None:
            options["retention_days"] = _integer(
                "--retention-days", args.retention_days, 1, MAX_RETENTION_DAYS
            )
    if provider == "emailconsul" and args.groups is not None:
        groups: list[LinkGroup] = []
        for name in args.groups:
            try:
                group = check_group(name)
            except ValueError as error:
                msg = f"--group: {error}"
                raise UsageError(msg) from None
            if group is not None:
                groups.append(group)
        options["groups"] = tuple(dict.fromkeys(groups))
    return SyncOptions(
        provider=provider,
        db=db,
        streams=_streams(provider, args.streams),
        since=since,
        until=until,
        lookback_days=_integer("--lookback-days", args.lookback_days, 0, MAX_LOOKBACK_DAYS),
        account=_account(args.account),
        full_refresh=args.full_refresh,
        dsn=dsn,
        **options,
    )


# -- progress and summary ------------------------------------------------------------------


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


def _api(session: Session, args: argparse.Namespace, options: SyncOptions, token: str) -> Any:
    extra: dict[str, Any] = {}
    if args.base_url:
        extra["base_url"] = args.base_url
    if options.provider == "postmark":
        if options.retention_days is not None:
            extra["retention_days"] = options.retention_days
        return session.postmark(server_token=token, **extra)
    if options.provider == "emailconsul":
        return session.emailconsul(api_key=token, auth_header=args.auth_header, **extra)
    return session.getresponse(api_key=token, **extra)


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
            api = _api(session, args, options, token)
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
