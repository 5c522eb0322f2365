"""PostmarkAPI against a fake provider client: requests sent, results, streams, validation."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from typing import Any

import pytest

from asyncmailstats._http import Request
from asyncmailstats.exceptions import InvalidRequestError, NotFoundError, ResultWindowError
from asyncmailstats.postmark import _wire
from asyncmailstats.postmark.models import (
    DynamicCounts,
    Open,
    OutboundMessageDetails,
    OutboundOverview,
    SentCounts,
)

UTC = dt.UTC


def never(request: Request) -> Any:
    raise AssertionError(f"no request expected, got {request}")


def paging_ok(request: Request) -> bool:
    params = dict(request.params)
    count, offset = int(params["count"]), int(params["offset"])
    return 1 <= count <= 500 and offset >= 0 and count + offset <= 10_000


# --------------------------------------------------------------------------- construction


def test_construction_does_no_io_and_repr_shows_only_the_url(make_api):
    """Building the API sends nothing; its repr names the base URL only."""
    api, client = make_api(never)
    assert client.requests == []
    assert repr(api) == "<PostmarkAPI https://pm.invalid>"
    assert api.retention_days == 45


@pytest.mark.parametrize(
    ("value", "error"), [(0, ValueError), ("45", TypeError), (True, TypeError)]
)
def test_retention_days_is_validated(make_api, value, error):
    """retention_days must be a positive int."""
    with pytest.raises(error):
        make_api(never, retention_days=value)


NAIVE = dt.datetime(2024, 1, 1)  # noqa: DTZ001 - deliberately naive
BAD_STREAM_CALLS = [
    ("page_size=501", lambda pm: pm.outbound_messages(page_size=501), ValueError),
    ("naive from_date", lambda pm: pm.outbound_messages(from_date=NAIVE), ValueError),
    ("naive to_date", lambda pm: pm.outbound_messages(to_date=NAIVE), ValueError),
    (
        "from after to",
        lambda pm: pm.outbound_messages(from_date=dt.date(2024, 2, 1), to_date=dt.date(2024, 1, 1)),
        ValueError,
    ),
    ("unknown status", lambda pm: pm.outbound_messages(status="bounced"), ValueError),
    ("negative limit", lambda pm: pm.outbound_messages(limit=-1), ValueError),
    ("prefetch 0", lambda pm: pm.outbound_messages(prefetch=0), ValueError),
    ("two metadata", lambda pm: pm.outbound_messages(metadata={"a": "1", "b": "2"}), ValueError),
    ("opens page_size=501", lambda pm: pm.opens(page_size=501), ValueError),
    ("opens empty platform", lambda pm: pm.opens(platform=""), ValueError),
    ("opens limit str", lambda pm: pm.opens(limit="3"), TypeError),
    ("clicks page_size=0", lambda pm: pm.clicks(page_size=0), ValueError),
    ("clicks city int", lambda pm: pm.clicks(city=1), TypeError),
    ("message_opens empty id", lambda pm: pm.message_opens(""), ValueError),
    ("message_opens None id", lambda pm: pm.message_opens(None), TypeError),
    ("message_clicks empty id", lambda pm: pm.message_clicks(""), ValueError),
    ("message_clicks page_size", lambda pm: pm.message_clicks("x", page_size=501), ValueError),
    ("open_history concurrency 0", lambda pm: pm.open_history(concurrency=0), ValueError),
    ("open_history naive", lambda pm: pm.open_history(from_date=NAIVE), ValueError),
    ("click_history status", lambda pm: pm.click_history(status="nope"), ValueError),
    ("click_history concurrency", lambda pm: pm.click_history(concurrency=1.5), TypeError),
]


@pytest.mark.parametrize(
    ("call", "error"),
    [(c, e) for _, c, e in BAD_STREAM_CALLS],
    ids=[n for n, _, _ in BAD_STREAM_CALLS],
)
def test_stream_methods_validate_at_the_call(make_api, call, error):
    """A stream method raises on bad input when called, before anything is sent."""
    api, client = make_api(never)
    with pytest.raises(error):
        call(api)
    assert client.requests == []


BAD_AWAITED_CALLS = [
    ("details empty id", lambda pm: pm.message_details(""), ValueError),
    ("dump int id", lambda pm: pm.message_dump(5), TypeError),
    (
        "stats datetime",
        lambda pm: pm.sent_counts(from_date=dt.datetime(2024, 1, 1, tzinfo=UTC)),
        TypeError,
    ),
    (
        "stats reversed",
        lambda pm: pm.outbound_overview(from_date=dt.date(2024, 2, 1), to_date=dt.date(2024, 1, 1)),
        ValueError,
    ),
    ("stats empty tag", lambda pm: pm.read_times(tag=""), ValueError),
]


@pytest.mark.parametrize(
    ("call", "error"),
    [(c, e) for _, c, e in BAD_AWAITED_CALLS],
    ids=[n for n, _, _ in BAD_AWAITED_CALLS],
)
async def test_awaited_methods_validate_before_sending(make_api, call, error):
    """An awaited method raises on bad input without sending a request."""
    api, client = make_api(never)
    with pytest.raises(error):
        await call(api)
    assert client.requests == []


# --------------------------------------------------------------------------- single calls


async def test_message_details_and_dump(make_api, fakes):
    """details and dump hit the message's paths (id encoded) and decode the replies."""
    details_body = {
        "MessageID": "a?b",
        "ReceivedAt": "2024-01-01T10:00:00-05:00",
        "Status": "Sent",
        "MessageEvents": [],
        "Body": "raw",
    }

    def handler(request: Request):
        if request.path.endswith("/details"):
            return fakes.json_response(details_body)
        return fakes.json_response({"Body": "MIME source"})

    api, client = make_api(handler)
    details = await api.message_details("a?b")
    dump = await api.message_dump("a?b")
    assert isinstance(details, OutboundMessageDetails)
    assert details.message_id == "a?b"
    assert dump == "MIME source"
    assert [r.path for r in client.requests] == [
        "/messages/outbound/a%3Fb/details",
        "/messages/outbound/a%3Fb/dump",
    ]


