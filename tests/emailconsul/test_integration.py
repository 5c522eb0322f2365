"""EmailConsulAPI through a Session against FakeEmailConsul, checked against the raw dataset."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from asyncmailstats import AuthenticationError, InvalidRequestError, RetryPolicy, Session
from asyncmailstats.emailconsul import (
    DeliveryDay,
    EmailConsulAPI,
    LinkGroup,
    LinkStat,
    LinkTimeseriesPoint,
    PixelTimeseriesPoint,
)
from asyncmailstats.testing import FakeEmailConsul, FaultPlan, instant_retries

NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)
EVERYTHING = {"period_from": NOW - timedelta(days=40), "period_to": NOW}
GROUP_FIELDS = {
    g: ((g.value,) if g is not LinkGroup.PARAMS else ("params_name", "params_value"))
    for g in LinkGroup
}
DELIVERY_COUNTERS = [f.name for f in DeliveryDay.__attrs_attrs__ if f.name != "date"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeEmailConsul]:
    async with FakeEmailConsul(
        link_logs=3000, pixel_logs=3000, deliveries=2000, seed=7, now=NOW
    ) as server:
        yield server


@pytest.fixture
async def ec(fake: FakeEmailConsul) -> AsyncIterator[EmailConsulAPI]:
    async with Session() as session:
        yield session.emailconsul(api_key=fake.api_key, base_url=fake.url)


# -- the truth, computed from the raw dataset ---------------------------------------------


def in_period(items: Iterable[Any], start: datetime, end: datetime, **filters: str) -> list[Any]:
    return [
        item
        for item in items
        if start <= item.timestamp <= end and all(getattr(item, k) == v for k, v in filters.items())
    ]


def expected_stats(
    logs: Sequence[Any], group: LinkGroup, sort_key: Callable[[LinkStat], Any], reverse: bool
) -> list[LinkStat]:
    fields = GROUP_FIELDS[group]
    counts = Counter(tuple(getattr(log, f) for f in fields) for log in logs)
    rows = [LinkStat(count=n, **dict(zip(fields, key, strict=True))) for key, n in counts.items()]
    # Ties keep the group-value order, the fake's documented tie-break.
    rows.sort(key=lambda row: tuple(getattr(row, f) for f in fields))
    return sorted(rows, key=sort_key, reverse=reverse)


def expected_series(logs: Sequence[Any], fields: tuple[str, ...], cls: type[Any]) -> list[Any]:
    counts = Counter((log.timestamp.date(), *(getattr(log, f) for f in fields)) for log in logs)
    return [
        cls(date=key[0], count=n, **dict(zip(fields, key[1:], strict=True)))
        for key, n in sorted(counts.items())
    ]


def expected_days(emails: Sequence[Any]) -> list[DeliveryDay]:
    per_day: dict[Any, Counter[str]] = {}
    for email in emails:
        counts = per_day.setdefault(email.timestamp.date(), Counter())
        counts["total_count"] += 1
        counts[email.status.lower()] += 1
        for flag in email.flags:
            counts[flag] += 1
    return [
        DeliveryDay(date=day, **{k: c[k] for k in DELIVERY_COUNTERS})
        for day, c in sorted(per_day.items())
    ]


# -- link_stats ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "sort", "filters"),
    [
        (LinkGroup.COUNTRY, None, {}),
        (LinkGroup.PARAMS, "count", {"campaign_id": None}),
        (LinkGroup.BROWSER, "-browser", {"profile_id": None}),
        (LinkGroup.DEVICE, "-count", {"campaign_id": None, "profile_id": None}),
        (LinkGroup.CUSTOM_LINK_TITLE, "custom_link_title", {}),
        (LinkGroup.CAMPAIGN_ID, None, {"subscriber_id": None}),
    ],
)
async def test_link_stats_match_the_dataset(
    fake: FakeEmailConsul,
    ec: EmailConsulAPI,
    group: LinkGroup,
    sort: str | None,
    filters: dict[str, str | None],
) -> None:
    """Grouped counts, filtered and sorted, equal the counts computed from the raw logs."""
    sample = fake.link_logs[len(fake.link_logs) // 2]
    chosen = {name: getattr(sample, name) for name in filters}
    start, end = NOW - timedelta(days=20), NOW - timedelta(days=3)
    logs = in_period(fake.link_logs, start, end, **chosen)
    assert logs  # the combination must select something to prove anything
    field = (sort or "-count").lstrip("-")
    want = expected_stats(
        logs, group, lambda row: getattr(row, field), reverse=(sort or "-count").startswith("-")
    )

    got = await ec.link_stats(
        period_from=start, period_to=end, group=group, sort=sort, page_size=7, **chosen
    ).to_list()

    assert got == want
    assert sum(row.count for row in got) == len(logs)


async def test_period_bounds_are_inclusive_to_the_millisecond(
    fake: FakeEmailConsul, ec: EmailConsulAPI
) -> None:
    """Logs exactly at period_from and period_to count; the bounds survive a zone change."""
    logs = fake.link_logs
    start, end = logs[100].timestamp, logs[-100].timestamp
    tz = timezone(timedelta(hours=-7))
    got = await ec.link_stats(
        period_from=start.astimezone(tz), period_to=end.astimezone(tz), group="campaign_id"
    ).to_list()
    assert sum(row.count for row in got) == len(in_period(logs, start, end)) == len(logs) - 199


async def test_link_stats_walk_5000_rows_in_order_once() -> None:
    """5 000+ grouped rows arrive with page_size=100, each once, in the server's order."""
    async with (
        FakeEmailConsul(link_logs=5200, pixel_logs=0, deliveries=0, seed=3, now=NOW) as big,
        Session() as session,
    ):
        ec = session.emailconsul(api_key=big.api_key, base_url=big.url)
        want = expected_stats(big.link_logs, LinkGroup.IP, lambda row: row.count, reverse=True)
        assert len(want) >= 5000

        got = [
            row async for row in ec.link_stats(**EVERYTHING, group="ip", page_size=100, prefetch=6)
        ]

        assert got == want
        assert len({row.ip for row in got}) == len(got)
        pages = [r for r in big.requests if r.path == "/tracking/link/stats/aggregated"]
        # After the first page, each page re-reads the last row of the one before it.
        offsets = [0, *range(99, len(want) - 1, 99)]
        assert sorted(int(dict(r.query)["offset"]) for r in pages) == offsets


