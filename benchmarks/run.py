"""Run the asyncmailstats benchmarks and print (and save) the results.

Usage (``nox -s bench`` runs this with the bench-only dependencies installed)::

    python benchmarks/run.py [--latency 0.02] [--rounds 5] [--loop both] [--quick]
                             [--only stream,messages,fanout,e2e,structure,memory,profile,sync]

The fakes run in a separate process on 127.0.0.1; the clients run here, one after the
other, alternating within each round. Results go to ``benchmarks/results/latest.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Any

import bench_e2e
import bench_fanout
import bench_memory
import bench_profile
import bench_stream
import bench_structure
import bench_sync
from _harness import Series, Table, available_loops, machine, run_async, write_results
from _servers import serving

BENCHES = ("structure", "stream", "messages", "fanout", "e2e", "profile", "memory", "sync")


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="asyncmailstats benchmarks")
    parser.add_argument("--latency", type=float, default=0.020, help="seconds per request")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per benchmark")
    parser.add_argument("--loop", choices=["asyncio", "uvloop", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="smaller datasets, fewer rounds")
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated benchmarks")
    parser.add_argument("--output", default=None, help="JSON file (default results/latest.json)")
    options = parser.parse_args(argv)
    options.only = [name.strip() for name in options.only.split(",") if name.strip()]
    unknown = sorted(set(options.only) - set(BENCHES))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    if options.rounds is None:
        options.rounds = 2 if options.quick else 5
    if options.rounds < 1 or options.latency < 0:
        parser.error("--rounds must be >= 1 and --latency >= 0")
    return options


class Run:
    """Collects tables and raw results while the benchmarks run."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.tables: list[Table] = []
        self.raw: dict[str, Any] = {}
        self.load: dict[str, Any] = {}
        self.started = time.perf_counter()

    def show(self, table: Table) -> None:
        self.tables.append(table)
        print(table.render(), flush=True)
        print(flush=True)

    def mark(self, name: str, phase: str) -> None:
        self.load.setdefault(name, {})[phase] = {
            "loadavg": os.getloadavg(),
            "elapsed": round(time.perf_counter() - self.started, 1),
        }
        if phase == "start":
            print(f"[{self.load[name][phase]['elapsed']:7.1f}s] {name} ...", flush=True)


def _series_json(by_loop: dict[str, list[Series]]) -> dict[str, Any]:
    return {loop: [s.as_json() for s in series] for loop, series in by_loop.items()}


def postmark_spec(quick: bool) -> dict[str, tuple[str, dict[str, Any]]]:
    """Return the main fake: enough outbound messages for ~100 000 (quick: ~20 000)."""
    messages = 25_000 if quick else 125_000
    return {"postmark": ("postmark", {"messages": messages, "seed": 1})}


def main(argv: list[str] | None = None) -> int:
    options = _options(argv)
    run = Run(options)
    loops = available_loops(options.loop)
    latency = options.latency
    fanout_count = 500 if options.quick else 2000
    info = machine()
    print(
        f"asyncmailstats benchmarks: {info['nproc']} CPUs ({info['cpu']}), Python "
        f"{info['python']}, loops {', '.join(loops)}, latency {latency * 1000:g} ms, "
        f"{options.rounds} rounds{' (quick)' if options.quick else ''}",
        flush=True,
    )
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}\n", flush=True)

    if "structure" in options.only:
        run.mark("structure", "start")
        rates = bench_structure.measure(options.rounds, min_seconds=0.1 if options.quick else 0.2)
        run.raw["structure"] = rates
        run.show(bench_structure.structure_table(rates))
        run.mark("structure", "end")

    network = {"stream", "messages", "fanout", "e2e", "profile", "memory"} & set(options.only)
    if network:
        run.mark("servers", "start")
        with serving(postmark_spec(options.quick), latency=latency) as server:
            pinfo = server.info["postmark"]
            run.raw["postmark_fake"] = {
                k: v for k, v in pinfo.items() if k not in {"message_ids", "token"}
            }
            run.raw["postmark_fake"]["ready_seconds"] = server.start_seconds
            print(
                f"FakePostmark: {pinfo['options']['messages']:,} messages generated in "
                f"{pinfo['generate_seconds']:.1f} s ({pinfo['outbound_messages']:,} outbound, "
                f"{pinfo['outbound_opens']:,} outbound opens); ready after "
                f"{server.start_seconds:.1f} s\n",
                flush=True,
            )
            run.mark("servers", "end")
            _network(run, server, loops, fanout_count)
            if "profile" in options.only:
                run.mark("profile", "start")
                run.show(bench_profile.structuring_breakdown())
                run.show(bench_profile.periods_breakdown())
                run.show(bench_profile.overhead_table(loops[0]))
                for table in bench_profile.sampled(server, loops[0]):
                    run.show(table)
                run.mark("profile", "end")
            if "memory" in options.only:
                server.set_latency(0.0)
                _memory(run, server)

    if "sync" in options.only:
        _sync(run)

    targets = _targets(run, latency)
    if targets.rows:
        run.show(targets)
    payload = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": info,
        "options": dict(vars(options)),
        "loops": loops,
        "load": run.load,
        "tables": [t.as_json() for t in run.tables],
        "raw": run.raw,
        "total_seconds": round(time.perf_counter() - run.started, 1),
    }
    loads = [mark["loadavg"][0] for marks in run.load.values() for mark in marks.values()]
    if loads:
        print(f"1-minute load average during the run: {min(loads):.2f} to {max(loads):.2f}")
    path = write_results(payload, None if options.output is None else Path(options.output))
    print(f"results written to {path} ({payload['total_seconds']} s in all)")
    return 0