async def test_unknown_message_raises_not_found(make_api, fakes):
    """Postmark's 422/701 for an unknown message surfaces as NotFoundError."""
    api, _ = make_api(
        lambda r: fakes.json_response({"ErrorCode": 701, "Message": "not found"}, 422)
    )
    with pytest.raises(NotFoundError) as info:
        await api.message_details("nope")
    assert info.value.endpoint == "GET /messages/outbound/{id}/details"


STATS_BODY = {
    "outbound_overview": {"Sent": 5, "BounceRate": 0.5},
    "email_clients": {"Days": [{"Date": "2024-01-01", "Gmail": 2}], "Gmail": 2},
    "read_times": {"Days": [{"Date": "2024-01-01", "20s+": 2}], "20s+": 2},
    "browser_families": {"Days": []},
}


@pytest.mark.parametrize("name", sorted(_wire.STATS))
async def test_every_stats_method_sends_its_request_and_decodes(make_api, fakes, name):
    """Each stats method calls its own path with the filters and returns its model."""
    path, model = _wire.STATS[name]
    api, client = make_api(lambda r: fakes.json_response(STATS_BODY.get(name, {"Days": []})))
    result = await getattr(api, name)(
        tag="t",
        from_date=dt.date(2024, 1, 1),
        to_date=dt.date(2024, 1, 31),
        message_stream="outbound",
    )
    assert type(result) is model
    (request,) = client.requests
    assert request.path == path
    assert list(request.params) == [
        ("tag", "t"),
        ("fromdate", "2024-01-01"),
        ("todate", "2024-01-31"),
        ("messagestream", "outbound"),
    ]


async def test_stats_without_stream_send_no_stream(make_api, fakes):
    """Stats without message_stream leave it out, so Postmark counts every stream."""
    api, client = make_api(
        lambda r: fakes.json_response({"Days": [{"Date": "2024-01-01", "Sent": 3}], "Sent": 3})
    )
    sent = await api.sent_counts()
    assert isinstance(sent, SentCounts)
    assert sent.sent == 3
    assert sent.days[0].sent == 3
    assert list(client.requests[0].params) == []


async def test_dynamic_and_overview_results(make_api, fakes):
    """email_clients returns DynamicCounts; the overview returns its totals."""
    api, _ = make_api(lambda r: fakes.json_response(STATS_BODY["email_clients"]))
    clients = await api.email_clients()
    assert isinstance(clients, DynamicCounts)
    assert clients.totals == {"Gmail": 2}
    api, _ = make_api(lambda r: fakes.json_response(STATS_BODY["outbound_overview"]))
    overview = await api.outbound_overview()
    assert isinstance(overview, OutboundOverview)
    assert (overview.sent, overview.bounce_rate, overview.opens) == (5, 0.5, 0)


