"""The options of ``asyncmailstats sync``, checked before anything is sent or opened.

:func:`check_options` turns the parsed command line into :class:`SyncOptions`; a
refused value is a :class:`~asyncmailstats.cli._target.UsageError` (exit status 2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import stat
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import attrs

from ..emailconsul._wire import check_group
from ..emailconsul.models import LinkGroup
from ..postmark._args import MAX_RETENTION_DAYS
from ..sync._emailconsul import EmailConsulPlan
from ..sync._getresponse import GetResponsePlan
from ..sync._postmark import PostmarkPlan, eastern_today
from ..sync._runner import MAX_LOOKBACK_DAYS
from ._export_values import MAX_YEAR, MIN_YEAR
from ._target import UsageError, check_folder

#: The streams of each provider, in the order a run syncs them.
STREAMS: Final = {
    "postmark": PostmarkPlan.streams,
    "emailconsul": EmailConsulPlan.streams,
    "getresponse": GetResponsePlan.streams,
}

#: The day a provider counts in, for the help text.
CALENDAR: Final = {
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
    # SQLite creates its journal files next to the database: its folder must be writable.
    check_folder(f"--db {text}", path)
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
        msg = f"--until {until} is after today ({today}, {CALENDAR[provider]})"
        raise UsageError(msg)
    if since is not None and since > (until or today):
        bound = f"--until {until}" if until else f"today ({today}, {CALENDAR[provider]})"
        msg = f"--since {since} is after {bound}"
        raise UsageError(msg)
    options = _postmark_options(args) if provider == "postmark" else {}
    if provider == "emailconsul" and args.groups is not None:
        options["groups"] = _groups(args.groups)
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


def _postmark_options(args: argparse.Namespace) -> dict[str, Any]:
    """Return ``--message-stream`` and ``--retention-days``, checked."""
    options: dict[str, Any] = {}
    names = args.message_streams
    if names is not None and any(not n.strip() for n in names):
        msg = "--message-stream must not be empty"
        raise UsageError(msg)
    options["message_streams"] = tuple(dict.fromkeys(names)) if names else None
    if args.retention_days is not None:
        options["retention_days"] = _integer(
            "--retention-days", args.retention_days, 1, MAX_RETENTION_DAYS
        )
    return options


def _groups(names: list[str]) -> tuple[LinkGroup, ...]:
    """Return the ``--group`` values, checked, without repeats."""
    groups: list[LinkGroup] = []
    for name in names:
        try:
            group = check_group(name)
        except ValueError as error:
            msg = f"--group: {error}"
            raise UsageError(msg) from None
        if group is not None:
            groups.append(group)
    return tuple(dict.fromkeys(groups))
