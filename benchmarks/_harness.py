"""Shared benchmark machinery: alternating rounds, medians, tables, machine facts, JSON."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"

#: Distributions whose versions are recorded with every run.
VERSIONED = (
    "asyncmailstats",
    "aiohttp",
    "attrs",
    "cattrs",
    "orjson",
    "uvloop",
    "postmark-python",
    "httpx",
    "pydantic",
    "postmarker",
    "requests",
    "pyinstrument",
    "psutil",
)


@dataclasses.dataclass
class Sample:
    """One timed run of one contender."""

    seconds: float
    records: int
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Contender:
    """Something to time: ``run()`` does its own untimed set-up and returns a Sample."""

    name: str
    run: Callable[[], Awaitable[Sample]]
    expected: int | None = None
    info: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Take part in only the first this many rounds (``None``: every round).
    rounds: int | None = None
    #: A lighter run for the warm-up (``None``: ``run`` itself).
    warmup: Callable[[], Awaitable[Sample]] | None = None


@dataclasses.dataclass
class Series:
    """Every sample of one contender, with summary figures."""

    name: str
    samples: list[Sample]
    info: dict[str, Any]

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def best(self) -> float:
        return min(s.seconds for s in self.samples)

    @property
    def records(self) -> int:
        return self.samples[-1].records if self.samples else 0

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "median_seconds": self.median,
            "min_seconds": self.best,
            "records": self.records,
            "seconds": [s.seconds for s in self.samples],
            "extra": [s.extra for s in self.samples],
            **self.info,
        }


def cpu_median(series: Series) -> float:
    """Return the median process CPU seconds of a series' samples (0 when not recorded)."""
    return statistics.median(float(s.extra.get("cpu_seconds", 0.0)) for s in series.samples)


async def alternate(
    contenders: Sequence[Contender],
    *,
    rounds: int,
    warmup: bool = True,
    between: Callable[[], None] | None = None,
    after: Callable[[Sample], None] | None = None,
) -> list[Series]:
    """Run every contender once per round, rotating the order each round.

    A warm-up run of each contender comes first and is not kept (imports, caches,
    first connections). ``between`` runs before each timed run, ``after`` after it
    (both untimed: they read or reset the server's counters).
    """
    series = [Series(c.name, [], dict(c.info)) for c in contenders]
    if warmup:
        for contender in contenders:
            await (contender.warmup or contender.run)()
    for index in range(rounds):
        shift = index % len(contenders)
        order = list(range(len(contenders)))[shift:] + list(range(len(contenders)))[:shift]
        for i in order:
            contender = contenders[i]
            if contender.rounds is not None and index >= contender.rounds:
                continue
            if between is not None:
                between()
            sample = await contender.run()
            if after is not None:
                after(sample)
            if contender.expected is not None and sample.records != contender.expected:
                msg = (
                    f"{contender.name}: got {sample.records} records, expected {contender.expected}"
                )
                raise AssertionError(msg)
            series[i].samples.append(sample)
    return series


def call_times(fn: Callable[[], int], *, min_seconds: float = 0.2) -> tuple[int, list[float]]:
    """Call *fn* (which returns the records it did) for at least *min_seconds*.

    Returns the records per call and the process CPU time of every call. CPU time, not
    wall time: on a shared machine a call that is preempted by another process keeps
    its CPU time, so CPU-bound work is measured the same under load.
    """
    durations: list[float] = []
    records = 0
    started = time.perf_counter()
    while True:
        before = time.process_time()
        records = fn()
        durations.append(time.process_time() - before)
        if time.perf_counter() - started >= min_seconds and len(durations) >= 5:
            return records, durations


def loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """Return the event-loop factory for ``asyncio`` or ``uvloop``."""
    if kind == "asyncio":
        return None
    if kind == "uvloop":
        import uvloop  # noqa: PLC0415 - optional, bench-only

        return uvloop.new_event_loop
    msg = f"unknown loop kind {kind!r}"
    raise ValueError(msg)


def run_async(main: Callable[[], Coroutine[Any, Any, Any]], loop: str) -> Any:
    """Run ``main()`` on a fresh event loop of kind *loop*."""
    with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
        return runner.run(main())


def available_loops(wanted: str) -> list[str]:
    """Return the loop kinds to run for the ``--loop`` option (``both`` needs uvloop)."""
    kinds = ["asyncio", "uvloop"] if wanted == "both" else [wanted]
    if "uvloop" in kinds:
        try:
            import uvloop  # noqa: F401, PLC0415 - optional, bench-only
        except ImportError:
            print("uvloop is not installed: running with asyncio only", file=sys.stderr)
            kinds = [k for k in kinds if k != "uvloop"] or ["asyncio"]
    return kinds


def machine() -> dict[str, Any]:
    """Describe the machine and the versions in use."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    versions: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "versions": versions,
    }


# -- tables -----------------------------------------------------------------------------


@dataclasses.dataclass
class Table:
    """A printable result table, also written to JSON."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    def add(self, *cells: Any) -> None:
        self.rows.append(list(cells))

    def render(self) -> str:
        cells = [[_cell(c) for c in row] for row in self.rows]
        widths = [len(c) for c in self.columns]
        for row in cells:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell))
        line = "  ".join("-" * w for w in widths)
        out = [f"## {self.title}", ""]
        out.append("  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True)))
        out.append(line)
        for row in cells:
            parts = [
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ]
            out.append("  ".join(parts))
        out.extend(f"  * {note}" for note in self.notes)
        return "\n".join(out)

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "columns": self.columns,
            "rows": self.rows,
            "notes": self.notes,
        }


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def ms(seconds: float) -> float:
    """Return *seconds* in milliseconds, rounded for display."""
    return round(seconds * 1000, 1)


def ratio(a: float, b: float) -> str:
    """Return ``a / b`` formatted as ``1.23x``."""
    return f"{a / b:.2f}x" if b else "-"


def write_results(payload: dict[str, Any], path: Path | None = None) -> Path:
    """Write *payload* as JSON to ``benchmarks/results/latest.json`` (or *path*)."""
    target = path or RESULTS_DIR / "latest.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return target