# --------------------------------------------------------------------------- opens, clicks


def event_server(fakes, total: int, key: str = "Opens"):
    """A search over *total* synthetic events that enforces Postmark's paging limits."""
    base = dt.datetime(2024, 1, 1, tzinfo=UTC)

    def handler(request: Request):
        if not paging_ok(request):
            return fakes.json_response({"ErrorCode": 700, "Message": "bad paging"}, 422)
        params = dict(request.params)
        count, offset = int(params["count"]), int(params["offset"])
        rows = [
            {
                "MessageID": f"m{n}",
                "ReceivedAt": fakes.wire_time(base - dt.timedelta(seconds=n)),
                "Recipient": f"r{n}@example.com",
                "OriginalLink": "https://example.com",
            }
            for n in range(offset, min(offset + count, total))
        ]
        if key == "Opens":
            for row in rows:
                del row["OriginalLink"]
        return fakes.json_response({"TotalCount": total, key: rows})

    return handler


async def test_opens_stop_at_the_ceiling_with_result_window_error(make_api, fakes):
    """12 000 opens: 10 000 are yielded, then ResultWindowError names the total."""
    api, client = make_api(event_server(fakes, 12_000))
    seen = []

    async def consume() -> None:
        async for open_ in api.opens(tag="t"):
            seen.append(open_.message_id)

    with pytest.raises(ResultWindowError) as info:
        await consume()
    assert len(seen) == 10_000
    assert len(set(seen)) == 10_000
    assert info.value.total == 12_000
    assert info.value.ceiling == 10_000
    assert "12000" in str(info.value)
    assert "open_history" in str(info.value)
    assert all(paging_ok(r) for r in client.requests)
    assert all(("tag", "t") in r.params for r in client.requests)


async def test_opens_under_the_ceiling_and_limit(make_api, fakes):
    """A limit under the ceiling ends quietly and asks only for what it needs."""
    api, client = make_api(event_server(fakes, 12_000))
    items = await api.opens(limit=10_000).to_list()
    assert len(items) == 10_000
    api, client = make_api(event_server(fakes, 12_000))
    assert len(await api.opens(limit=5).to_list()) == 5
    assert [dict(r.params)["count"] for r in client.requests] == ["5"]


async def test_clicks_stream_pages_in_order(make_api, fakes):
    """clicks() reads pages of page_size in order and decodes Click objects."""
    api, client = make_api(event_server(fakes, 1_234, key="Clicks"))
    clicks = await api.clicks(page_size=500, prefetch=3, country="Denmark").to_list()
    assert [c.message_id for c in clicks] == [f"m{n}" for n in range(1_234)]
    offsets = sorted(int(dict(r.params)["offset"]) for r in client.requests)
    assert offsets == [0, 499, 998]  # each page re-reads the last record of the one before
    assert all(r.path == "/messages/outbound/clicks" for r in client.requests)
    assert all(("country", "Denmark") in r.params for r in client.requests)


async def test_message_opens_pages_one_message(make_api, fakes):
    """message_opens pages the opens of one message through its own path."""
    api, client = make_api(event_server(fakes, 1_200))
    opens = await api.message_opens("abc", page_size=500).to_list()
    assert len(opens) == 1_200
    assert {r.path for r in client.requests} == {"/messages/outbound/opens/abc"}
    assert all(set(dict(r.params)) == {"count", "offset"} for r in client.requests)


async def test_message_clicks_over_the_ceiling_raise(make_api, fakes):
    """A single message's clicks over the ceiling raise rather than truncate."""
    api, _ = make_api(event_server(fakes, 10_001, key="Clicks"))
    with pytest.raises(ResultWindowError):
        await api.message_clicks("abc").to_list()


# --------------------------------------------------------------------------- windows


