"""``asyncmailstats demo``: the library at work on embedded fake servers.

Everything below goes through the public API only; the fakes stand in for Postmark,
EmailConsul and GetResponse on 127.0.0.1, so no account or token is needed.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Final, TextIO

import attrs

from .. import (
    Limits,
    LinkGroup,
    MessageStatsSeries,
    PostmarkAPI,
    RetryPolicy,
    Session,
    Timeout,
    fan_out,
)
from ..testing import FakeEmailConsul, FakeGetResponse, FakePostmark, FaultPlan
from ._charts import bar_chart, sparkline, table
from ._demo_sync import sync_section
from ._progress import Progress


def _faults(seed: int) -> FaultPlan:
    """Return a plan of every retryable misbehaviour at a visible rate."""
    return FaultPlan(
        rate_limit=0.001,
        rate_limit_no_header=0.001,
        server_error=0.01,
        bad_gateway=0.005,
        unavailable=0.01,
        reset=0.01,
        truncate=0.01,
        retry_after=0.05,
        seed=seed,
    )


class _Out:
    """Section headings and lines on stdout."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def heading(self, text: str) -> None:
        self.stream.write(f"\n━━ {text} " + "━" * max(0, 70 - len(text)) + "\n")

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


@attrs.define
class _Demo:
    """What the sections share: where to write, the fakes, the session, the count."""

    out: _Out
    session: Session
    pm_fake: FakePostmark
    ec_fake: FakeEmailConsul
    gr_fake: FakeGetResponse
    pm: PostmarkAPI
    scale: float
    seed: int
    latency: float
    show: bool
    #: Records read so far, by every section.
    records: int = 0


async def _start(
    stack: contextlib.AsyncExitStack,
    args: argparse.Namespace,
    out: _Out,
    *,
    seed: int,
    faults: FaultPlan | None,
) -> _Demo:
    """Start the three fakes and the session on *stack*."""
    scale = max(0.05, float(args.scale))
    pm_fake = await stack.enter_async_context(
        FakePostmark(
            messages=int(13_000 * scale),
            seed=seed,
            latency=args.latency,
            faults=faults,
            open_rate=0.9,
            click_rate=0.3,
            max_recipients=5,
        )
    )
    ec_fake = await stack.enter_async_context(
        FakeEmailConsul(
            link_logs=int(20_000 * scale), seed=seed, latency=args.latency, faults=faults
        )
    )
    gr_fake = await stack.enter_async_context(
        FakeGetResponse(messages=int(200 * scale) + 1, seed=seed, latency=args.latency)
    )
    session = await stack.enter_async_context(
        Session(
            limits=Limits(max_concurrency=64),
            retry=RetryPolicy(max_attempts=10, initial_delay=0.05, max_delay=1.0),
            timeout=Timeout(total=10.0),
        )
    )
    return _Demo(
        out=out,
        session=session,
        pm_fake=pm_fake,
        ec_fake=ec_fake,
        gr_fake=gr_fake,
        pm=session.postmark(server_token=pm_fake.token, base_url=pm_fake.url),
        scale=scale,
        seed=seed,
        latency=args.latency,
        show=not args.no_progress,
    )


async def _postmark_history(demo: _Demo) -> None:
    """Every open and click, past the 10 000-row ceiling of offset paging."""
    demo.out.heading("Postmark: every open and click, past the 10 000-row ceiling")
    first = await demo.pm.opens(page_size=1).first_page()
    demo.out.line(
        f"/messages/outbound/opens reports {first.total:,} opens; offset paging stops "
        "at 10 000, so open_history() walks the messages and fans out per message."
    )
    for kind in ("opens", "clicks"):
        await _history_of(demo, kind)