def _network(run: Run, server: Any, loops: list[str], fanout_count: int) -> None:
    options = run.options
    latency = options.latency
    rounds = options.rounds
    # The long benchmarks (100 000 messages, 2 000 details) take fewer rounds.
    heavy = min(rounds, 3)
    opens: dict[str, list[Series]] = {}
    messages: dict[str, list[Series]] = {}
    fanout: dict[str, list[Series]] = {}
    e2e: dict[str, list[Series]] = {}
    for loop in loops:

        async def at_latency(loop: str = loop) -> None:
            server.set_latency(latency)
            if "stream" in options.only:
                run.mark(f"stream/{loop}", "start")
                opens[loop] = await bench_stream.opens(server, rounds=rounds)
                run.mark(f"stream/{loop}", "end")
            if "messages" in options.only:
                run.mark(f"messages/{loop}", "start")
                messages[loop] = await bench_stream.messages(server, rounds=heavy)
                run.mark(f"messages/{loop}", "end")
            if "fanout" in options.only:
                run.mark(f"fanout/{loop}", "start")
                fanout[loop] = []
                for conc in bench_fanout.CONCURRENCY:
                    sdk_rounds = 0
                    if loop == loops[0]:
                        sdk_rounds = heavy if conc == bench_fanout.TARGET_CONCURRENCY else 1
                    fanout[loop] += await bench_fanout.details(
                        server,
                        count=fanout_count,
                        concurrency=conc,
                        rounds=heavy,
                        sdk_rounds=sdk_rounds,
                    )
                run.mark(f"fanout/{loop}", "end")
            if "e2e" in options.only:
                run.mark(f"e2e/{loop}", "start")
                server.set_latency(0.0)
                e2e[loop] = await bench_e2e.opens(server, rounds=rounds)
                server.set_latency(latency)
                run.mark(f"e2e/{loop}", "end")

        run_async(at_latency, loop)
    outbound = server.info["postmark"]["outbound_messages"]
    if opens:
        run.raw["stream"] = _series_json(opens)
        run.show(bench_stream.opens_table(opens, latency))
    if messages:
        run.raw["messages"] = _series_json(messages)
        table = bench_stream.messages_table(
            messages, latency, outbound, bench_stream.DEFAULT_PREFETCH
        )
        run.show(table)
    if fanout:
        run.raw["fanout"] = _series_json(fanout)
        run.show(bench_fanout.details_table(fanout, latency, fanout_count))
    if e2e:
        run.raw["e2e"] = _series_json(e2e)
        run.show(bench_e2e.opens_table(e2e))


def _memory(run: Run, postmark: Any) -> None:
    quick = run.options.quick
    run.mark("memory", "start")
    with serving(bench_memory.emailconsul_spec(quick=quick), latency=0.0) as big:
        warm_seconds = bench_memory.warm(big)
        reports = bench_memory.measure(big, postmark, quick=quick)
        run.raw["memory"] = {
            "reports": reports,
            "emailconsul_fake": {
                k: v for k, v in big.info["emailconsul"].items() if k != "api_key"
            },
            "warm_seconds": warm_seconds,
            "ready_seconds": big.start_seconds,
        }
        run.show(bench_memory.memory_table(reports, big, warm_seconds))
    run.mark("memory", "end")


def _sync(run: Run) -> None:
    """First syncs of ~100 000 opens into each store, and streaming alone (asyncio)."""
    options = run.options
    run.mark("sync", "start")
    with (
        serving(bench_sync.spec(options.quick), latency=options.latency) as server,
        bench_sync.postgres_server() as dsn,
    ):
        opens = server.info["sync"]["outbound_opens"]
        print(f"sync fake: {opens:,} outbound opens", flush=True)

        # At the benchmark's latency, then at zero latency (one round), where the cost
        # of storing is not hidden behind the network.
        run.raw["sync"] = {}
        run.raw["sync_targets"] = []
        for latency, rounds in ((options.latency, min(options.rounds, 3)), (0.0, 1)):
            server.set_latency(latency)

            async def first_runs(rounds: int = rounds) -> tuple[list[Series], list[str]]:
                return await bench_sync.first_runs(server, rounds=rounds, postgres_dsn=dsn)

            series, skipped = run_async(first_runs, "asyncio")
            run.raw["sync"][f"{latency * 1000:g}ms"] = {
                "series": [s.as_json() for s in series],
                "skipped": skipped,
            }
            run.raw["sync_targets"] += bench_sync.targets(series, latency)
            run.show(bench_sync.sync_table(series, skipped, latency))
    run.mark("sync", "end")


