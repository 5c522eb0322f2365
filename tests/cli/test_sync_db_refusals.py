"""``sync`` refuses a ``--db`` it cannot use as a SQLite file, and a bad ``--account``.

Each refusal is one usage line (exit 2) given before any request is sent and before
anything is created: no database file appears, and what ``--db`` named is left as it was.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

import pytest

from asyncmailstats.cli import main
from asyncmailstats.testing import FakePostmark

NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
PROG = "asyncmailstats sync postmark"


async def _refusal(tmp_path: Path, db: str, *extra: str) -> tuple[int, int]:
    """Run ``sync postmark --db DB *extra`` against a fake; return the exit status and
    how many requests the fake received."""
    async with FakePostmark(messages=10, seed=21, now=NOW) as fake:
        argv = [
            "sync", "postmark", "--db", db, "--token-file", str(_token_file(tmp_path, fake)),
            "--base-url", fake.url, "--until", "2026-03-10", *extra,
        ]  # fmt: skip
        code = await asyncio.to_thread(main, argv)
        return code, fake.request_count


def _token_file(tmp_path: Path, fake: FakePostmark) -> Path:
    path = tmp_path / "token"
    path.write_text(fake.token)
    return path


def _one_usage_line(err: str, message: str) -> None:
    assert err == f"{PROG}: error: {message} (see '{PROG} --help')\n"


@pytest.mark.parametrize(
    ("db", "message"),
    [
        ("", "--db must not be empty"),
        (
            "sqlite:///{tmp}/stats.db",
            "--db takes a SQLite file path or a postgresql:// URL, not another URL",
        ),
        ("{tmp}/token/stats.db", "--db {tmp}/token/stats.db: Not a directory"),
    ],
)
async def test_a_db_that_is_no_file_path_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], db: str, message: str
) -> None:
    """An empty value, a URL of another scheme, a path through a file: one line, exit 2."""
    code, requests = await _refusal(tmp_path, db.format(tmp=tmp_path))
    assert (code, requests) == (2, 0)
    _one_usage_line(capsys.readouterr().err, message.format(tmp=tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["token"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX named pipes")
async def test_a_db_that_is_a_named_pipe_is_refused_without_opening_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A FIFO is no regular file: refused from its mode, never opened (which would block)."""
    fifo = tmp_path / "stats.db"
    os.mkfifo(fifo)
    code, requests = await _refusal(tmp_path, str(fifo))
    assert (code, requests) == (2, 0)
    _one_usage_line(capsys.readouterr().err, f"--db {fifo} is not a regular file")
    assert fifo.is_fifo()


@pytest.mark.parametrize("account", ["team\tone", "line\nbreak", "bell\x07", "del\x7f"])
async def test_an_account_with_control_characters_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], account: str
) -> None:
    """The account labels every row and names the lock: no control characters."""
    db = tmp_path / "stats.db"
    code, requests = await _refusal(tmp_path, str(db), "--account", account)
    assert (code, requests) == (2, 0)
    _one_usage_line(capsys.readouterr().err, "--account must not contain control characters")
    assert not db.exists()
