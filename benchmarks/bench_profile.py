"""Where the time goes: component timings, in-memory request paths and sampled profiles.

* Structuring one open, piece by piece (parsing, the generated hook, reading the keys,
  datetimes, nested records; attrs' ``__init__`` for comparison), and a GetResponse
  stats reply the same way.
* The library's own cost per request and per page, with an in-memory transport that
  returns a canned response (no sockets): client + retry + limiter, paging bookkeeping.
* pyinstrument samples of streaming opens and of fanning out details against the fake
  at zero latency, summed by self time per function and per area.
"""

from __future__ import annotations

import collections
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import _contenders as c
import attrs
import orjson
from _harness import Table, call_times, run_async
from _servers import ServerProcess
from bench_structure import postmark_pages, stats_reply
from pyinstrument import Profiler

from asyncmailstats import Limits, Session
from asyncmailstats._convert import parse_datetime
from asyncmailstats._http import Request, Response
from asyncmailstats._limiter import Limiter
from asyncmailstats._paging import offset_paginator
from asyncmailstats._retry import RetryPolicy, retry_call
from asyncmailstats._transport import Timeout
from asyncmailstats.getresponse import Grouping
from asyncmailstats.getresponse._convert import CONVERTER as GR_CONVERTER
from asyncmailstats.getresponse._wire import decode_result, period_start, stats_series
from asyncmailstats.getresponse.models import PeriodStats
from asyncmailstats.postmark import _convert as postmark_convert
from asyncmailstats.postmark import _wire
from asyncmailstats.postmark._convert import CONVERTER
from asyncmailstats.postmark.models import ClientInfo, Geo, Open, OSInfo

_JSON = {"content-type": "application/json; charset=utf-8"}


def _interleaved(
    pieces: Sequence[tuple[str, Callable[[], Any]]], items: int, *, rounds: int = 5
) -> list[tuple[str, float, float]]:
    """Time every piece in turn, *rounds* times; return (name, best, median) us per item.

    Times are process CPU time per call; interleaving spreads the disturbance of other
    processes over every piece alike, and the best call is the least disturbed.
    """
    durations: dict[str, list[float]] = {name: [] for name, _ in pieces}
    for _ in range(rounds):
        for name, fn in pieces:

            def run(fn: Callable[[], Any] = fn) -> int:
                fn()
                return items

            durations[name] += call_times(run, min_seconds=0.05)[1]
    return [
        (
            name,
            min(durations[name]) / items * 1e6,
            statistics.median(durations[name]) / items * 1e6,
        )
        for name, _ in pieces
    ]


def _breakdown_table(
    title: str, unit: str, rows: list[tuple[str, float, float]], total_row: int
) -> Table:
    table = Table(title, ["piece", f"best {unit}", f"median {unit}", "best, share"])
    total = rows[total_row][1]
    for name, best, median in rows:
        table.add(name, round(best, 2), round(median, 2), f"{best / total:.0%}")
    return table


# -- A. structuring one open ---------------------------------------------------------------


