"""EmailConsulAPI against a live, sloppy FakeEmailConsul: clicks arriving, capped pages.

Rows sorted by their own group value keep their order while clicks arrive: every row
that existed at the start comes out exactly once. Rows sorted by a changing count can
move between pages: the stream says so instead of guessing. A server capping its pages
is read whole; an empty page before the total is an error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from asyncmailstats import PagingError, Session
from asyncmailstats.emailconsul import EmailConsulAPI
from asyncmailstats.testing import FakeEmailConsul, LivePlan

NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)
#: The period reaches past the dataset's end, so that arrivals fall inside it.
LIVE_PERIOD = {"period_from": NOW - timedelta(days=40), "period_to": NOW + timedelta(days=1)}


@pytest.fixture
async def busy() -> AsyncIterator[tuple[EmailConsulAPI, FakeEmailConsul]]:
    """A fake with 6 000 link logs (thousands of IPs), and an API bound to it."""
    fake = FakeEmailConsul(link_logs=6_000, pixel_logs=0, deliveries=0, seed=11, now=NOW)
    async with Session() as session, fake:
        yield session.emailconsul(api_key=fake.api_key, base_url=fake.url), fake


def existing_ips(fake: FakeEmailConsul) -> set[str]:
    return {log.ip for log in fake.link_logs}


@pytest.mark.parametrize("prefetch", [1, 4, 8])
async def test_rows_sorted_by_their_group_stay_exact_while_clicks_arrive(busy, prefetch) -> None:
    """Clicks after every page, some from new IPs: every IP row of the start comes out once."""
    ec, fake = busy
    before = existing_ips(fake)
    assert len(before) > 1_000
    fake.set_live(LivePlan(arrivals=20))
    rows = [
        row
        async for row in ec.link_stats(
            **LIVE_PERIOD, group="ip", sort="ip", page_size=200, prefetch=prefetch
        )
    ]
    got = [row.ip for row in rows]
    assert [n for n in Counter(got).values() if n > 1] == []
    assert before <= set(got)
    assert len(existing_ips(fake)) > len(before), "new IPs really arrived meanwhile"
    assert got == sorted(got), "in the server's order"


async def test_rows_sorted_by_count_report_a_move_instead_of_guessing(busy) -> None:
    """Clicks arriving under the default count order: PagingError, and nothing twice."""
    ec, fake = busy
    fake.set_live(LivePlan(arrivals=20))
    got: list[str | None] = []
    with pytest.raises(PagingError, match="order depends on values that change"):
        async for row in ec.link_stats(**LIVE_PERIOD, group="ip", page_size=200):
            got.append(row.ip)
    assert got, "the rows before the move came out"
    assert len(got) == len(set(got))


async def test_a_page_capping_server_is_read_whole(busy) -> None:
    """meta.limit = 100 while 1 000 are asked: every one of the 5 000+ rows, in order."""
    ec, fake = busy
    want = [row async for row in ec.link_stats(**LIVE_PERIOD, group="ip", sort="ip")]
    assert len(want) >= 5_000
    fake.set_live(LivePlan(page_cap=100))
    fake.reset_stats()
    got = [row async for row in ec.link_stats(**LIVE_PERIOD, group="ip", sort="ip")]
    assert got == want
    limits = [int(dict(r.query)["limit"]) for r in fake.requests]
    assert limits[0] == 1_000
    assert max(limits[2:]) <= 100, "the server's limit is adopted after its first reply"


async def test_an_empty_page_before_the_total_raises(busy) -> None:
    """Pages from offset 500 come back empty while meta.count says more: PagingError."""
    ec, fake = busy
    fake.set_live(LivePlan(empty_from=500))
    with pytest.raises(PagingError, match="came back empty"):
        await ec.link_stats(**LIVE_PERIOD, group="ip", page_size=100, prefetch=3).to_list()
