"""How sync tables and writes become dlt hints and records, and how replace scopes load.

The scope test drives the resources with a plan of fixed writes, so that it can make a
Postmark stats day, and a metric of another day, vanish from a re-read range.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dlt")
pytest.importorskip("duckdb")

from asyncmailstats import Session
from asyncmailstats.dlt import DELETED, SCOPES
from asyncmailstats.dlt._columns import _MODELS, _RENAMED, _field_types, table_shape
from asyncmailstats.dlt._resources import Run, checked_resources
from asyncmailstats.sync import TABLES, Write
from asyncmailstats.sync._runner import Context
from asyncmailstats.sync._tables import (
    EMAILCONSUL_LINK_STATS,
    GETRESPONSE_MESSAGE_STATS,
    POSTMARK_OPENS,
    POSTMARK_STATS,
    Table,
)
from tests.dlt.served import loaded, pipeline

SYNCED = dt.datetime(2025, 6, 10, 16, 0, tzinfo=dt.UTC)
#: The sync's own columns, which no model field types.
OWN = {"account", "extra", "_synced_at"}


def test_every_column_is_declared_with_its_type() -> None:
    """Each table's hints name every column; model columns are typed from the model
    (instants, days, flags), and no model column is left to its storage type."""
    for table in TABLES.values():
        shape = table_shape(table)
        hints = shape.columns()
        assert list(hints)[: len(table.names)] == list(table.names)
        assert all(hints[n]["nullable"] is False for n in table.key)
        model = _MODELS[table.name]
        if model is None:
            continue
        fields = _field_types(model)
        for name in table.names:
            field = _RENAMED.get((table.name, name), name)
            assert (
                name in OWN
                or field in fields
                or (table.name, name)
                in {
                    ("emailconsul_link_stats", "day"),
                    ("emailconsul_link_stats", "group_by"),
                    ("getresponse_message_stats", "message_id"),
                    ("getresponse_message_stats", "grouping"),
                }
            ), f"{table.name}.{name} is not a field of {model.__name__}"
    types = {t: table_shape(TABLES[t]).types for t in TABLES}
    assert types["postmark_messages"]["received_at"] == "timestamp"
    assert types["postmark_messages"]["track_opens"] == "bool"
    assert types["postmark_messages"]["sandboxed"] == "bool"
    assert types["postmark_messages"]["metadata"] == "text"  # JSON
    assert types["postmark_opens"]["first_open"] == "bool"
    assert types["postmark_clicks"]["received_at"] == "timestamp"
    assert types["postmark_stats"]["date"] == "date"
    assert types["emailconsul_link_stats"]["day"] == "date"
    assert types["getresponse_messages"]["send_on"] == "timestamp"
    assert types["getresponse_messages"]["time_travel"] == "bool"
    assert types["getresponse_message_stats"]["start"] == "timestamp"
    assert table_shape(GETRESPONSE_MESSAGE_STATS).columns()["start"]["timezone"] is False
    assert table_shape(POSTMARK_OPENS).columns()["received_at"]["timezone"] is True


def test_only_tables_with_replace_scopes_get_a_merge_key_and_tombstones() -> None:
    """The scoped tables merge on account plus their scope, with a hard-delete column;
    the others merge on their natural key alone."""
    for table in TABLES.values():
        shape = table_shape(table)
        if table.name in SCOPES:
            assert shape.merge_key == ("account", *SCOPES[table.name])
            assert shape.columns()[DELETED]["hard_delete"] is True
        else:
            assert shape.merge_key == ()
            assert DELETED not in shape.columns()


def stats_row(day: str, metric: str, value: int, series: str = "sent-counts") -> tuple[Any, ...]:
    return ("default", series, "", "", day, metric, value)


def test_a_replace_write_tombstones_each_scope_cell_it_has_no_row_for() -> None:
    """A day of the range without rows gets one tombstone (placeholders in the rest of
    the key); days with rows get none; values become typed records."""
    shape = table_shape(POSTMARK_STATS)
    scope = {
        "series": "sent-counts",
        "message_stream": "",
        "tag": "",
        "date": ("2025-06-01", "2025-06-03"),
    }
    write = Write(POSTMARK_STATS, [stats_row("2025-06-02", "sent", 4)], "replace", scope)
    records = shape.records(write, "default", SYNCED)
    assert records[0] == {
        "account": "default",
        "series": "sent-counts",
        "message_stream": "",
        "tag": "",
        "date": dt.date(2025, 6, 2),
        "metric": "sent",
        "value": 4,
        "_synced_at": SYNCED,
    }
    tombstones = records[1:]
    assert [r["date"] for r in tombstones] == [dt.date(2025, 6, 1), dt.date(2025, 6, 3)]
    assert all(r[DELETED] is True and r["metric"] == "" and r["value"] is None for r in tombstones)


def test_writes_that_do_not_fit_their_table_are_refused() -> None:
    """An upsert to a scoped table, a replace to an unscoped one, a scope of other
    columns, and an instant without a zone where one is due are errors, not rows."""
    with pytest.raises(ValueError, match="upsert write"):
        table_shape(POSTMARK_STATS).records(Write(POSTMARK_STATS, []), "default", SYNCED)
    with pytest.raises(ValueError, match="replace write"):
        table_shape(POSTMARK_OPENS).records(
            Write(POSTMARK_OPENS, [], "replace", {}), "default", SYNCED
        )
    with pytest.raises(ValueError, match="must name"):
        table_shape(EMAILCONSUL_LINK_STATS).records(
            Write(EMAILCONSUL_LINK_STATS, [], "replace", {"day": "2025-06-01"}), "default", SYNCED
        )
    row = ["default", "m1", "2025-06-01T10:00:00", "a@example.com"]
    row += [None] * (len(POSTMARK_OPENS.names) - 1 - len(row))
    with pytest.raises(ValueError, match="with a time zone"):
        table_shape(POSTMARK_OPENS).records(Write(POSTMARK_OPENS, [row]), "default", SYNCED)


class FixedPlan:
    """A Postmark-like plan whose stats stream yields fixed writes, noting the state."""

    provider = "postmark"
    streams: tuple[str, ...] = ("stats",)

    def __init__(self, writes: list[Write], seen: list[dict[str, Any]]) -> None:
        self._writes = writes
        self._seen = seen

    def tables(self, stream: str) -> tuple[Table, ...]:
        return (POSTMARK_STATS,)

    def state_prefix(self, stream: str) -> str:
        return "stats"

    async def writes(self, stream: str, ctx: Context) -> AsyncIterator[Write]:
        self._seen.append(dict(ctx.state))
        for write in self._writes:
            yield write

    def statistics(self) -> tuple[int, int]:
        return 0, 0


def stats_write(first: str, last: str, rows: list[tuple[Any, ...]], through: str) -> Write:
    scope = {"series": "sent-counts", "message_stream": "", "tag": "", "date": (first, last)}
    return Write(POSTMARK_STATS, rows, "replace", scope, state=("stats", {"through": through}))


def test_a_reread_range_holds_exactly_its_new_rows(tmp_path: Path) -> None:
    """Loading a re-read range of days deletes a day that vanished and a metric gone
    from a day, keeps the days before the range and the other series, and hands the
    state a write ended with to the next run."""
    first_rows = [
        stats_row(day, metric, value)
        for day, value in (("2025-06-01", 1), ("2025-06-02", 2), ("2025-06-03", 3))
        for metric in ("sent", "other")
    ]
    other_series = stats_row("2025-06-02", "opens", 7, series="open-counts")
    first = [
        stats_write("2025-06-01", "2025-06-03", first_rows, "2025-06-03"),
        Write(
            POSTMARK_STATS,
            [other_series],
            "replace",
            {"series": "open-counts", "message_stream": "", "tag": "", "date": ("2025-06-02",) * 2},
        ),
    ]
    second = [stats_write("2025-06-02", "2025-06-03", [stats_row("2025-06-02", "sent", 5)], "x")]
    seen: list[dict[str, Any]] = []
    pipe = pipeline(tmp_path)
    for writes in (first, second):
        plan = FixedPlan(writes, seen)
        run = Run(lambda _, plan=plan: plan, Session, "default", None, 7)
        pipe.run(checked_resources(run, None))

    assert loaded(tmp_path, "postmark_stats") == {
        stats_row("2025-06-01", "sent", 1): 1,
        stats_row("2025-06-01", "other", 1): 1,
        stats_row("2025-06-02", "sent", 5): 1,
        other_series: 1,
    }
    assert seen == [{}, {"stats": {"through": "2025-06-03"}}]
