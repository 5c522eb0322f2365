"""Every provider, streamed and fanned out under each retryable fault, checked against truth.

Each run starts a fake provider with one fault plan, reads a stream and fans out single
calls through a real :class:`~asyncmailstats.Session`, and compares what arrived with the
fake's own dataset: every record exactly once, equal to the truth, in order where order
is promised. After the run nothing may be in flight, checked out or left pending.
"""

from __future__ import annotations

import datetime as dt
import types
from collections import Counter
from typing import Any

import pytest

from asyncmailstats import LinkTimeseriesPoint, Session, fan_out
from asyncmailstats.emailconsul import LinkStat
from asyncmailstats.getresponse.models import COUNTER_NAMES
from asyncmailstats.postmark._convert import make_converter
from asyncmailstats.postmark.models import OutboundMessage, OutboundMessageDetails
from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark, FaultPlan

NOW = dt.datetime(2024, 6, 1, 16, 0, 0, tzinfo=dt.UTC)
START = NOW - dt.timedelta(days=46)
GR_NOW = dt.datetime(2024, 6, 1, 12)  # noqa: DTZ001 - GetResponse's clock has no zone
PERIOD: dict[str, Any] = {"period_from": NOW - dt.timedelta(days=40), "period_to": NOW}
STRICT = make_converter(strict=True)

#: One plan per retryable fault kind at a rate that hits many requests, and all at once.
PLANS: dict[str, dict[str, Any]] = {
    "429 + Retry-After": {"rate_limit": 0.25, "retry_after": 0.01},
    "429 bare": {"rate_limit_no_header": 0.25},
    "500": {"server_error": 0.25},
    "502": {"bad_gateway": 0.25},
    "503": {"unavailable": 0.25},
    "reset": {"reset": 0.25},
    "truncate": {"truncate": 0.25},
    "stall": {"stall": 0.08, "stall_seconds": 5.0},
    "all": {
        "rate_limit": 0.04,
        "retry_after": 0.01,
        "rate_limit_no_header": 0.04,
        "server_error": 0.04,
        "bad_gateway": 0.04,
        "unavailable": 0.04,
        "reset": 0.04,
        "truncate": 0.04,
        "stall": 0.02,
        "stall_seconds": 5.0,
    },
}
KINDS = {
    "rate_limit",
    "rate_limit_no_header",
    "server_error",
    "bad_gateway",
    "unavailable",
    "reset",
    "truncate",
    "stall",
}


def plan(name: str, seed: int) -> FaultPlan:
    return FaultPlan(**PLANS[name], seed=seed)


class Meter:
    """Counts a fake's requests and injected faults since the last mark."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.mark()

    def mark(self) -> None:
        self.requests = len(self.fake.requests)
        self.faults = Counter(self.fake.faults_injected)

    def since(self) -> dict[str, int]:
        faults = Counter(self.fake.faults_injected) - self.faults
        return {"requests": len(self.fake.requests) - self.requests, "injected": faults.total()}

    def seen_by_client(self) -> int:
        """Faults the client must have met: aiohttp itself retries a reset idempotent request
        once on a reused connection, so a reset of a GET may never reach the session."""
        faults = Counter(self.fake.faults_injected)
        if self.fake.requests and self.fake.requests[0].method == "GET":
            faults["reset"] = 0
        return faults.total()


def check_injected(fake: Any, name: str) -> None:
    """The plan's fault kinds really happened, and nothing else was injected."""
    wanted = {k for k in PLANS[name] if k in KINDS}
    hit = {k for k, n in fake.faults_injected.items() if n}
    assert hit <= wanted
    assert hit == wanted or name == "all"
    assert len(hit) >= min(len(wanted), 4)


def check_session(session: Session, meter: Meter) -> None:
    """No call failed; every injected fault the client met cost it (at least) one retry."""
    stats = session.statistics()
    assert stats.failures == 0
    assert stats.retries >= meter.seen_by_client()


async def finish(rel: types.SimpleNamespace, session: Session, fake: Any) -> None:
    await rel.close_cleanly(session)
    await fake.close()
    assert rel.pending_tasks() == []


# --------------------------------------------------------------------------- Postmark


@pytest.mark.parametrize("name", PLANS)
async def test_postmark_is_exact_under_faults(name: str, rel: types.SimpleNamespace) -> None:
    """Postmark: messages stream in order and details fan out in order, once each, as sent."""
    faults = plan(name, rel.seed)
    fake = FakePostmark(messages=600, seed=rel.seed, now=NOW, faults=faults)
    session = Session(retry=rel.RETRY, timeout=rel.TIMEOUT)
    async with fake, session:
        pm = session.postmark(server_token=fake.token, base_url=fake.url)
        truth = [STRICT.structure(m, OutboundMessage) for m in fake.search_messages({})]
        meter = Meter(fake)
        got = [
            m
            async for m in pm.outbound_messages(
                from_date=START, to_date=NOW, page_size=40, prefetch=6
            )
        ]
        rel.tally(
            "postmark",
            name,
            "stream outbound_messages",
            **meter.since(),
            expected=[m.message_id for m in truth],
            delivered=[m.message_id for m in got],
        )
        assert got == truth

        ids = [m.message_id for m in truth[::4]]
        meter.mark()
        outcomes = [o async for o in fan_out(pm.message_details, ids, concurrency=16, ordered=True)]
        details = [o.unwrap() for o in outcomes]
        rel.tally(
            "postmark",
            name,
            "fan-out message_details",
            **meter.since(),
            expected=ids,
            delivered=[d.message_id for d in details],
        )
        assert [o.item for o in outcomes] == ids
        assert details == [STRICT.structure(fake.details(i), OutboundMessageDetails) for i in ids]
        check_injected(fake, name)
        check_session(session, meter)
        await finish(rel, session, fake)


