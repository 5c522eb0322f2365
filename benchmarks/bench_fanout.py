"""Fan-out: fetch the details of many messages at a bounded concurrency.

asyncmailstats runs ``fan_out(pm.message_details, ids, concurrency=c)`` on a session with
``Limits(max_concurrency=c)``; the official SDK has no fan-out, so it runs
``asyncio.gather`` over ``client.outbound.get(id)`` under an ``asyncio.Semaphore(c)``;
the reference does the same with aiohttp + orjson, decoding to dicts.
"""

from __future__ import annotations

import _contenders as c
from _harness import Contender, Sample, Series, Table, alternate, ms, ratio
from _servers import ServerProcess

CONCURRENCY = (8, 32, 128)
#: The concurrency of the target, where the SDK runs every round.
TARGET_CONCURRENCY = 32
#: Requests of the SDK's (lighter) warm-up run.
WARMUP = 100


async def details(
    server: ServerProcess,
    *,
    count: int,
    concurrency: int,
    rounds: int,
    sdk_rounds: int,
    fake: str = "postmark",
) -> list[Series]:
    """Time every contender fetching *count* message details at *concurrency*.

    The SDK is an order of magnitude slower here, so it may take part in fewer rounds
    (*sdk_rounds*; 0 leaves it out) to keep the whole run short.
    """
    info = server.info[fake]
    url, token = info["url"], info["token"]
    ids = info["message_ids"][:count]
    if len(ids) < count:
        msg = f"the fake has only {len(ids)} message ids, {count} wanted"
        raise ValueError(msg)
    meta = {"concurrency": concurrency}
    contenders = [
        Contender(
            f"asyncmailstats fan_out c={concurrency}",
            lambda: c.ams_details(url, token, ids, concurrency=concurrency),
            count,
            {**meta, "client": "asyncmailstats"},
        ),
        Contender(
            f"official SDK gather+semaphore c={concurrency}",
            lambda: c.sdk_details(url, token, ids, concurrency=concurrency),
            count,
            {**meta, "client": "sdk"},
            rounds=sdk_rounds,
            warmup=lambda: c.sdk_details(url, token, ids[:WARMUP], concurrency=concurrency),
        ),
        Contender(
            f"reference gather+semaphore c={concurrency}",
            lambda: c.ref_details(url, token, ids, concurrency=concurrency),
            count,
            {**meta, "client": "reference"},
        ),
    ]

    def between() -> None:
        server.reset()

    def after(sample: Sample) -> None:
        sample.extra.update(server.stats()[fake])

    if sdk_rounds == 0:
        contenders = [x for x in contenders if x.info["client"] != "sdk"]
    return await alternate(contenders, rounds=rounds, between=between, after=after)


def details_table(by_loop: dict[str, list[Series]], latency: float, count: int) -> Table:
    """Tabulate the fan-out runs of every loop kind and concurrency."""
    table = Table(
        f"Fan-out {count:,} message_details at {ms(latency)} ms latency",
        [
            "contender",
            "loop",
            "runs",
            "median ms",
            "min ms",
            "SDK / this",
            "this / ref",
            "ideal ms",
            "requests/s",
            "server max in flight",
        ],
    )
    sdk_of: dict[int, Series] = {}
    for series in by_loop.values():
        for s in series:
            if s.info["client"] == "sdk":
                sdk_of.setdefault(s.info["concurrency"], s)
    for loop, series in by_loop.items():
        for conc in sorted({s.info["concurrency"] for s in series}):
            group = [s for s in series if s.info["concurrency"] == conc]
            sdk = sdk_of.get(conc)
            ref = next(s for s in group if s.info["client"] == "reference")
            for s in group:
                table.add(
                    s.name,
                    loop,
                    len(s.samples),
                    ms(s.median),
                    ms(s.best),
                    ratio(sdk.median, s.median) if sdk else None,
                    ratio(s.median, ref.median) if s is not ref else None,
                    ms(count * latency / conc),
                    round(s.records / s.median),
                    max(x.extra.get("max_in_flight", 0) for x in s.samples),
                )
    table.notes += [
        "ideal = n x latency / concurrency",
        (
            "the SDK runs on the first loop only, and every round only at the target's "
            f"concurrency ({TARGET_CONCURRENCY}); other rows compare with that SDK figure"
        ),
        (
            "the SDK's httpx client keeps at most 100 connections (httpx's default pool), "
            "so it cannot go above 100 in flight"
        ),
    ]
    return table
