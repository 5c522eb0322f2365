"""PostmarkAPI end to end: a real Session against FakePostmark on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from asyncmailstats import RetryPolicy, Session
from asyncmailstats.exceptions import NotFoundError, ResultWindowError
from asyncmailstats.postmark import _wire
from asyncmailstats.postmark._api import PostmarkAPI
from asyncmailstats.postmark._convert import make_converter
from asyncmailstats.postmark.models import (
    Click,
    Open,
    OutboundMessage,
    OutboundMessageDetails,
)
from asyncmailstats.testing import FakePostmark, FaultPlan, instant_retries

NOW = dt.datetime(2024, 6, 1, 16, 0, 0, tzinfo=dt.UTC)
START = NOW - dt.timedelta(days=46)
STRICT = make_converter(strict=True)


def models(rows: list[dict[str, Any]], cls: type) -> list[Any]:
    """Decode the fake's truth with the strict converter, for comparison."""
    return [STRICT.structure(row, cls) for row in rows]


@pytest.fixture
async def small() -> AsyncIterator[tuple[PostmarkAPI, FakePostmark]]:
    """A 3 000-message fake and an API bound to it."""
    async with Session() as session, FakePostmark(messages=3_000, seed=2, now=NOW) as fake:
        yield session.postmark(server_token=fake.token, base_url=fake.url), fake


def check_requests(fake: FakePostmark) -> None:
    """Every request kept Postmark's paging limits and sent the token only in its header."""
    assert fake.requests
    for request in fake.requests:
        assert request.headers["X-Postmark-Server-Token"] == fake.token
        assert fake.token not in request.path
        assert all(
            fake.token not in key and fake.token not in value for key, value in request.query
        )
        assert fake.token.encode() not in request.body
        count, offset = request.param("count"), request.param("offset")
        if count is not None:
            assert offset is not None
            assert 1 <= int(count) <= 500
            assert int(count) + int(offset) <= 10_000


# --------------------------------------------------------------------------- truth


async def test_outbound_messages_match_the_fake_for_many_filters(small):
    """Each filter combination streams exactly the messages the fake's search holds."""
    api, fake = small
    everything = fake.search_messages({})
    sample = everything[len(everything) // 2]
    with_metadata = next(m for m in everything if m.get("Metadata"))
    key, value = next(iter(with_metadata["Metadata"].items()))
    day = dt.date(2024, 5, 10)
    moment = dt.datetime(2024, 5, 20, 13, 30, 15, tzinfo=dt.UTC)  # 09:30:15 Eastern
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({}, {}),
        ({"tag": "welcome"}, {"tag": "welcome"}),
        ({"status": "sent"}, {"status": "sent"}),
        ({"subject": "invoice"}, {"subject": "invoice"}),
        ({"from_email": "billing@acme.example"}, {"fromemail": "billing@acme.example"}),
        ({"recipient": sample["Recipients"][0]}, {"recipient": sample["Recipients"][0]}),
        ({"message_stream": "broadcast"}, {"messagestream": "broadcast"}),
        ({"metadata": {key: value}}, {f"metadata_{key}": value}),
        ({"from_date": day, "to_date": day}, {"fromdate": "2024-05-10", "todate": "2024-05-10"}),
        (
            {"from_date": moment - dt.timedelta(days=3), "to_date": moment},
            {"fromdate": "2024-05-17T09:30:15", "todate": "2024-05-20T09:30:15"},
        ),
        (
            {"tag": "digest", "message_stream": "broadcast", "from_date": dt.date(2024, 5, 1)},
            {"tag": "digest", "messagestream": "broadcast", "fromdate": "2024-05-01"},
        ),
    ]
    for kwargs, params in cases:
        dates = {"from_date": START, "to_date": NOW} | kwargs
        truth = models(fake.search_messages(params), OutboundMessage)
        got = await api.outbound_messages(**dates).to_list()
        assert got == truth, kwargs
        if kwargs:
            assert 0 < len(truth) < len(everything), kwargs
    check_requests(fake)


