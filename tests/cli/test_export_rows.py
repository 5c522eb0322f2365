"""The ``asyncmailstats`` command, run as a process: exported rows equal the fake's records.

Each row is compared field by field with the fake's own wire record: every wire field
appears under its snake_case name with the same value (timestamps compared as instants,
cut to microseconds), and every other field of the row is empty.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from asyncmailstats.cli import main
from asyncmailstats.testing import FakePostmark

#: The ``cli`` fixture (tests/cli/conftest.py): runs ``python -m asyncmailstats``.
RunCli = Callable[..., Awaitable[tuple[int, str, str]]]
NOW = dt.datetime(2024, 6, 1, 16, 0, 0, tzinfo=dt.UTC)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$")
#: Wire names whose snake_case form differs from the rule (none: ``From`` is ``from``).
RENAMED: dict[str, str] = {}
EMPTY: tuple[Any, ...] = (None, [], {}, "")


def snake(name: str) -> str:
    """``MessageID`` -> ``message_id``, ``CountryISOCode`` -> ``country_iso_code``."""
    if name in RENAMED:
        return RENAMED[name]
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def normal(value: Any) -> Any:
    """Wire or exported value -> comparable value (snake_case keys, instants for times)."""
    if isinstance(value, dict):
        return {snake(k) if k[:1].isupper() else k: normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, str) and TIMESTAMP.match(value):
        cut = re.sub(r"(\.\d{6})\d+", r"\1", value)
        return dt.datetime.fromisoformat(cut)
    return value


def assert_same(row: dict[str, Any], wire: dict[str, Any], where: str = "") -> None:
    """Every wire field is in *row* with its value; every other field of *row* is empty."""
    expected = normal(wire)
    for key, value in row.items():
        if key not in expected:
            assert value in EMPTY, f"{where}{key}: {value!r} has no wire counterpart"
        elif isinstance(expected[key], dict) and isinstance(value, dict):
            assert_same(value, wire[next(k for k in wire if snake(k) == key)], f"{where}{key}.")
        else:
            assert normal(value) == expected[key], f"{where}{key}"
    assert set(expected) <= set(row), f"{where}missing {set(expected) - set(row)}"


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects -> ``parent.child`` keys, the way the CSV columns are named."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict) and value and all(k[:1].isupper() for k in value):
            flat.update(flatten(value, f"{prefix}{snake(key)}."))
        else:
            flat[f"{prefix}{snake(key)}"] = value
    return flat


def csv_text(value: Any) -> str:
    """How a value reads in a CSV cell: JSON for lists and mappings, '' for nothing,
    true/false for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(normal(value))
    return str(value)


async def test_jsonl_export_of_opens_equals_the_fake_record_for_record(
    tmp_path: Path, cli: RunCli
) -> None:
    """Every exported open equals the fake's open, in the fake's order, every field."""
    async with FakePostmark(messages=800, seed=21, now=NOW) as fake:
        out = tmp_path / "opens.jsonl"
        code, stdout, stderr = await cli(
            "export", "postmark", "opens", "--base-url", fake.url,
            "--out", str(out), "--no-progress", "--page-size", "100",
            env={"POSTMARK_SERVER_TOKEN": fake.token},
        )  # fmt: skip
        truth = fake.search_opens({})
    assert (code, stdout, stderr) == (0, "", "")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(truth) > 100
    for n, (row, wire) in enumerate(zip(rows, truth, strict=True)):
        assert_same(row, wire, f"row {n}: ")


async def test_csv_export_of_messages_equals_the_fake_record_for_record(
    tmp_path: Path, cli: RunCli
) -> None:
    """Every CSV row equals the fake's message for the date range, every column."""
    async with FakePostmark(messages=600, seed=22, now=NOW) as fake:
        out = tmp_path / "messages.csv"
        code, stdout, stderr = await cli(
            "export", "postmark", "messages", "--base-url", fake.url,
            "--from", "2024-05-01", "--to", "2024-06-01", "--format", "csv",
            "--out", str(out), "--no-progress", env={"POSTMARK_SERVER_TOKEN": fake.token},
        )  # fmt: skip
        truth = fake.search_messages({"fromdate": "2024-05-01", "todate": "2024-06-01"})
    assert (code, stdout, stderr) == (0, "", "")
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == len(truth) > 100
    for n, (row, wire) in enumerate(zip(rows, truth, strict=True)):
        expected = flatten(wire)
        for column, cell in row.items():
            if column not in expected:
                assert cell in ("", "[]", "{}"), f"row {n}: {column}"
            elif TIMESTAMP.match(cell):
                assert normal(cell) == normal(expected[column]), f"row {n}: {column}"
            else:
                assert cell == csv_text(expected[column]), f"row {n}: {column}"
        assert set(expected) <= set(row), f"row {n}: missing {set(expected) - set(row)}"


def test_demo_with_faults_recovers_every_record(capsys: pytest.CaptureFixture[str]) -> None:
    """``asyncmailstats demo --faults`` meets real faults and still streams each record once."""
    code = main(["demo", "--scale", "0.05", "--latency", "0", "--faults", "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0
    assert text.count("all of them, none twice") == 2
    assert "MISMATCH" not in text
    injected = re.search(r"faults injected by the fake servers: (\d+)", text)
    assert injected is not None
    assert int(injected[1]) > 0
