"""Tests of the export writers: formats, flattening and atomic files."""

from __future__ import annotations

import csv
import enum
import io
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest

from asyncmailstats.cli._charts import bar_chart, sparkline, table
from asyncmailstats.cli._output import (
    AtomicOutput,
    DynamicRow,
    Keyed,
    RecordWriter,
    csv_columns,
    iter_rows,
    to_plain,
)
from asyncmailstats.postmark.models import DynamicCounts, DynamicDay


class Color(enum.StrEnum):
    RED = "red"


@attrs.frozen
class Inner:
    name: str | None = None
    company: str | None = None


@attrs.frozen
class Record:
    id: str
    at: datetime
    day: date
    color: Color
    client: Inner | None
    tags: tuple[str, ...] = ()
    metadata: dict[str, str] = attrs.field(factory=dict)


RECORD = Record(
    id="m1",
    at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    day=date(2026, 1, 2),
    color=Color.RED,
    client=Inner(name="Gmail", company="Google"),
    tags=("a", "b"),
    metadata={"k": "v"},
)


def test_to_plain_gives_json_ready_snake_case_data():
    """Models become dicts of JSON types with their snake_case field names."""
    assert to_plain(RECORD) == {
        "id": "m1",
        "at": "2026-01-02T03:04:05+00:00",
        "day": "2026-01-02",
        "color": "red",
        "client": {"name": "Gmail", "company": "Google"},
        "tags": ["a", "b"],
        "metadata": {"k": "v"},
    }


def test_csv_columns_flatten_nested_models():
    """Nested (optional) models become dotted columns, in field order."""
    assert csv_columns(Record) == [
        "id",
        "at",
        "day",
        "color",
        "client.name",
        "client.company",
        "tags",
        "metadata",
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_writer_round_trips_each_format(fmt):
    """Each format writes every record so that it can be read back."""
    out = io.StringIO()
    writer = RecordWriter(out, fmt)
    writer.write(RECORD)
    writer.write(attrs.evolve(RECORD, id="m2", client=None))
    writer.finish()
    text = out.getvalue()
    if fmt == "jsonl":
        rows = [json.loads(line) for line in text.splitlines()]
        assert [r["id"] for r in rows] == ["m1", "m2"]
        assert rows[1]["client"] is None
    elif fmt == "json":
        rows = json.loads(text)
        assert [r["id"] for r in rows] == ["m1", "m2"]
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r["id"] for r in rows] == ["m1", "m2"]
        assert rows[0]["client.name"] == "Gmail"
        assert rows[1]["client.name"] == ""
        assert json.loads(rows[0]["metadata"]) == {"k": "v"}
        assert json.loads(rows[0]["tags"]) == ["a", "b"]


def test_json_format_with_no_records_is_an_empty_array():
    """An empty export in JSON is still a valid document."""
    out = io.StringIO()
    writer = RecordWriter(out, "json")
    writer.finish()
    assert json.loads(out.getvalue()) == []


def test_unknown_format_is_rejected():
    """A format name outside jsonl/json/csv raises ValueError."""
    with pytest.raises(ValueError, match="unknown format"):
        RecordWriter(io.StringIO(), "xml")


def test_atomic_output_appears_only_on_commit(tmp_path: Path):
    """The final file exists only after commit, and no temporary file is left."""
    target = tmp_path / "out.jsonl"
    with AtomicOutput(target) as output:
        output.stream.write("x\n")
        assert not target.exists()
        output.commit()
    assert target.read_text() == "x\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_atomic_output_interrupted_leaves_nothing(tmp_path: Path):
    """An error before commit leaves neither the final file nor a temporary one."""
    target = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt), AtomicOutput(target) as output:
        output.stream.write("partial\n")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_keeps_an_older_file_when_interrupted(tmp_path: Path):
    """An interrupted export does not clobber a previous complete file."""
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), AtomicOutput(target) as output:
        output.stream.write("new\n")
        raise RuntimeError
    assert target.read_text() == "old\n"


def test_charts_scale_to_the_largest_value():
    """Sparklines and bars scale to the maximum; zero stays empty."""
    assert sparkline([0, 4, 8]) == " ▄█"
    assert sparkline([]) == ""
    chart = bar_chart([("a", 10), ("bb", 5)], width=10).splitlines()
    assert chart[0] == " a │██████████ 10"
    assert chart[1] == "bb │█████ 5"
    assert bar_chart([]) == "(no data)"


