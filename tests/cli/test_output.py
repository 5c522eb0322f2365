"""Tests of the export writers: formats, flattening and atomic files."""

from __future__ import annotations

import csv
import enum
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import attrs
import pytest

from asyncmailstats.cli._charts import bar_chart, sparkline, table
from asyncmailstats.cli._output import AtomicOutput, RecordWriter, csv_columns, to_plain


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
