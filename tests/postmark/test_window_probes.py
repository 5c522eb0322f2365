"""outbound_messages(): every probe is a full page, reused; a window over the ceiling is sliced."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import math
from collections import Counter

from asyncmailstats.postmark._args import date_params
from asyncmailstats.postmark._streams import SLICE_TARGET, split_points

UTC = dt.UTC


def _page_offsets(total: int, size: int = 500) -> list[int]:
    """Return the offsets a window of *total* is read at: each page re-reads one record."""
    offsets = [0]
    while offsets[-1] + size < total:
        offsets.append(offsets[-1] + size - 1)
    return offsets


def _key(request) -> tuple:
    return tuple(sorted(request.params))


def _window(params: dict[str, str]) -> tuple[str, str]:
    return params["fromdate"], params["todate"]


def _dates(low: dt.datetime, high: dt.datetime) -> tuple[str, str]:
    return _window(dict(date_params(low, high)))


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
    assert [dict(r.params)["offset"] for r in client.requests] == ["0", "499", "998"]
    assert [dict(r.params)["count"] for r in client.requests] == ["500", "500", "202"]


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
    assert all(
        dict(r.params)["count"] == "500" for r in client.requests if dict(r.params)["offset"] == "0"
    )


async def test_a_window_over_the_ceiling_is_cut_into_target_sized_slices(make_api, fakes) -> None:
    """25 000 results: the range's probe, then ceil(25 000 / 8 000) slices probed newest first.

    The cuts are split_points(range, 4); each slice is probed once with a full page and
    then read from offset 500 to its total, so the requests are exactly the pages.
    """
    server = fakes.InMemoryPostmark()
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    end = start + dt.timedelta(days=8)
    fakes.seeded_messages(server, 25_000, start=start, end=end, seed=5)
    api, client = make_api(server)
    messages = await api.outbound_messages(from_date=start, to_date=end).to_list()
    assert len(messages) == 25_000

    sent = [dict(r.params) for r in client.requests]
    probes = [p for p in sent if p["offset"] == "0"]
    assert all(p["count"] == "500" for p in probes)
    root, *slices = probes
    assert _window(root) == _dates(start, end)
    parts = math.ceil(25_000 / SLICE_TARGET)
    assert parts == 4
    bounds = [start, *split_points(start, end, parts), end]
    expected = [_dates(low, high) for low, high in reversed(list(itertools.pairwise(bounds)))]
    assert len(expected) == 4
    assert [_window(p) for p in slices] == expected  # newest first, each probed once

    pages = 1  # the whole range's probe
    for window in expected:
        total = len(server._search(dict(zip(("fromdate", "todate"), window, strict=True))))
        assert total <= 10_000
        offsets = sorted(int(p["offset"]) for p in sent if _window(p) == window)
        assert offsets == _page_offsets(total)
        pages += len(offsets)
    assert len(sent) == pages
    repeated = [key for key, n in Counter(map(_key, client.requests)).items() if n > 1]
    assert repeated == []


async def test_a_window_within_the_ceiling_sends_its_later_pages_together(make_api, fakes) -> None:
    """The probe is the first page; once it told the total, every later page goes out."""
    server = fakes.InMemoryPostmark()
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    fakes.seeded_messages(server, 1_200, start=start, end=start + dt.timedelta(days=2), seed=4)
    release = asyncio.Event()

    async def held(request):
        if dict(request.params)["offset"] != "0":
            await release.wait()
        return server(request)

    api, client = make_api(held)
    task = asyncio.create_task(
        api.outbound_messages(from_date=start, to_date=start + dt.timedelta(days=2)).to_list()
    )
    for _ in range(50):
        await asyncio.sleep(0)
    sent = [(dict(r.params)["offset"], dict(r.params)["count"]) for r in client.requests]
    assert sent == [("0", "500"), ("499", "500"), ("998", "202")]  # probe, then both pages
    release.set()
    messages = await task
    assert len(messages) == 1_200
    assert len(client.requests) == 3
