"""Memory: peak RSS of a process streaming 10 000, 100 000 and 1 000 000 records.

Each size runs in a fresh child process (``python bench_memory.py child ...``) that
imports the library, opens a session, reads its resident set size (the baseline), then
streams and discards the records, reading the RSS (``/proc/self/statm``) every 250
records; the peak of those readings is the streaming peak. (``ru_maxrss`` is kept in
the JSON only: Linux carries it across ``exec``, so a child's value starts at its
parent's resident size.) A stream that keeps nothing behind it shows the same growth
for every size.

The records are EmailConsul ``link_stats(group="ip")`` rows from a fake holding about a
million link logs with distinct IP addresses (1 000 rows per page), served by a fake in
a third process; ``outbound_messages()`` over Postmark date windows is measured the same
way for 10 000 and 100 000 messages.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _harness import Table, run_async
from _servers import ServerProcess, aware

import asyncmailstats as ams

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
#: Link logs in the big EmailConsul fake: enough for a million distinct IP addresses.
LINK_LOGS = 1_035_000
QUICK_LINK_LOGS = 101_000
#: Records between two readings of the resident set size.
SAMPLE_EVERY = 250


def emailconsul_spec(*, quick: bool) -> dict[str, tuple[str, dict[str, Any]]]:
    """Return the server spec of the big EmailConsul fake."""
    logs = QUICK_LINK_LOGS if quick else LINK_LOGS
    return {
        "emailconsul": (
            "emailconsul",
            {"link_logs": logs, "pixel_logs": 0, "deliveries": 0, "seed": 3},
        )
    }


def _period(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    return now - dt.timedelta(days=31), now + dt.timedelta(seconds=1)


def warm(server: ServerProcess) -> float:
    """Ask the fake once, so it aggregates its rows before any child is timed."""
    info = server.info["emailconsul"]
    lower, upper = _period(aware(info["now"]))

    async def first() -> None:
        async with ams.Session() as session:
            ec = session.emailconsul(api_key=info["api_key"], base_url=info["url"])
            page = await ec.link_stats(
                period_from=lower, period_to=upper, group="ip", page_size=1
            ).first_page()
            info["rows"] = page.total

    started = time.perf_counter()
    run_async(first, "asyncio")
    return time.perf_counter() - started


def run_child(kind: str, info: dict[str, Any], limit: int, extra: dict[str, Any]) -> dict[str, Any]:
    """Run one streaming child process and return what it reports."""
    args = {
        "kind": kind,
        "url": info["url"],
        "secret": info.get("api_key") or info["token"],
        "now": info["now"],
        "limit": limit,
        **extra,
    }
    command = [sys.executable, str(Path(__file__).resolve()), "child", json.dumps(args)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)  # noqa: S603
    if done.returncode != 0:
        msg = f"memory child failed ({done.returncode}): {done.stderr[-2000:]}"
        raise RuntimeError(msg)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mib() -> float:
    with Path("/proc/self/statm").open() as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / (1024 * 1024)


async def _stream(args: dict[str, Any]) -> dict[str, Any]:
    now = aware(args["now"])
    async with ams.Session() as session:
        if args["kind"] == "linkstats":
            ec = session.emailconsul(api_key=args["secret"], base_url=args["url"])
            lower, upper = _period(now)
            stream: Any = ec.link_stats(
                period_from=lower, period_to=upper, group="ip", limit=args["limit"]
            )
        else:
            pm = session.postmark(server_token=args["secret"], base_url=args["url"])
            stream = pm.outbound_messages(
                from_date=aware(args["lower"]), to_date=aware(args["upper"]), limit=args["limit"]
            )
        baseline = _maxrss_mib()
        baseline_rss = peak_rss = _rss_mib()
        started = time.perf_counter()
        records = 0
        async for _ in stream:
            records += 1
            if not records % SAMPLE_EVERY:
                peak_rss = max(peak_rss, _rss_mib())
        seconds = time.perf_counter() - started
        peak_rss = max(peak_rss, _rss_mib())
    return {
        "records": records,
        "seconds": seconds,
        "baseline_maxrss_mib": baseline,
        "peak_maxrss_mib": _maxrss_mib(),
        "baseline_rss_mib": baseline_rss,
        "peak_rss_mib": peak_rss,
        "end_rss_mib": _rss_mib(),
    }


def child(raw: str) -> None:
    """Stream the records one child is asked for and print a JSON report."""
    args = json.loads(raw)
    report = asyncio.run(_stream(args))
    if report["records"] != args["limit"]:
        msg = f"streamed {report['records']} records, wanted {args['limit']}"
        raise SystemExit(msg)
    print(json.dumps(report))


def measure(
    big: ServerProcess, postmark: ServerProcess | None, *, quick: bool
) -> list[dict[str, Any]]:
    """Run one child per size and endpoint; return their reports."""
    reports = []
    sizes = QUICK_SIZES if quick else SIZES
    info = big.info["emailconsul"]
    for size in sizes:
        if size > info.get("rows", 0):
            msg = f"the EmailConsul fake has {info.get('rows')} rows, fewer than {size}"
            raise RuntimeError(msg)
        report = run_child("linkstats", info, size, {})
        reports.append({"endpoint": "emailconsul link_stats(group=ip)", "size": size, **report})
    if postmark is not None:
        pinfo = postmark.info["postmark"]
        now = aware(pinfo["now"])
        days = pinfo["options"].get("retention_days", 45)
        bounds = {
            "lower": (now - dt.timedelta(days=days + 1)).isoformat(),
            "upper": (now + dt.timedelta(seconds=1)).isoformat(),
        }
        for size in (10_000, 100_000):
            if size > pinfo["outbound_messages"]:
                continue
            report = run_child("messages", pinfo, size, bounds)
            reports.append({"endpoint": "postmark outbound_messages()", "size": size, **report})
    return reports


def memory_table(reports: list[dict[str, Any]], big: ServerProcess, warm_seconds: float) -> Table:
    """Tabulate peak RSS per endpoint and size."""
    table = Table(
        "Memory: peak RSS while streaming (one child process per run)",
        [
            "endpoint",
            "records",
            "baseline RSS MiB",
            "peak RSS MiB",
            "growth MiB",
            "seconds",
            "records/s",
        ],
    )
    for r in reports:
        table.add(
            r["endpoint"],
            r["size"],
            round(r["baseline_rss_mib"], 1),
            round(r["peak_rss_mib"], 1),
            round(r["peak_rss_mib"] - r["baseline_rss_mib"], 1),
            round(r["seconds"], 2),
            round(r["records"] / r["seconds"]),
        )
    info = big.info["emailconsul"]
    table.notes += [
        (
            f"EmailConsul fake: {info['options']['link_logs']:,} link logs, "
            f"{info.get('rows', 0):,} distinct IPs; generated in {info['generate_seconds']:.1f} s, "
            f"first aggregation {warm_seconds:.1f} s, process ready after {big.start_seconds:.1f} s"
        ),
        (
            "baseline = RSS after imports and session set-up, before the first request; peak = "
            "the highest RSS read while streaming"
        ),
        "growth = peak - baseline: flat across sizes means nothing accumulates",
    ]
    return table


def main() -> None:
    """Entry point of the child processes (the parent is ``run.py``)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["child"])
    parser.add_argument("args")
    options = parser.parse_args()
    child(options.args)


if __name__ == "__main__":
    main()
