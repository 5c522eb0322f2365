"""GetResponseAPI through a Session against FakeGetResponse, checked against the raw dataset."""

# GetResponse timestamps carry no offset: the models hold naive datetimes on purpose.
# ruff: noqa: DTZ001

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from asyncmailstats import (
    AuthenticationError,
    NotFoundError,
    RetryPolicy,
    Session,
)
from asyncmailstats.getresponse import (
    GetResponseAPI,
    Grouping,
    Link,
    MessageStatsSeries,
    TimeRange,
)
from asyncmailstats.getresponse.models import COUNTER_NAMES
from asyncmailstats.testing import FakeGetResponse, FaultPlan, instant_retries

NOW = datetime(2024, 6, 1, 12)
KEY_LENGTH = {"hourly": 13, "daily": 10, "monthly": 7, "yearly": 4}


@pytest.fixture
async def fake() -> AsyncIterator[FakeGetResponse]:
    async with FakeGetResponse(messages=300, seed=11, now=NOW.replace(tzinfo=UTC)) as server:
        yield server


@pytest.fixture
async def gr(fake: FakeGetResponse) -> AsyncIterator[GetResponseAPI]:
    async with Session() as session:
        yield session.getresponse(api_key=fake.api_key, base_url=fake.url)


# -- the truth, computed from the raw dataset ---------------------------------------------


def expected_periods(
    fake: FakeGetResponse, message_id: str, grouping: str
) -> list[tuple[str, dict[str, int]]]:
    """Sum the fake's hourly counters into the grouping's periods, oldest first."""
    periods: dict[str, Counter[str]] = {}
    for hour, counters in fake.hourly_stats[message_id].items():
        periods.setdefault(hour[: KEY_LENGTH[grouping]], Counter()).update(counters)
    return [
        (key, {name: counts.get(name, 0) for name in COUNTER_NAMES})
        for key, counts in sorted(periods.items())
        if any(counts.values())
    ]


def periods_of(series: MessageStatsSeries) -> list[tuple[str, dict[str, int]]]:
    return [(p.period, {name: getattr(p, name) for name in COUNTER_NAMES}) for p in series.periods]


def like(pattern: str, text: str) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.IGNORECASE | re.DOTALL) is not None


def day_of(stamp: str | None) -> date | None:
    return None if stamp is None else date.fromisoformat(stamp[:10])


# -- get_message_stats ------------------------------------------------------------------------


@pytest.mark.parametrize("grouping", ["hourly", "daily", "monthly", "yearly"])
async def test_message_stats_equal_the_dataset(
    fake: FakeGetResponse, gr: GetResponseAPI, grouping: str
) -> None:
    """Each grouping's periods and counters equal the hourly data summed by the test."""
    active = [m for m, hours in fake.hourly_stats.items() if hours][:15]
    assert len(active) == 15
    for message_id in active:
        series = await gr.message_stats(message_id, grouping=grouping)
        assert series.message_id == message_id
        assert series.grouping == grouping
        assert periods_of(series) == expected_periods(fake, message_id, grouping)
        assert [p.start for p in series.periods] == sorted(p.start for p in series.periods)


async def test_message_without_activity_has_no_periods(
    fake: FakeGetResponse, gr: GetResponseAPI
) -> None:
    """A message with no activity (a draft) returns an empty series, not an error."""
    draft = next(m for m, record in fake.messages.items() if record["type"] == "draft")
    series = await gr.message_stats(draft)
    assert series.periods == ()
    assert series.totals().sent == 0


async def test_monthly_stats_are_the_sum_of_daily_stats(
    fake: FakeGetResponse, gr: GetResponseAPI
) -> None:
    """For every message, each monthly period equals the sum of its days, and totals agree."""
    ids = list(fake.messages)
    daily = {o.item: o.unwrap() async for o in gr.message_stats_many(ids, grouping="daily")}
    monthly = {
        o.item: o.unwrap() async for o in gr.message_stats_many(ids, grouping=Grouping.MONTHLY)
    }
    assert set(daily) == set(monthly) == set(ids)
    checked_periods = 0
    for message_id in ids:
        summed: dict[str, Counter[str]] = {}
        for day in daily[message_id].periods:
            summed.setdefault(day.period[:7], Counter()).update(
                {name: getattr(day, name) for name in COUNTER_NAMES}
            )
        months = monthly[message_id].periods
        assert [m.period for m in months] == sorted(summed)
        for month in months:
            assert month.start == datetime.fromisoformat(month.period + "-01")
            assert all(getattr(month, name) == summed[month.period][name] for name in COUNTER_NAMES)
            checked_periods += 1
        assert monthly[message_id].totals() == daily[message_id].totals()
    assert checked_periods > 100


async def test_unknown_message_is_not_found(gr: GetResponseAPI) -> None:
    """An ID the server does not know raises NotFoundError with the server's text and code."""
    with pytest.raises(NotFoundError) as info:
        await gr.message_stats("no-such-message")
    assert (info.value.message, info.value.code, info.value.status) == ("Missing message", -1, 200)


