"""outbound_messages() over sliced windows: exact at every edge, bounded probes, clean exits."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import itertools
import math

import pytest

from asyncmailstats.exceptions import InvalidRequestError
from asyncmailstats.postmark import _streams
from asyncmailstats.postmark._args import date_params
from asyncmailstats.postmark._streams import SLICE_TARGET, split_points

UTC = dt.UTC
START = dt.datetime(2024, 5, 1, tzinfo=UTC)


def _page_offsets(total: int, size: int = 500) -> list[int]:
    """Return the offsets a window of *total* is read at: each page re-reads one record."""
    offsets = [0]
    while offsets[-1] + size < total:
        offsets.append(offsets[-1] + size - 1)
    return offsets


def _window(request) -> tuple[str, str]:
    params = dict(request.params)
    return params["fromdate"], params["todate"]


def _offset(request) -> int:
    return int(dict(request.params)["offset"])


def _dates(low: dt.datetime, high: dt.datetime) -> tuple[str, str]:
    params = dict(date_params(low, high))
    return params["fromdate"], params["todate"]


def _total(server, window: tuple[str, str]) -> int:
    return len(server._search({"fromdate": window[0], "todate": window[1]}))


def _expected_windows(server, low: dt.datetime, high: dt.datetime) -> list[tuple[str, str]]:
    """Every window the protocol probes, newest first (depth first): cut while over 10 000."""
    window = _dates(low, high)
    total = _total(server, window)
    if total <= 10_000:
        return [window]
    points = split_points(low, high, math.ceil(total / SLICE_TARGET))
    assert points
    bounds = [low, *points, high]
    slices = reversed(list(itertools.pairwise(bounds)))
    return [window, *(w for a, b in slices for w in _expected_windows(server, a, b))]


def _burst(server, at: dt.datetime, seconds: int, count: int, prefix: str) -> list[str]:
    ids = [f"{prefix}{n:06d}" for n in range(count)]
    for n, message_id in enumerate(ids):
        when = at + dt.timedelta(microseconds=n * seconds * 1_000_000 // count)
        server.add_message(when, message_id)
    return ids


def _check_stream(server, messages, ids) -> None:
    got = [m.message_id for m in messages]
    assert len(got) == len(set(got)) == len(ids)
    assert set(got) == set(ids)
    assert got == [m["MessageID"] for m in server.messages]  # the search order: newest first
    times = [m.received_at for m in messages]
    assert times == sorted(times, reverse=True)


async def test_slices_still_over_the_ceiling_are_cut_again(make_api, fakes) -> None:
    """A burst of 17 000 messages in two minutes takes several levels of cutting.

    Every window over the ceiling is cut into ceil(total / 8 000) slices at split_points,
    recursively; each window is probed once, with a full page, and every message comes
    out once, newest first.
    """
    server = fakes.InMemoryPostmark()
    end = START + dt.timedelta(days=8)
    ids = fakes.seeded_messages(server, 10_000, start=START, end=end, seed=21)
    ids += _burst(server, START + dt.timedelta(days=5, hours=7, minutes=3), 120, 17_000, "b")
    api, client = make_api(server)
    messages = await api.outbound_messages(from_date=START, to_date=end).to_list()
    _check_stream(server, messages, ids)

    expected = _expected_windows(server, START, end)
    cut = [w for w in expected if _total(server, w) > 10_000]
    assert len(cut) >= 4  # several levels
    assert any(math.ceil(_total(server, w) / SLICE_TARGET) >= 3 for w in cut)
    probes = [r for r in client.requests if _offset(r) == 0]
    assert all(dict(r.params)["count"] == "500" for r in probes)
    assert sorted(map(_window, probes)) == sorted(expected)  # each window probed once
    # The windows read (not cut) are read newest first, each from offset 0 to its total.
    read = [w for w in expected if w not in cut]
    order = list(dict.fromkeys(_window(r) for r in client.requests if _offset(r) > 0))
    assert order == [w for w in read if _total(server, w) > 500]
    for window in read:
        offsets = sorted(_offset(r) for r in client.requests if _window(r) == window)
        assert offsets == _page_offsets(_total(server, window))


@pytest.mark.parametrize(
    "whole_seconds", [True, False], ids=["todate-whole-second", "todate-instant"]
)
async def test_bursts_at_every_cut_point_come_out_once(make_api, fakes, whole_seconds) -> None:
    """300 messages within each second the range is cut at: none lost, none repeated."""
    server = fakes.InMemoryPostmark(whole_seconds=whole_seconds)
    end = START + dt.timedelta(days=8)
    ids = fakes.seeded_messages(server, 24_000, start=START, end=end, seed=22)
    points = split_points(START, end, math.ceil((24_000 + 3 * 300) / SLICE_TARGET))
    assert len(points) == 3
    for n, point in enumerate(points):
        ids += _burst(server, point, 1, 300, f"e{n}-")
    api, client = make_api(server)
    messages = await api.outbound_messages(from_date=START, to_date=end).to_list()
    _check_stream(server, messages, ids)
    slices = {_window(r) for r in client.requests} - {_dates(START, end)}
    assert len(slices) == 4


async def test_empty_slices_between_full_ones(make_api, fakes) -> None:
    """Slices with no message at all are probed once and skipped; edges stay exact."""
    server = fakes.InMemoryPostmark()
    end = START + dt.timedelta(days=6)
    first_day = START + dt.timedelta(days=1)
    ids = fakes.seeded_messages(server, 11_000, start=START, end=first_day, seed=3)
    ids += _burst(server, end - dt.timedelta(days=1), 86_000, 11_000, "late")
    api, client = make_api(server)
    messages = await api.outbound_messages(from_date=START, to_date=end).to_list()
    _check_stream(server, messages, ids)
    probed = {_window(r) for r in client.requests if _offset(r) == 0}
    empty = [w for w in probed if _total(server, w) == 0]
    assert empty  # a middle slice held nothing
    for window in empty:
        assert [r for r in client.requests if _window(r) == window and _offset(r) > 0] == []


@pytest.mark.parametrize(("prefetch", "ahead"), [(1, 2), (4, 4), (6, 6)])
async def test_probes_out_at_once_are_bounded(
    make_api, fakes, monkeypatch, prefetch, ahead
) -> None:
    """At most max(2, prefetch) probes are out ahead of the window being read.

    With slices of about 1 500 results, 12 000 messages are cut into 8 slices; the
    probes of later slices go out only as earlier ones are taken, counted both at the
    server (in flight at once) and in the stream (probes sent whose window has not
    started being read).
    """
    monkeypatch.setattr(_streams, "SLICE_TARGET", 1_500)
    server = fakes.InMemoryPostmark()
    end = START + dt.timedelta(days=12)
    ids = fakes.seeded_messages(server, 12_000, start=START, end=end, seed=8)
    in_flight = 0
    most_in_flight = 0
    probed: list[tuple[str, str]] = []
    reading: list[tuple[str, str]] = []
    most_ahead = 0

    async def handler(request):
        nonlocal in_flight, most_in_flight, most_ahead
        window = _window(request)
        if _offset(request) > 0:
            if window not in reading:
                reading.append(window)
            most_ahead = max(most_ahead, len(probed) - len(reading))
            return server(request)
        if window != _dates(START, end):
            probed.append(window)
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        try:
            await asyncio.sleep(0.002)
        finally:
            in_flight -= 1
        return server(request)

    api, _ = make_api(handler)
    messages = await api.outbound_messages(
        from_date=START, to_date=end, prefetch=prefetch
    ).to_list()
    _check_stream(server, messages, ids)
    assert len(probed) == len(set(probed)) == 8
    assert reading == probed
    assert most_in_flight == ahead
    assert most_ahead == ahead


async def test_leaving_early_cancels_the_probes_out(make_api, fakes, no_leaked_tasks) -> None:
    """A break while later slices' probes are out cancels them and leaves no task behind."""
    server = fakes.InMemoryPostmark()
    end = START + dt.timedelta(days=8)
    fakes.seeded_messages(server, 25_000, start=START, end=end, seed=9)
    newest = _dates(split_points(START, end, 4)[-1], end)
    held: list[tuple[str, str]] = []
    cancelled: list[tuple[str, str]] = []

    async def handler(request):
        window = _window(request)
        if _offset(request) == 0 and window not in (_dates(START, end), newest):
            held.append(window)
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(window)
                raise
        return server(request)

    api, _ = make_api(handler)
    stream = api.outbound_messages(from_date=START, to_date=end)
    async for message in stream:
        assert message.message_id == server.messages[0]["MessageID"]
        break
    await stream.aclose()
    assert len(held) == 3  # the three older slices, probed ahead
    assert sorted(cancelled) == sorted(held)


