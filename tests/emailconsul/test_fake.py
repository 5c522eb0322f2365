"""FakeEmailConsul itself: its dataset, its auth and the requests it refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

import asyncmailstats.emailconsul as ec_package
from asyncmailstats.emailconsul import DeliveryDay, LinkStat
from asyncmailstats.testing import FakeEmailConsul

NOW = datetime(2024, 3, 1, tzinfo=UTC)
PERIOD = {"period_from": "2024-01-01T00:00:00.000Z", "period_to": "2024-03-01T00:00:00.000Z"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeEmailConsul]:
    async with FakeEmailConsul(
        link_logs=300, pixel_logs=100, deliveries=100, seed=2, now=NOW
    ) as server:
        yield server


async def get(
    fake: FakeEmailConsul, path: str, params: Any, key: str | None = None
) -> tuple[int, Any]:
    headers = {fake.auth_header: fake.api_key if key is None else key}
    async with (
        aiohttp.ClientSession() as http,
        http.get(fake.url + path, params=params, headers=headers) as r,
    ):
        return r.status, await r.json()


def test_same_seed_gives_the_same_dataset_and_key() -> None:
    """Two fakes with one seed and one `now` hold identical data and the same API key."""
    a = FakeEmailConsul(link_logs=200, pixel_logs=50, deliveries=50, seed=9, now=NOW)
    b = FakeEmailConsul(link_logs=200, pixel_logs=50, deliveries=50, seed=9, now=NOW)
    c = FakeEmailConsul(link_logs=200, pixel_logs=50, deliveries=50, seed=10, now=NOW)
    assert (a.link_logs, a.pixel_logs, a.deliveries, a.api_key) == (
        b.link_logs,
        b.pixel_logs,
        b.deliveries,
        b.api_key,
    )
    assert a.link_logs != c.link_logs
    assert a.api_key != c.api_key


def test_dataset_sizes_and_span() -> None:
    """The fake holds as many records as asked, oldest first, within 30 days before `now`."""
    fake = FakeEmailConsul(link_logs=120, pixel_logs=80, deliveries=40, now=NOW)
    assert (len(fake.link_logs), len(fake.pixel_logs), len(fake.deliveries)) == (120, 80, 40)
    stamps = [log.timestamp for log in fake.link_logs]
    assert stamps == sorted(stamps)
    assert (NOW - stamps[0]).days < 30
    assert stamps[-1] <= NOW


def test_default_dataset_has_5000_distinct_ips() -> None:
    """The default dataset is large enough to page through thousands of grouped rows."""
    fake = FakeEmailConsul(pixel_logs=0, deliveries=0, now=NOW)
    assert len({log.ip for log in fake.link_logs}) >= 4990


def test_key_stays_out_of_repr() -> None:
    """The fake's repr does not show its API key."""
    fake = FakeEmailConsul(link_logs=1, pixel_logs=0, deliveries=0, api_key="sekrit-key-1")
    assert "sekrit-key-1" not in repr(fake)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"link_logs": -1}, ValueError),
        ({"deliveries": 1.5}, TypeError),
        ({"pixel_logs": True}, TypeError),
        ({"now": datetime(2024, 1, 1)}, TypeError),  # noqa: DTZ001 - naive on purpose
    ],
)
def test_bad_constructor_arguments(kwargs: dict[str, Any], error: type[Exception]) -> None:
    """Negative or non-integer sizes and a naive `now` are refused."""
    with pytest.raises(error):
        FakeEmailConsul(**kwargs)


