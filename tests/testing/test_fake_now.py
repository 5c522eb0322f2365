"""Every fake takes ``now`` the same way: aware, kept in UTC; naive is a TypeError."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import re
from typing import Any

import pytest

from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark
from asyncmailstats.testing._getresponse import _generate

FAKES: list[tuple[type[Any], dict[str, Any]]] = [
    (FakePostmark, {"messages": 5}),
    (FakeEmailConsul, {"link_logs": 5, "pixel_logs": 5, "deliveries": 5}),
    (FakeGetResponse, {"messages": 5}),
]
#: 12:30:15 UTC, written in another zone.
PARIS_SUMMER = dt.timezone(dt.timedelta(hours=2))
NOW = dt.datetime(2024, 6, 1, 14, 30, 15, tzinfo=PARIS_SUMMER)
#: What FakeGetResponse(messages=80, seed=7) served for 2024-06-01 12:30:15 UTC when it
#: still took that instant as the naive datetime(2024, 6, 1, 12, 30, 15).
GETRESPONSE_DIGEST = "c151970c021ca6bfc7533eff2a20f2532a6dd1862a78e0a1cc49ce0aae6b695e"


@pytest.mark.parametrize(("fake", "options"), FAKES, ids=lambda v: getattr(v, "__name__", ""))
def test_naive_now_is_a_type_error(fake: type[Any], options: dict[str, Any]) -> None:
    """A naive datetime, or something that is not a datetime, is refused with one wording."""
    for bad in (dt.datetime(2024, 6, 1, 12), "2024-06-01T12:00:00Z", dt.date(2024, 6, 1)):  # noqa: DTZ001
        with pytest.raises(TypeError, match=r"^now must be an aware datetime$"):
            fake(**options, now=bad)


@pytest.mark.parametrize(("fake", "options"), FAKES, ids=lambda v: getattr(v, "__name__", ""))
def test_aware_now_is_kept_in_utc(fake: type[Any], options: dict[str, Any]) -> None:
    """An aware instant in any zone is the same instant in UTC."""
    server = fake(**options, now=NOW)
    assert server.now == NOW
    assert server.now.tzinfo is dt.UTC
    assert server.now.isoformat() == "2024-06-01T12:30:15+00:00"


@pytest.mark.parametrize(("fake", "options"), FAKES, ids=lambda v: getattr(v, "__name__", ""))
def test_default_now_is_the_current_utc_second(fake: type[Any], options: dict[str, Any]) -> None:
    """Without ``now`` the dataset ends at the current time, aware, in whole seconds."""
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    server = fake(**options)
    after = dt.datetime.now(dt.UTC)
    assert server.now.tzinfo is dt.UTC
    assert server.now.microsecond == 0
    assert before <= server.now <= after


def _digest(fake: FakeGetResponse) -> str:
    data = [fake.messages, fake.hourly_stats, fake.links, fake.api_key]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def test_getresponse_dataset_is_unchanged_for_the_same_instant() -> None:
    """The same seed and instant give the dataset the naive clock gave, in any zone."""
    in_paris = FakeGetResponse(messages=80, seed=7, now=NOW)
    in_utc = FakeGetResponse(messages=80, seed=7, now=NOW.astimezone(dt.UTC))
    assert _digest(in_paris) == _digest(in_utc) == GETRESPONSE_DIGEST
    naive = dt.datetime(2024, 6, 1, 12, 30, 15)  # noqa: DTZ001 - the wire's clock
    generated = _generate(random.Random(7), naive, 80)
    assert (in_paris.messages, in_paris.hourly_stats, in_paris.links) == generated


def test_getresponse_wire_timestamps_are_naive_utc() -> None:
    """Timestamps go out as GetResponse writes them: no offset, UTC wall time, up to now."""
    fake = FakeGetResponse(messages=40, seed=2, now=NOW)
    stamp = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
    wall = fake.now.replace(tzinfo=None)
    for record in fake.messages.values():
        for key in ("created_on", "send_on"):
            if key in record:
                assert stamp.fullmatch(record[key]), record[key]
        assert dt.datetime.fromisoformat(record["created_on"]) <= wall
    for hours in fake.hourly_stats.values():
        assert all(dt.datetime.fromisoformat(f"{hour}:00") <= wall for hour in hours)
