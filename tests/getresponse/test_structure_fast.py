"""GetResponse stats periods read by the generated function equal the generic hook's."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

import pytest

from asyncmailstats import _convert as base
from asyncmailstats.getresponse import Grouping
from asyncmailstats.getresponse import _convert as gr
from asyncmailstats.getresponse._wire import period_start, stats_series
from asyncmailstats.getresponse.models import COUNTER_NAMES, PeriodStats
from asyncmailstats.testing import FakeGetResponse

GENERIC = gr.configure_converter(base.make_converter(strict=False), fast=False)
STRICT = gr.make_converter(strict=True)


def outcome(hook: Any, data: Any) -> Any:
    """Return the period a hook builds (each field's type, and extra), or its error."""
    try:
        value = hook(data, PeriodStats)
    except Exception as exc:
        return ("error", type(exc), str(exc))
    types = tuple(type(getattr(value, name)) for name in ("start", *COUNTER_NAMES, "extra"))
    # extra takes no part in ==: compare its content too.
    return ("ok", value, types, dict(value.extra))


@pytest.fixture(scope="module")
def fake() -> FakeGetResponse:
    return FakeGetResponse(messages=40, seed=5)


def test_production_converter_has_a_generated_period_hook():
    """Production reads periods through the generated function; strict keeps cattrs'."""
    fast = gr.CONVERTER.get_structure_hook(PeriodStats)
    assert fast.__name__ == "structure_PeriodStats"
    assert "fast structure" not in STRICT.get_structure_hook(PeriodStats).__code__.co_filename


@pytest.mark.parametrize("grouping", list(Grouping))
def test_fake_series_equal_generic_and_strict(fake: FakeGetResponse, grouping: Grouping):
    """Every fake series decodes to equal periods through the three converters."""
    for message_id in fake.messages:
        result = fake.stats(message_id, grouping.value)
        kwargs: dict[str, Any] = {"message_id": message_id, "grouping": grouping}
        fast = stats_series(result, **kwargs)
        assert fast == stats_series(result, converter=GENERIC, **kwargs)
        assert fast == stats_series(result, converter=STRICT, **kwargs)
        assert all(type(p.sent) is int for p in fast.periods)


ODD: tuple[Any, ...] = (None, "3", 3.0, 2.5, True, [], {}, "x", -1, 10**30)


def test_distorted_periods_give_the_same_result_or_error(fake: FakeGetResponse):
    """Seeded distortions of real periods: fast and generic agree on the value or error."""
    rng = random.Random(17)
    fast = gr.CONVERTER.get_structure_hook(PeriodStats)
    generic = GENERIC.get_structure_hook(PeriodStats)
    periods = [
        {**counters, "period": hour, "start": period_start(hour, Grouping.HOURLY)}
        for message_id in fake.messages
        for hour, counters in fake.stats(message_id, "hourly").items()
    ]
    kinds = set()
    for _ in range(3000):
        data = copy.deepcopy(rng.choice(periods))
        hour = data["period"]
        for _ in range(rng.randint(1, 2)):
            key = rng.choice([*data, "extra"])
            if rng.random() < 0.2:
                data.pop(key, None)
            else:
                data[key] = rng.choice((*ODD, hour, "2024-01-01 10:00:00"))
        expected = outcome(generic, data)
        kinds.add(expected[0])
        if expected[0] == "ok" and expected[3]:
            kinds.add("extra")
        assert outcome(fast, data) == expected, data
    assert kinds == {"ok", "error", "extra"}


def test_fake_periods_never_reach_the_generic_hook(
    fake: FakeGetResponse, watch_fallback: Callable[[Any], list[Any]]
):
    """The production function reads every fake period itself (no generic rebuild)."""
    hook = gr.CONVERTER.get_structure_hook(PeriodStats)
    declined = watch_fallback(hook)
    for message_id in fake.messages:
        stats_series(
            fake.stats(message_id, "hourly"), message_id=message_id, grouping=Grouping.HOURLY
        )
    assert declined == []