@pytest.mark.parametrize(
    "whole_seconds", [True, False], ids=["todate-whole-second", "todate-instant"]
)
async def test_outbound_messages_go_past_the_ceiling_without_loss_or_duplicates(
    make_api, fakes, whole_seconds
):
    """25 000 messages (a burst at a window edge) come out once each, newest first."""
    server = fakes.InMemoryPostmark(whole_seconds=whole_seconds)
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    end = start + dt.timedelta(days=8)
    ids = fakes.seeded_messages(server, 25_000, start=start, end=end, seed=7, same_second=400)
    api, client = make_api(server)
    messages = await api.outbound_messages(from_date=start, to_date=end, prefetch=4).to_list()
    got = [m.message_id for m in messages]
    assert len(got) == len(ids)
    assert set(got) == set(ids)
    times = [m.received_at for m in messages]
    assert times == sorted(times, reverse=True)
    assert all(paging_ok(r) for r in client.requests)
    probes = [dict(r.params) for r in client.requests if dict(r.params)["offset"] == "0"]
    # Every probe asks for a full page; the whole range (25 400 results) is cut into
    # ceil(25 400 / 8 000) = 4 slices, each probed once and then read from its probe on.
    assert all(p["count"] == "500" for p in probes)
    windows = [(p["fromdate"], p["todate"]) for p in probes]
    assert len(windows) == len(set(windows)) == 1 + 4
    assert len(client.requests) == len({tuple(sorted(r.params)) for r in client.requests})


@pytest.mark.parametrize("fold", [0, 1], ids=["reads-EDT", "reads-EST"])
async def test_windows_across_the_end_of_dst_are_exact(make_api, fakes, fold):
    """Across the repeated hour of the DST change, windows lose and repeat nothing.

    The middle of the range is 01:30 EDT; a server reading "01:30:00" as 01:30 EST would
    put the shared window edge an hour later, where a burst of messages sits.
    """
    server = fakes.InMemoryPostmark(fold=fold)
    start = dt.datetime(2024, 11, 3, 0, 0, tzinfo=UTC)
    end = dt.datetime(2024, 11, 3, 11, 0, tzinfo=UTC)
    ids = fakes.seeded_messages(server, 16_000, start=start, end=end, seed=9)
    other_reading = dt.datetime(2024, 11, 3, 6, 30, tzinfo=UTC)  # 01:30 EST
    for n in range(50):
        server.add_message(other_reading + dt.timedelta(microseconds=n * 1000), f"burst{n}")
        ids.append(f"burst{n}")
    api, client = make_api(server)
    got = [
        m.message_id for m in await api.outbound_messages(from_date=start, to_date=end).to_list()
    ]
    assert len(got) == len(set(got)) == len(ids)
    assert set(got) == set(ids)
    assert all(paging_ok(r) for r in client.requests)
    sent = {dict(r.params)["fromdate"] for r in client.requests}
    assert not any(value.startswith("2024-11-03T01:") for value in sent)


async def test_outbound_messages_within_one_window_probe_once(make_api, fakes):
    """A range under the ceiling costs its pages only: the probe is the first page."""
    server = fakes.InMemoryPostmark()
    start = dt.datetime(2024, 3, 1, tzinfo=fakes.NY)  # date bounds are Eastern days
    fakes.seeded_messages(server, 1_200, start=start, end=start + dt.timedelta(days=2), seed=1)
    api, client = make_api(server)
    messages = await api.outbound_messages(
        from_date=start.date(), to_date=start.date() + dt.timedelta(days=1)
    ).to_list()
    assert len(messages) == 1_200
    pages = sorted(
        (int(dict(r.params)["offset"]), dict(r.params)["count"]) for r in client.requests
    )
    # Each page re-reads the last record of the page before it.
    assert pages == [(0, "500"), (499, "500"), (998, "202")]
    assert all(
        ("fromdate", "2024-03-01") in r.params and ("todate", "2024-03-02") in r.params
        for r in client.requests
    )


async def test_outbound_messages_limit_stops_early(make_api, fakes):
    """limit= yields exactly that many newest messages and stops reading."""
    server = fakes.InMemoryPostmark()
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    fakes.seeded_messages(server, 25_000, start=start, end=start + dt.timedelta(days=4), seed=3)
    api, client = make_api(server)
    messages = await api.outbound_messages(
        from_date=start, to_date=start + dt.timedelta(days=4), limit=1_234
    ).to_list()
    assert [m.message_id for m in messages] == [m["MessageID"] for m in server.messages[:1_234]]
    # The first 10 000 results of the range hold the limit: it is read, not cut.
    sent = [dict(r.params) for r in client.requests]
    assert [(p["offset"], p["count"]) for p in sent] == [
        ("0", "500"),
        ("499", "500"),
        ("998", "236"),
    ]
    assert len({(p["fromdate"], p["todate"]) for p in sent}) == 1