def structuring_breakdown() -> Table:
    """Time the pieces of structuring a page of 500 opens."""
    body = postmark_pages()["Opens"]
    response = Response(200, _JSON, body)
    records = orjson.loads(body)["Opens"]
    n = len(records)
    hook = CONVERTER.get_structure_hook(Open)
    client_hook = CONVERTER.get_structure_hook(ClientInfo)
    os_hook = CONVERTER.get_structure_hook(OSInfo)
    geo_hook = CONVERTER.get_structure_hook(Geo)
    read_keys = hook.__globals__["IG"]  # the generated function's itemgetter
    production = [hook(r, Open) for r in records]
    kwargs = [attr_values(o) for o in production]
    stamps = [r["ReceivedAt"] for r in records]
    geos = [r.get("Geo") for r in records]
    clients = [r.get("Client") for r in records]
    systems = [r.get("OS") for r in records]
    complete = sum(1 for r in records if all(k in r for k in _wire_keys(Open)))

    def decode() -> Any:
        return _wire.OPENS.decode(response)

    pieces: list[tuple[str, Callable[[], Any]]] = [
        ("orjson.loads (whole page)", lambda: orjson.loads(body)),
        ("OPENS.decode (production, whole page)", decode),
        ("  the same with the cyclic GC disabled (diagnostic)", lambda: _without_gc(decode)),
        ("  generated Open hook only (dicts in)", lambda: [hook(r, Open) for r in records]),
        (
            "    reading every key (one itemgetter call)",
            lambda: [_keys(read_keys, r) for r in records],
        ),
        ("    parse_datetime(ReceivedAt)", lambda: [parse_datetime(s) for s in stamps]),
        (
            "    nested ClientInfo + OSInfo + Geo hooks",
            lambda: [
                (client_hook(a, ClientInfo), os_hook(b, OSInfo), geo_hook(g, Geo))
                for a, b, g in zip(clients, systems, geos, strict=True)
            ],
        ),
        (
            "  for comparison: Open(**fields), attrs' __init__",
            lambda: [Open(**k) for k in kwargs],
        ),
    ]
    table = _breakdown_table(
        f"Profile A: structuring {n} opens, piece by piece",
        "us/record",
        _interleaved(pieces, n),
        1,
    )
    table.notes += [
        "converter: detailed_validation=False, forbid_extra_keys=False (production)",
        "process CPU time per call of 500 records, pieces interleaved",
        (
            f"{complete} of {n} records carry every key (one itemgetter call reads them); "
            "the others are read key by key"
        ),
        (
            "the generated hook fills a mutable twin of Open's slots and turns it into an "
            "Open; the __init__ row is what building through attrs would cost instead"
        ),
    ]
    return table


def _wire_keys(cls: type) -> list[str]:
    """Return the wire names of *cls*'s fields, the keys its generated hook reads."""
    renames = dict(postmark_convert._RENAMES)[cls]  # noqa: SLF001
    return [renames.get(f.name, f.name) for f in attrs.fields(cls) if f.name != "extra"]


def _keys(getter: Any, record: dict[str, Any]) -> Any:
    try:
        return getter(record)
    except KeyError:
        return None


def periods_breakdown() -> Table:
    """Time GetResponse's period decoding, piece by piece."""
    body, message_id, n = stats_reply()
    response = Response(200, _JSON, body)
    hook = GR_CONVERTER.get_structure_hook(PeriodStats)

    def production() -> Any:
        result = decode_result(response, method="get_message_stats", call_id=1)
        return stats_series(result, message_id=message_id, grouping=Grouping.HOURLY)

    result = orjson.loads(body)["result"]
    starts = list(result)
    rows = [
        {**counters, "period": p, "start": period_start(p, Grouping.HOURLY)}
        for p, counters in result.items()
    ]
    pieces: list[tuple[str, Callable[[], Any]]] = [
        ("orjson.loads (whole reply)", lambda: orjson.loads(body)),
        ("decode_result + stats_series (production)", production),
        (
            "  period_start (each key read once, then remembered)",
            lambda: [period_start(p, Grouping.HOURLY) for p in starts],
        ),
        (
            "  generated PeriodStats hook only (dicts in)",
            lambda: [hook(r, PeriodStats) for r in rows],
        ),
    ]
    return _breakdown_table(
        f"Profile A2: GetResponse get_message_stats, {n} hourly periods",
        "us/period",
        _interleaved(pieces, n),
        1,
    )


def _ignore(_: Response) -> None:
    return None


def _without_gc(fn: Callable[[], Any]) -> Any:
    gc.disable()
    try:
        return fn()
    finally:
        gc.enable()


def attr_values(obj: Any) -> dict[str, Any]:
    """Return an attrs instance's fields as keyword arguments."""
    return {field.name: getattr(obj, field.name) for field in attrs.fields(type(obj))}


# -- B. the library's own cost per request and per page --------------------------------------


class CannedTransport:
    """A transport that answers every request with the same response, without I/O."""

    def __init__(self, response: Response) -> None:
        self.response = response
        self.sent = 0

    def open(self) -> None:
        return None

    async def send(self, request: Request, url: str, timeout: Timeout) -> Response:
        self.sent += 1
        return self.response

    async def aclose(self) -> None:
        return None