async def test_missing_or_wrong_key_is_401_with_json(fake: FakeEmailConsul) -> None:
    """A wrong key gets 401 and a JSON error body."""
    status, body = await get(fake, "/tracking/link/stats/timeseries", PERIOD, key="wrong")
    assert status == 401
    assert body["error"] == "unauthorized"


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        ("/tracking/link/stats/aggregated", {}, "period_from is required"),
        (
            "/tracking/link/stats/aggregated",
            {**PERIOD, "period_to": "2024-03-01"},
            "must look like",
        ),
        (
            "/tracking/link/stats/aggregated",
            {**PERIOD, "period_from": "2024-13-01T00:00:00.000Z"},
            "valid",
        ),
        (
            "/tracking/link/stats/aggregated",
            {**PERIOD, "period_from": "2024-03-02T00:00:00.000Z"},
            "after",
        ),
        ("/tracking/link/stats/aggregated", {**PERIOD, "group": "city"}, "unknown group"),
        ("/tracking/link/stats/aggregated", {**PERIOD, "sort": "-ip"}, "cannot sort"),
        ("/tracking/link/stats/aggregated", {**PERIOD, "limit": "1001"}, "limit"),
        ("/tracking/link/stats/aggregated", {**PERIOD, "limit": "0"}, "limit"),
        ("/tracking/link/stats/aggregated", {**PERIOD, "offset": "-5"}, "offset"),
        (
            "/tracking/link/stats/aggregated",
            [*PERIOD.items(), ("group", "ip"), ("group", "ip")],
            "more than once",
        ),
        ("/tracking/link/stats/timeseries", {**PERIOD, "limit": "10"}, "unknown parameter"),
        ("/tracking/pixel/stats/timeseries", {**PERIOD, "group": "country"}, "unknown group"),
        ("/tracking/pixel/stats/timeseries", {**PERIOD, "profile_id": "p"}, "unknown parameter"),
        ("/email_delivery/emails/stats/timeseries", {**PERIOD, "status": "LOST"}, "unknown status"),
        ("/email_delivery/emails/stats/timeseries", {**PERIOD, "status": "[1]"}, "status must be"),
        ("/email_delivery/emails/stats/timeseries", {**PERIOD, "sort": "-count"}, "cannot sort"),
    ],
)
async def test_bad_parameters_are_400(
    fake: FakeEmailConsul, path: str, params: Any, fragment: str
) -> None:
    """Malformed, unknown or out-of-range parameters get 400 with a message saying why."""
    status, body = await get(fake, path, params)
    assert status == 400
    assert body["error"] == "bad_request"
    assert fragment in body["message"]


async def test_status_accepts_a_json_array(fake: FakeEmailConsul) -> None:
    """The delivery status filter also takes a JSON array, as documented."""
    _, as_list = await get(
        fake,
        "/email_delivery/emails/stats/timeseries",
        {**PERIOD, "status": '["DELIVERED","BOUNCED"]'},
    )
    _, as_csv = await get(
        fake, "/email_delivery/emails/stats/timeseries", {**PERIOD, "status": "DELIVERED,BOUNCED"}
    )
    assert as_list == as_csv
    assert as_list["meta"]["count"] > 0


async def test_default_paging_and_grouping(fake: FakeEmailConsul) -> None:
    """Without group/limit the aggregated endpoint groups by campaign and pages by 100."""
    status, body = await get(fake, "/tracking/link/stats/aggregated", PERIOD)
    assert status == 200
    assert body["meta"] == {
        "count": len({log.campaign_id for log in fake.link_logs}),
        "offset": 0,
        "limit": 100,
    }
    assert all(set(row) == {"campaign_id", "count"} for row in body["data"])
    counts = [row["count"] for row in body["data"]]
    assert counts == sorted(counts, reverse=True)


def test_package_exports_are_sorted_and_complete() -> None:
    """asyncmailstats.emailconsul exports its API class, its models and its page size, sorted."""
    exported = ec_package.__all__
    # isort order, as ruff keeps it: constants, then classes, then the rest.
    assert list(exported) == sorted(
        exported, key=lambda n: (not n.isupper(), not n[:1].isupper(), n)
    )
    assert set(exported) == {
        "MAX_PAGE_SIZE",
        "DeliveryDay",
        "EmailConsulAPI",
        "LinkGroup",
        "LinkStat",
        "LinkTimeseriesPoint",
        "PixelTimeseriesPoint",
    }
    assert all(hasattr(ec_package, name) for name in exported)


def test_models_are_frozen_and_slotted() -> None:
    """Models refuse assignment and carry no per-instance __dict__."""
    row = LinkStat(count=1, ip="10.0.0.1")
    day = DeliveryDay(date=NOW.date())
    for model in (row, day):
        assert not hasattr(model, "__dict__")
    with pytest.raises(AttributeError):
        row.count = 2  # type: ignore[misc]