async def test_a_failed_probe_left_behind_is_not_reported(make_api, fakes) -> None:
    """A probe that failed ahead of a stream closed early leaves no unretrieved error.

    Read to the end, the same failure is raised when its window is reached.
    """
    server = fakes.InMemoryPostmark()
    end = START + dt.timedelta(days=8)
    fakes.seeded_messages(server, 25_000, start=START, end=end, seed=9)
    oldest = _dates(START, split_points(START, end, 4)[0])

    def handler(request):
        if _window(request) == oldest:
            return fakes.json_response({"ErrorCode": 700, "Message": "bad"}, 422)
        return server(request)

    loop = asyncio.get_running_loop()
    reported: list[dict] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        api, client = make_api(handler)
        stream = api.outbound_messages(from_date=START, to_date=end)
        async for _ in stream:
            break
        await stream.aclose()
        assert oldest in {_window(r) for r in client.requests}  # probed, and failed
        gc.collect()
        await asyncio.sleep(0)
        assert reported == []

        seen = 0
        with pytest.raises(InvalidRequestError):
            async for _ in api.outbound_messages(from_date=START, to_date=end):
                seen += 1
        assert seen == _total(server, _dates(split_points(START, end, 4)[0], end))
        gc.collect()
        await asyncio.sleep(0)
        assert reported == []
    finally:
        loop.set_exception_handler(None)