async def _history_of(demo: _Demo, kind: str) -> None:
    """Stream every record of *kind* and compare them with the fake's own."""
    pm, pm_fake = demo.pm, demo.pm_fake
    since = pm_fake.now - timedelta(days=pm_fake.retention_days)
    history = pm.open_history if kind == "opens" else pm.click_history
    progress = Progress(f"{kind:>6}", enabled=demo.show)
    seen: set[tuple[str, ...]] = set()
    dupes = 0
    async for record in history(from_date=since, to_date=pm_fake.now, concurrency=64):
        key: tuple[str, ...] = (
            record.message_id,
            record.recipient or "",
            str(record.received_at),
            getattr(record, "original_link", None) or "",
        )
        dupes += key in seen
        seen.add(key)
        progress.advance()
    progress.close()
    truth = pm_fake.search_opens if kind == "opens" else pm_fake.search_clicks
    expected = len(truth({"messagestream": "outbound"}))
    verdict = "all of them, none twice" if len(seen) == expected and not dupes else "MISMATCH"
    demo.out.line(
        f"{kind}: {progress.count:,} streamed, {expected:,} on the server — {verdict} "
        f"({progress.rate:,.0f} records/s)"
    )
    demo.records += progress.count


async def _postmark_fan_out(demo: _Demo) -> None:
    """300 ``message_details()`` calls, 32 at a time; the events they carry."""
    out, pm = demo.out, demo.pm
    out.heading("Postmark: fan-out of 300 message_details() calls, 32 at a time")
    ids = [m.message_id async for m in pm.outbound_messages(limit=300)]
    progress = Progress("details", enabled=demo.show)
    events: collections.Counter[str] = collections.Counter()
    failed = 0
    async for outcome in fan_out(pm.message_details, ids, concurrency=32):
        progress.advance()
        if outcome.error is not None:
            failed += 1
            continue
        assert outcome.value is not None  # noqa: S101 - set when error is None
        events.update(str(e.type) for e in outcome.value.message_events)
    progress.close()
    demo.records += progress.count
    out.line(f"{len(ids) - failed} details fetched, {failed} failed; events by type:")
    out.line(table(["event", "count"], events.most_common()))


async def _postmark_stats(demo: _Demo) -> None:
    """The last 30 days of sends and opens, and opens by e-mail client."""
    out, pm, now = demo.out, demo.pm, demo.pm_fake.now
    out.heading("Postmark: the last 30 days of stats")
    start = (now - timedelta(days=29)).date()
    sent = await pm.sent_counts(from_date=start, to_date=now.date())
    opened = await pm.open_counts(from_date=start, to_date=now.date())
    days = [start + timedelta(days=i) for i in range(30)]
    sent_by = {d.date: d.sent for d in sent.days}
    open_by = {d.date: d.opens for d in opened.days}
    out.line(f"sent   {sparkline([sent_by.get(d, 0) for d in days])}  {sent.sent:,} in all")
    out.line(f"opens  {sparkline([open_by.get(d, 0) for d in days])}  {opened.opens:,} in all")
    rows = [(d.isoformat(), sent_by.get(d, 0), open_by.get(d, 0)) for d in days[-7:]]
    out.line(table(["day", "sent", "opens"], rows))
    clients = await pm.email_clients(from_date=start, to_date=now.date())
    top = sorted(clients.totals.items(), key=lambda kv: -kv[1])[:6]
    out.line("\nopens by email client:")
    out.line(bar_chart(top, width=36))


async def _emailconsul(demo: _Demo) -> None:
    """Link clicks by country, and per day."""
    out, ec_fake = demo.out, demo.ec_fake
    out.heading("EmailConsul: link clicks by country")
    ec = demo.session.emailconsul(api_key=ec_fake.api_key, base_url=ec_fake.url)
    period_to = ec_fake.now
    period_from = period_to - timedelta(days=90)
    by_country = [
        row
        async for row in ec.link_stats(
            period_from=period_from,
            period_to=period_to,
            group=LinkGroup.COUNTRY,
            sort="-count",
            page_size=100,
        )
    ]
    demo.records += len(by_country)
    out.line(bar_chart([(r.country or "?", r.count) for r in by_country[:8]], width=36))
    series = await ec.link_timeseries(period_from=period_from, period_to=period_to)
    out.line(f"\nclicks per day  {sparkline([p.count for p in series[-45:]])}")


