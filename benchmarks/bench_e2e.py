"""End to end at zero latency: records per second of streaming 10 000 opens.

With no network delay the stream is bound by the client's own work: reading bodies,
decoding JSON, structuring records and the paging bookkeeping. The fake answers
instantly (from its cache of rendered records); it runs in its own process.
"""

from __future__ import annotations

import functools

import _contenders as c
from _harness import Contender, Sample, Series, Table, alternate, cpu_median, ratio
from _servers import ServerProcess

OPENS = 10_000
PREFETCH = (4, 8)


async def opens(server: ServerProcess, *, rounds: int, fake: str = "postmark") -> list[Series]:
    """Time every contender streaming 10 000 opens with the fake at zero latency."""
    info = server.info[fake]
    url, token = info["url"], info["token"]
    contenders = [
        Contender(
            f"asyncmailstats prefetch={p}",
            functools.partial(c.ams_opens, url, token, limit=OPENS, prefetch=p),
            OPENS,
            {"in_flight": p, "client": "asyncmailstats"},
        )
        for p in PREFETCH
    ]
    contenders += [
        Contender(
            f"reference in-flight={p}",
            functools.partial(c.ref_opens, url, token, limit=OPENS, in_flight=p),
            OPENS,
            {"in_flight": p, "client": "reference"},
        )
        for p in PREFETCH
    ]
    contenders += [
        Contender(
            "official SDK paginate (sequential)",
            lambda: c.sdk_opens(url, token, limit=OPENS),
            OPENS,
            {"in_flight": 1, "client": "sdk"},
        ),
        Contender(
            "postmarker opens.all (sync, thread)",
            lambda: c.postmarker_opens(url, token, limit=OPENS),
            OPENS,
            {"in_flight": 1, "client": "postmarker"},
        ),
    ]

    def between() -> None:
        server.reset()

    def after(sample: Sample) -> None:
        sample.extra.update(server.stats()[fake])

    return await alternate(contenders, rounds=rounds, between=between, after=after)


def opens_table(by_loop: dict[str, list[Series]]) -> Table:
    """Tabulate the zero-latency runs of every loop kind."""
    table = Table(
        f"End to end at zero latency: stream {OPENS:,} opens",
        [
            "contender",
            "loop",
            "median ms",
            "records/s",
            "client CPU ms",
            "this / SDK (rec/s)",
            "time / ref",
        ],
    )
    for loop, series in by_loop.items():
        sdk = next(s for s in series if s.info["client"] == "sdk")
        refs = {s.info["in_flight"]: s for s in series if s.info["client"] == "reference"}
        for s in series:
            ref = refs.get(s.info["in_flight"]) if s.info["client"] == "asyncmailstats" else None
            table.add(
                s.name,
                loop,
                round(s.median * 1000, 1),
                round(s.records / s.median),
                round(cpu_median(s) * 1000, 1),
                ratio(sdk.median, s.median),
                ratio(s.median, ref.median) if ref else None,
            )
    table.notes += [
        "client CPU = process CPU time of the benchmark process during the run (median)",
        "time / ref compares asyncmailstats with the reference at the same pages in flight",
    ]
    return table