async def test_link_stats_limit_and_first_page(fake: FakeEmailConsul, ec: EmailConsulAPI) -> None:
    """limit= truncates the stream; first_page() reports the server's total."""
    want = expected_stats(
        in_period(fake.link_logs, **_bounds()), LinkGroup.SUBSCRIBER_ID, lambda r: r.count, True
    )
    got = await ec.link_stats(
        **EVERYTHING, group="subscriber_id", limit=250, page_size=100
    ).to_list()
    assert got == want[:250]
    page = await ec.link_stats(**EVERYTHING, group="subscriber_id", page_size=40).first_page()
    assert (page.offset, page.total, list(page.items)) == (0, len(want), want[:40])


def _bounds() -> dict[str, datetime]:
    return {"start": EVERYTHING["period_from"], "end": EVERYTHING["period_to"]}


# -- time series ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "filters"),
    [
        (None, {}),
        (LinkGroup.DEVICE, {"campaign_id": None}),
        (LinkGroup.PARAMS, {"profile_id": None}),
    ],
)
async def test_link_timeseries_match_the_dataset(
    fake: FakeEmailConsul,
    ec: EmailConsulAPI,
    group: LinkGroup | None,
    filters: dict[str, str | None],
) -> None:
    """Per-date (and per-group) click counts equal those computed from the raw logs."""
    sample = fake.link_logs[0]
    chosen = {name: getattr(sample, name) for name in filters}
    start, end = NOW - timedelta(days=9, hours=5), NOW - timedelta(days=1)
    fields = GROUP_FIELDS[group] if group else ()
    want = expected_series(
        in_period(fake.link_logs, start, end, **chosen), fields, LinkTimeseriesPoint
    )
    assert want

    got = await ec.link_timeseries(period_from=start, period_to=end, group=group, **chosen)

    assert got == want


@pytest.mark.parametrize(
    ("group", "filters"),
    [
        (None, {}),
        ("subscriber_id", {"campaign_id": None}),
        ("campaign_id", {"subscriber_id": None}),
    ],
)
async def test_pixel_timeseries_match_the_dataset(
    fake: FakeEmailConsul, ec: EmailConsulAPI, group: str | None, filters: dict[str, str | None]
) -> None:
    """Per-date open counts equal those computed from the raw pixel logs."""
    sample = fake.pixel_logs[-1]
    chosen = {name: getattr(sample, name) for name in filters}
    want = expected_series(
        in_period(fake.pixel_logs, **_bounds(), **chosen),
        (group,) if group else (),
        PixelTimeseriesPoint,
    )
    assert want

    got = await ec.pixel_timeseries(**EVERYTHING, group=group, **chosen)

    assert got == want