async def _getresponse(demo: _Demo) -> None:
    """Daily stats of every message over JSON-RPC; the busiest message in detail."""
    out, gr_fake = demo.out, demo.gr_fake
    out.heading("GetResponse 1.5: daily message stats over JSON-RPC")
    gr = demo.session.getresponse(api_key=gr_fake.api_key, base_url=gr_fake.url)
    messages = await gr.messages()
    busiest: MessageStatsSeries | None = None
    total_sent = 0
    ids = [m.id for m in messages]
    async for stats_outcome in gr.message_stats_many(ids, grouping="daily"):
        series = stats_outcome.unwrap()
        sent_total = series.totals().sent
        total_sent += sent_total
        if busiest is None or sent_total > busiest.totals().sent:
            busiest = series
    out.line(f"{len(ids)} messages, stats fetched in JSON-RPC batches; {total_sent:,} sent")
    if busiest is not None:
        subject = next((m.subject for m in messages if m.id == busiest.message_id), "")
        out.line(f"busiest message {busiest.message_id} ({subject!r}):")
        out.line(f"opens per day  {sparkline([p.opened for p in busiest.periods])}")
        totals = busiest.totals()
        out.line(
            table(
                ["sent", "opened", "unique opened", "clicked", "unsubscribes"],
                [
                    [
                        totals.sent,
                        totals.opened,
                        totals.unique_opened,
                        totals.clicked,
                        totals.unsubscribes,
                    ]
                ],
            )
        )
    demo.records += len(ids)


async def _sync(demo: _Demo) -> None:
    """A fake Postmark account kept in SQLite (see :mod:`._demo_sync`)."""
    demo.records += await sync_section(
        demo.out,
        demo.session,
        messages=max(200, int(3000 * demo.scale)),
        seed=demo.seed,
        latency=demo.latency,
    )


def _session_statistics(demo: _Demo, *, faults: FaultPlan | None, elapsed: float) -> None:
    """Requests, retries and failures by provider; the faults recovered; the throughput."""
    out = demo.out
    out.heading("Session statistics")
    stats = demo.session.statistics()
    out.line(
        table(
            ["provider", "requests", "retries", "429s", "failures", "peak in flight"],
            [
                [p.provider, p.requests, p.retries, p.rate_limited, p.failures, p.peak_in_flight]
                for p in stats.providers
            ],
        )
    )
    injected = sum(demo.pm_fake.faults_injected.values()) + sum(
        demo.ec_fake.faults_injected.values()
    )
    if faults:
        out.line(f"\nfaults injected by the fake servers: {injected}; all recovered by retries")
    items = demo.records
    out.line(
        f"\n{items:,} records in {elapsed:.1f} s ({items / elapsed:,.0f} records/s), "
        f"{stats.requests:,} requests, finished at {datetime.now(UTC):%H:%M:%S} UTC"
    )


#: The sections of the demo, in the order they run and print.
_SECTIONS: Final[tuple[Callable[[_Demo], Awaitable[None]], ...]] = (
    _postmark_history,
    _postmark_fan_out,
    _postmark_stats,
    _emailconsul,
    _getresponse,
    _sync,
)


async def run_demo(args: argparse.Namespace, *, stream: TextIO | None = None) -> None:
    """Start the three fakes, exercise every provider through the public API, report."""
    out = _Out(stream or sys.stdout)
    seed = int(args.seed)
    faults = _faults(seed) if args.faults else None
    started = time.monotonic()
    out.line("asyncmailstats demo: fake Postmark, EmailConsul and GetResponse on 127.0.0.1")
    out.line(
        f"seed {seed}, latency {args.latency * 1000:.0f} ms per request, "
        f"faults {'ON' if faults else 'off'}"
    )
    async with contextlib.AsyncExitStack() as stack:
        demo = await _start(stack, args, out, seed=seed, faults=faults)
        for section in _SECTIONS:
            await section(demo)
        _session_statistics(demo, faults=faults, elapsed=time.monotonic() - started)