async def test_opens_and_clicks_match_the_fake_for_many_filters(small):
    """Opens and clicks searches return exactly the fake's matches for every filter."""
    api, fake = small
    for method, search, cls in (
        (api.opens, fake.search_opens, Open),
        (api.clicks, fake.search_clicks, Click),
    ):
        everything = search({})
        row = next(
            r
            for r in everything[len(everything) // 3 :]
            if r.get("Tag") and r.get("Client") and r.get("OS") and r.get("Geo", {}).get("City")
        )
        client, os_, geo = row["Client"], row["OS"], row["Geo"]
        cases: list[tuple[dict[str, Any], dict[str, str]]] = [
            ({}, {}),
            ({"tag": row["Tag"]}, {"tag": row["Tag"]}),
            ({"recipient": row["Recipient"]}, {"recipient": row["Recipient"]}),
            ({"message_stream": "broadcast"}, {"messagestream": "broadcast"}),
            ({"client_name": client["Name"]}, {"client_name": client["Name"]}),
            ({"client_company": client["Company"]}, {"client_company": client["Company"]}),
            ({"client_family": client["Family"]}, {"client_family": client["Family"]}),
            ({"os_name": os_["Name"]}, {"os_name": os_["Name"]}),
            ({"os_family": os_["Family"]}, {"os_family": os_["Family"]}),
            ({"os_company": os_["Company"]}, {"os_company": os_["Company"]}),
            ({"platform": row["Platform"]}, {"platform": row["Platform"].lower()}),
            ({"country": geo["Country"]}, {"country": geo["Country"]}),
            ({"region": geo["Region"]}, {"region": geo["Region"]}),
            ({"city": geo["City"]}, {"city": geo["City"]}),
            (
                {"country": geo["Country"], "platform": row["Platform"]},
                {"country": geo["Country"], "platform": row["Platform"].lower()},
            ),
        ]
        for kwargs, params in cases:
            truth = models(search(params), cls)
            got = await method(**kwargs, page_size=200).to_list()
            assert got == truth, (cls.__name__, kwargs)
            if kwargs:
                assert 0 < len(truth) < len(everything), (cls.__name__, kwargs)
    check_requests(fake)


async def test_per_message_endpoints_match_the_fake(small):
    """details, dump, message_opens and message_clicks equal the fake's records."""
    api, fake = small
    ids = fake.message_ids()
    with_opens = [i for i in ids if fake.message_opens(i)][:5]
    with_clicks = [i for i in ids if fake.message_clicks(i)][:5]
    assert with_opens
    assert with_clicks
    for message_id in with_opens:
        assert await api.message_opens(message_id, page_size=1).to_list() == models(
            fake.message_opens(message_id), Open
        )
    for message_id in with_clicks:
        assert await api.message_clicks(message_id).to_list() == models(
            fake.message_clicks(message_id), Click
        )
    for message_id in ids[:: len(ids) // 7]:
        truth = fake.details(message_id)
        details = await api.message_details(message_id)
        assert details == STRICT.structure(truth, OutboundMessageDetails)
        assert await api.message_dump(message_id) == truth["Body"]
    check_requests(fake)


async def test_stats_match_the_fake(small):
    """Every stats method returns the fake's stats for several filter combinations."""
    api, fake = small
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({}, {}),
        ({"tag": "welcome"}, {"tag": "welcome"}),
        (
            {"from_date": dt.date(2024, 5, 1), "to_date": dt.date(2024, 5, 15)},
            {"fromdate": "2024-05-01", "todate": "2024-05-15"},
        ),
        ({"message_stream": "broadcast"}, {"messagestream": "broadcast"}),
        ({"from_date": dt.date(2030, 1, 1)}, {"fromdate": "2030-01-01"}),
    ]
    for name, (path, model) in _wire.STATS.items():
        sub_path = path.removeprefix("/stats/outbound").strip("/")
        for kwargs, params in cases:
            truth = STRICT.structure(fake.stats(sub_path, params), model)
            assert await getattr(api, name)(**kwargs) == truth, (name, kwargs)
    overview = await api.outbound_overview()
    assert overview.sent > 0
    check_requests(fake)


# --------------------------------------------------------------------------- windows


async def test_outbound_messages_past_the_ceiling():
    """25 000+ messages in range come out exactly once each, newest first."""
    async with Session() as session, FakePostmark(messages=31_500, seed=4, now=NOW) as fake:
        api = session.postmark(server_token=fake.token, base_url=fake.url)
        truth = fake.message_ids()
        outbound = [m["MessageID"] for m in fake.search_messages({})]
        assert len(outbound) >= 25_000
        messages = await api.outbound_messages(from_date=START, to_date=NOW, prefetch=4).to_list()
        got = [m.message_id for m in messages]
        assert len(got) == len(set(got)) == len(outbound)
        assert got == outbound
        times = [m.received_at for m in messages]
        assert times == sorted(times, reverse=True)
        assert set(got) <= set(truth)
        check_requests(fake)
        # More than one window was needed, each probed once with a full page.
        probes = [r for r in fake.requests if r.param("offset") == "0"]
        assert all(r.param("count") == "500" for r in probes)
        windows = [(r.param("fromdate"), r.param("todate")) for r in probes]
        assert len(windows) == len(set(windows)) >= 3


async def test_messages_arriving_during_the_stream_are_not_duplicated():
    """Messages sent while a stream runs are neither yielded nor cause repeats."""
    recent = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=30)
    async with Session() as session, FakePostmark(messages=14_000, seed=6, now=recent) as fake:
        api = session.postmark(server_token=fake.token, base_url=fake.url)
        before = [m["MessageID"] for m in fake.search_messages({})]
        assert len(before) > 10_000
        got: list[str] = []
        async with api.outbound_messages(from_date=recent - dt.timedelta(days=46)).pages() as pages:
            async for page in pages:
                got.extend(m.message_id for m in page.items)
                fake.add_messages(25)
        assert len(fake.search_messages({})) > len(before)
        assert Counter(got).most_common(1)[0][1] == 1
        assert got == before
        check_requests(fake)