async def test_outbound_messages_defaults_to_the_retention_window(make_api, fakes):
    """Without dates the range is retention_days back to the second before the call."""
    server = fakes.InMemoryPostmark()
    api, client = make_api(server, retention_days=10)
    before = dt.datetime.now(UTC)
    assert await api.outbound_messages().to_list() == []
    (probe,) = client.requests
    params = dict(probe.params)
    lower = dt.datetime.fromisoformat(params["fromdate"]).replace(tzinfo=fakes.NY)
    upper = dt.datetime.fromisoformat(params["todate"]).replace(tzinfo=fakes.NY)
    assert before - dt.timedelta(seconds=2) <= upper < before
    assert upper - lower == dt.timedelta(days=10)


@pytest.mark.parametrize(
    "whole_seconds", [True, False], ids=["todate-whole-second", "todate-instant"]
)
async def test_messages_arriving_during_the_stream_are_not_duplicated(
    make_api, fakes, whole_seconds
):
    """New messages sent while streaming are outside the frozen range: no duplicate, no loss."""
    server = fakes.InMemoryPostmark(whole_seconds=whole_seconds)
    now = dt.datetime.now(UTC)
    ids = fakes.seeded_messages(
        server, 12_000, start=now - dt.timedelta(days=3), end=now - dt.timedelta(seconds=5), seed=11
    )
    arrivals = iter(range(10**6))

    def arrive(request: Request) -> None:
        server.add_message(dt.datetime.now(UTC), f"new{next(arrivals)}")

    server.on_request = arrive
    api, _ = make_api(server)
    got = [m.message_id for m in await api.outbound_messages(prefetch=3).to_list()]
    assert Counter(got).most_common(1)[0][1] == 1
    assert set(got) == set(ids)


async def test_more_than_the_ceiling_in_one_second_raises(make_api, fakes):
    """A single second holding over 10 000 messages cannot be windowed: ResultWindowError."""
    server = fakes.InMemoryPostmark()
    moment = dt.datetime(2024, 3, 1, 12, tzinfo=UTC)
    for n in range(10_050):
        server.add_message(moment + dt.timedelta(microseconds=n), f"m{n}")
    api, _ = make_api(server)
    seen = []

    async def consume() -> None:
        async for message in api.outbound_messages(from_date=moment, to_date=moment):
            seen.append(message.message_id)

    with pytest.raises(ResultWindowError) as info:
        await consume()
    assert len(seen) == len(set(seen)) == 10_000
    assert info.value.total == 10_050


async def test_outbound_messages_send_filters_in_every_window(make_api, fakes):
    """Every probe and page carries the search filters with its window's dates."""
    server = fakes.InMemoryPostmark()
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    fakes.seeded_messages(server, 100, start=start, end=start + dt.timedelta(hours=1), seed=2)
    api, client = make_api(server)
    await api.outbound_messages(
        tag="welcome",
        status="sent",
        metadata={"k": "v"},
        from_date=start,
        to_date=start + dt.timedelta(hours=1),
    ).to_list()
    for request in client.requests:
        params = dict(request.params)
        assert params["tag"] == "welcome"
        assert params["status"] == "sent"
        assert params["metadata_k"] == "v"
        assert params["fromdate"] == "2024-02-29T19:00:00"
        assert params["todate"] == "2024-02-29T20:00:00"


# --------------------------------------------------------------------------- history


def history_server(fakes):
    server = fakes.InMemoryPostmark()
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    expected = set()
    for n in range(60):
        message_id = f"m{n:03d}"
        when = start + dt.timedelta(minutes=n)
        server.add_message(when, message_id, track_opens=n % 10 != 0)
        if n % 10 == 0 or n % 7 == 0:
            continue  # untracked, or tracked without opens (Postmark answers 701)
        for r in range(n % 4 + 1):
            server.add_open(message_id, when + dt.timedelta(minutes=5), f"r{r}@example.com")
            expected.add((message_id, f"r{r}@example.com"))
    return server, start, expected


async def test_open_history_yields_every_open_once(make_api, fakes):
    """open_history reads each tracked message's opens once; untracked ones cost nothing."""
    server, start, expected = history_server(fakes)
    api, client = make_api(server)
    opens = await api.open_history(
        from_date=start, to_date=start + dt.timedelta(hours=2), concurrency=5
    ).to_list()
    got = [(o.message_id, o.recipient) for o in opens]
    assert len(got) == len(expected)
    assert set(got) == expected
    assert all(isinstance(o, Open) for o in opens)
    asked = {
        r.path.rsplit("/", 1)[1]
        for r in client.requests
        if r.path.startswith("/messages/outbound/opens/")
    }
    assert asked == {f"m{n:03d}" for n in range(60) if n % 10 != 0}