def test_table_aligns_numbers_right():
    """Numeric columns are right-aligned and formatted with separators."""
    text = table(["name", "n"], [["x", 1000], ["long", 2]])
    assert text.splitlines() == ["name      n", "────  ─────", "x     1,000", "long      2"]


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_string_cells_starting_like_formulas_get_a_quote(first: str):
    """A string cell starting with = + - @ TAB or CR is prefixed with ' (OWASP)."""
    out = io.StringIO()
    writer = RecordWriter(out, "csv")
    writer.write({"text": first + "1", "number": -1})
    # A row holding a CR is written fully quoted, so the CR cannot end the row.
    row = f'"\'{first}1","-1"' if first == "\r" else f"'{first}1,-1"
    assert out.getvalue() == f"text,number\n{row}\n"


def test_csv_raw_writes_formula_like_cells_unchanged():
    """csv_raw=True (--csv-raw) writes such cells exactly as they are."""
    out = io.StringIO()
    writer = RecordWriter(out, "csv", csv_raw=True)
    writer.write({"text": "=1+2", "number": -1})
    assert out.getvalue() == "text,number\n=1+2,-1\n"


@pytest.mark.parametrize("cell", ["a\rb", "a\r\nb", "a\nb", "end\r"])
def test_csv_cells_with_line_breaks_keep_the_row_whole(cell: str):
    """A cell holding CR or LF is quoted, so every reader sees one row with the same cell."""
    out = io.StringIO()
    writer = RecordWriter(out, "csv")
    writer.write(attrs.evolve(RECORD, id=cell))
    writer.write(RECORD)
    text = out.getvalue()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["id"] for row in rows] == [cell, "m1"]
    # Outside quoted cells, a line end is only ever the writer's own LF.
    outside = "".join(text.split('"')[::2])
    assert "\r" not in outside
    assert outside.count("\n") == 3


@attrs.frozen
class Sender:
    from_: str
    sent: bool | None
    at: datetime


def test_trailing_underscores_are_dropped_in_json_and_csv():
    """``from_`` is written ``from``; booleans are true/false in CSV, None is empty."""
    record = Sender(from_="a@example.com", sent=False, at=datetime(2026, 1, 2, tzinfo=UTC))
    assert to_plain(record) == {
        "from": "a@example.com",
        "sent": False,
        "at": "2026-01-02T00:00:00+00:00",
    }
    out = io.StringIO()
    writer = RecordWriter(out, "csv")
    writer.write(record)
    writer.write(attrs.evolve(record, sent=None))
    writer.write(attrs.evolve(record, sent=True))
    assert out.getvalue().splitlines() == [
        "from,sent,at",
        "a@example.com,false,2026-01-02T00:00:00+00:00",
        "a@example.com,,2026-01-02T00:00:00+00:00",
        "a@example.com,true,2026-01-02T00:00:00+00:00",
    ]


def test_utc_converts_aware_times_and_marks_naive_ones():
    """utc=True: an aware time becomes the same instant in UTC; a naive one is UTC."""
    eastern = timezone(timedelta(hours=-4))
    aware = Sender(from_="x", sent=None, at=datetime(2026, 7, 1, 8, 0, tzinfo=eastern))
    naive = Sender(from_="x", sent=None, at=datetime(2026, 7, 1, 8, 0))  # noqa: DTZ001 - naive on purpose
    assert to_plain(aware, utc=True)["at"] == "2026-07-01T12:00:00+00:00"
    assert to_plain(naive, utc=True)["at"] == "2026-07-01T08:00:00+00:00"
    assert to_plain(naive)["at"] == "2026-07-01T08:00:00"
    assert to_plain(RECORD, utc=True)["day"] == "2026-01-02"


def test_dynamic_days_are_rows_per_day_and_key():
    """A series of DynamicDay yields one DynamicRow per day and key, in order."""
    series = DynamicCounts(
        days=(
            DynamicDay(date=date(2026, 1, 1), counts={"Gmail": 2, "Outlook": 1}),
            DynamicDay(date=date(2026, 1, 2), counts={"Gmail": 5}),
        ),
        totals={"Gmail": 7, "Outlook": 1},
    )
    assert [to_plain(row) for row in iter_rows(series)] == [
        {"date": "2026-01-01", "key": "Gmail", "count": 2},
        {"date": "2026-01-01", "key": "Outlook", "count": 1},
        {"date": "2026-01-02", "key": "Gmail", "count": 5},
    ]
    assert csv_columns(DynamicRow) == ["date", "key", "count"]


def test_keyed_rows_lead_with_their_keys():
    """Keyed({...}, record): the keys come first, in JSON and as CSV columns."""
    out = io.StringIO()
    writer = RecordWriter(out, "csv")
    writer.write(Keyed({"message_id": "m1"}, RECORD))
    header, row = out.getvalue().splitlines()
    assert header.split(",") == ["message_id", *csv_columns(Record)]
    assert row.startswith("m1,m1,")
    assert list(to_plain(Keyed({"message_id": "m1"}, RECORD)))[:2] == ["message_id", "id"]
