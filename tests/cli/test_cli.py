"""End-to-end tests of the ``asyncmailstats`` command against the fake servers."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from asyncmailstats import Session
from asyncmailstats.cli import build_parser, describe_error, main
from asyncmailstats.cli._demo import run_demo
from asyncmailstats.cli._export import run_export
from asyncmailstats.exceptions import AuthenticationError
from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark, FaultPlan

ROOT = Path(__file__).resolve().parents[2]
#: The ``cli`` fixture (tests/cli/conftest.py): runs ``python -m asyncmailstats``.
RunCli = Callable[..., Awaitable[tuple[int, str, str]]]


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


async def test_export_opens_jsonl_equals_the_fakes_truth(tmp_path: Path):
    """Exported JSONL rows are exactly the fake's opens for the filter, in order."""
    async with FakePostmark(messages=2000, seed=3) as fake:
        out = tmp_path / "opens.jsonl"
        args = _args(
            "export", "postmark", "opens", "--token", fake.token, "--base-url", fake.url,
            "--tag", "welcome", "--out", str(out), "--no-progress", "--page-size", "50",
        )  # fmt: skip
        await run_export(args, session_factory=Session)
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        truth = fake.search_opens({"tag": "welcome"})
    assert len(rows) == len(truth) > 50
    assert [r["message_id"] for r in rows] == [t["MessageID"] for t in truth]
    assert [r["recipient"] for r in rows] == [t["Recipient"] for t in truth]


async def test_export_messages_csv_equals_the_fakes_truth(tmp_path: Path):
    """A CSV export of messages in a date range has one row per message of the truth."""
    async with FakePostmark(messages=800, seed=4) as fake:
        start = (fake.now - timedelta(days=10)).date()
        out = tmp_path / "messages.csv"
        args = _args(
            "export", "postmark", "messages", "--token", fake.token, "--base-url", fake.url,
            "--from", start.isoformat(), "--format", "csv", "--out", str(out), "--no-progress",
        )  # fmt: skip
        await run_export(args, session_factory=Session)
        truth = fake.search_messages({"fromdate": start.isoformat()})
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["message_id"] for r in rows] == [t["MessageID"] for t in truth]
    assert rows[0]["subject"] == truth[0]["Subject"]


async def test_export_with_faults_delivers_every_row_once(tmp_path: Path):
    """Under injected 429s, 5xx, resets and cut bodies, every row arrives exactly once."""
    plan = FaultPlan(
        rate_limit=0.05, server_error=0.05, unavailable=0.05, reset=0.05, truncate=0.05,
        retry_after=0.0, seed=11,
    )  # fmt: skip
    async with FakePostmark(messages=1500, seed=5, faults=plan) as fake:
        out = tmp_path / "opens.jsonl"
        args = _args(
            "export", "postmark", "opens", "--token", fake.token, "--base-url", fake.url,
            "--out", str(out), "--no-progress", "--page-size", "100", "--prefetch", "4",
        )  # fmt: skip
        await run_export(args, session_factory=Session)
        injected = sum(fake.faults_injected.values())
        truth = fake.search_opens({})
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    keys = [(r["message_id"], r["recipient"]) for r in rows]
    assert injected > 0
    assert len(keys) == len(set(keys)) == len(truth)
    assert keys == [(t["MessageID"], t["Recipient"]) for t in truth]


async def test_emailconsul_and_getresponse_exports(tmp_path: Path):
    """Link stats grouped by country and daily message stats export their rows."""
    async with (
        FakeEmailConsul(link_logs=2000, seed=2) as ec,
        FakeGetResponse(messages=20, seed=2) as gr,
    ):
        frm = (ec.now - timedelta(days=400)).isoformat()
        to = ec.now.isoformat()
        out = tmp_path / "links.json"
        args = _args(
            "export", "emailconsul", "link-stats", "--token", ec.api_key, "--base-url", ec.url,
            "--from", frm, "--to", to, "--group", "country", "--sort=-count",
            "--format", "json", "--out", str(out), "--no-progress",
        )  # fmt: skip
        await run_export(args, session_factory=Session)
        rows = json.loads(out.read_text())
        assert sum(r["count"] for r in rows) == len(ec.link_logs)
        assert [r["count"] for r in rows] == sorted((r["count"] for r in rows), reverse=True)

        message_id = next(iter(gr.messages))
        out = tmp_path / "stats.jsonl"
        args = _args(
            "export", "getresponse", "message-stats", "--token", gr.api_key, "--base-url",
            gr.url, "--message", message_id, "--out", str(out), "--no-progress",
        )  # fmt: skip
        await run_export(args, session_factory=Session)
        periods = [json.loads(line) for line in out.read_text().splitlines()]
    assert periods
    assert [p["period"] for p in periods] == sorted(p["period"] for p in periods)


