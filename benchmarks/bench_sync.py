"""Sync: a first run of ~100 000 Postmark opens into each store, and streaming alone.

Every contender runs the same sync plan over the same fake (outbound opens, past the
10 000-row ceiling, so most of them come from the per-message lists) at the same
latency, into a fresh database each time:

- *streaming alone*: the plan's rows are produced and dropped (a store that keeps
  nothing) — what reading the data costs;
- *SQLite*: ``SQLiteStore`` on a temporary file;
- *PostgreSQL*: ``PostgresStore`` on a throwaway local server (skipped, with the reason,
  when no PostgreSQL binaries are found or asyncpg is missing);
- *dlt → DuckDB*: the dlt source of the same streams loaded by a dlt pipeline into an
  embedded DuckDB file (skipped when dlt is missing).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from _harness import Contender, Sample, Series, Table, alternate, ratio
from _servers import ServerProcess

import asyncmailstats as ams
from asyncmailstats.sync import Store, Write
from asyncmailstats.sync._store import Counts
from asyncmailstats.sync._tables import Table as SyncTable

#: The fake: messages with several recipients each, so ~100 000 opens need ~25 000
#: per-message requests rather than one per open.
FAKE = {"messages": 36_000, "seed": 11, "open_rate": 0.9, "max_recipients": 8,
        "multi_recipient_rate": 1.0}  # fmt: skip
QUICK_FAKE = {**FAKE, "messages": 6_000}
STREAM = "outbound"


def spec(quick: bool) -> dict[str, tuple[str, dict[str, Any]]]:
    """Return the fake this benchmark syncs."""
    return {"sync": ("postmark", dict(QUICK_FAKE if quick else FAKE))}


class _Clock:
    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def sample(self, records: int, **extra: Any) -> Sample:
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        return Sample(wall, records, {"cpu_seconds": cpu, **extra})


class DropStore:
    """A store that keeps nothing: the cost of producing the rows alone."""

    def __init__(self) -> None:
        self.rows = 0

    async def open(self) -> None:
        """Nothing to open."""

    async def lock(self, account: str) -> None:
        """Nothing to lock."""

    async def unlock(self, account: str) -> None:
        """Nothing to unlock."""

    async def load_state(self, account: str) -> dict[str, Any]:
        """Every run is a first run."""
        return {}

    async def write(self, account: str, write: Write) -> Counts:
        """Count the rows and drop them."""
        self.rows += len(write.rows)
        return Counts(inserted=len(write.rows))

    async def reset(
        self, account: str, tables: Iterable[SyncTable], prefixes: Iterable[str]
    ) -> None:
        """Nothing to reset."""

    async def aclose(self) -> None:
        """Nothing to close."""


async def _sync_into(url: str, token: str, store: Store) -> Sample:
    async with ams.Session(limits=ams.Limits(max_concurrency=32)) as session:
        api = session.postmark(server_token=token, base_url=url)
        clock = _Clock()
        try:
            report = await ams.sync.run(api, store, streams="opens", message_streams=[STREAM])
        finally:
            await store.aclose()
        rows = report.tables["postmark_opens"].inserted
        return clock.sample(rows, requests=report.requests)


def _dlt_run(url: str, token: str, folder: Path) -> tuple[int, int]:
    import dlt  # noqa: PLC0415 - optional, bench-only

    from asyncmailstats.dlt import postmark_source  # noqa: PLC0415 - needs dlt

    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{uuid.uuid4().hex[:8]}",
        destination=dlt.destinations.duckdb(str(folder / "bench.duckdb")),
        dataset_name="postmark",
        pipelines_dir=str(folder / "pipelines"),
    )
    source = postmark_source(
        server_token=token, base_url=url, streams=["opens"], message_streams=[STREAM]
    )
    pipeline.run(source, loader_file_format="jsonl")
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT count(*) FROM postmark_opens")
    return int(rows[0][0]), 0


@contextlib.contextmanager
def _folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ams-bench-sync-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def contenders(
    url: str, token: str, *, postgres_dsn: str | None
) -> tuple[list[Contender], list[str]]:
    """Return the contenders that can run here, and why the others cannot."""
    skipped: list[str] = []

    async def drop() -> Sample:
        return await _sync_into(url, token, DropStore())

    async def sqlite() -> Sample:
        with _folder() as folder:
            return await _sync_into(url, token, ams.sync.SQLiteStore(folder / "bench.db"))

    found = [
        Contender("streaming alone (rows dropped)", drop, info={"store": "none"}),
        Contender("sync into SQLite", sqlite, info={"store": "sqlite"}),
    ]
    if postgres_dsn is None:
        skipped.append("PostgreSQL: no server (no PostgreSQL binaries, or asyncpg missing)")
    else:

        async def postgres() -> Sample:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            store = ams.sync.PostgresStore(postgres_dsn, schema=schema)
            return await _sync_into(url, token, store)

        found.append(Contender("sync into PostgreSQL", postgres, info={"store": "postgres"}))
    try:
        import duckdb  # noqa: F401, PLC0415 - optional, bench-only

        import asyncmailstats.dlt  # noqa: F401, PLC0415 - needs the dlt extra
    except ImportError:
        skipped.append("dlt: not installed")
    else:

        async def via_dlt() -> Sample:
            with _folder() as folder:
                clock = _Clock()
                rows, _ = await asyncio.to_thread(_dlt_run, url, token, folder)
                return clock.sample(rows)

        found.append(Contender("dlt source into DuckDB", via_dlt, info={"store": "dlt"}, rounds=1))
    return found, skipped


async def first_runs(
    server: ServerProcess, *, rounds: int, postgres_dsn: str | None, fake: str = "sync"
) -> tuple[list[Series], list[str]]:
    """Time a first sync of every contender; return the series and what was skipped."""
    info = server.info[fake]
    found, skipped = contenders(info["url"], info["token"], postgres_dsn=postgres_dsn)

    def between() -> None:
        server.reset()

    def after(sample: Sample) -> None:
        sample.extra.update(server.stats()[fake])

    series = await alternate(found, rounds=rounds, between=between, after=after, warmup=False)
    return series, skipped


def sync_table(series: list[Series], skipped: list[str], latency: float) -> Table:
    """Tabulate the first runs with their ratios to streaming alone and to dlt."""
    table = Table(
        f"Sync: first run of Postmark opens at {latency * 1000:g} ms per request",
        ["contender", "rows", "requests", "median s", "rows/s", "time / streaming", "dlt / this"],
    )
    by_store = {s.info["store"]: s for s in series}
    base = by_store.get("none")
    via_dlt = by_store.get("dlt")
    for s in series:
        table.add(
            s.name,
            s.records,
            s.samples[0].extra.get("requests"),
            round(s.median, 2),
            round(s.records / s.median),
            ratio(s.median, base.median) if base else None,
            ratio(via_dlt.median, s.median) if via_dlt and s is not via_dlt else None,
        )
    table.notes += [f"skipped: {reason}" for reason in skipped]
    table.notes.append("each run starts from an empty database; dlt runs one round (slow)")
    return table


def targets(series: list[Series], latency: float) -> list[tuple[str, str, bool]]:
    """Return (target, measured, met) for the sync goals that could be measured."""
    by_store = {s.info["store"]: s for s in series}
    at = f"@{latency * 1000:g} ms"
    found: list[tuple[str, str, bool]] = []
    base, pg, lite, via_dlt = (by_store.get(k) for k in ("none", "postgres", "sqlite", "dlt"))
    if base and pg:
        slower = pg.median / base.median
        found.append(
            (
                f"{at}: sync into PostgreSQL within 1.4x of streaming alone",
                f"{slower:.2f}x",
                slower <= 1.4,
            )
        )
    if via_dlt:
        for name, native in (("SQLite", lite), ("PostgreSQL", pg)):
            if native:
                faster = via_dlt.median / native.median
                found.append(
                    (
                        f"{at}: sync into {name} >= 10x faster than dlt into DuckDB",
                        f"{faster:.1f}x",
                        faster >= 10,
                    )
                )
    return found


def postgres_server() -> contextlib.AbstractContextManager[str | None]:
    """Start a throwaway PostgreSQL server when one can run here; yield its DSN or None."""
    given = os.environ.get("AMS_TEST_POSTGRES_DSN")
    if given:
        return contextlib.nullcontext(given)
    try:
        import asyncpg  # noqa: F401, PLC0415 - optional, bench-only
    except ImportError:
        return contextlib.nullcontext(None)
    tests = Path(__file__).resolve().parent.parent / "tests"
    sys.path.insert(0, str(tests))
    try:
        import pgcluster  # noqa: PLC0415 - the tests' own throwaway cluster
    except ImportError:
        return contextlib.nullcontext(None)
    finally:
        sys.path.remove(str(tests))
    return _cluster(pgcluster.throwaway_cluster)


@contextlib.contextmanager
def _cluster(start: Callable[[], Any]) -> Iterator[str | None]:
    try:
        manager = start()
        dsn = manager.__enter__()
    except Exception:
        yield None
        return
    try:
        yield dsn
    finally:
        manager.__exit__(None, None, None)