async def test_opens_ceiling_and_open_history():
    """opens() stops at 10 000 naming the total; open_history() yields every open once."""
    async with (
        Session() as session,
        FakePostmark(
            messages=4_000,
            seed=12,
            now=NOW,
            open_rate=1.0,
            max_recipients=8,
            multi_recipient_rate=1.0,
        ) as fake,
    ):
        api = session.postmark(server_token=fake.token, base_url=fake.url)
        truth = fake.search_opens({})
        total = len(truth)
        assert total > 10_000
        seen: list[Open] = []

        async def read_all_opens() -> None:
            async for open_ in api.opens():
                seen.append(open_)

        with pytest.raises(ResultWindowError) as info:
            await read_all_opens()
        assert len(seen) == 10_000
        assert seen == models(truth[:10_000], Open)
        assert info.value.total == total
        assert str(total) in str(info.value)

        history = await api.open_history(from_date=START, to_date=NOW, concurrency=16).to_list()
        key = lambda o: (o.message_id, o.recipient, o.received_at)  # noqa: E731
        assert len(history) == total
        assert Counter(map(key, history)) == Counter(map(key, models(truth, Open)))
        check_requests(fake)


async def test_click_history_reads_every_click_once(small):
    """click_history() yields each click of the range once and skips untracked messages."""
    api, fake = small
    truth = models(fake.search_clicks({}), Click)
    history = await api.click_history(from_date=START, to_date=NOW, concurrency=8).to_list()
    key = lambda c: (c.message_id, c.recipient, c.original_link, c.received_at)  # noqa: E731
    assert Counter(map(key, history)) == Counter(map(key, truth))
    untracked = {m["MessageID"] for m in fake.search_messages({}) if m["TrackLinks"] == "None"}
    asked = {r.path.rsplit("/", 1)[1] for r in fake.requests if "/clicks/" in r.path}
    assert untracked
    assert not asked & untracked