async def test_a_small_limit_on_a_huge_range_sends_one_request(make_api, fakes) -> None:
    """limit=10 over 25 000 messages: one request for 10, the newest of the whole range."""
    server = fakes.InMemoryPostmark()
    end = START + dt.timedelta(days=8)
    fakes.seeded_messages(server, 25_000, start=START, end=end, seed=10)
    api, client = make_api(server)
    messages = await api.outbound_messages(from_date=START, to_date=end, limit=10).to_list()
    assert [m.message_id for m in messages] == [m["MessageID"] for m in server.messages[:10]]
    (request,) = client.requests
    assert dict(request.params)["count"] == "10"
    assert dict(request.params)["offset"] == "0"
    assert _window(request) == _dates(START, end)


async def test_a_limit_probes_only_the_slices_it_needs(make_api, fakes) -> None:
    """limit=15 000 over 25 000 in four slices: the oldest slice is never probed."""
    server = fakes.InMemoryPostmark()
    end = START + dt.timedelta(days=8)
    fakes.seeded_messages(server, 25_000, start=START, end=end, seed=10)
    bounds = [START, *split_points(START, end, 4), end]
    slices = [_dates(a, b) for a, b in reversed(list(itertools.pairwise(bounds)))]
    totals = [_total(server, w) for w in slices]
    assert sum(totals[:2]) < 15_000 <= sum(totals[:3])
    api, client = make_api(server)
    messages = await api.outbound_messages(from_date=START, to_date=end, limit=15_000).to_list()
    assert [m.message_id for m in messages] == [m["MessageID"] for m in server.messages[:15_000]]
    probes = [_window(r) for r in client.requests if _offset(r) == 0]
    assert probes == [_dates(START, end), *slices[:3]]
