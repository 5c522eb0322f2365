"""The GetResponse models: time ranges, stats totals, immutability."""

# GetResponse timestamps carry no offset: the models hold naive datetimes on purpose.
# ruff: noqa: DTZ001

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncmailstats.getresponse import (
    Grouping,
    Link,
    Message,
    MessageStatsSeries,
    PeriodStats,
    StatsTotals,
    TimeRange,
)
from asyncmailstats.getresponse.models import COUNTER_NAMES

D1, D2 = date(2024, 1, 1), date(2024, 1, 31)


def test_time_range_accepts_bounds_or_a_single_day() -> None:
    """from_/to (either or both, equal allowed) or at alone make a valid range."""
    assert TimeRange(from_=D1, to=D2).to == D2
    assert TimeRange(from_=D1, to=D1).from_ == D1
    assert TimeRange(to=D2).from_ is None
    assert TimeRange(at=D1).at == D1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ValueError, "needs"),
        ({"at": D1, "from_": D1}, ValueError, "either"),
        ({"at": D1, "to": D2}, ValueError, "either"),
        ({"from_": D2, "to": D1}, ValueError, "after"),
        ({"from_": datetime(2024, 1, 1, 9)}, TypeError, "datetime|date"),
        ({"at": "2024-01-01"}, TypeError, "date"),
    ],
)
def test_time_range_refuses_impossible_ranges(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    """No bound, at with another bound, from_ after to, datetimes and strings are refused."""
    with pytest.raises(error, match=match):
        TimeRange(**kwargs)


def test_models_are_frozen_and_slotted() -> None:
    """Every model is immutable and has no __dict__."""
    for cls in (TimeRange, StatsTotals, PeriodStats, MessageStatsSeries, Message, Link):
        assert attrs.has(cls)
        assert "__slots__" in vars(cls)
    link = Link(id="L", message="m", name="n", url="u")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        link.clicks = 3  # type: ignore[misc]


def test_period_stats_has_every_counter_with_default_zero() -> None:
    """PeriodStats and StatsTotals both carry the 19 counters (0 by default); extra is last."""
    period = PeriodStats(period="2024", start=datetime(2024, 1, 1))
    assert all(getattr(period, name) == 0 for name in COUNTER_NAMES)
    assert [f.name for f in attrs.fields(PeriodStats)][2:] == [*COUNTER_NAMES, "extra"]


#: The 19 counters, written out: COUNTER_NAMES itself is read from the models.
COUNTERS = [
    "sent",
    "opened",
    "unique_opened",
    "clicked",
    "unique_clicked",
    "goals",
    "unique_goals",
    "forwarded",
    "unsubscribes",
    "bounces_user_unknown",
    "bounces_user_recycled",
    "bounces_mailbox_full",
    "bounces_block_content",
    "bounces_block_timeout",
    "bounces_block_other",
    "bounces_other_soft",
    "bounces_other_hard",
    "complaints_handled",
    "complaints_unhandled",
]


def test_counter_models_keep_their_fields_in_order_and_stay_apart() -> None:
    """The counters are declared once, yet each model lists its fields as before.

    Field order is the column order of the command's output. Neither model is the other.
    """
    assert list(COUNTER_NAMES) == COUNTERS
    assert [a.name for a in attrs.fields(StatsTotals)] == COUNTERS
    assert [a.name for a in attrs.fields(PeriodStats)] == ["period", "start", *COUNTERS, "extra"]
    for cls in (StatsTotals, PeriodStats):
        fields = attrs.fields_dict(attrs.resolve_types(cls))
        assert all(fields[name].default == 0 and fields[name].type is int for name in COUNTERS)
        assert all(a.kw_only for a in attrs.fields(cls))
    period = PeriodStats(period="2024", start=datetime(2024, 1, 1), sent=2)
    assert not isinstance(period, StatsTotals)
    assert not isinstance(StatsTotals(sent=2), PeriodStats)
    assert period == PeriodStats(period="2024", start=datetime(2024, 1, 1), sent=2)
    assert period != PeriodStats(period="2024", start=datetime(2024, 1, 1), sent=3)
    assert StatsTotals(sent=2) != StatsTotals(sent=3)
    with pytest.raises(TypeError):
        PeriodStats("2024", datetime(2024, 1, 1))  # type: ignore[misc]


counters = st.fixed_dictionaries(
    {name: st.integers(min_value=0, max_value=10**6) for name in COUNTER_NAMES}
)


@given(st.lists(counters, max_size=12))
def test_totals_sum_every_counter_over_the_periods(rows: list[dict[str, int]]) -> None:
    """totals() is the per-counter sum of all periods."""
    periods = tuple(
        PeriodStats(period=f"{2000 + i}", start=datetime(2000 + i, 1, 1), **row)
        for i, row in enumerate(rows)
    )
    totals = MessageStatsSeries(message_id="m", grouping=Grouping.YEARLY, periods=periods).totals()
    for name in COUNTER_NAMES:
        assert getattr(totals, name) == sum(row[name] for row in rows)


def test_grouping_values_are_the_api_names() -> None:
    """The four groupings are the API's lowercase names."""
    assert [g.value for g in Grouping] == ["hourly", "daily", "monthly", "yearly"]
