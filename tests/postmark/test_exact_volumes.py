"""Exact volumes against FakePostmark: 25 000 messages past the ceiling, 12 000 opens."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from asyncmailstats import Open, ResultWindowError, Session
from asyncmailstats.postmark._convert import make_converter
from asyncmailstats.testing import FakePostmark

NOW = dt.datetime(2024, 6, 1, 16, 0, 0, tzinfo=dt.UTC)
START = NOW - dt.timedelta(days=46)
STRICT = make_converter(strict=True)


def fake_with_25000_messages() -> FakePostmark:
    """A fake whose outbound stream holds exactly 25 000 messages (seed found by search)."""
    return FakePostmark(messages=31_321, seed=25, recipients=2_000, now=NOW)


def fake_with_12000_opens() -> FakePostmark:
    """A fake whose outbound stream holds exactly 12 000 opens (seed found by search)."""
    return FakePostmark(
        messages=3_851,
        seed=44,
        recipients=800,
        open_rate=1.0,
        max_recipients=8,
        multi_recipient_rate=1.0,
        now=NOW,
    )


def check_requests(fake: FakePostmark) -> None:
    """Every request kept count <= 500 and count + offset <= 10 000; token in the header only."""
    assert fake.requests
    for request in fake.requests:
        assert request.headers["X-Postmark-Server-Token"] == fake.token
        assert fake.token not in request.path
        assert all(fake.token not in f"{key}={value}" for key, value in request.query)
        count, offset = request.param("count"), request.param("offset")
        if count is not None:
            assert offset is not None
            assert 1 <= int(count) <= 500
            assert int(count) + int(offset) <= 10_000


async def test_25000_messages_come_out_once_each_newest_first() -> None:
    """outbound_messages() yields exactly the 25 000 messages of the range, newest first."""
    async with Session() as session, fake_with_25000_messages() as fake:
        truth = [m["MessageID"] for m in fake.search_messages({})]
        assert len(truth) == 25_000
        api = session.postmark(server_token=fake.token, base_url=fake.url)

        messages = await api.outbound_messages(from_date=START, to_date=NOW).to_list()

        got = [m.message_id for m in messages]
        assert len(got) == 25_000
        assert len(set(got)) == 25_000
        assert got == truth  # the fake's search order is newest first
        times = [m.received_at for m in messages]
        assert times == sorted(times, reverse=True)
        check_requests(fake)


async def test_12000_opens_stop_at_10000_and_open_history_reads_all_of_them() -> None:
    """opens() yields 10 000 then names the total 12 000; open_history() yields all 12 000 once."""
    async with Session() as session, fake_with_12000_opens() as fake:
        truth = [STRICT.structure(row, Open) for row in fake.search_opens({})]
        assert len(truth) == 12_000
        api = session.postmark(server_token=fake.token, base_url=fake.url)

        seen: list[Open] = []
        with pytest.raises(ResultWindowError) as info:
            async for open_ in api.opens():
                seen.append(open_)
        assert seen == truth[:10_000]
        assert info.value.total == 12_000
        assert "only 10000 of 12000 results" in str(info.value)

        history = await api.open_history(from_date=START, to_date=NOW, concurrency=16).to_list()

        def key(o: Open) -> tuple[str, str | None, dt.datetime]:
            return (o.message_id, o.recipient, o.received_at)

        assert len(set(map(key, truth))) == 12_000
        assert len(history) == 12_000
        assert Counter(map(key, history)) == Counter(map(key, truth))
        check_requests(fake)
