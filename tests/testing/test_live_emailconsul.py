"""FakeEmailConsul while it keeps recording link logs, and while it pages sloppily."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from asyncmailstats.testing import FakeEmailConsul, LivePlan

NOW = datetime(2024, 3, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
#: A period that covers the dataset and every arrival (they come after `now`).
PERIOD = {"period_from": "2024-01-01T00:00:00.000Z", "period_to": "2030-01-01T00:00:00.000Z"}
LINKS = "/tracking/link/stats/aggregated"
SERIES = "/tracking/link/stats/timeseries"
PIXELS = "/tracking/pixel/stats/timeseries"
DELIVERY = "/email_delivery/emails/stats/timeseries"

Json = dict[str, Any]


@contextlib.asynccontextmanager
async def consul(**kwargs: Any) -> AsyncIterator[tuple[FakeEmailConsul, aiohttp.ClientSession]]:
    kwargs = {"link_logs": 400, "pixel_logs": 100, "deliveries": 600, "seed": 2, **kwargs}
    async with FakeEmailConsul(now=NOW, **kwargs) as fake:
        headers = {fake.auth_header: fake.api_key}
        async with aiohttp.ClientSession(base_url=fake.url, headers=headers) as http:
            yield fake, http


async def get(http: aiohttp.ClientSession, path: str, **params: Any) -> Json:
    async with http.get(path, params={**PERIOD, **params}) as response:
        assert response.status == 200, await response.text()
        body: Json = await response.json()
        return body


def campaign_rows(logs: Iterable[Any]) -> list[Json]:
    """What the aggregated endpoint answers grouped by campaign: -count, then the value."""
    counts = Counter(log.campaign_id for log in logs)
    rows = [{"campaign_id": k, "count": n} for k, n in sorted(counts.items())]
    return sorted(rows, key=lambda row: -row["count"])


async def test_arrivals_after_pages_are_newest_and_counted_at_once() -> None:
    """After each list page `arrivals` link logs arrive, 1 ms apart after `now`."""
    async with consul(live=LivePlan(arrivals=4)) as (fake, http):
        before = fake.link_logs
        assert max(log.timestamp for log in before) <= NOW
        first = await get(http, LINKS, limit=5)
        assert first["meta"]["count"] == len({log.campaign_id for log in before})
        assert fake.link_logs[: len(before)] == before
        added = fake.link_logs[len(before) :]
        assert [log.timestamp for log in added] == [NOW + k * MS for k in range(1, 5)]
        second = await get(http, LINKS, limit=1000)
        assert second["data"] == campaign_rows(fake.link_logs[:-4])  # served, then arrivals
        assert len(fake.link_logs) == len(before) + 8
        series = await get(http, SERIES)  # not a list page: nothing arrives after it
        assert len(fake.link_logs) == len(before) + 8
        assert sum(point["count"] for point in series["data"]) == len(before) + 8
        assert fake.pages_served == 2


async def test_arrivals_reuse_group_values_and_bring_new_ones() -> None:
    """Most arrivals hit existing campaigns and countries; every fourth brings new ones."""
    async with consul() as (fake, _):
        campaigns = {log.campaign_id for log in fake.link_logs}
        countries = {log.country for log in fake.link_logs}
        added = fake.add_link_logs(12)
    novel = [log for log in added if log.campaign_id not in campaigns]
    assert [added.index(log) for log in novel] == [3, 7, 11]
    assert all(log.country not in countries for log in novel)
    assert all(log.campaign_id in campaigns for log in added if log not in novel)
    assert len({log.country for log in novel}) == 3


async def test_add_link_logs_reaches_every_link_endpoint_through_the_cache() -> None:
    """Aggregates and series cached before an arrival count it; pixels and emails do not change."""
    async with consul() as (fake, http):
        stats = await get(http, LINKS, limit=1000)
        series = await get(http, SERIES, group="country")
        pixels, emails = await get(http, PIXELS), await get(http, DELIVERY, limit=1000)
        added = fake.add_link_logs(9)
        assert fake.link_logs[-9:] == tuple(added)
        assert [log.timestamp for log in added] == [NOW + k * MS for k in range(1, 10)]
        assert (await get(http, LINKS, limit=1000))["data"] == campaign_rows(fake.link_logs)
        assert (await get(http, LINKS, limit=1000)) != stats
        regrouped = await get(http, SERIES, group="country")
        new_day = NOW.date().isoformat()
        assert sum(p["count"] for p in regrouped["data"] if p["date"] == new_day) >= 9
        assert regrouped != series
        assert await get(http, PIXELS) == pixels
        assert await get(http, DELIVERY, limit=1000) == emails
        with pytest.raises(ValueError, match="count"):
            fake.add_link_logs(-1)
        with pytest.raises(TypeError, match="count"):
            fake.add_link_logs(2.0)  # type: ignore[arg-type]


async def test_arrivals_after_and_reproducibility() -> None:
    """Arrivals start after page arrivals_after, and the same requests give the same logs."""
    seen = []
    for _ in range(2):
        async with consul(live=LivePlan(arrivals=2, arrivals_after=3)) as (fake, http):
            sizes = []
            for _ in range(5):
                await get(http, DELIVERY, limit=5)
                sizes.append(len(fake.link_logs))
            seen.append(fake.link_logs)
        assert sizes == [400, 400, 402, 404, 406]
    assert seen[0] == seen[1]


async def test_page_cap_says_so_in_meta_limit() -> None:
    """A capped page serves at most page_cap rows and reports the cap as meta.limit."""
    async with consul(live=LivePlan(page_cap=7)) as (fake, http):
        rows = campaign_rows(fake.link_logs)
        capped = await get(http, LINKS, limit=50, group="campaign_id")
        assert capped == {"data": rows[:7], "meta": {"count": len(rows), "offset": 0, "limit": 7}}
        small = await get(http, LINKS, limit=3, offset=2)
        assert small["meta"] == {"count": len(rows), "offset": 2, "limit": 3}
        days = await get(http, DELIVERY)
        assert len(days["data"]) == 7
        assert days["meta"]["limit"] == 7


async def test_short_empty_and_total_on_delivery_days() -> None:
    """Short pages, empty pages and a fixed total, with meta.limit as asked."""
    async with consul() as (fake, http):
        days = (await get(http, DELIVERY, limit=1000))["data"]
        assert len(days) > 25
        fake.set_live(LivePlan(short_every=2, short_by=2))
        one, two = (
            await get(http, DELIVERY, limit=10),
            await get(http, DELIVERY, limit=10, offset=10),
        )
        assert (one["data"], two["data"]) == (days[:10], days[10:18])
        assert two["meta"] == {"count": len(days), "offset": 10, "limit": 10}
        fake.set_live(LivePlan(empty_from=20, total=999))
        late = await get(http, DELIVERY, limit=10, offset=20)
        assert late == {"data": [], "meta": {"count": 999, "offset": 20, "limit": 10}}
        assert (await get(http, DELIVERY, limit=10, offset=19))["data"] == days[19:29]


async def test_total_ignores_filter_counts_the_whole_dataset() -> None:
    """meta.count counts the rows of all time; the rows served keep to the period."""
    async with consul(live=LivePlan(total_ignores_filter=True)) as (fake, http):
        period = {
            "period_from": "2024-02-20T00:00:00.000Z",
            "period_to": "2024-02-22T00:00:00.000Z",
        }
        start, end = (datetime.fromisoformat(period[k]) for k in ("period_from", "period_to"))
        inside = [log for log in fake.link_logs if start <= log.timestamp <= end]
        body = await get(http, LINKS, limit=1000, group="ip", **period)
        assert len(body["data"]) == len({log.ip for log in inside})
        assert body["meta"]["count"] == len({log.ip for log in fake.link_logs})
        assert body["meta"]["count"] > len(body["data"])


async def test_an_all_off_plan_serves_the_same_bytes_as_none() -> None:
    """LivePlan() changes nothing a client can see."""
    bodies = []
    for live in (None, LivePlan()):
        async with consul(live=live) as (_, http):
            seen = []
            for path, params in ((LINKS, {"limit": 30, "offset": 5}), (DELIVERY, {}), (SERIES, {})):
                async with http.get(path, params={**PERIOD, **params}) as response:
                    seen.append(await response.read())
            bodies.append(seen)
    assert bodies[0] == bodies[1]


async def test_wall_clock_arrivals_stop_at_close() -> None:
    """arrivals_per_second records logs by itself, ever newer, until the server closes."""
    fake = FakeEmailConsul(link_logs=50, pixel_logs=0, deliveries=0, now=NOW)
    async with fake:
        fake.set_live(LivePlan(arrivals_per_second=500.0))
        for _ in range(5000):
            if len(fake.link_logs) >= 53:
                break
            await asyncio.sleep(0.001)
    grown = fake.link_logs
    stamps = [log.timestamp for log in grown[50:]]
    assert len(stamps) >= 3
    assert stamps == sorted(set(stamps))
    assert stamps[0] > NOW
    await asyncio.sleep(0.02)
    assert fake.link_logs == grown
