"""LivePlan itself (validation, page shaping) and the request counters every fake keeps."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import aiohttp
import attrs
import pytest

import asyncmailstats.testing
from asyncmailstats.testing import FakeEmailConsul, FakePostmark, FaultPlan, LivePlan

NOW = dt.datetime(2024, 3, 20, 15, 30, tzinfo=dt.UTC)
NOW_Z = "2024-03-20T15:30:00.000Z"


def test_live_plan_is_exported() -> None:
    """LivePlan is part of the test kit's public names."""
    assert "LivePlan" in asyncmailstats.testing.__all__
    assert asyncmailstats.testing.LivePlan is LivePlan


def test_defaults_are_off() -> None:
    """A default plan records nothing and shapes no page."""
    plan = LivePlan()
    assert (plan.arrivals, plan.message_arrivals, plan.arrivals_after) == (0, 0, 0)
    assert plan.arrivals_per_second == 0.0
    assert (plan.page_cap, plan.empty_from, plan.total) == (None, None, None)
    assert (plan.short_every, plan.short_by, plan.total_ignores_filter) == (0, 1, False)
    for number in range(1, 5):
        assert plan.shape(number, 0, 50, 120) == (50, 120)
        assert plan.shape(number, 100, 50, 120) == (20, 120)
        assert plan.shape(number, 200, 50, 120) == (0, 120)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("arrivals", -1, ValueError),
        ("arrivals", 1.5, TypeError),
        ("arrivals", True, TypeError),
        ("message_arrivals", -2, ValueError),
        ("arrivals_after", -1, ValueError),
        ("arrivals_after", "3", TypeError),
        ("arrivals_per_second", -0.5, ValueError),
        ("arrivals_per_second", math.inf, ValueError),
        ("arrivals_per_second", math.nan, ValueError),
        ("arrivals_per_second", "fast", TypeError),
        ("arrivals_per_second", False, TypeError),
        ("page_cap", 0, ValueError),
        ("page_cap", -3, ValueError),
        ("page_cap", 2.0, TypeError),
        ("short_every", -1, ValueError),
        ("short_by", 0, ValueError),
        ("short_by", None, TypeError),
        ("empty_from", -1, ValueError),
        ("empty_from", 1.0, TypeError),
        ("total", -1, ValueError),
        ("total", "3", TypeError),
        ("total_ignores_filter", 1, TypeError),
    ],
)
def test_bad_values_are_rejected(field: str, value: Any, error: type[Exception]) -> None:
    """Negative counts, non-integers, non-finite rates and non-bools fail at once, by name."""
    with pytest.raises(error, match=field):
        LivePlan(**{field: value})


def test_zero_is_a_valid_position_and_total() -> None:
    """empty_from=0 and total=0 are meaningful values, not errors."""
    plan = LivePlan(empty_from=0, total=0)
    assert plan.shape(1, 0, 10, 30) == (0, 0)


def test_plan_is_frozen_and_comparable() -> None:
    """Plans are immutable values."""
    plan = LivePlan(arrivals=2)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        plan.arrivals = 3  # type: ignore[misc]
    assert plan == LivePlan(arrivals=2)
    assert plan != LivePlan(arrivals=3)