@pytest.mark.parametrize(
    ("options", "keep", "newest_first"),
    [
        ({}, lambda e: True, False),
        ({"domain": "org"}, lambda e: "org" in e.domain, False),
        (
            {"status": ["BOUNCED", "HARD_BOUNCED"]},
            lambda e: e.status in {"BOUNCED", "HARD_BOUNCED"},
            False,
        ),
        ({"status": "DELIVERED", "sort": "-date"}, lambda e: e.status == "DELIVERED", True),
    ],
)
async def test_delivery_days_match_the_dataset(
    fake: FakeEmailConsul,
    ec: EmailConsulAPI,
    options: dict[str, Any],
    keep: Callable[[Any], bool],
    newest_first: bool,
) -> None:
    """Daily delivery counters equal those computed from the raw emails, in date order."""
    emails = [e for e in in_period(fake.deliveries, **_bounds()) if keep(e)]
    want = sorted(expected_days(emails), key=lambda d: d.date, reverse=newest_first)
    assert want

    got = await ec.delivery_timeseries(**EVERYTHING, page_size=5, **options).to_list()

    assert got == want


async def test_delivery_days_sorted_by_a_counter(fake: FakeEmailConsul, ec: EmailConsulAPI) -> None:
    """sort="-delivered" orders days by that counter, ties in date order."""
    days = expected_days(in_period(fake.deliveries, **_bounds()))
    want = sorted(days, key=lambda d: d.delivered, reverse=True)

    got = await ec.delivery_timeseries(**EVERYTHING, sort="-delivered").to_list()

    assert got == want
    assert [d.delivered for d in got] != sorted(d.delivered for d in got)


# -- errors --------------------------------------------------------------------------------


async def test_wrong_key_is_an_authentication_error_without_the_key(fake: FakeEmailConsul) -> None:
    """A refused key raises AuthenticationError whose text never holds the key."""
    async with Session() as session:
        ec = session.emailconsul(api_key="ec_wrong_secret_123", base_url=fake.url)
        with pytest.raises(AuthenticationError) as info:
            await ec.link_timeseries(**EVERYTHING)
    error = info.value
    assert error.status == 401
    assert error.message == "Missing or invalid API key"
    assert "ec_wrong_secret_123" not in f"{error} {error!r} {error.body}"


async def test_auth_header_name_is_configurable() -> None:
    """A server expecting another header accepts the key there once the client is told."""
    async with (
        FakeEmailConsul(
            link_logs=50, pixel_logs=0, deliveries=0, auth_header="X-Consul-Key", now=NOW
        ) as fake,
        Session() as session,
    ):
        default = session.emailconsul(api_key=fake.api_key, base_url=fake.url)
        with pytest.raises(AuthenticationError):
            await default.link_timeseries(**EVERYTHING)
        custom = session.emailconsul(
            api_key=fake.api_key, base_url=fake.url, auth_header="X-Consul-Key"
        )
        points = await custom.link_timeseries(**EVERYTHING)
    assert sum(p.count for p in points) == 50


async def test_server_side_rejection_is_an_invalid_request(ec: EmailConsulAPI) -> None:
    """A well-formed sort field the server does not know comes back as InvalidRequestError."""
    with pytest.raises(InvalidRequestError) as info:
        await ec.link_stats(**EVERYTHING, group="country", sort="-city").to_list()
    assert info.value.status == 400
    assert "city" in info.value.message


# -- misbehaving server --------------------------------------------------------------------


async def test_streams_stay_exact_under_retried_faults() -> None:
    """With 429s, 5xx, resets and cut bodies injected, every row still arrives exactly once."""
    faults = FaultPlan(
        rate_limit=0.08,
        rate_limit_no_header=0.04,
        server_error=0.04,
        bad_gateway=0.04,
        unavailable=0.04,
        reset=0.04,
        truncate=0.04,
        seed=11,
    )
    retry = RetryPolicy(max_attempts=12)
    with instant_retries():
        async with (
            FakeEmailConsul(
                link_logs=2500, pixel_logs=500, deliveries=1500, seed=5, now=NOW, faults=faults
            ) as fake,
            Session(retry=retry) as session,
        ):
            ec = session.emailconsul(api_key=fake.api_key, base_url=fake.url)
            rows = await ec.link_stats(
                **EVERYTHING, group="subscriber_id", page_size=50, prefetch=8
            ).to_list()
            days = await ec.delivery_timeseries(**EVERYTHING, page_size=3, prefetch=4).to_list()
            opens = await ec.pixel_timeseries(**EVERYTHING)

    assert sum(fake.faults_injected.values()) >= 10  # the faults really happened
    assert rows == expected_stats(
        fake.link_logs, LinkGroup.SUBSCRIBER_ID, lambda r: r.count, reverse=True
    )
    assert days == expected_days(fake.deliveries)
    assert opens == expected_series(fake.pixel_logs, (), PixelTimeseriesPoint)