# --------------------------------------------------------------------------- bad input

NAIVE = dt.datetime(2024, 5, 1)  # noqa: DTZ001 - deliberately naive


@pytest.mark.parametrize(
    "call",
    [
        lambda pm: pm.outbound_messages(from_date=NAIVE),
        lambda pm: pm.outbound_messages(from_date=dt.date(2024, 5, 2), to_date=dt.date(2024, 5, 1)),
        lambda pm: pm.outbound_messages(status="delivered"),
        lambda pm: pm.opens(page_size=501),
        lambda pm: pm.message_opens(""),
        lambda pm: pm.open_history(to_date=NAIVE),
    ],
    ids=["naive", "reversed", "status", "page_size", "empty-id", "history-naive"],
)
async def test_bad_input_fails_before_any_request(small, call):
    """Bad arguments raise ValueError at the call; the fake receives nothing."""
    api, fake = small
    with pytest.raises(ValueError):
        call(api)
    with pytest.raises(ValueError):
        await api.message_details("")
    assert fake.requests == []


async def test_slash_in_an_id_is_refused_before_any_request(small):
    """An id with '/' or '\\' raises ValueError; no request is sent."""
    api, fake = small
    for bad in ("../../stats/outbound", "a/b", "/", "a\\b"):
        with pytest.raises(ValueError, match="must not contain"):
            await api.message_details(bad)
        with pytest.raises(ValueError, match="must not contain"):
            await api.message_opens(bad).to_list()
    assert fake.requests == []


async def test_reserved_characters_in_an_id_stay_in_its_segment(small):
    """An id with '?', '#', '..' or an encoded slash reaches only the message endpoint."""
    api, fake = small
    for bad in ("..%2F..%2Fstats", "x?count=5#y", ".."):
        with pytest.raises(NotFoundError):
            await api.message_details(bad)
        with pytest.raises(NotFoundError):
            await api.message_opens(bad).to_list()
    paths = [r.path for r in fake.requests]
    assert paths[0] == "/messages/outbound/..%252F..%252Fstats/details"
    assert all(p.startswith(("/messages/outbound/", "/messages/outbound/opens/")) for p in paths)
    assert all(p.count("/") in (4, 5) for p in paths)


async def test_windowed_stream_stays_exact_through_faults():
    """With 500s, 502s, 503s, 429s, resets and cut bodies retried, nothing is lost or repeated."""
    faults = FaultPlan(
        server_error=0.04,
        bad_gateway=0.03,
        unavailable=0.03,
        rate_limit=0.04,
        rate_limit_no_header=0.03,
        reset=0.03,
        truncate=0.03,
        seed=5,
    )
    with instant_retries():
        async with (
            Session(retry=RetryPolicy(max_attempts=12)) as session,
            FakePostmark(messages=14_000, seed=8, now=NOW, faults=faults) as fake,
        ):
            api = session.postmark(server_token=fake.token, base_url=fake.url)
            truth = [m["MessageID"] for m in fake.search_messages({})]
            assert len(truth) > 10_000
            got = [
                m.message_id
                for m in await api.outbound_messages(from_date=START, to_date=NOW).to_list()
            ]
            assert got == truth
            assert sum(fake.faults_injected.values()) >= 5
            assert session.statistics().retries >= 5
            check_requests(fake)


async def test_api_repr_holds_no_secret(small):
    """The API object's repr names the base URL, never the token."""
    api, fake = small
    assert fake.url in repr(api)
    assert fake.token not in repr(api)
