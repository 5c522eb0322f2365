"""Streaming at a fixed latency: 10 000 opens, and every message across date windows.

Opens: Postmark serves at most ``count + offset <= 10 000`` opens, so 10 000 opens are
exactly 20 pages of 500 (21 for asyncmailstats, whose pages after the first each re-read
the last record of the page before, to stay exact over a live list). asyncmailstats
(prefetch 1, 4, 8, 16) runs against the official SDK's own sequential paging, postmarker
(synchronous, in a worker thread) and a hand-written aiohttp + orjson reference with the
same number of pages in flight.

Messages: ``outbound_messages()`` reads ~100 000 messages in date windows of at most
10 000 (every window probed with its first page, which is then not requested again; a
window over the ceiling cut at once into slices of about 8 000 results, again while a
slice is over it; the next windows probed while one is read), against the reference
doing the same searches by hand.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import Any

import _contenders as c
from _harness import Contender, Sample, Series, Table, alternate, cpu_median, ms, ratio
from _servers import ServerProcess, aware

OPENS = 10_000
OPENS_PREFETCH = (1, 4, 8, 16)
DEFAULT_PREFETCH = 4


def _recorder(server: ServerProcess, name: str) -> tuple[Any, Any]:
    def between() -> None:
        server.reset()

    def after(sample: Sample) -> None:
        sample.extra.update(server.stats()[name])

    return between, after


async def opens(server: ServerProcess, *, rounds: int, fake: str = "postmark") -> list[Series]:
    """Time every contender streaming 10 000 opens; return their series."""
    info = server.info[fake]
    url, token = info["url"], info["token"]
    contenders = [
        Contender(
            f"asyncmailstats prefetch={p}",
            functools.partial(c.ams_opens, url, token, limit=OPENS, prefetch=p),
            OPENS,
            {"in_flight": p, "client": "asyncmailstats"},
        )
        for p in OPENS_PREFETCH
    ]
    contenders += [
        Contender(
            f"reference in-flight={p}",
            functools.partial(c.ref_opens, url, token, limit=OPENS, in_flight=p),
            OPENS,
            {"in_flight": p, "client": "reference"},
        )
        for p in OPENS_PREFETCH
    ]
    contenders.append(
        Contender(
            "official SDK paginate (sequential)",
            lambda: c.sdk_opens(url, token, limit=OPENS),
            OPENS,
            {"in_flight": 1, "client": "sdk"},
        )
    )
    contenders.append(
        Contender(
            "postmarker opens.all (sync, thread)",
            lambda: c.postmarker_opens(url, token, limit=OPENS),
            OPENS,
            {"in_flight": 1, "client": "postmarker"},
        )
    )
    between, after = _recorder(server, fake)
    return await alternate(contenders, rounds=rounds, between=between, after=after)


def message_bounds(
    server: ServerProcess, fake: str = "postmark"
) -> tuple[dt.datetime, dt.datetime]:
    """Return a range covering the whole dataset of the fake (it spans its retention)."""
    info = server.info[fake]
    now = aware(info["now"])
    days = info["options"].get("retention_days", 45)
    return now - dt.timedelta(days=days + 1), now + dt.timedelta(seconds=1)


async def messages(
    server: ServerProcess, *, rounds: int, fake: str = "postmark", prefetch: int = DEFAULT_PREFETCH
) -> list[Series]:
    """Time ``outbound_messages()`` and the reference over the same windows."""
    info = server.info[fake]
    url, token = info["url"], info["token"]
    lower, upper = message_bounds(server, fake)
    expected = info["outbound_messages"]
    contenders = [
        Contender(
            f"asyncmailstats prefetch={prefetch}",
            lambda: c.ams_messages(url, token, lower=lower, upper=upper, prefetch=prefetch),
            expected,
            {"in_flight": prefetch, "client": "asyncmailstats"},
        ),
        Contender(
            f"reference in-flight={prefetch}",
            lambda: c.ref_messages(url, token, lower=lower, upper=upper, in_flight=prefetch),
            expected,
            {"in_flight": prefetch, "client": "reference"},
        ),
    ]
    between, after = _recorder(server, fake)
    return await alternate(contenders, rounds=rounds, between=between, after=after)


# -- tables --------------------------------------------------------------------------------


def opens_table(by_loop: dict[str, list[Series]], latency: float) -> Table:
    """Tabulate the opens runs of every loop kind."""
    pages = math.ceil(OPENS / c.PAGE)
    table = Table(
        f"Stream {OPENS:,} opens ({pages} pages of {c.PAGE}) at {ms(latency)} ms latency",
        [
            "contender",
            "loop",
            "median ms",
            "min ms",
            "SDK / this",
            "this / ref",
            "ideal ms",
            "floor ms",
            "client CPU ms",
            "server max in flight",
        ],
    )
    for loop, series in by_loop.items():
        sdk = next(s for s in series if s.info["client"] == "sdk")
        refs = {s.info["in_flight"]: s for s in series if s.info["client"] == "reference"}
        for s in series:
            n = s.info["in_flight"]
            ref = refs.get(n) if s.info["client"] == "asyncmailstats" else None
            ideal = pages * latency / n
            floor = (1 + math.ceil((pages - 1) / n)) * latency
            table.add(
                s.name,
                loop,
                ms(s.median),
                ms(s.best),
                ratio(sdk.median, s.median),
                ratio(s.median, ref.median) if ref else None,
                ms(ideal),
                ms(floor),
                ms(cpu_median(s)),
                max(x.extra.get("max_in_flight", 0) for x in s.samples),
            )
    table.notes += [
        (
            "ideal = pages x latency / in-flight; floor = (1 + ceil((pages-1)/in-flight)) x "
            "latency: the total is only known after the first page, so it is alone in flight"
        ),
        "SDK / this > 1 means this contender is that many times faster than the SDK",
        "this / ref compares asyncmailstats with the reference at the same pages in flight",
        (
            "client CPU = CPU time of the benchmark process during the run (median): when it "
            "is above the floor, the client's own work is the bound, not the network"
        ),
    ]
    return table


def messages_table(
    by_loop: dict[str, list[Series]], latency: float, outbound: int, prefetch: int
) -> Table:
    """Tabulate the windowed-messages runs of every loop kind."""
    pages = math.ceil(outbound / c.PAGE)
    ideal = pages * latency / prefetch
    table = Table(
        f"Stream {outbound:,} messages across date windows at {ms(latency)} ms latency",
        [
            "contender",
            "loop",
            "median ms",
            "min ms",
            "this / ref",
            "ideal ms",
            "requests",
            "records/s",
        ],
    )
    for loop, series in by_loop.items():
        ref = next(s for s in series if s.info["client"] == "reference")
        for s in series:
            table.add(
                s.name,
                loop,
                ms(s.median),
                ms(s.best),
                ratio(s.median, ref.median) if s is not ref else None,
                ms(ideal),
                s.samples[-1].extra.get("requests"),
                round(s.records / s.median),
            )
    table.notes += [
        f"ideal = {pages} pages x latency / {prefetch} in flight (no window probes)",
        (
            "requests counts every request the fake saw: window probes and pages (a probe "
            "that is read is its window's first page; one cut into slices is the extra cost)"
        ),
    ]
    return table
