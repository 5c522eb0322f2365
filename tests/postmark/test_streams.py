"""The window arithmetic behind outbound_messages(): where a range is split or sliced."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from asyncmailstats.postmark._args import end_instant, start_instant
from asyncmailstats.postmark._streams import split_point, split_points, unambiguous

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


#: Aware instants over four decades, both DST changes of each year included.
INSTANTS = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=dt.datetime(2040, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@pytest.mark.parametrize("seconds", [0, 1])
def test_ranges_under_two_seconds_cannot_be_split(seconds):
    """A range of under two seconds is never split (its halves would not shrink)."""
    lower = dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert split_point(lower, lower + dt.timedelta(seconds=seconds)) is None


@given(
    INSTANTS,
    st.integers(min_value=2, max_value=400 * 86_400),
    st.integers(min_value=0, max_value=999_999),
)
@example(dt.datetime(2038, 11, 7, 5, 0, tzinfo=UTC), 2, 0)  # inside the repeated hour
@example(dt.datetime(2024, 11, 3, 4, 0, tzinfo=UTC), 4 * 3600, 0)  # across it
def test_split_point_always_makes_progress(lower, seconds, micros):
    """Both halves of a split are strictly shorter, so bisection always ends.

    Only a range wholly inside the repeated hour of a daylight-saving change has no
    point to split at.
    """
    lower = lower.replace(microsecond=micros)
    upper = lower + dt.timedelta(seconds=seconds)
    middle = split_point(lower, upper)
    if middle is None:
        assert not unambiguous(lower)
        assert not unambiguous(upper)
        return
    assert middle.microsecond == 0
    assert start_instant(lower) < middle < end_instant(upper)
    span = upper - lower
    assert middle - lower < span
    assert upper - middle < span


def test_split_point_avoids_the_repeated_hour_when_dst_ends():
    """A middle in the repeated 01:00-02:00 wall-clock hour moves out of it."""
    lower = dt.datetime(2024, 11, 3, 4, 0, tzinfo=UTC)  # 00:00 EDT
    upper = dt.datetime(2024, 11, 3, 8, 0, tzinfo=UTC)  # 03:00 EST
    naive_middle = dt.datetime(2024, 11, 3, 6, 0, tzinfo=UTC)  # 01:00 EST, also 01:00 EDT
    assert not unambiguous(naive_middle)
    middle = split_point(lower, upper)
    assert middle is not None
    assert unambiguous(middle)
    assert lower < middle < upper
    assert abs(middle - naive_middle) <= dt.timedelta(hours=3)


def test_range_inside_the_repeated_hour_cannot_be_split():
    """A range wholly within the ambiguous wall-clock hours is not split at all."""
    lower = dt.datetime(2024, 11, 3, 5, 10, tzinfo=UTC)
    upper = dt.datetime(2024, 11, 3, 6, 50, tzinfo=UTC)
    assert split_point(lower, upper) is None


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (dt.datetime(2024, 11, 3, 4, 59, 59, tzinfo=UTC), True),
        (dt.datetime(2024, 11, 3, 5, 0, 0, tzinfo=UTC), False),
        (dt.datetime(2024, 11, 3, 6, 59, 59, tzinfo=UTC), False),
        (dt.datetime(2024, 11, 3, 7, 0, 0, tzinfo=UTC), True),
        (dt.datetime(2024, 3, 10, 7, 0, 0, tzinfo=UTC), True),
    ],
)
def test_unambiguous_detects_the_repeated_hour(moment, expected):
    """Only wall times of the hour repeated at the end of DST are ambiguous."""
    assert unambiguous(moment) is expected


@given(
    INSTANTS,
    st.integers(min_value=0, max_value=400 * 86_400),
    st.integers(min_value=0, max_value=999_999),
    st.integers(min_value=0, max_value=60),
)
@example(dt.datetime(2038, 11, 7, 5, 0, tzinfo=UTC), 2, 0, 2)  # inside the repeated hour
@example(dt.datetime(2024, 11, 3, 4, 0, tzinfo=UTC), 4 * 3600, 0, 9)  # across it
@example(dt.datetime(2024, 1, 1, tzinfo=UTC), 3, 500_000, 40)  # more parts than seconds
def test_split_points_are_distinct_whole_seconds_strictly_inside(lower, seconds, micros, parts):
    """Cut points are ascending, distinct, unambiguous whole seconds inside the range.

    There are at most ``parts - 1`` of them, and for two parts the one point is
    split_point's.
    """
    lower = lower.replace(microsecond=micros)
    upper = lower + dt.timedelta(seconds=seconds)
    points = split_points(lower, upper, parts)
    assert len(points) <= max(parts - 1, 0)
    assert points == sorted(set(points))
    for point in points:
        assert point.microsecond == 0
        assert start_instant(lower) < point < end_instant(upper)
        assert unambiguous(point)
    if parts == 2:
        middle = split_point(lower, upper)
        assert points == ([] if middle is None else [middle])


@pytest.mark.parametrize("parts", [2, 3, 4, 7, 13])
def test_split_points_cut_a_plain_range_evenly(parts):
    """Away from daylight-saving changes, the points are the range's 1/parts marks."""
    lower = dt.datetime(2024, 5, 1, tzinfo=UTC)
    upper = lower + dt.timedelta(days=13)
    points = split_points(lower, upper, parts)
    step = (upper - lower) / parts
    assert points == [(lower + step * n).replace(microsecond=0) for n in range(1, parts)]


def test_split_points_skip_what_cannot_be_placed():
    """Ten parts of a few seconds: only the whole seconds strictly inside are cut at."""
    lower = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    second = dt.timedelta(seconds=1)
    assert split_points(lower, lower + 2 * second, 10) == [lower + second]
    assert split_points(lower, lower + 4 * second, 10) == [lower + n * second for n in (1, 2, 3)]
    assert split_points(lower, lower + second, 10) == []


def test_split_points_of_date_bounds_cut_eastern_days():
    """Date bounds cover whole Eastern days: three days in three parts cut at midnights."""
    points = split_points(dt.date(2024, 5, 1), dt.date(2024, 5, 3), 3)
    assert points == [
        dt.datetime(2024, 5, 2, tzinfo=NY),
        dt.datetime(2024, 5, 3, tzinfo=NY),
    ]
