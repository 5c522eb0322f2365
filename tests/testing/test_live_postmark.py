"""FakePostmark while it keeps recording: arrivals after pages, scripted and by wall clock."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from asyncmailstats.testing import FakePostmark, FaultPlan, LivePlan

NOW = dt.datetime(2024, 3, 20, 15, 30, tzinfo=dt.UTC)
MS = dt.timedelta(milliseconds=1)

Json = dict[str, Any]


@contextlib.asynccontextmanager
async def postmark(**kwargs: Any) -> AsyncIterator[tuple[FakePostmark, aiohttp.ClientSession]]:
    """Run a FakePostmark (1500 messages, seed 5, `NOW` unless told) and a session on it."""
    kwargs = {"messages": 1500, "seed": 5, "now": NOW, **kwargs}
    async with FakePostmark(**kwargs) as fake:
        headers = {"X-Postmark-Server-Token": fake.token, "Accept": "application/json"}
        async with aiohttp.ClientSession(base_url=fake.url, headers=headers) as http:
            yield fake, http


async def get(http: aiohttp.ClientSession, path: str, **params: Any) -> tuple[int, Json]:
    """GET *path* with *params* and return the status and the decoded body."""
    query = {k: str(v) for k, v in params.items()}
    async with http.get(path, params=query) as response:
        return response.status, await response.json()


async def page(http: aiohttp.ClientSession, path: str, **params: Any) -> Json:
    """GET one list page that must succeed."""
    status, body = await get(http, path, **params)
    assert status == 200, body
    return body


def when(record: Json) -> dt.datetime:
    """The ReceivedAt of a Postmark record, as an aware datetime."""
    return dt.datetime.fromisoformat(record["ReceivedAt"])


def newest(*groups: Any) -> dt.datetime:
    """The latest ReceivedAt among the records of *groups*."""
    return max(when(record) for group in groups for record in group)


async def until(predicate: Callable[[], bool]) -> None:
    """Yield to the loop until *predicate* holds (at most five seconds)."""
    for _ in range(5000):
        if predicate():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never became true")


OPENS, CLICKS, MESSAGES = (
    "/messages/outbound/opens",
    "/messages/outbound/clicks",
    "/messages/outbound",
)
STATS_PATHS = (
    "", "sends", "bounces", "spam", "tracked", "opens", "opens/platforms", "opens/emailclients",
    "opens/readtimes", "clicks", "clicks/browserfamilies", "clicks/platforms", "clicks/location",
)  # fmt: skip


def outbound(records: object) -> list[Json]:
    return [r for r in records if r["MessageStream"] == "outbound"]  # type: ignore[attr-defined]


def rebuilt_stats(fake: FakePostmark) -> list[Json]:
    """Every stats answer, once from the tallied tables and once aggregated afresh."""
    tallied = [fake.stats(path) for path in STATS_PATHS]
    fake._stats = None
    fake._stat_days = {}
    assert [fake.stats(path) for path in STATS_PATHS] == tallied
    return tallied


# -- arrivals after list pages ----------------------------------------------------------


async def test_arrivals_land_at_the_head_1ms_apart_and_totals_grow() -> None:
    """After each list page `arrivals` opens and clicks arrive, newest first, after `now`."""
    async with postmark(live=LivePlan(arrivals=3)) as (fake, http):
        before_opens, before_clicks = fake.opens.snapshot(), fake.clicks.snapshot()
        latest = newest(fake.messages, before_opens, before_clicks)
        assert latest <= NOW
        first = await page(http, OPENS, count=50, offset=0)
        assert first["TotalCount"] == len(outbound(before_opens))
        assert first["Opens"] == outbound(before_opens)[:50]
        assert len(fake.opens) == len(before_opens) + 3
        assert len(fake.clicks) == len(before_clicks) + 3
        new_opens, new_clicks = fake.opens[:3], fake.clicks[:3]
        # One clock for both kinds: the opens come first, then the clicks, 1 ms apart.
        assert [when(r) for r in reversed(new_opens)] == [NOW + k * MS for k in (1, 2, 3)]
        assert [when(r) for r in reversed(new_clicks)] == [NOW + k * MS for k in (4, 5, 6)]
        second = await page(http, OPENS, count=50, offset=0)
        assert second["TotalCount"] == first["TotalCount"] + 3
        assert second["Opens"] == new_opens + first["Opens"][:47]
        clicks = await page(http, CLICKS, count=50, offset=0)
        assert clicks["TotalCount"] == len(outbound(before_clicks)) + 6
        assert min(when(c) for c in clicks["Clicks"][:6]) > latest
        assert fake.pages_served == 3


async def test_arrivals_shift_later_offset_pages() -> None:
    """Offset paging over a growing newest-first list sees the last items of a page again."""
    async with postmark(live=LivePlan(arrivals=3)) as (_, http):
        one = await page(http, OPENS, count=10, offset=0)
        two = await page(http, OPENS, count=10, offset=10)
        assert two["Opens"][:3] == one["Opens"][7:]
        assert two["TotalCount"] == one["TotalCount"] + 3


async def test_messages_arrive_only_with_message_arrivals() -> None:
    """`arrivals` never adds messages; `message_arrivals` adds outbound ones at the head."""
    async with postmark(live=LivePlan(arrivals=2)) as (fake, http):
        count = len(fake.messages)
        await page(http, MESSAGES, count=5, offset=0)
        await page(http, OPENS, count=5, offset=0)
        assert len(fake.messages) == count
    async with postmark(live=LivePlan(message_arrivals=2)) as (fake, http):
        opens, latest = len(fake.opens), newest(fake.messages)
        one = await page(http, MESSAGES, count=5, offset=0)
        two = await page(http, MESSAGES, count=5, offset=0)
        assert two["TotalCount"] == one["TotalCount"] + 2
        added = two["Messages"][:2]
        assert added == fake.messages[2:4]
        assert [m["MessageStream"] for m in added] == ["outbound", "outbound"]
        assert when(added[1]) > latest
        assert when(added[0]) - when(added[1]) == MS
        assert len(fake.opens) == opens
        status, details = await get(http, f"{MESSAGES}/{added[0]['MessageID']}/details")
        assert status == 200
        assert details["MessageEvents"] == []  # just sent, not delivered yet


@pytest.mark.parametrize(("after", "unchanged"), [(0, 1), (1, 1), (3, 3)])
async def test_arrivals_after(after: int, unchanged: int) -> None:
    """The first arrivals follow page max(arrivals_after, 1); earlier pages see still data."""
    async with postmark(live=LivePlan(arrivals=4, arrivals_after=after)) as (_, http):
        totals = [(await page(http, OPENS, count=1, offset=0))["TotalCount"] for _ in range(6)]
    start = totals[0]
    expected = [start] * unchanged + [start + 4 * k for k in range(1, 7 - unchanged)]
    assert totals == expected


async def test_set_live_restarts_page_numbers_and_none_stops_arrivals() -> None:
    """set_live() counts pages anew for arrivals_after; set_live(None) stills the data."""
    async with postmark() as (fake, http):
        await page(http, OPENS, count=1, offset=0)
        count = len(fake.opens)
        fake.set_live(LivePlan(arrivals=1, arrivals_after=2))
        await page(http, OPENS, count=1, offset=0)
        assert len(fake.opens) == count
        await page(http, CLICKS, count=1, offset=0)
        assert len(fake.opens) == count + 1
        fake.set_live(None)
        await page(http, OPENS, count=1, offset=0)
        assert len(fake.opens) == count + 1
        assert fake.pages_served == 4


async def test_only_list_pages_count_and_trigger_arrivals() -> None:
    """Details, dumps, stats and refused requests are not list pages; per-message lists are."""
    async with postmark(live=LivePlan(arrivals=1)) as (fake, http):
        mid = fake.message_ids()[-1]
        count = len(fake.opens)
        for path in (f"{MESSAGES}/{mid}/details", f"{MESSAGES}/{mid}/dump", "/stats/outbound"):
            await get(http, path)
        status, _ = await get(http, OPENS, count=501, offset=0)
        assert status == 422
        assert (fake.pages_served, len(fake.opens)) == (0, count)
        await page(http, f"{OPENS}/{mid}", count=10, offset=0)
        await page(http, f"{CLICKS}/{mid}", count=10, offset=0)
        assert (fake.pages_served, len(fake.opens)) == (2, count + 2)


async def test_a_page_counts_when_the_endpoint_builds_it() -> None:
    """A truncated page still counts and brings arrivals; a 5xx answered instead does not."""
    async with postmark(live=LivePlan(arrivals=1)) as (fake, http):
        count = len(fake.opens)
        fake.set_faults(FaultPlan(server_error=1.0))
        status, _ = await get(http, OPENS, count=5, offset=0)
        assert (status, fake.pages_served, len(fake.opens)) == (500, 0, count)
        fake.set_faults(FaultPlan(truncate=1.0))
        with pytest.raises(aiohttp.ClientError):
            await get(http, OPENS, count=5, offset=0)
        assert (fake.pages_served, len(fake.opens)) == (1, count + 1)


async def test_arrivals_are_reproducible() -> None:
    """The same seed, plan and requests give the same arrivals."""
    seen = []
    for _ in range(2):
        async with postmark(live=LivePlan(arrivals=5, message_arrivals=1)) as (fake, http):
            for path in (MESSAGES, OPENS, CLICKS, OPENS):
                await page(http, path, count=20, offset=0)
            seen.append((list(fake.messages[:10]), list(fake.opens[:30]), list(fake.clicks[:30])))
    assert seen[0] == seen[1]


# -- scripted arrivals ------------------------------------------------------------------


async def test_add_opens_agree_across_endpoints() -> None:
    """New opens are first opens of delivered recipients, in searches, details and stats."""
    async with postmark() as (fake, http):
        stats = rebuilt_stats(fake)  # built before: the arrivals are tallied into it
        snapshot = fake.opens.snapshot()
        added = fake.add_opens(6)
        assert len(added) == 6
        stamps = [when(o) for o in added]
        assert stamps == sorted(stamps, reverse=True)
        assert stamps[-1] > newest(snapshot, fake.clicks)
        assert (await page(http, OPENS, count=6, offset=0))["Opens"] == added
        by_id = {m["MessageID"]: m for m in fake.messages}
        for o in added:
            message = by_id[o["MessageID"]]
            assert message["TrackOpens"]
            assert o["MessageStream"] == "outbound"
            assert o["Tag"] == message["Tag"] if "Tag" in message else "Tag" not in o
            events = fake.details(o["MessageID"])["MessageEvents"]
            mine = [e for e in events if e["Recipient"] == o["Recipient"]]
            assert {e["Type"] for e in mine} >= {"Delivered", "Opened"}
            assert mine[-1] == {
                "Recipient": o["Recipient"],
                "Type": "Opened",
                "ReceivedAt": o["ReceivedAt"],
                "Details": {"Summary": f"Viewed using {o['Client']['Name']}"},
            }
            own = await page(http, f"{OPENS}/{o['MessageID']}", count=500, offset=0)
            assert own["Opens"] == fake.message_opens(o["MessageID"])
            assert o in own["Opens"]
        pairs = Counter((o["MessageID"], o["Recipient"]) for o in fake.opens)
        assert max(pairs.values()) == 1  # Postmark keeps first opens only
        after = rebuilt_stats(fake)
        opens_at = STATS_PATHS.index("opens")
        assert after[opens_at]["Unique"] == stats[opens_at]["Unique"] + 6
        assert after[0]["UniqueOpens"] == stats[0]["UniqueOpens"] + 6
        _, body = await get(http, "/stats/outbound/opens")
        assert body == after[opens_at]


async def test_add_clicks_agree_across_endpoints() -> None:
    """New clicks go to a link of a link-tracked message that recipient had not clicked."""
    async with postmark() as (fake, http):
        stats = rebuilt_stats(fake)
        snapshot = fake.clicks.snapshot()
        added = fake.add_clicks(6)
        assert len(added) == 6
        assert when(added[-1]) > newest(snapshot, fake.opens)
        assert (await page(http, CLICKS, count=6, offset=0))["Clicks"] == added
        by_id = {m["MessageID"]: m for m in fake.messages}
        for c in added:
            assert by_id[c["MessageID"]]["TrackLinks"] != "None"
            assert c["Recipient"] in by_id[c["MessageID"]]["Recipients"]
            details = fake.details(c["MessageID"])
            assert c["OriginalLink"] in details["TextBody"]
            clicked = [e for e in details["MessageEvents"] if e["Type"] == "LinkClicked"]
            assert {"ReceivedAt": c["ReceivedAt"], "Link": c["OriginalLink"]}.items() <= {
                **clicked[-1],
                **clicked[-1]["Details"],
            }.items()
            assert (
                c in (await page(http, f"{CLICKS}/{c['MessageID']}", count=500, offset=0))["Clicks"]
            )
        pairs = Counter((c["MessageID"], c["Recipient"], c["OriginalLink"]) for c in fake.clicks)
        assert max(pairs.values()) == 1
        after = rebuilt_stats(fake)
        clicks_at = STATS_PATHS.index("clicks")
        assert after[clicks_at]["Unique"] == stats[clicks_at]["Unique"] + 6


async def test_added_messages_land_in_order_in_cached_searches_and_stats() -> None:
    """add_messages() reaches filtered searches cached before and the built stats."""
    async with postmark() as (fake, http):
        subjects = {m["Subject"] for m in fake.messages}
        for subject in subjects:  # warm the filtered-search cache for every subject
            await page(http, MESSAGES, count=5, offset=0, subject=subject)
        stats = rebuilt_stats(fake)
        [added] = fake.add_messages(1, at=NOW + dt.timedelta(minutes=5))
        body = await page(http, MESSAGES, count=5, offset=0, subject=added["Subject"])
        assert body["Messages"][0] == added
        assert body["TotalCount"] == len(fake.search_messages({"subject": added["Subject"]}))
        [middle] = fake.add_messages(1, at=NOW - dt.timedelta(days=3))
        stamps = [when(m) for m in fake.messages]
        assert stamps == sorted(stamps, reverse=True)
        assert middle in fake.search_messages({"subject": middle["Subject"]})
        after = rebuilt_stats(fake)
        sent = sum(len(m["Recipients"]) for m in (added, middle) if m["Status"] != "Queued")
        assert after[1]["Sent"] == stats[1]["Sent"] + sent
        # Opens and clicks arriving later are still newer than the message added last.
        assert when(fake.add_opens(1)[0]) > when(added)


async def test_snapshots_keep_one_moment() -> None:
    """snapshot() and list() of a truth view do not change when records arrive."""
    async with postmark() as (fake, _):
        view, frozen, rendered = fake.opens, fake.opens.snapshot(), list(fake.opens)
        fake.add_opens(2)
        assert len(frozen) == len(rendered) == len(view) - 2
        assert list(frozen) == rendered
        assert view[2:] == rendered


def test_scripted_arrivals_stop_when_nobody_is_left() -> None:
    """With every delivered recipient engaged, add_opens/add_clicks add fewer, never twice."""
    fake = FakePostmark(messages=30, seed=3, now=NOW, open_rate=0.7, click_rate=0.7)
    opens, clicks = fake.add_opens(10_000), fake.add_clicks(10_000)
    assert 0 < len(opens) < 10_000
    assert 0 < len(clicks) < 10_000
    assert fake.add_opens(1) == fake.add_clicks(1) == []
    assert max(Counter((o["MessageID"], o["Recipient"]) for o in fake.opens).values()) == 1
    keys = Counter((c["MessageID"], c["Recipient"], c["OriginalLink"]) for c in fake.clicks)
    assert max(keys.values()) == 1
    assert fake.add_opens(0) == []


def test_scripted_arrivals_check_their_arguments() -> None:
    """Counts are non-negative integers and the stream must exist."""
    fake = FakePostmark(messages=10, seed=1, now=NOW)
    with pytest.raises(ValueError, match="count"):
        fake.add_opens(-1)
    with pytest.raises(TypeError, match="count"):
        fake.add_clicks(True)
    with pytest.raises(ValueError, match="stream"):
        fake.add_opens(1, stream="inbound")
    assert all(o["MessageStream"] == "broadcast" for o in fake.add_opens(3, stream="broadcast"))


# -- arrivals by wall clock -------------------------------------------------------------


async def test_wall_clock_arrivals_run_while_the_server_runs() -> None:
    """arrivals_per_second records by itself, ever newer, and stops when the server closes."""
    plan = LivePlan(arrivals_per_second=500.0, message_arrivals=1)
    fake = FakePostmark(messages=300, seed=2, now=NOW, live=plan)
    opens, messages = len(fake.opens), len(fake.messages)
    async with fake:
        await until(lambda: len(fake.opens) >= opens + 3 and len(fake.messages) > messages)
    grown = len(fake.opens), len(fake.clicks), len(fake.messages)
    new = [*fake.opens[: grown[0] - opens], *fake.clicks[:3]]
    assert min(when(r) for r in new) > NOW
    stamps = [when(o) for o in fake.opens[: grown[0] - opens]]
    assert stamps == sorted(set(stamps), reverse=True)
    await fake.close()
    assert (len(fake.opens), len(fake.clicks), len(fake.messages)) == grown
