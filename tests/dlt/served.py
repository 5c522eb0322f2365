"""Helpers of the dlt tests: a fake on its own thread, a pipeline in a temporary directory.

A dlt pipeline runs from synchronous code, as in a script: the test's thread runs it,
while the fake provider serves from an event loop of its own, on another thread.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest

from asyncmailstats.sync import TABLES
from asyncmailstats.testing import FakeServer
from tests.sync.truth import Rows, assert_rows

dlt = pytest.importorskip("dlt")
duckdb = pytest.importorskip("duckdb")

F = TypeVar("F", bound=FakeServer)

DATASET = "mail"


class Served(Generic[F]):
    """A fake server serving from an event loop on a thread of its own.

    Use it as a context manager; :meth:`call` runs a function on the fake's loop (to
    change its data between runs without racing a request).
    """

    def __init__(self, make: Callable[[], F]) -> None:
        self._make = make
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.fake: F

    def __enter__(self) -> Served[F]:
        self._thread.start()
        try:
            self.fake = self.call(self._make)
            self.call(self.fake.start)
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.call(self.fake.close)
        finally:
            self._stop()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run *function* on the fake's loop and return its result (awaited if a coroutine)."""

        async def run() -> Any:
            result = function(*args, **kwargs)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    @property
    def requests(self) -> int:
        """Return the requests the fake received so far."""
        return self.fake.request_count


def pipeline(tmp_path: Path, name: str = "mail") -> Any:
    """Return a dlt pipeline into a DuckDB file, with its working files under *tmp_path*."""
    return dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(tmp_path / "pipelines"),
        destination=dlt.destinations.duckdb(str(tmp_path / "warehouse.duckdb")),
        dataset_name=DATASET,
    )


def plain(value: Any) -> Any:
    """Return a value read from DuckDB as the sync's stores hold it.

    Instants become ISO 8601 text (in UTC when they carry a zone), dates
    ``YYYY-MM-DD``, booleans 0/1: exactly what the sync's row functions make.
    """
    if isinstance(value, dt.datetime):
        if value.utcoffset() is None:
            return value.isoformat()
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def query(tmp_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Return the rows of *sql* run on the pipeline's DuckDB file (read only)."""
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql, list(params)).fetchall()


def loaded(tmp_path: Path, table: str) -> Rows:
    """Return the rows *table* holds, in the sync's column order and representation.

    dlt's own columns (``_dlt_*``), ``_synced_at`` and the tombstone flag are left
    out, after checking that every row has a load time and no row is a tombstone.
    """
    names = TABLES[table].names[:-1]
    columns = ", ".join(f'"{n}"' for n in names)
    rows = query(tmp_path, f"SELECT {columns} FROM {DATASET}.{table}")  # noqa: S608
    checks = query(
        tmp_path,
        f"SELECT count(*) FROM {DATASET}.{table} WHERE _synced_at IS NULL",  # noqa: S608
    )
    assert checks == [(0,)], f"{table}: rows without _synced_at"
    if "_deleted" in column_types(tmp_path, table):
        where = f"SELECT count(*) FROM {DATASET}.{table} WHERE _deleted IS NOT NULL"  # noqa: S608
        assert query(tmp_path, where) == [(0,)], f"{table}: tombstones stored"
    return collections.Counter(tuple(plain(v) for v in row) for row in rows)


def column_types(tmp_path: Path, table: str) -> dict[str, str]:
    """Return column → DuckDB type of *table*."""
    rows = query(
        tmp_path,
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = ? AND table_name = ?",
        DATASET,
        table,
    )
    return dict(rows)


def assert_loaded(tmp_path: Path, expected: Mapping[str, Rows]) -> None:
    """Check that each table of *expected* holds exactly its rows."""
    for table, rows in expected.items():
        assert_rows(table, loaded(tmp_path, table), rows)
