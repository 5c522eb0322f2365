"""A provider that refuses more than 5 requests at once, and a client that asks for 50.

The adaptive limiter halves its concurrency on every 429 and grows it back slowly, so
the client settles under the provider's ceiling: every call succeeds without running out
of attempts, 429s thin out as the run goes on, and ``statistics()`` shows the lowered
limit.
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from asyncmailstats import Limits, RetryPolicy, Session, fan_out
from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark, FaultPlan

NOW = dt.datetime(2024, 6, 1, 16, 0, 0, tzinfo=dt.UTC)
GR_NOW = dt.datetime(2024, 6, 1, 12)  # noqa: DTZ001 - GetResponse's clock has no zone
PERIOD: dict[str, Any] = {"period_from": NOW - dt.timedelta(days=40), "period_to": NOW}
CEILING = 5
ASKED = 50
CALLS = 240
#: Few attempts: a client that kept hammering above the ceiling would run out of them.
RETRY = RetryPolicy(max_attempts=6, initial_delay=0.01, max_delay=0.05)

Setup = Callable[[Session, Any], tuple[Callable[[Any], Awaitable[Any]], list[Any]]]


def postmark(session: Session, fake: FakePostmark) -> tuple[Any, list[Any]]:
    pm = session.postmark(server_token=fake.token, base_url=fake.url)
    return pm.message_details, fake.message_ids()[:CALLS]


def emailconsul(session: Session, fake: FakeEmailConsul) -> tuple[Any, list[Any]]:
    ec = session.emailconsul(api_key=fake.api_key, base_url=fake.url)

    async def series(subscriber: str) -> Any:
        return await ec.link_timeseries(**PERIOD, subscriber_id=subscriber)

    return series, sorted({log.subscriber_id for log in fake.link_logs})[:CALLS]


def getresponse(session: Session, fake: FakeGetResponse) -> tuple[Any, list[Any]]:
    gr = session.getresponse(api_key=fake.api_key, base_url=fake.url)
    return gr.message_stats, list(fake.messages)[:CALLS]


def fakes(faults: FaultPlan, seed: int) -> dict[str, tuple[Any, Setup]]:
    latency = 0.01
    return {
        "postmark": (
            FakePostmark(messages=400, seed=seed, now=NOW, latency=latency, faults=faults),
            postmark,
        ),
        "emailconsul": (
            FakeEmailConsul(
                link_logs=2000,
                pixel_logs=0,
                deliveries=0,
                seed=seed,
                now=NOW,
                latency=latency,
                faults=faults,
            ),
            emailconsul,
        ),
        "getresponse": (
            FakeGetResponse(
                messages=300,
                seed=seed,
                now=GR_NOW.replace(tzinfo=dt.UTC),
                latency=latency,
                faults=faults,
            ),
            getresponse,
        ),
    }


@pytest.mark.parametrize("provider", ["postmark", "emailconsul", "getresponse"])
async def test_client_converges_under_a_concurrency_ceiling(
    provider: str, rel: types.SimpleNamespace
) -> None:
    """Asking for 50 at once against a ceiling of 5: no call fails and the limit comes down."""
    faults = FaultPlan(max_concurrency=CEILING, seed=rel.seed)
    fake, setup = fakes(faults, rel.seed)[provider]
    session = Session(limits=Limits(max_concurrency=ASKED), retry=RETRY)
    async with fake, session:
        call, items = setup(session, fake)
        assert len(items) == CALLS
        halfway: int | None = None
        outcomes = []
        async for outcome in fan_out(call, items, concurrency=ASKED):
            outcomes.append(outcome)
            if len(outcomes) == CALLS // 2:
                halfway = session.statistics().rate_limited
        stats = session.statistics()
        client = stats.providers[0]
        rejected = fake.faults_injected["max_concurrency"]
        rel.tally(
            provider,
            f"ceiling {CEILING}, client {ASKED}",
            "fan-out",
            requests=len(fake.requests),
            injected=rejected,
            expected=items,
            delivered=[o.item for o in outcomes if o.error is None],
        )
        assert [o.error for o in outcomes if o.error is not None] == []
        assert sorted(o.item for o in outcomes) == sorted(items)
        assert stats.failures == 0
        assert rejected > 0
        assert stats.rate_limited == rejected
        assert client.concurrency_limit < ASKED
        assert client.concurrency_limit <= 2 * CEILING
        # Converged: most requests were accepted, and the 429s came early.
        assert rejected < CALLS // 2
        assert halfway is not None
        assert rejected - halfway < halfway
        await rel.close_cleanly(session)
