"""A sync in a process of its own, for tests that kill it: ``python _child.py MODE DB ...``.

DB is a SQLite file, or a ``postgresql://`` URL for a ``PostgresStore``.

Modes:

- ``sync DB UNTIL RETENTION LOOKBACK``: sync the Postmark server at ``$AMS_FAKE_URL``
  (token in ``$AMS_FAKE_TOKEN``) into DB, up to the Eastern day UNTIL, as the account
  ``$AMS_CHILD_ACCOUNT`` (default ``default``). It prints ``started`` before the run,
  ``unit <stream> <unit>`` after each unit is committed, and ``done <units> <changed>``
  at the end. With ``$AMS_CHILD_PAUSE=1`` it prints ``paused`` after the first unit and
  stops everything (holding its lock) until a line arrives on stdin.
- ``hold DB ACCOUNT``: take ACCOUNT's lock, print ``locked <pid>``, and wait for a line
  on stdin (or to be killed) before letting it go.

Lines are flushed at once: the parent test reads them to know how far the run got.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys

from asyncmailstats import Session
from asyncmailstats.sync import PostgresStore, SQLiteStore, run


def say(line: str) -> None:
    """Print *line* to the parent test at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def store_of(db: str) -> SQLiteStore | PostgresStore:
    """Return the store *db* names: a PostgreSQL URL or a SQLite file."""
    if db.startswith(("postgresql://", "postgres://")):
        return PostgresStore(db)
    return SQLiteStore(db)


async def sync(db: str, until: str, retention: str, lookback: str) -> None:
    """Sync the fake Postmark server into *db*, telling each committed unit."""
    url, token = os.environ["AMS_FAKE_URL"], os.environ["AMS_FAKE_TOKEN"]
    pause = os.environ.get("AMS_CHILD_PAUSE") == "1"

    def tell(stream: str, unit: str) -> None:
        nonlocal pause
        say(f"unit {stream} {unit}")
        if pause:
            pause = False
            say("paused")
            sys.stdin.readline()  # the whole process waits, its lock held

    async with Session() as session:
        api = session.postmark(server_token=token, base_url=url, retention_days=int(retention))
        async with store_of(db) as store:
            say("started")
            report = await run(
                api,
                store,
                until=dt.date.fromisoformat(until),
                lookback_days=int(lookback),
                account=os.environ.get("AMS_CHILD_ACCOUNT", "default"),
                progress=tell,
            )
    say(f"done {report.units} {report.changed}")


async def hold(db: str, account: str) -> None:
    """Hold *account*'s lock until a line arrives on stdin."""
    async with store_of(db) as store:
        await store.lock(account)
        say(f"locked {os.getpid()}")
        await asyncio.to_thread(sys.stdin.readline)
        await store.unlock(account)


def main(argv: list[str]) -> None:
    """Run the mode *argv* names."""
    mode, *args = argv
    if mode == "sync":
        asyncio.run(sync(*args))
    elif mode == "hold":
        asyncio.run(hold(*args))
    else:
        sys.exit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