# --------------------------------------------------------------------------- EmailConsul


def ip_rows(fake: FakeEmailConsul) -> list[LinkStat]:
    """The aggregated rows by IP the fake serves: by count descending, ties by IP."""
    start, end = PERIOD["period_from"], PERIOD["period_to"]
    counts = Counter(log.ip for log in fake.link_logs if start <= log.timestamp <= end)
    rows = [LinkStat(count=n, ip=ip) for ip, n in sorted(counts.items())]
    return sorted(rows, key=lambda row: row.count, reverse=True)


def subscriber_series(fake: FakeEmailConsul, subscriber: str) -> list[LinkTimeseriesPoint]:
    start, end = PERIOD["period_from"], PERIOD["period_to"]
    days = Counter(
        log.timestamp.date()
        for log in fake.link_logs
        if log.subscriber_id == subscriber and start <= log.timestamp <= end
    )
    return [LinkTimeseriesPoint(date=day, count=n) for day, n in sorted(days.items())]


@pytest.mark.parametrize("name", PLANS)
async def test_emailconsul_is_exact_under_faults(name: str, rel: types.SimpleNamespace) -> None:
    """EmailConsul: link rows stream in order and per-subscriber series fan out, once each."""
    faults = plan(name, rel.seed)
    fake = FakeEmailConsul(
        link_logs=1200, pixel_logs=0, deliveries=0, seed=rel.seed, now=NOW, faults=faults
    )
    session = Session(retry=rel.RETRY, timeout=rel.TIMEOUT)
    async with fake, session:
        ec = session.emailconsul(api_key=fake.api_key, base_url=fake.url)
        truth = ip_rows(fake)
        meter = Meter(fake)
        got = [r async for r in ec.link_stats(**PERIOD, group="ip", page_size=40, prefetch=6)]
        rel.tally(
            "emailconsul",
            name,
            "stream link_stats",
            **meter.since(),
            expected=[r.ip for r in truth],
            delivered=[r.ip for r in got],
        )
        assert got == truth

        subscribers = sorted({log.subscriber_id for log in fake.link_logs})[:100]
        want = {s: subscriber_series(fake, s) for s in subscribers}

        async def series(subscriber: str) -> list[LinkTimeseriesPoint]:
            return await ec.link_timeseries(**PERIOD, subscriber_id=subscriber)

        meter.mark()
        outcomes = [o async for o in fan_out(series, subscribers, concurrency=16)]
        delivered = [(o.item, p.date) for o in outcomes for p in o.unwrap()]
        rel.tally(
            "emailconsul",
            name,
            "fan-out link_timeseries",
            **meter.since(),
            expected=[(s, p.date) for s, points in want.items() for p in points],
            delivered=delivered,
        )
        assert Counter(o.item for o in outcomes) == Counter(subscribers)
        assert {o.item: o.unwrap() for o in outcomes} == want
        check_injected(fake, name)
        check_session(session, meter)
        await finish(rel, session, fake)


# --------------------------------------------------------------------------- GetResponse


def periods(fake: FakeGetResponse, message_id: str) -> list[tuple[str, dict[str, int]]]:
    return sorted(fake.stats(message_id, "daily").items())


def periods_of(series: Any) -> list[tuple[str, dict[str, int]]]:
    return [(p.period, {n: getattr(p, n) for n in COUNTER_NAMES}) for p in series.periods]


@pytest.mark.parametrize("name", PLANS)
async def test_getresponse_is_exact_under_faults(name: str, rel: types.SimpleNamespace) -> None:
    """GetResponse: batched stats arrive in input order and single calls fan out, once each."""
    faults = plan(name, rel.seed)
    fake = FakeGetResponse(
        messages=160, seed=rel.seed, now=GR_NOW.replace(tzinfo=dt.UTC), faults=faults
    )
    session = Session(retry=rel.RETRY, timeout=rel.TIMEOUT)
    async with fake, session:
        gr = session.getresponse(api_key=fake.api_key, base_url=fake.url)
        ids = list(fake.messages)
        meter = Meter(fake)
        outcomes = [
            o async for o in gr.message_stats_many(ids, batch_size=8, concurrency=4, ordered=True)
        ]
        rel.tally(
            "getresponse",
            name,
            "stream message_stats_many",
            **meter.since(),
            expected=ids,
            delivered=[o.item for o in outcomes],
        )
        assert [o.item for o in outcomes] == ids
        for outcome in outcomes:
            assert periods_of(outcome.unwrap()) == periods(fake, outcome.item)

        some = ids[:120]
        meter.mark()
        singles = [o async for o in fan_out(gr.message_stats, some, concurrency=16)]
        rel.tally(
            "getresponse",
            name,
            "fan-out message_stats",
            **meter.since(),
            expected=some,
            delivered=[o.item for o in singles],
        )
        assert Counter(o.item for o in singles) == Counter(some)
        for outcome in singles:
            assert periods_of(outcome.unwrap()) == periods(fake, outcome.item)
        check_injected(fake, name)
        check_session(session, meter)
        await finish(rel, session, fake)
