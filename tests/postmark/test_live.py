"""PostmarkAPI against a live, sloppy FakePostmark: records arriving, short and empty pages.

Every record that existed when a stream started must come out exactly once, whatever
arrives meanwhile; a server whose pages or totals do not add up must end in a clear
error, never in a silent end or a flood of requests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator, Hashable, Iterable
from typing import Any

import pytest

from asyncmailstats import PagingError, ResultWindowError, Session
from asyncmailstats.postmark._api import PostmarkAPI
from asyncmailstats.postmark._convert import make_converter
from asyncmailstats.postmark._wire import click_key, message_key, open_key
from asyncmailstats.postmark.models import Click, Open, OutboundMessage
from asyncmailstats.testing import FakePostmark, LivePlan

NOW = dt.datetime(2024, 6, 1, 16, 0, 0, tzinfo=dt.UTC)
START = NOW - dt.timedelta(days=46)
STRICT = make_converter(strict=True)


def keys(rows: Iterable[dict[str, Any]], cls: type, key: Any) -> list[Hashable]:
    """Return the natural keys of the fake's wire records, decoded strictly."""
    return [key(STRICT.structure(row, cls)) for row in rows]


def assert_exact(got: list[Hashable], existing: list[Hashable]) -> None:
    """Nothing came out twice, and every record that existed at the start came out."""
    twice = [k for k, n in Counter(got).items() if n > 1]
    assert twice == [], f"{len(twice)} records came out twice"
    missing = set(existing) - set(got)
    assert not missing, f"{len(missing)} of {len(existing)} existing records never came out"


@pytest.fixture
async def busy() -> AsyncIterator[tuple[PostmarkAPI, FakePostmark]]:
    """A fake with ~3 000 outbound opens and ~1 500 clicks, and an API bound to it."""
    fake = FakePostmark(messages=3_000, seed=5, now=NOW, open_rate=0.9, click_rate=0.3)
    async with Session() as session, fake:
        yield session.postmark(server_token=fake.token, base_url=fake.url), fake


@pytest.mark.parametrize("prefetch", [1, 4, 8])
async def test_opens_recorded_after_the_first_page_are_not_duplicated(busy, prefetch) -> None:
    """40 opens recorded after page one: no duplicate, every earlier open once."""
    api, fake = busy
    existing = keys(fake.search_opens({}), Open, open_key)
    assert 2_000 < len(existing) < 10_000
    got: list[Hashable] = []
    async with api.opens(prefetch=prefetch).pages() as pages:
        async for page in pages:
            if not got:
                assert len(fake.add_opens(40)) == 40
            got += [open_key(o) for o in page.items]
    assert_exact(got, existing)


@pytest.mark.parametrize("prefetch", [1, 4, 8])
async def test_opens_and_clicks_stay_exact_while_events_keep_arriving(busy, prefetch) -> None:
    """Opens and clicks recorded after every page served: each existing event once."""
    api, fake = busy
    opens = keys(fake.search_opens({}), Open, open_key)
    clicks = keys(fake.search_clicks({}), Click, click_key)
    fake.set_live(LivePlan(arrivals=30))
    got_opens = [open_key(o) async for o in api.opens(prefetch=prefetch)]
    got_clicks = [click_key(c) async for c in api.clicks(prefetch=prefetch)]
    assert fake.pages_served > 8
    assert len(fake.search_opens({})) > len(opens), "opens really arrived meanwhile"
    assert_exact(got_opens, opens)
    assert_exact(got_clicks, clicks)


@pytest.mark.parametrize("prefetch", [1, 4, 8])
async def test_messages_arriving_in_the_newest_window_keep_it_exact(prefetch) -> None:
    """Messages sent while outbound_messages() reads 12 000 (windows): each old one once."""
    fake = FakePostmark(messages=14_000, seed=6, now=NOW, live=LivePlan(message_arrivals=25))
    async with Session() as session, fake:
        api = session.postmark(server_token=fake.token, base_url=fake.url)
        existing = keys(fake.search_messages({}), OutboundMessage, message_key)
        assert len(existing) > 10_000
        got = [
            message_key(m) async for m in api.outbound_messages(from_date=START, prefetch=prefetch)
        ]
        assert len(fake.search_messages({})) > len(existing), "messages really arrived"
    assert_exact(got, existing)