async def test_open_history_limit(make_api, fakes):
    """limit= caps the opens yielded by a history stream."""
    server, start, _ = history_server(fakes)
    api, _ = make_api(server)
    opens = await api.open_history(
        from_date=start, to_date=start + dt.timedelta(hours=2), limit=7
    ).to_list()
    assert len(opens) == 7


async def test_click_history_skips_messages_without_link_tracking(make_api, fakes):
    """Messages with TrackLinks "None" are skipped; the others' clicks are all read."""
    server = fakes.InMemoryPostmark()
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    server.add_message(start, "plain", TrackLinks="None")
    server.add_message(start + dt.timedelta(minutes=1), "tracked", TrackLinks="HtmlAndText")
    click = {
        "MessageID": "tracked",
        "ReceivedAt": fakes.wire_time(start + dt.timedelta(minutes=2)),
        "Recipient": "r@example.com",
        "OriginalLink": "https://example.com/a",
        "ClickLocation": "HTML",
    }

    def handler(request: Request):
        if request.path == "/messages/outbound/clicks/tracked":
            return fakes.json_response({"TotalCount": 1, "Clicks": [click]})
        return server(request)

    api, client = make_api(handler)
    clicks = await api.click_history(
        from_date=start, to_date=start + dt.timedelta(hours=1)
    ).to_list()
    assert [(c.message_id, c.original_link) for c in clicks] == [
        ("tracked", "https://example.com/a")
    ]
    assert not any(r.path.endswith("/plain") for r in client.requests)


async def test_history_errors_propagate(make_api, fakes):
    """An error other than 'message not found' ends the history stream with that error."""
    server, start, _ = history_server(fakes)

    def handler(request: Request):
        if request.path == "/messages/outbound/opens/m013":
            return fakes.json_response({"ErrorCode": 700, "Message": "Query exception"}, 422)
        return server(request)

    api, _ = make_api(handler)
    with pytest.raises(InvalidRequestError) as info:
        await api.open_history(from_date=start, to_date=start + dt.timedelta(hours=2)).to_list()
    assert info.value.code == 700


async def test_leaving_history_early_cancels_requests_in_flight(make_api, fakes):
    """Closing a history stream cancels the per-message requests still running."""
    server, start, _ = history_server(fakes)
    started: list[str] = []
    cancelled: list[str] = []
    release = asyncio.Event()

    async def handler(request: Request):
        if (
            request.path.startswith("/messages/outbound/opens/")
            and request.path != "/messages/outbound/opens/m059"
        ):
            started.append(request.path)
            try:
                await release.wait()
            except asyncio.CancelledError:
                cancelled.append(request.path)
                raise
        return server(request)

    api, _ = make_api(handler)
    stream = api.open_history(from_date=start, to_date=start + dt.timedelta(hours=2), concurrency=4)
    pages = stream.pages()
    first = await anext(pages)
    assert first.items[0].message_id == "m059"
    for _ in range(100):
        if len(started) >= 3:
            break
        await asyncio.sleep(0)
    assert len(started) >= 3
    await pages.aclose()
    assert sorted(cancelled) == sorted(started)


async def test_leaving_a_windowed_stream_early_cancels_page_requests(make_api, fakes):
    """Closing outbound_messages() after one page cancels the prefetched pages in flight."""
    server = fakes.InMemoryPostmark()
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    fakes.seeded_messages(server, 3_000, start=start, end=start + dt.timedelta(hours=5), seed=5)
    blocked: list[str] = []
    cancelled: list[str] = []
    release = asyncio.Event()

    async def handler(request: Request):
        if dict(request.params)["offset"] != "0":
            blocked.append(dict(request.params)["offset"])
            try:
                await release.wait()
            except asyncio.CancelledError:
                cancelled.append(dict(request.params)["offset"])
                raise
        return server(request)

    api, _ = make_api(handler)
    stream = api.outbound_messages(
        from_date=start, to_date=start + dt.timedelta(hours=5), prefetch=3
    )
    pages = stream.pages()
    first = await anext(pages)
    assert len(first.items) == 500
    for _ in range(100):
        if len(blocked) == 3:
            break
        await asyncio.sleep(0)
    assert sorted(blocked, key=int) == ["499", "998", "1497"]
    await pages.aclose()
    assert sorted(cancelled) == sorted(blocked)
