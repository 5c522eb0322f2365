"""FakePostmark paging sloppily: capped, short and empty pages, and totals that lie."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from asyncmailstats.testing import FakePostmark, LivePlan

NOW = dt.datetime(2024, 3, 20, 15, 30, tzinfo=dt.UTC)
OPENS, CLICKS, MESSAGES = (
    "/messages/outbound/opens",
    "/messages/outbound/clicks",
    "/messages/outbound",
)

Json = dict[str, Any]


@contextlib.asynccontextmanager
async def postmark(**kwargs: Any) -> AsyncIterator[tuple[FakePostmark, aiohttp.ClientSession]]:
    async with FakePostmark(messages=1500, seed=5, now=NOW, **kwargs) as fake:
        headers = {"X-Postmark-Server-Token": fake.token}
        async with aiohttp.ClientSession(base_url=fake.url, headers=headers) as http:
            yield fake, http


async def get(http: aiohttp.ClientSession, path: str, **params: Any) -> tuple[int, Json]:
    async with http.get(path, params={k: str(v) for k, v in params.items()}) as response:
        return response.status, await response.json()


async def page(http: aiohttp.ClientSession, path: str, **params: Any) -> Json:
    status, body = await get(http, path, **params)
    assert status == 200, body
    return body


def outbound_messages(fake: FakePostmark) -> list[Json]:
    return [m for m in fake.messages if m["MessageStream"] == "outbound"]


async def test_an_all_off_plan_serves_the_same_bytes_as_none() -> None:
    """LivePlan() changes nothing a client can see."""
    bodies = []
    for live in (None, LivePlan()):
        async with postmark(live=live) as (fake, http):
            mid = fake.message_ids()[3]
            seen = []
            requests: list[tuple[str, dict[str, str]]] = [
                (MESSAGES, {"count": "50", "offset": "100", "tag": "welcome"}),
                (OPENS, {"count": "500", "offset": "0"}),
                (CLICKS, {"count": "7", "offset": "3", "messagestream": "broadcast"}),
                (f"{OPENS}/{mid}", {"count": "10", "offset": "0"}),
            ]
            for path, params in requests:
                async with http.get(path, params=params) as response:
                    seen.append(await response.read())
            bodies.append(seen)
    assert bodies[0] == bodies[1]


async def test_page_cap_serves_fewer_items_silently() -> None:
    """page_cap trims every list page; TotalCount stays the real one."""
    async with postmark(live=LivePlan(page_cap=7)) as (fake, http):
        truth = outbound_messages(fake)
        one = await page(http, MESSAGES, count=50, offset=0)
        assert (one["TotalCount"], one["Messages"]) == (len(truth), truth[:7])
        two = await page(http, MESSAGES, count=3, offset=7)
        assert two["Messages"] == truth[7:10]
        opens = await page(http, OPENS, count=500, offset=0)
        assert len(opens["Opens"]) == 7
        busy = next(m for m in fake.message_ids() if len(fake.message_clicks(m)) >= 2)
        fake.set_live(LivePlan(page_cap=1))
        own = await page(http, f"{CLICKS}/{busy}", count=500, offset=0)
        assert own["Clicks"] == fake.message_clicks(busy)[:1]
        assert own["TotalCount"] == len(fake.message_clicks(busy))


async def test_postmark_limits_still_hold_under_a_plan() -> None:
    """count > 500 and count + offset > 10000 are still HTTP 422, ErrorCode 700."""
    plan = LivePlan(page_cap=5, total=50_000, short_every=1, empty_from=0)
    async with postmark(live=plan) as (fake, http):
        for params in ({"count": 501, "offset": 0}, {"count": 500, "offset": 9501}):
            status, body = await get(http, OPENS, **params)
            assert (status, body["ErrorCode"]) == (422, 700)
        assert fake.pages_served == 0


async def test_short_every_leaves_out_the_tail_of_full_pages() -> None:
    """Every short_every-th page lacks its last short_by items; totals do not change."""
    async with postmark(live=LivePlan(short_every=2, short_by=3)) as (fake, http):
        truth = outbound_messages(fake)
        pages = [await page(http, MESSAGES, count=20, offset=off) for off in (0, 20, 40, 60)]
        assert [len(p["Messages"]) for p in pages] == [20, 17, 20, 17]
        assert pages[1]["Messages"] == truth[20:37]
        assert {p["TotalCount"] for p in pages} == {len(truth)}
        await page(http, MESSAGES, count=20, offset=0)  # page 5: full
        tail = await page(http, MESSAGES, count=20, offset=len(truth) - 4)  # page 6: not full
        assert tail["Messages"] == truth[-4:]


async def test_empty_from_answers_nothing_past_a_position() -> None:
    """A page starting at or past empty_from is empty though TotalCount says more."""
    async with postmark(live=LivePlan(empty_from=40)) as (fake, http):
        truth = outbound_messages(fake)
        before = await page(http, MESSAGES, count=20, offset=39)
        assert before["Messages"] == truth[39:59]
        after = await page(http, MESSAGES, count=20, offset=40)
        assert after == {"TotalCount": len(truth), "Messages": []}
        assert (await page(http, OPENS, count=5, offset=45))["Opens"] == []


async def test_total_replaces_every_reported_total() -> None:
    """total is what every list page reports; the items are the real ones."""
    async with postmark(live=LivePlan(total=12_345)) as (fake, http):
        mid = next(m for m in fake.message_ids() if fake.message_opens(m))
        messages = await page(http, MESSAGES, count=5, offset=0)
        assert messages["TotalCount"] == 12_345
        assert messages["Messages"] == outbound_messages(fake)[:5]
        assert (await page(http, CLICKS, count=5, offset=0))["TotalCount"] == 12_345
        own = await page(http, f"{OPENS}/{mid}", count=5, offset=0)
        assert own == {"TotalCount": 12_345, "Opens": fake.message_opens(mid)[:5]}
        _, stats = await get(http, "/stats/outbound/sends")
        assert stats["Sent"] != 12_345


@pytest.mark.parametrize("total", [None, 77])
async def test_total_ignores_filter_counts_without_the_dates(total: int | None) -> None:
    """The messages search reports the undated count but serves the dated items."""
    plan = LivePlan(total_ignores_filter=True, total=total)
    async with postmark(live=plan) as (fake, http):
        dated = {"tag": "welcome", "fromdate": "2024-03-10", "todate": "2024-03-12"}
        expected = fake.search_messages(dated)
        undated = fake.search_messages({"tag": "welcome"})
        assert 0 < len(expected) < len(undated) <= 500
        body = await page(http, MESSAGES, count=500, offset=0, **dated)
        assert body["Messages"] == expected
        assert body["TotalCount"] == (len(undated) if total is None else total)
        opens = await page(http, OPENS, count=5, offset=0, fromdate="2024-03-10")
        assert opens["TotalCount"] == (
            len(fake.search_opens({"fromdate": "2024-03-10"})) if total is None else total
        )
