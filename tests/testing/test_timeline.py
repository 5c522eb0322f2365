"""The newest-first timeline behind FakePostmark's lists behaves exactly like a list."""

from __future__ import annotations

import bisect
import random

import pytest

from asyncmailstats.testing._postmark_data import _Timeline


def _neg(value: int) -> int:
    return -value


@pytest.mark.parametrize("seed", range(20))
def test_timeline_matches_a_plain_list_through_prepends_and_inserts(seed: int) -> None:
    """Indexing, slicing, iteration and bisection agree with a list after random arrivals."""
    rng = random.Random(seed)
    start = sorted((rng.randrange(1000) for _ in range(rng.randrange(6))), reverse=True)
    model, timeline = list(start), _Timeline(list(start))
    newest = max(start, default=1000)
    for _ in range(40):
        if rng.random() < 0.6:
            newest += 1 + rng.randrange(3)
            model.insert(0, newest)
            timeline.prepend(newest)
        else:
            value = rng.randrange(newest + 1)
            where = bisect.bisect_left(timeline, -value, key=_neg)
            assert where == bisect.bisect_left(model, -value, key=_neg)
            model.insert(where, value)
            timeline.insert(where, value)
        size = len(model)
        assert len(timeline) == size
        assert list(timeline) == model
        assert list(reversed(timeline)) == model[::-1]
        for _ in range(10):
            lo, hi = rng.randrange(-size - 2, size + 3), rng.randrange(-size - 2, size + 3)
            step = rng.choice([None, 1, 2, -1, -3])
            assert timeline[lo:hi:step] == model[lo:hi:step]
            assert timeline[lo:] == model[lo:]
            assert timeline[:hi] == model[:hi]
        for index in range(-size, size):
            assert timeline[index] == model[index]
    with pytest.raises(IndexError):
        timeline[len(model)]
    with pytest.raises(IndexError):
        timeline[-len(model) - 1]