async def test_stats_many_over_1000_ids_batches_and_reports_unknown_ids() -> None:
    """1 000 IDs (10 unknown) take ten requests and give 990 exact series, 10 NotFoundErrors."""
    async with (
        FakeGetResponse(messages=990, seed=5, now=NOW.replace(tzinfo=UTC)) as fake,
        Session() as session,
    ):
        gr = session.getresponse(api_key=fake.api_key, base_url=fake.url)
        unknown = {f"unknown{n}" for n in range(10)}
        ids = list(fake.messages)
        for n, missing in enumerate(sorted(unknown)):
            ids.insert(n * 97, missing)
        assert len(ids) == 1000
        values: dict[str, MessageStatsSeries] = {}
        errors: dict[str, Exception] = {}
        async for outcome in gr.message_stats_many(ids, grouping="daily"):
            if outcome.error is None:
                assert outcome.value is not None
                values[outcome.item] = outcome.value
            else:
                errors[outcome.item] = outcome.error
        assert fake.http_requests == 10
        assert len(fake.requests) == 10
        assert fake.rpc_calls["get_message_stats"] == 1000
        assert len(values) == 990
        assert set(errors) == unknown
        assert all(isinstance(e, NotFoundError) for e in errors.values())
        for message_id, series in values.items():
            assert periods_of(series) == expected_periods(fake, message_id, "daily")


async def test_stats_many_survives_faults_with_exact_results() -> None:
    """Injected 5xx, 429 and resets are retried; every outcome is still exactly right."""
    plan = FaultPlan(server_error=0.15, unavailable=0.1, rate_limit=0.1, reset=0.1, seed=3)
    with instant_retries():
        async with (
            FakeGetResponse(messages=200, seed=8, now=NOW.replace(tzinfo=UTC), faults=plan) as fake,
            Session(retry=RetryPolicy(max_attempts=10)) as session,
        ):
            gr = session.getresponse(api_key=fake.api_key, base_url=fake.url)
            outcomes = [o async for o in gr.message_stats_many(fake.messages, batch_size=10)]
    assert sum(fake.faults_injected.values()) > 0
    assert sorted(o.item for o in outcomes) == sorted(fake.messages)
    for outcome in outcomes:
        assert periods_of(outcome.unwrap()) == expected_periods(fake, outcome.item, "daily")


# -- get_messages -----------------------------------------------------------------------------


def message_ids(fake: FakeGetResponse, keep: Any) -> list[str]:
    return [m for m, record in fake.messages.items() if keep(record)]


async def test_messages_default_lists_newsletters_and_autoresponders(
    fake: FakeGetResponse, gr: GetResponseAPI
) -> None:
    """Without a type, get_messages returns newsletters and autoresponders with their fields."""
    messages = await gr.messages()
    expected = message_ids(fake, lambda r: r["type"] in {"newsletter", "autoresponder"})
    assert [m.id for m in messages] == expected
    for message in messages:
        raw = fake.messages[message.id]
        assert message.campaign == raw["campaign"]
        assert message.type == raw["type"]
        assert message.subject == raw["subject"]
        assert message.name == raw["name"]
        assert list(message.flags) == raw["flags"]
        assert list(message.content_types) == raw["content_types"]
        assert message.created_on == datetime.fromisoformat(raw["created_on"])
        assert message.send_on == (
            datetime.fromisoformat(raw["send_on"]) if "send_on" in raw else None
        )
        if raw["type"] == "autoresponder":
            assert message.time_travel is (raw["time_travel"] == "yes")
            assert message.day_of_cycle == raw["day_of_cycle"]


async def test_messages_filters_match_the_dataset(
    fake: FakeGetResponse, gr: GetResponseAPI
) -> None:
    """Type, campaign, text and time conditions select exactly the matching messages."""
    campaign = next(iter(fake.messages.values()))["campaign"]
    named = next(
        r["name"] for r in fake.messages.values() if r["type"] == "autoresponder" and r["name"]
    )
    cases: list[tuple[dict[str, Any], Any]] = [
        ({"type": "draft"}, lambda r: r["type"] == "draft"),
        ({"type": "ab_test"}, lambda r: r["type"] == "ab_test"),
        (
            {"campaigns": [campaign]},
            lambda r: r["campaign"] == campaign and r["type"] in {"newsletter", "autoresponder"},
        ),
        (
            {"type": "newsletter", "subject": {"CONTAINS": "%sale%"}},
            lambda r: r["type"] == "newsletter" and like("%sale%", r["subject"]),
        ),
        (
            {"type": "newsletter", "subject": {"NOT_CONTAINS": "Spring%", "MATCHES": "#1"}},
            lambda r: (
                r["type"] == "newsletter"
                and not like("Spring%", r["subject"])
                and "#1" in r["subject"]
            ),
        ),
        (
            {"type": "autoresponder", "name": named.upper()},
            lambda r: r["type"] == "autoresponder" and (r["name"] or "").lower() == named.lower(),
        ),
        (
            {"created_on": TimeRange(from_=date(2024, 3, 1), to=date(2024, 3, 31))},
            lambda r: (
                r["type"] in {"newsletter", "autoresponder"}
                and date(2024, 3, 1)
                <= date.fromisoformat(r["created_on"][:10])
                <= date(2024, 3, 31)
            ),
        ),
    ]
    for conditions, keep in cases:
        expected = message_ids(fake, keep)
        assert expected, conditions
        assert [m.id for m in await gr.messages(**conditions)] == expected, conditions


