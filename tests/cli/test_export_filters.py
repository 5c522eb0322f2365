"""``export`` filters reach the provider as the API means them, and bad values are refused.

Postmark's ``--metadata KEY=VALUE`` (messages and the histories) and GetResponse's text,
campaign and creation-day conditions are checked against the fakes' own data; a value the
command cannot read is one usage line (exit 2) before any request.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from asyncmailstats import Session
from asyncmailstats.cli import build_parser, main
from asyncmailstats.cli._export import run_export
from asyncmailstats.getresponse.models import MessageType
from asyncmailstats.testing import FakeGetResponse, FakePostmark


async def _export(*argv: str, out: Path) -> list[dict[str, Any]]:
    """Run ``export *argv --out OUT`` in this process; return the JSONL rows written."""
    args = build_parser().parse_args(["export", *argv, "--out", str(out), "--no-progress"])
    await run_export(args, session_factory=Session)
    return [json.loads(line) for line in out.read_text().splitlines()]


async def test_metadata_selects_the_messages_with_that_key_and_value(tmp_path: Path) -> None:
    """``messages --metadata plan=pro``: exactly the fake's messages with that pair."""
    async with FakePostmark(messages=300, seed=41) as fake:
        rows = await _export(
            "postmark", "messages", "--token-file", _secret(tmp_path, fake.token),
            "--base-url", fake.url, "--metadata", "plan=pro",
            out=tmp_path / "messages.jsonl",
        )  # fmt: skip
        truth = fake.search_messages({"metadata_plan": "pro"})
        sent = [r.param("metadata_plan") for r in fake.requests if r.path.endswith("outbound")]
    assert 0 < len(truth) < 300
    assert [r["message_id"] for r in rows] == [t["MessageID"] for t in truth]
    assert all(r["metadata"]["plan"] == "pro" for r in rows)
    assert set(sent) == {"pro"}


async def test_open_history_with_metadata_has_every_open_of_those_messages(
    tmp_path: Path,
) -> None:
    """``open-history --metadata`` reads the opens of exactly the matching messages."""
    async with FakePostmark(messages=300, seed=42) as fake:
        rows = await _export(
            "postmark", "open-history", "--token-file", _secret(tmp_path, fake.token),
            "--base-url", fake.url, "--metadata", "client-id=12345", "--concurrency", "3",
            out=tmp_path / "opens.jsonl",
        )  # fmt: skip
        messages = fake.search_messages({"metadata_client-id": "12345"})
        expected = Counter(
            m["MessageID"] for m in messages for _ in fake.message_opens(m["MessageID"])
        )
    assert sum(expected.values()) > 0
    assert Counter(r["message_id"] for r in rows) == expected


def _secret(tmp_path: Path, value: str) -> str:
    path = tmp_path / "token"
    path.write_text(value)
    return str(path)


async def test_getresponse_message_conditions_are_the_ones_given(tmp_path: Path) -> None:
    """Campaigns (repeats sent once), text patterns and a creation range select exactly
    the messages the conditions describe."""
    async with FakeGetResponse(messages=60, seed=51) as fake:
        models = list(fake.message_models().values())
        campaign = models[0].campaign
        days = sorted(m.created_on.date() for m in models)
        low, high = days[len(days) // 4], days[3 * len(days) // 4]
        rows = await _export(
            "getresponse", "messages", "--token-file", _secret(tmp_path, fake.api_key),
            "--base-url", fake.url, "--campaign", campaign, "--campaign", campaign,
            "--subject-contains", "%digest%", "--name-contains", "newsletter%",
            "--created-from", low.isoformat(), "--created-to", high.isoformat(),
            out=tmp_path / "messages.jsonl",
        )  # fmt: skip
        conditions = json.loads(fake.requests[-1].body)["params"][1]
    listed = {MessageType.NEWSLETTER, MessageType.AUTORESPONDER}
    expected = [
        m.id
        for m in models
        if m.type in listed
        and m.campaign == campaign
        and "digest" in m.subject.lower()
        and (m.name or "").lower().startswith("newsletter")
        and low <= m.created_on.date() <= high
    ]
    assert expected
    assert [r["id"] for r in rows] == expected
    assert conditions == {
        "campaigns": [campaign],
        "subject": {"CONTAINS": "%digest%"},
        "name": {"CONTAINS": "newsletter%"},
        "created_on": {"FROM": low.isoformat(), "TO": high.isoformat()},
    }


async def test_getresponse_exact_and_pattern_text_conditions_combine(tmp_path: Path) -> None:
    """``--subject`` with ``--subject-contains`` sends both operators; ``--name`` alone
    is an exact match (``EQUALS``)."""
    async with FakeGetResponse(messages=60, seed=51) as fake:
        target = next(
            m
            for m in fake.message_models().values()
            if m.type is MessageType.NEWSLETTER and m.name is not None
        )
        rows = await _export(
            "getresponse", "messages", "--token-file", _secret(tmp_path, fake.api_key),
            "--base-url", fake.url, "--subject", target.subject,
            "--subject-contains", target.subject[:3] + "%", "--name", target.name or "",
            out=tmp_path / "messages.jsonl",
        )  # fmt: skip
        conditions = json.loads(fake.requests[-1].body)["params"][1]
    assert [r["id"] for r in rows] == [target.id]
    assert conditions == {
        "subject": {"CONTAINS": target.subject[:3] + "%", "EQUALS": target.subject},
        "name": {"EQUALS": target.name},
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["messages", "--metadata", "plan"], "--metadata plan is not KEY=VALUE"),
        (["messages", "--metadata", "=pro"], "--metadata =pro is not KEY=VALUE"),
        (["messages", "--from", "2026-1-011"], "--from 2026-1-011 is not a date (YYYY-MM-DD)"),
        (
            ["messages", "--to", "2026-10-01Tnoon"],
            "--to 2026-10-01Tnoon is not a date (YYYY-MM-DD) or an ISO-8601 date-time",
        ),
        (
            ["opens", "--token", "x", "--token-file", "f"],
            "--token-file cannot be combined with --token",
        ),
        (["opens", "--tok", "x"], "ambiguous option: --tok could match --token, --token-file"),
    ],
)
async def test_values_export_cannot_read_are_one_usage_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """The option is named, the problem said, --help pointed at; nothing is sent."""
    async with FakePostmark(messages=10, seed=43) as fake:
        words = ["export", "postmark", *argv, "--base-url", fake.url]
        code = await asyncio.to_thread(main, words)
        requests = fake.request_count
    prog = f"asyncmailstats export postmark {argv[0]}"
    assert (code, requests) == (2, 0)
    assert capsys.readouterr().err == f"{prog}: error: {message} (see '{prog} --help')\n"
