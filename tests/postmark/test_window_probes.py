"""outbound_messages(): a window's probe is reused as its first page; halves go out together."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

UTC = dt.UTC


def _key(request) -> tuple:
    return tuple(sorted(request.params))


async def test_a_probe_asking_for_a_page_is_that_page(make_api, fakes) -> None:
    """With a limit, the window's probe is its first page: one request per page."""
    server = fakes.InMemoryPostmark()
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    fakes.seeded_messages(server, 1_500, start=start, end=start + dt.timedelta(days=2), seed=2)
    api, client = make_api(server)
    messages = await api.outbound_messages(
        from_date=start, to_date=start + dt.timedelta(days=2), limit=1_200
    ).to_list()
    assert len(messages) == 1_200
    assert [dict(r.params)["offset"] for r in client.requests] == ["0", "500", "1000"]
    assert [dict(r.params)["count"] for r in client.requests] == ["500", "500", "200"]


async def test_split_windows_request_no_page_twice(make_api, fakes) -> None:
    """Past the ceiling, every request differs from every other, and nothing is lost."""
    server = fakes.InMemoryPostmark()
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    end = start + dt.timedelta(days=8)
    ids = fakes.seeded_messages(server, 25_000, start=start, end=end, seed=5)
    api, client = make_api(server)
    messages = await api.outbound_messages(from_date=start, to_date=end, limit=15_000).to_list()
    got = [m.message_id for m in messages]
    assert len(got) == len(set(got)) == 15_000
    assert set(got) <= set(ids)
    times = [m.received_at for m in messages]
    assert times == sorted(times, reverse=True)
    repeated = [key for key, n in Counter(map(_key, client.requests)).items() if n > 1]
    assert repeated == []


async def test_both_halves_of_a_split_window_are_probed_at_once(make_api, fakes) -> None:
    """The older half's probe goes out with the newer half's, before any of its pages."""
    server = fakes.InMemoryPostmark()
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    end = start + dt.timedelta(days=4)
    fakes.seeded_messages(server, 14_000, start=start, end=end, seed=9)
    api, client = make_api(server)
    messages = await api.outbound_messages(from_date=start, to_date=end).to_list()
    assert len(messages) == 14_000
    first, newer, older = client.requests[:3]
    assert dict(first.params)["count"] == "1"  # the whole range: one result tells its total
    windows = {dict(r.params)["fromdate"] for r in (newer, older)}
    assert len(windows) == 2  # two different halves
    assert all(dict(r.params)["offset"] == "0" for r in (newer, older))
    # Each half is then read from its probe on: no request repeats the probe.
    repeated = [key for key, n in Counter(map(_key, client.requests)).items() if n > 1]
    assert repeated == []


async def test_a_window_with_a_known_total_sends_its_first_page_with_the_rest(
    make_api, fakes
) -> None:
    """Once a probe told a window's total, its first page does not go out alone."""
    server = fakes.InMemoryPostmark()
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    fakes.seeded_messages(server, 1_200, start=start, end=start + dt.timedelta(days=2), seed=4)
    release = asyncio.Event()

    async def held(request):
        if dict(request.params)["count"] != "1":
            await release.wait()
        return server(request)

    api, client = make_api(held)
    task = asyncio.create_task(
        api.outbound_messages(from_date=start, to_date=start + dt.timedelta(days=2)).to_list()
    )
    for _ in range(50):
        await asyncio.sleep(0)
    offsets = [dict(r.params)["offset"] for r in client.requests]
    assert offsets == ["0", "0", "500", "1000"]  # the probe, then every page at once
    release.set()
    messages = await task
    assert len(messages) == 1_200
    assert len(client.requests) == 4
