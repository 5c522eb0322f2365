"""What the command-line tests share: running ``python -m asyncmailstats`` in a subprocess."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RunCli = Callable[..., Awaitable[tuple[int, str, str]]]


async def _run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the command while this loop keeps the fakes serving; return code, out, err."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asyncmailstats",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def cli() -> RunCli:
    """Return the runner of ``python -m asyncmailstats *argv`` (extra ``env=`` optional)."""
    return _run