@pytest.mark.parametrize("prefetch", [1, 4])
async def test_short_pages_mid_stream_are_not_the_end(busy, prefetch) -> None:
    """Every third page one open short (the total unchanged): still every open, once."""
    api, fake = busy
    existing = keys(fake.search_opens({}), Open, open_key)
    fake.set_live(LivePlan(short_every=3))
    got = [open_key(o) async for o in api.opens(prefetch=prefetch)]
    assert got == existing


async def test_a_silent_page_cap_is_read_whole(busy) -> None:
    """A server serving 100 of the 500 asked without saying so: every open, in order."""
    api, fake = busy
    existing = keys(fake.search_opens({}), Open, open_key)
    fake.set_live(LivePlan(page_cap=100))
    got = [open_key(o) async for o in api.opens()]
    assert got == existing


@pytest.mark.parametrize("live", [LivePlan(total=5), LivePlan(total=5, page_cap=100)])
async def test_a_total_below_what_is_served_reads_every_record(busy, live) -> None:
    """A server whose TotalCount says 5 over 3 000 opens: every open once, in order."""
    api, fake = busy
    existing = keys(fake.search_opens({}), Open, open_key)
    fake.set_live(live)
    got = [open_key(o) async for o in api.opens(prefetch=4)]
    assert got == existing


async def test_an_empty_page_before_the_total_raises(busy) -> None:
    """Pages from offset 1 000 come back empty while the total says more: PagingError."""
    api, fake = busy
    existing = keys(fake.search_opens({}), Open, open_key)
    fake.set_live(LivePlan(empty_from=1_000))
    got: list[Hashable] = []
    with pytest.raises(PagingError, match="came back empty") as caught:
        async for open_ in api.opens(prefetch=4):
            got.append(open_key(open_))
    # Pages start at 0, 499 and 998 (each re-reads a record); the one at 1497 is empty.
    assert got == existing[:1_498]
    assert caught.value.endpoint == "Postmark GET /messages/outbound/opens"


async def test_a_huge_total_is_refused_at_once_and_the_loop_stays_free() -> None:
    """TotalCount 10^12 on outbound_messages(): refused on the first reply, loop never held.

    The refusal needs no window planning at all, so the loop keeps turning throughout
    (a ticker runs) and the error comes after one request; the timeout only turns a
    regression into a failure instead of a hang.
    """
    fake = FakePostmark(messages=2_000, seed=7, now=NOW, live=LivePlan(total=10**12))
    async with Session() as session, fake:
        api = session.postmark(server_token=fake.token, base_url=fake.url)
        beats = 0

        async def heartbeat() -> None:
            nonlocal beats
            while True:
                beats += 1
                await asyncio.sleep(0)

        ticker = asyncio.create_task(heartbeat())
        try:
            with pytest.raises(ResultWindowError, match=r"1000000000000 messages.*windows"):
                async with asyncio.timeout(10):
                    await api.outbound_messages(from_date=START).to_list()
        finally:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
        assert beats >= 2, "the loop turned while the stream ran"
        assert len(fake.requests) == 1, "refused on the first probe's total"


async def test_a_total_that_ignores_the_dates_ends_in_a_clear_error() -> None:
    """Totals that do not shrink with the window: an error after a bounded few requests."""
    fake = FakePostmark(messages=16_000, seed=8, now=NOW, live=LivePlan(total_ignores_filter=True))
    async with Session() as session, fake:
        api = session.postmark(server_token=fake.token, base_url=fake.url)
        with pytest.raises((PagingError, ResultWindowError)) as caught:
            await api.outbound_messages(from_date=START, prefetch=4).to_list()
    assert "total" in str(caught.value)
    assert len(fake.requests) <= 200, "no request flood"