async def _timed(fn: Callable[[], Awaitable[Any]], count: int) -> float:
    """Return the process CPU microseconds per call of ``await fn()``, best of 3."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(count):
            await fn()
        best = min(best, time.process_time() - started)
    return best / count * 1e6


async def _overheads() -> list[tuple[str, float, str]]:
    rows: list[tuple[str, float, str]] = []
    count = 20_000
    ok = Response(200, _JSON, b"{}")

    async def nothing() -> None:
        return None

    rows.append(("await a coroutine that returns at once", await _timed(nothing, count), "call"))
    limiter = Limiter(Limits(max_concurrency=16))

    async def slot() -> None:
        await limiter.acquire()
        limiter.release()

    rows.append(("Limiter.acquire + release (free slot)", await _timed(slot, count), "call"))
    policy = RetryPolicy()

    async def retried() -> None:
        await retry_call(nothing, policy)

    rows.append(
        ("retry_call around a coroutine that succeeds", await _timed(retried, count), "call")
    )
    request = _wire.details_request("00000000-0000-4000-8000-000000000000")
    headers = {"X-Postmark-Server-Token": "canned", "Accept": "application/json"}

    async def evolve() -> None:
        attrs.evolve(request, headers=headers)

    async def direct() -> None:
        Request(
            request.method,
            request.path,
            request.params,
            headers,
            request.body,
            request.endpoint,
        )

    rows.append(
        ("attrs.evolve(request, headers=...) (+ await)", await _timed(evolve, count), "call")
    )
    rows.append(("Request(...) built directly (+ await)", await _timed(direct, count), "call"))
    async with Session(transport=CannedTransport(ok)) as session:
        pm = session.postmark(server_token="canned", base_url="http://127.0.0.1:9")
        client = pm._client  # noqa: SLF001 - measuring the private request path

        async def call() -> None:
            await client.call(request, _ignore)

        rows.append(
            ("ProviderClient.call, canned reply, no decode", await _timed(call, count), "call")
        )

    # The same 500 opens on every page, under a total of 10 000: 20 pages.
    page = orjson.loads(postmark_pages()["Opens"])
    page_reply = Response(200, _JSON, orjson.dumps({**page, "TotalCount": 10_000}))
    transport = CannedTransport(page_reply)
    streamed = 0
    async with Session(transport=transport) as session:
        pm = session.postmark(server_token="canned", base_url="http://127.0.0.1:9")

        async def stream() -> None:
            nonlocal streamed
            async for _ in pm.opens(limit=10_000):
                streamed += 1

        await stream()
        if streamed != 10_000:
            msg = f"the canned stream gave {streamed} opens, not 10 000"
            raise AssertionError(msg)
        per_item = await _timed(stream, 5) / 10_000
        rows.append(("opens() 10 000 records, canned pages (decode included)", per_item, "record"))

    items = list(range(500))

    async def fetch(_offset: int, count: int) -> tuple[Sequence[int], int]:
        return items[:count], 10_000

    async def paginate() -> None:
        async for _ in offset_paginator(
            fetch, limit=None, page_size=500, max_page_size=500, prefetch=4
        ):
            pass

    async def by_page() -> None:
        paginator = offset_paginator(
            fetch, limit=None, page_size=500, max_page_size=500, prefetch=4
        )
        async for page in paginator.pages():
            for _ in page.items:
                pass

    async def plain() -> None:
        for offset in range(0, 10_000, 500):
            page, _ = await fetch(offset, 500)
            for _ in page:
                pass

    paged = await _timed(paginate, 20) / 10_000
    pages_only = await _timed(by_page, 20) / 10_000
    bare = await _timed(plain, 20) / 10_000
    rows.append(("async for item in Paginator (in-memory pages, prefetch 4)", paged, "record"))
    rows.append(("async for page in Paginator.pages(), items looped", pages_only, "record"))
    rows.append(("plain loop over the same in-memory pages", bare, "record"))
    rows.append(("  per-item async iteration (first - second row)", paged - pages_only, "record"))
    rows.append(
        ("  paging bookkeeping (second - third row) x 500", (pages_only - bare) * 500, "page")
    )
    return rows


def overhead_table(loop: str) -> Table:
    """Time the library's per-call and per-page costs without sockets."""
    rows = run_async(_overheads, loop)
    table = Table(
        f"Profile B: the library's own cost without sockets ({loop}, CPU time, best of 3)",
        ["what", "us", "per"],
    )
    for name, value, per in rows:
        table.add(name, round(value, 2), per)
    return table


