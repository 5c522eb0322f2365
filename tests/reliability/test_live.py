"""Streams over live, sloppy fakes, with and without faults: every existing record once.

The fakes record new events after every list page they serve (``LivePlan``), some runs
also shorten and cap their pages, and some add every retryable fault at once. What
existed when a stream started must come out exactly once; what arrived meanwhile may
come out or not, but never twice.
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Hashable
from typing import Any

import pytest

from asyncmailstats import Session
from asyncmailstats.postmark._convert import make_converter
from asyncmailstats.postmark._wire import click_key, message_key, open_key
from asyncmailstats.postmark.models import Click, Open, OutboundMessage
from asyncmailstats.testing import FakeEmailConsul, FakePostmark, FaultPlan, LivePlan

from .test_faults import PLANS, Meter

NOW = dt.datetime(2024, 6, 1, 16, 0, 0, tzinfo=dt.UTC)
START = NOW - dt.timedelta(days=46)
STRICT = make_converter(strict=True)

#: How the fakes misbehave: arrivals alone, with sloppy pages, and with every fault too.
LIVE: dict[str, dict[str, Any]] = {
    "live arrivals": {"arrivals": 6, "message_arrivals": 3},
    "live + short/capped pages": {
        "arrivals": 6,
        "message_arrivals": 3,
        "short_every": 4,
        "short_by": 2,
        "page_cap": 70,
    },
    "live + all faults": {"arrivals": 6, "message_arrivals": 3},
}


def faults_for(name: str, seed: int) -> FaultPlan | None:
    return FaultPlan(**PLANS["all"], seed=seed) if "faults" in name else None


def keys(rows: list[dict[str, Any]], cls: type, key: Any) -> list[Hashable]:
    return [key(STRICT.structure(row, cls)) for row in rows]


@pytest.mark.parametrize("name", LIVE)
async def test_postmark_streams_are_exact_over_a_live_server(
    name: str, rel: types.SimpleNamespace
) -> None:
    """Postmark: opens, clicks and messages while events and messages keep arriving."""
    fake = FakePostmark(
        messages=1_500,
        seed=rel.seed,
        now=NOW,
        open_rate=0.8,
        click_rate=0.3,
        faults=faults_for(name, rel.seed),
    )
    session = Session(retry=rel.RETRY, timeout=rel.TIMEOUT)
    async with fake, session:
        pm = session.postmark(server_token=fake.token, base_url=fake.url)
        workloads = [
            ("stream opens", Open, open_key, fake.search_opens, pm.opens),
            ("stream clicks", Click, click_key, fake.search_clicks, pm.clicks),
            (
                "stream outbound_messages",
                OutboundMessage,
                message_key,
                fake.search_messages,
                lambda **kw: pm.outbound_messages(from_date=START, **kw),
            ),
        ]
        for workload, cls, key, truth, stream in workloads:
            fake.set_live(None)
            existing = keys(truth({}), cls, key)
            meter = Meter(fake)
            fake.set_live(LivePlan(**LIVE[name]))
            got = [key(r) async for r in stream(page_size=100, prefetch=6)]
            row = rel.tally(
                "postmark", name, workload, **meter.since(), expected=existing, delivered=got
            )
            assert (row.duplicates, row.losses) == (0, 0)
            assert len(truth({})) > len(existing), "records really arrived meanwhile"
        assert session.statistics().failures == 0
        await rel.close_cleanly(session)
    assert rel.pending_tasks() == []


@pytest.mark.parametrize("name", LIVE)
async def test_emailconsul_link_stats_are_exact_over_a_live_server(
    name: str, rel: types.SimpleNamespace
) -> None:
    """EmailConsul: link rows by IP, sorted by IP, while clicks (and new IPs) arrive."""
    fake = FakeEmailConsul(
        link_logs=1_500,
        pixel_logs=0,
        deliveries=0,
        seed=rel.seed,
        now=NOW,
        faults=faults_for(name, rel.seed),
    )
    period = {"period_from": NOW - dt.timedelta(days=40), "period_to": NOW + dt.timedelta(days=1)}
    session = Session(retry=rel.RETRY, timeout=rel.TIMEOUT)
    async with fake, session:
        ec = session.emailconsul(api_key=fake.api_key, base_url=fake.url)
        since = period["period_from"]
        existing = sorted({log.ip for log in fake.link_logs if log.timestamp >= since})
        meter = Meter(fake)
        fake.set_live(LivePlan(**LIVE[name]))
        got = [
            r.ip
            async for r in ec.link_stats(**period, group="ip", sort="ip", page_size=40, prefetch=6)
        ]
        row = rel.tally(
            "emailconsul",
            name,
            "stream link_stats by ip",
            **meter.since(),
            expected=existing,
            delivered=got,
        )
        assert (row.duplicates, row.losses) == (0, 0)
        assert len({log.ip for log in fake.link_logs}) > len(existing), "new IPs arrived"
        assert session.statistics().failures == 0
        await rel.close_cleanly(session)
    assert rel.pending_tasks() == []