def _median_of(raw: dict[str, Any], loop: str, name: str) -> float | None:
    for series in raw.get(loop, []):
        if series["name"] == name:
            return float(series["median_seconds"])
    return None


def _targets(run: Run, latency: float) -> Table:
    table = Table("Targets", ["target", "loop", "measured", "met"])
    raw = run.raw
    for loop in run.raw.get("stream", {}):
        stream = raw["stream"]
        sdk = _median_of(stream, loop, "official SDK paginate (sequential)")
        default = _median_of(stream, loop, "asyncmailstats prefetch=4")
        p8 = _median_of(stream, loop, "asyncmailstats prefetch=8")
        ref8 = _median_of(stream, loop, "reference in-flight=8")
        if sdk and default:
            speedup = sdk / default
            table.add(
                f"opens @{latency * 1000:g} ms, default prefetch >= 4x faster than SDK",
                loop,
                f"{speedup:.2f}x",
                "yes" if speedup >= 4 else "NO",
            )
        if p8 and ref8:
            slower = p8 / ref8
            table.add(
                "opens prefetch 8 within 1.3x of the reference (8 in flight)",
                loop,
                f"{slower:.2f}x",
                "yes" if slower <= 1.3 else "NO",
            )
    for loop in raw.get("fanout", {}):
        fan = raw["fanout"]
        ams = _median_of(fan, loop, "asyncmailstats fan_out c=32")
        sdk = _median_of(fan, loop, "official SDK gather+semaphore c=32")
        ref = _median_of(fan, loop, "reference gather+semaphore c=32")
        if ams and sdk:
            table.add(
                "fan-out details c=32 >= 8x faster than SDK + gather",
                loop,
                f"{sdk / ams:.2f}x",
                "yes" if sdk / ams >= 8 else "NO",
            )
        if ams and ref:
            table.add(
                "fan-out details c=32 within 1.25x of the reference",
                loop,
                f"{ams / ref:.2f}x",
                "yes" if ams / ref <= 1.25 else "NO",
            )
    for model, entries in raw.get("structure", {}).items():
        ams_rate = entries[bench_structure.AMS]["median"]
        fastest = entries[bench_structure.ORJSON]["median"]
        sdk_rate = entries.get(bench_structure.SDK, {}).get("median")
        if sdk_rate:
            table.add(
                f"structuring {model} >= 2x SDK records/s",
                "-",
                f"{ams_rate / sdk_rate:.2f}x",
                "yes" if ams_rate / sdk_rate >= 2 else "NO",
            )
        table.add(
            f"structuring {model} <= 1.5x reference (orjson) time",
            "-",
            f"{fastest / ams_rate:.2f}x",
            "yes" if fastest / ams_rate <= 1.5 else "NO",
        )
    for loop in raw.get("e2e", {}):
        e2e = raw["e2e"]
        ams = _median_of(e2e, loop, "asyncmailstats prefetch=4")
        sdk = _median_of(e2e, loop, "official SDK paginate (sequential)")
        ref = _median_of(e2e, loop, "reference in-flight=4")
        if ams and sdk:
            table.add(
                "end to end @0 ms >= 2x SDK records/s",
                loop,
                f"{sdk / ams:.2f}x",
                "yes" if sdk / ams >= 2 else "NO",
            )
        if ams and ref:
            table.add(
                "end to end @0 ms <= 1.5x reference time",
                loop,
                f"{ams / ref:.2f}x",
                "yes" if ams / ref <= 1.5 else "NO",
            )
    for target, measured, met in raw.get("sync_targets", []):
        table.add(target, "asyncio", measured, "yes" if met else "NO")
    reports = raw.get("memory", {}).get("reports", [])
    by_endpoint: dict[str, list[dict[str, Any]]] = {}
    for report in reports:
        by_endpoint.setdefault(report["endpoint"], []).append(report)
    for endpoint, group in by_endpoint.items():
        growth = [r["peak_rss_mib"] - r["baseline_rss_mib"] for r in group]
        spread = max(growth) - min(growth)
        sizes = "/".join(f"{r['size']:,}" for r in group)
        table.add(
            f"memory flat: {endpoint} ({sizes}) growth spread <= 16 MiB",
            "asyncio",
            f"{spread:.1f} MiB",
            "yes" if spread <= 16 else "NO",
        )
    return table


if __name__ == "__main__":
    sys.exit(main())