# -- C. sampled profiles against the fake ---------------------------------------------------

_AREAS: tuple[tuple[str, str], ...] = (
    ("<asyncmailstats fast structure", "structuring (generated straight-line functions)"),
    ("<cattrs generated", "structuring (cattrs hooks)"),
    ("<attrs generated", "structuring (attrs __init__)"),
    ("asyncmailstats/postmark/_convert", "structuring (custom hooks)"),
    ("asyncmailstats/_convert", "structuring (base hooks, datetimes)"),
    ("asyncmailstats/postmark/_wire", "requests and decode (wire, incl. orjson)"),
    ("asyncmailstats/postmark/_args", "argument checks"),
    ("asyncmailstats/_paging", "paging"),
    ("asyncmailstats/_fanout", "fan-out"),
    ("asyncmailstats/_limiter", "limiter"),
    ("asyncmailstats/_retry", "retry loop"),
    ("asyncmailstats/_client", "provider client"),
    ("asyncmailstats/_transport", "transport (our code)"),
    ("asyncmailstats/", "other library code"),
    ("aiohttp/", "aiohttp"),
    ("yarl/", "aiohttp (yarl URLs)"),
    ("multidict", "aiohttp (multidict)"),
    ("selectors", "event loop idle (select)"),
    ("asyncio/", "asyncio"),
    ("benchmarks/", "benchmark harness"),
)


def _area(function: str, path: str) -> str:
    if path.startswith("<built-in"):
        if function == "loads":
            return "JSON parsing (orjson, C)"
        if function.startswith("socket."):
            return "socket system calls"
        if "poll" in function or "select" in function:
            return "event loop idle (select)"
        return "other C built-ins"
    for marker, name in _AREAS:
        if marker in path:
            return name
    return "other"


def _self_times(frame: Any, out: collections.Counter[tuple[str, str]]) -> None:
    children = [child for child in frame.children if not child.is_synthetic]
    own = frame.time - sum(child.time for child in children)
    out[(frame.function, frame.file_path or "")] += own
    for child in children:
        _self_times(child, out)


def sampled(server: ServerProcess, loop: str) -> list[Table]:
    """Profile streaming opens and fanning out details at zero latency."""
    info = server.info["postmark"]
    url, token = info["url"], info["token"]
    ids = info["message_ids"][:2000]
    jobs: dict[str, Callable[[], Awaitable[Any]]] = {
        "stream 10 000 opens, prefetch 4": lambda: c.ams_opens(
            url, token, limit=10_000, prefetch=4
        ),
        "fan out 2 000 message_details, concurrency 32": lambda: c.ams_details(
            url, token, ids, concurrency=32
        ),
    }
    tables = []
    server.set_latency(0.0)
    for title, job in jobs.items():

        async def profiled(job: Callable[[], Awaitable[Any]] = job) -> Any:
            await job()  # warm-up
            profiler = Profiler(interval=0.0005, async_mode="disabled")
            profiler.start()
            for _ in range(3):
                await job()
            profiler.stop()
            return profiler.last_session

        session = run_async(profiled, loop)
        totals: collections.Counter[tuple[str, str]] = collections.Counter()
        root = session.root_frame()
        if root is not None:
            _self_times(root, totals)
        whole = sum(totals.values()) or 1.0
        areas: collections.Counter[str] = collections.Counter()
        for (function, path), seconds in totals.items():
            areas[_area(function, path)] += seconds
        table = Table(
            f"Profile C: {title} (pyinstrument, zero latency, {loop}, 3 runs)",
            ["area / function", "self ms", "share"],
        )
        for name, seconds in areas.most_common():
            table.add(name, round(seconds * 1000, 1), f"{seconds / whole:.1%}")
        table.add("--- top functions by self time ---", None, None)
        for (function, path), seconds in totals.most_common(15):
            short = path.rsplit("site-packages/", 1)[-1].rsplit("/work/main/", 1)[-1]
            table.add(f"{function} ({short})", round(seconds * 1000, 1), f"{seconds / whole:.1%}")
        table.notes.append(
            "self time of C functions (orjson.loads, datetime.fromisoformat, socket calls) "
            "is counted in the Python function that calls them"
        )
        tables.append(table)
    return tables