async def test_messages_send_on_at_a_day(fake: FakeGetResponse, gr: GetResponseAPI) -> None:
    """send_on AT a day selects the newsletters sent that day."""
    sent_day = day_of(next(r for r in fake.messages.values() if "send_on" in r)["send_on"])
    assert sent_day is not None
    messages = await gr.messages(type="newsletter", send_on={"AT": sent_day})
    expected = message_ids(
        fake, lambda r: r["type"] == "newsletter" and day_of(r.get("send_on")) == sent_day
    )
    assert [m.id for m in messages] == expected
    assert expected


# -- get_links ------------------------------------------------------------------------------------


async def test_links_equal_the_dataset(fake: FakeGetResponse, gr: GetResponseAPI) -> None:
    """All links, links of some messages, and links by URL pattern equal the dataset."""
    everything = await gr.links()
    assert everything == [Link(id=k, **v) for k, v in fake.links.items()]
    some = list({link["message"] for link in fake.links.values()})[:3]
    assert [link.id for link in await gr.links(messages=some)] == [
        k for k, v in fake.links.items() if v["message"] in some
    ]
    by_url = await gr.links(url={"CONTAINS": "%/2"})
    assert [link.id for link in by_url] == [
        k for k, v in fake.links.items() if v["url"].endswith("/2")
    ]
    assert by_url


async def test_link_clicks_add_up_to_the_message_clicks(
    fake: FakeGetResponse, gr: GetResponseAPI
) -> None:
    """For a click-tracked message with links, its links' clicks sum to its stats' clicks."""
    links = await gr.links()
    per_message = Counter[str]()
    for link in links:
        per_message[link.message] += link.clicks
    for message_id in list(per_message)[:10]:
        series = await gr.message_stats(message_id, grouping="yearly")
        assert series.totals().clicked == per_message[message_id]


# -- errors and secrets ----------------------------------------------------------------------------


async def test_wrong_key_fails_authentication_without_showing_the_key(
    fake: FakeGetResponse, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong key gives AuthenticationError on every path; the key is in no error, repr or log."""
    wrong = "wrong-key-9f8e7d6c5b4a39281706"
    caplog.set_level(logging.DEBUG)
    async with Session() as session:
        gr = session.getresponse(api_key=wrong, base_url=fake.url)
        assert wrong not in repr(gr)
        assert wrong not in repr(session)
        with pytest.raises(AuthenticationError) as info:
            await gr.messages()
        errors: list[AuthenticationError] = [info.value]
        with pytest.raises(AuthenticationError) as info:
            await gr.message_stats(next(iter(fake.messages)))
        errors.append(info.value)
        async for outcome in gr.message_stats_many(list(fake.messages)[:5]):
            assert isinstance(outcome.error, AuthenticationError)
            errors.append(outcome.error)
    assert len(errors) == 7
    assert fake.http_requests == 3
    for error in errors:
        assert error.message == "API key verification failed"
        assert wrong not in str(error)
        assert wrong not in repr(error)
        assert wrong not in repr(error.args)
        assert wrong not in repr(vars(error))
    assert caplog.records
    for record in caplog.records:
        assert wrong not in record.getMessage()
        assert wrong not in repr(record.args)


async def test_the_key_is_never_logged_through_retries(caplog: pytest.LogCaptureFixture) -> None:
    """With retried faults and DEBUG logging, no log record contains the API key."""
    caplog.set_level(logging.DEBUG)
    plan = FaultPlan(server_error=0.3, rate_limit=0.2, seed=9)
    with instant_retries():
        async with (
            FakeGetResponse(messages=30, seed=2, now=NOW.replace(tzinfo=UTC), faults=plan) as fake,
            Session(retry=RetryPolicy(max_attempts=8)) as session,
        ):
            gr = session.getresponse(api_key=fake.api_key, base_url=fake.url)
            await gr.messages()
            await gr.links()
            async for outcome in gr.message_stats_many(fake.messages, batch_size=5):
                outcome.unwrap()
    assert sum(fake.faults_injected.values()) > 0
    assert caplog.records
    for record in caplog.records:
        assert fake.api_key not in record.getMessage()
        assert fake.api_key not in repr(record.args)
