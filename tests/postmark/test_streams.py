"""The window arithmetic behind outbound_messages(): where a range is split."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncmailstats.postmark._streams import split_point
from asyncmailstats.postmark._wire import end_instant, start_instant

UTC = dt.UTC
NY = ZoneInfo("America/New_York")


def test_split_point_is_a_whole_second_in_the_middle():
    """A range is split at its middle, rounded down to a whole second."""
    lower = dt.datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)
    upper = dt.datetime(2024, 1, 1, 0, 0, 11, tzinfo=UTC)
    assert split_point(lower, upper) == dt.datetime(2024, 1, 1, 0, 0, 5, tzinfo=UTC)


def test_date_bounds_cover_whole_eastern_days():
    """Date bounds split within the Eastern days they cover."""
    middle = split_point(dt.date(2024, 1, 1), dt.date(2024, 1, 2))
    assert middle == dt.datetime(2024, 1, 2, 0, 0, tzinfo=NY)


@pytest.mark.parametrize("seconds", [0, 1])
def test_ranges_under_two_seconds_cannot_be_split(seconds):
    """A range of under two seconds is never split (its halves would not shrink)."""
    lower = dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert split_point(lower, lower + dt.timedelta(seconds=seconds)) is None


@given(
    st.datetimes(
        min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=dt.datetime(2040, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    st.integers(min_value=2, max_value=400 * 86_400),
    st.integers(min_value=0, max_value=999_999),
)
def test_split_point_always_makes_progress(lower, seconds, micros):
    """Both halves of a split are strictly shorter, so bisection always ends."""
    lower = lower.replace(microsecond=micros)
    upper = lower + dt.timedelta(seconds=seconds)
    middle = split_point(lower, upper)
    assert middle is not None
    assert middle.microsecond == 0
    assert start_instant(lower) < middle < end_instant(upper)
    span = upper - lower
    assert middle - lower < span
    assert upper - middle < span
