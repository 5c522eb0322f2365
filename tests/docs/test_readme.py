"""Every Python block of the README runs, against the fakes, as a reader would run it.

A program block runs in its own process (``run_block.py`` points the factories' default
URLs at fakes this test starts, and the credentials come from the environment variables
the README uses); a block defining tests runs under pytest with only the plugin, registered
through its entry point (the package is installed). The
same blocks are type-checked by ``nox -s typecheck``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

import pytest

from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark

from . import readme_blocks

BLOCKS = readme_blocks.blocks()
NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
RUNNER = Path(__file__).with_name("run_block.py")
#: Generous: a block is a small program, but CI machines are shared.
TIMEOUT = 300


def test_the_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 4
    assert sum(map(readme_blocks.is_test_module, BLOCKS)) >= 1


async def _run(args: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode("utf-8", "replace")


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_", "COVERAGE"))}
    env.update(
        DLT_DATA_DIR=str(tmp_path / "dlt-data"),
        DLT_PROJECT_DIR=str(tmp_path / "dlt-project"),
        RUNTIME__DLTHUB_TELEMETRY="false",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


@pytest.mark.parametrize(
    "number",
    [n for n, source in enumerate(BLOCKS, 1) if not readme_blocks.is_test_module(source)],
)
async def test_program_block_runs_against_the_fakes(number: int, tmp_path: Path) -> None:
    path = tmp_path / f"readme_block_{number}.py"
    path.write_text(BLOCKS[number - 1], encoding="utf-8")
    async with (
        FakePostmark(messages=400, seed=5, now=NOW) as postmark,
        FakeEmailConsul(seed=5, now=NOW) as emailconsul,
        FakeGetResponse(messages=40, seed=5, now=NOW) as getresponse,
    ):
        env = _environment(tmp_path)
        env.update(
            POSTMARK_SERVER_TOKEN=postmark.token,
            EMAILCONSUL_API_KEY=emailconsul.api_key,
            GETRESPONSE_API_KEY=getresponse.api_key,
            AMS_README_POSTMARK_URL=postmark.url,
            AMS_README_EMAILCONSUL_URL=emailconsul.url,
            AMS_README_GETRESPONSE_URL=getresponse.url,
        )
        code, output = await _run([sys.executable, str(RUNNER), str(path)], cwd=tmp_path, env=env)
        served = len(postmark.requests) + len(emailconsul.requests) + len(getresponse.requests)
    assert code == 0, output
    assert served > 0, "the block sent no request to the fakes"


@pytest.mark.parametrize(
    "number", [n for n, source in enumerate(BLOCKS, 1) if readme_blocks.is_test_module(source)]
)
async def test_test_block_passes_with_the_plugin(number: int, tmp_path: Path) -> None:
    path = tmp_path / f"test_readme_block_{number}.py"
    path.write_text(BLOCKS[number - 1], encoding="utf-8")
    args = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "asyncio_mode=strict",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        "-W",
        "error",
        path.name,
    ]
    code, output = await _run(args, cwd=tmp_path, env=_environment(tmp_path))
    assert code == 0, output
    assert " passed" in output, output
    assert "failed" not in output, output
    assert "skipped" not in output, output