def test_fakes_refuse_anything_but_a_plan() -> None:
    """live= and set_live() take a LivePlan or None, nothing else."""
    with pytest.raises(TypeError, match="LivePlan"):
        FakePostmark(messages=1, live={"arrivals": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="LivePlan"):
        FakeEmailConsul(link_logs=1, live=FaultPlan())  # type: ignore[arg-type]
    fake = FakePostmark(messages=1)
    with pytest.raises(TypeError, match="LivePlan"):
        fake.set_live(3)  # type: ignore[arg-type]
    fake.set_live(LivePlan(arrivals=1))
    assert fake.live == LivePlan(arrivals=1)
    fake.set_live(None)
    assert fake.live is None


# (plan, page number, offset, limit, available) -> (items, reported total)
SHAPES: list[tuple[LivePlan, tuple[int, int, int, int], tuple[int, int]]] = [
    (LivePlan(page_cap=7), (1, 0, 50, 100), (7, 100)),
    (LivePlan(page_cap=7), (1, 98, 50, 100), (2, 100)),
    (LivePlan(page_cap=70), (1, 0, 50, 100), (50, 100)),
    (LivePlan(short_every=2, short_by=3), (1, 0, 10, 100), (10, 100)),
    (LivePlan(short_every=2, short_by=3), (2, 10, 10, 100), (7, 100)),
    (LivePlan(short_every=2, short_by=3), (4, 95, 10, 100), (5, 100)),  # not full: kept
    (LivePlan(short_every=1, short_by=30), (1, 0, 10, 100), (0, 100)),
    (LivePlan(short_every=2, page_cap=4), (2, 0, 10, 100), (3, 100)),  # full at the cap
    (LivePlan(empty_from=40), (1, 39, 10, 100), (10, 100)),
    (LivePlan(empty_from=40), (1, 40, 10, 100), (0, 100)),
    (LivePlan(total=5), (1, 0, 10, 100), (10, 5)),
    (LivePlan(total=500), (1, 95, 10, 100), (5, 500)),
]


@pytest.mark.parametrize(("plan", "args", "expected"), SHAPES)
def test_shape(plan: LivePlan, args: tuple[int, int, int, int], expected: tuple[int, int]) -> None:
    """shape() caps, shortens full pages, empties late pages and overrides the total."""
    assert plan.shape(*args) == expected


# -- request counters -----------------------------------------------------------------


async def test_request_counters_name_postmark_endpoints() -> None:
    """Every request is counted, per endpoint with {id} for message IDs, faults included."""
    async with FakePostmark(messages=50, seed=1, now=NOW) as fake:
        mid = fake.message_ids()[0]
        fake.record_requests = False
        headers = {"X-Postmark-Server-Token": fake.token}
        paths = [
            "/messages/outbound?count=5&offset=0",
            "/Messages/Outbound/?count=5&offset=0",
            "/messages/outbound/opens?count=5&offset=0",
            f"/messages/outbound/opens/{mid}?count=5&offset=0",
            f"/messages/outbound/clicks/{mid}?count=5&offset=0",
            f"/messages/outbound/{mid}/details",
            f"/messages/outbound/{mid}/dump",
            "/stats/outbound/opens/platforms",
            "/nowhere",
        ]
        async with aiohttp.ClientSession(base_url=fake.url, headers=headers) as http:
            for path in paths:
                async with http.get(path) as response:
                    await response.read()
            fake.set_faults(FaultPlan(server_error=1.0))
            async with http.get("/stats/outbound") as response:
                assert response.status == 500
        assert fake.requests == []
        assert fake.request_count == len(paths) + 1
        assert fake.requests_by_endpoint == {
            "/messages/outbound": 2,
            "/messages/outbound/opens": 1,
            "/messages/outbound/opens/{id}": 1,
            "/messages/outbound/clicks/{id}": 1,
            "/messages/outbound/{id}/details": 1,
            "/messages/outbound/{id}/dump": 1,
            "/stats/outbound/opens/platforms": 1,
            "/stats/outbound": 1,
            "/nowhere": 1,
        }
        assert fake.pages_served == 5
        fake.reset_stats()
        assert (fake.request_count, fake.pages_served) == (0, 0)
        assert not fake.requests_by_endpoint


async def test_request_counters_use_route_paths_on_emailconsul() -> None:
    """EmailConsul's counts are keyed by route path; unmatched paths by their raw path."""
    async with FakeEmailConsul(link_logs=20, pixel_logs=5, deliveries=5, now=NOW) as fake:
        period = {"period_from": "2024-03-01T00:00:00.000Z", "period_to": NOW_Z}
        async with aiohttp.ClientSession(base_url=fake.url) as http:
            for path in (
                "/tracking/link/stats/aggregated",
                "/tracking/link/stats/aggregated",
                "/tracking/pixel/stats/timeseries",
                "/nothing/here",
            ):
                async with http.get(path, params=period, headers={fake.auth_header: fake.api_key}):
                    pass
        assert fake.request_count == 4
        assert fake.requests_by_endpoint == {
            "/tracking/link/stats/aggregated": 2,
            "/tracking/pixel/stats/timeseries": 1,
            "/nothing/here": 1,
        }
        assert fake.pages_served == 2  # the series is not a list page