async def test_bad_token_exits_non_zero_with_one_line(tmp_path: Path, cli: RunCli):
    """A refused token prints one line naming the variable to check, and no traceback."""
    async with FakePostmark(messages=10, seed=1) as fake:
        code, out, err = await cli(
            "export", "postmark", "opens", "--base-url", fake.url, "--out",
            str(tmp_path / "x.jsonl"), "--no-progress",
            env={"POSTMARK_SERVER_TOKEN": "wrong-token-value"},
        )  # fmt: skip
    assert code == 1
    assert out == ""
    assert err.strip().splitlines() == [
        "asyncmailstats: authentication failed: check POSTMARK_SERVER_TOKEN (or --token)"
    ]
    assert "wrong-token-value" not in err
    assert not (tmp_path / "x.jsonl").exists()
    assert list(tmp_path.iterdir()) == []


def test_missing_token_is_reported_before_any_request(monkeypatch: pytest.MonkeyPatch, capsys):
    """Without --token or the environment variable the command says so: a usage error, 2."""
    monkeypatch.delenv("GETRESPONSE_API_KEY", raising=False)
    code = main(["export", "getresponse", "messages", "--base-url", "http://127.0.0.1:9"])
    assert code == 2
    prog = "asyncmailstats export getresponse messages"
    assert capsys.readouterr().err == (
        f"{prog}: error: no credential: set GETRESPONSE_API_KEY, or pass --token-file or "
        f"--token (see '{prog} --help')\n"
    )


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
async def test_interrupted_export_leaves_no_file(tmp_path: Path):
    """Ctrl-C midway exits 130 and leaves neither the final file nor a partial one."""
    async with FakePostmark(messages=3000, seed=6, latency=0.05) as fake:
        out = tmp_path / "opens.jsonl"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "asyncmailstats", "export", "postmark", "opens",
            "--token", fake.token, "--base-url", fake.url, "--out", str(out),
            "--page-size", "10", "--prefetch", "1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        # Wait until the export is under way: the partial file exists and holds rows.
        for _ in range(600):
            partial = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
            if partial and partial[0].stat().st_size > 0:
                break
            await asyncio.sleep(0.05)
        else:
            proc.kill()
            await proc.wait()
            pytest.fail("the export never started writing")
        proc.send_signal(signal.SIGINT)
        _, err = await proc.communicate()
    assert proc.returncode == 130
    assert "Traceback" not in err.decode()
    assert list(tmp_path.iterdir()) == []


def test_describe_error_names_the_provider_variable():
    """Authentication failures name the provider's credential variable."""
    error = AuthenticationError("no", provider="emailconsul", status=401)
    assert describe_error(error, "emailconsul") == (
        "authentication failed: check EMAILCONSUL_API_KEY (or --token)"
    )


async def test_demo_runs_end_to_end_with_short_settings():
    """The demo finishes on tiny fakes and reports every open and click exactly once."""
    args = _args("demo", "--scale", "0.05", "--latency", "0", "--no-progress")
    out = io.StringIO()
    await run_demo(args, stream=out)
    text = out.getvalue()
    assert text.count("all of them, none twice") == 2
    assert "MISMATCH" not in text
    assert "Session statistics" in text


async def test_demo_with_faults_recovers_everything():
    """With fault injection on, the demo still streams every record exactly once."""
    args = _args("demo", "--scale", "0.05", "--latency", "0", "--faults", "--no-progress")
    out = io.StringIO()
    await run_demo(args, stream=out)
    text = out.getvalue()
    assert text.count("all of them, none twice") == 2
    assert "faults injected by the fake servers" in text
