"""FakePostmark over plain HTTP: auth, limits, filters, ordering, Eastern dates, stats."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from asyncmailstats.testing import FakePostmark, FaultPlan

EASTERN = ZoneInfo("America/New_York")
# Daylight saving time started on 2024-03-10, so the data holds both -05:00 and -04:00.
NOW = dt.datetime(2024, 3, 20, 15, 30, tzinfo=dt.UTC)
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}-0[45]:00$")

Json = dict[str, Any]


@pytest.fixture
async def fake() -> AsyncIterator[FakePostmark]:
    async with FakePostmark(messages=3000, seed=5, now=NOW) as server:
        yield server


@pytest.fixture
async def http(fake: FakePostmark) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"X-Postmark-Server-Token": fake.token, "Accept": "application/json"}
    async with aiohttp.ClientSession(base_url=fake.url, headers=headers) as session:
        yield session


async def get(http: aiohttp.ClientSession, path: str, **params: Any) -> tuple[int, Json]:
    query = {k: str(v) for k, v in params.items()}
    async with http.get(path, params=query) as response:
        return response.status, await response.json()


async def everything(http: aiohttp.ClientSession, path: str, key: str, **params: Any) -> list[Json]:
    """Page through a search 500 at a time and check TotalCount on the way."""
    items: list[Json] = []
    total = None
    while total is None or len(items) < total:
        status, body = await get(http, path, count=500, offset=len(items), **params)
        assert status == 200, body
        total = body["TotalCount"] if total is None else total
        assert body["TotalCount"] == total
        if not body[key]:
            break
        items.extend(body[key])
    assert len(items) == total
    return items


def when(record: Json) -> dt.datetime:
    return dt.datetime.fromisoformat(record["ReceivedAt"])


def eastern_day(record: Json) -> dt.date:
    return when(record).astimezone(EASTERN).date()


def addresses(message: Json) -> set[str]:
    return {a["Email"].lower() for part in ("To", "Cc", "Bcc") for a in message[part]}


# -- auth and limits ------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_missing_or_wrong_token_is_401(fake: FakePostmark, token: str | None) -> None:
    """Without the server token every endpoint answers 401 with ErrorCode 10."""
    headers = {} if token is None else {"X-Postmark-Server-Token": token}
    async with aiohttp.ClientSession(base_url=fake.url, headers=headers) as session:
        for path in ("/messages/outbound?count=1&offset=0", "/stats/outbound"):
            async with session.get(path) as response:
                assert response.status == 401
                assert await response.json() == {
                    "ErrorCode": 10,
                    "Message": "Request does not contain a valid Server token.",
                }


def test_token_is_deterministic_and_not_in_repr() -> None:
    """The default token derives from the seed, can be chosen, and never shows in repr."""
    one, two = FakePostmark(messages=1, seed=3), FakePostmark(messages=1, seed=3)
    assert one.token == two.token
    assert FakePostmark(messages=1, seed=4).token != one.token
    assert FakePostmark(messages=1, token="chosen").token == "chosen"
    assert one.token not in repr(one)


BAD_PAGING: list[dict[str, Any]] = [
    {"offset": 0},
    {"count": 10},
    {"count": 0, "offset": 0},
    {"count": 501, "offset": 0},
    {"count": "ten", "offset": 0},
    {"count": 10, "offset": -1},
    {"count": 500, "offset": 9501},
    {"count": 1, "offset": 10_000},
]


@pytest.mark.parametrize(
    "path", ["/messages/outbound", "/messages/outbound/opens", "/messages/outbound/clicks"]
)
async def test_paging_limits_are_enforced(http: aiohttp.ClientSession, path: str) -> None:
    """count is required and 1..500, offset required and >= 0, count + offset <= 10000."""
    for params in BAD_PAGING:
        status, body = await get(http, path, **params)
        assert status == 422, params
        assert body["ErrorCode"] == 700
        assert isinstance(body["Message"], str)


async def test_paging_up_to_the_ceiling_is_allowed(http: aiohttp.ClientSession) -> None:
    """count + offset == 10000 is still accepted."""
    status, body = await get(http, "/messages/outbound", count=500, offset=9500)
    assert status == 200
    assert body["Messages"] == []
    assert body["TotalCount"] > 0


async def test_single_message_endpoints_check_paging_and_ids(
    fake: FakePostmark, http: aiohttp.ClientSession
) -> None:
    """Per-message opens/clicks need count/offset; an unknown ID is HTTP 422, ErrorCode 701."""
    known = fake.message_ids()[0]
    for kind in ("opens", "clicks"):
        status, body = await get(http, f"/messages/outbound/{kind}/{known}", count=501, offset=0)
        assert (status, body["ErrorCode"]) == (422, 700)
        status, body = await get(http, f"/messages/outbound/{kind}/nope", count=10, offset=0)
        assert (status, body) == (422, {"ErrorCode": 701, "Message": "This message was not found."})
    for suffix in ("details", "dump"):
        status, body = await get(http, f"/messages/outbound/nope/{suffix}")
        assert (status, body["ErrorCode"]) == (422, 701)


async def test_encoded_slash_in_an_id_stays_one_segment(http: aiohttp.ClientSession) -> None:
    """An ID like '../stats' sent percent-encoded is an unknown message, not another path."""
    async with http.get("/messages/outbound/..%2Fstats/details") as response:
        assert response.status == 422
        assert (await response.json())["ErrorCode"] == 701


async def test_unknown_paths_are_404(http: aiohttp.ClientSession) -> None:
    """Paths outside the Messages and Stats APIs are not found."""
    for path in ("/messages/inbound", "/stats/outbound/nothing", "/servers"):
        async with http.get(path) as response:
            assert response.status == 404


# -- messages ---------------------------------------------------------------------------------


async def test_search_pages_newest_first_and_default_to_outbound(
    fake: FakePostmark, http: aiohttp.ClientSession
) -> None:
    """Pages join into the outbound stream's messages, newest first, with wire-shaped fields."""
    items = await everything(http, "/messages/outbound", "Messages")
    expected = [m for m in fake.messages if m["MessageStream"] == "outbound"]
    assert items == expected
    assert 0 < len(items) < len(fake.messages)
    stamps = [when(m) for m in items]
    assert stamps == sorted(stamps, reverse=True)
    first = items[0]
    assert STAMP.match(first["ReceivedAt"])
    assert first["Recipients"] == [a["Email"] for p in ("To", "Cc", "Bcc") for a in first[p]]
    assert {m["TrackLinks"] for m in fake.messages} == {
        "None",
        "HtmlAndText",
        "HtmlOnly",
        "TextOnly",
    }
    assert {m["TrackOpens"] for m in fake.messages} == {True, False}
    assert {m["Status"] for m in fake.messages} == {"Sent", "Processed", "Queued"}


async def test_timestamps_carry_the_eastern_offset_of_their_date(fake: FakePostmark) -> None:
    """Every timestamp has 7 fractional digits and the -05:00/-04:00 offset DST gives it."""
    offsets = set()
    for record in [*fake.messages, *fake.opens, *fake.clicks]:
        stamp = record["ReceivedAt"]
        assert STAMP.match(stamp), stamp
        moment = when(record)
        assert moment.utcoffset() == moment.astimezone(EASTERN).utcoffset()
        offsets.add(stamp[-6:])
    assert offsets == {"-05:00", "-04:00"}


def _message_cases(fake: FakePostmark) -> list[tuple[dict[str, str], Callable[[Json], bool]]]:
    messages = list(fake.messages)
    with_cc = next(m for m in messages if m["Cc"] and m["MessageStream"] == "outbound")
    cc_address = with_cc["Cc"][0]["Email"]
    return [
        ({"recipient": cc_address.upper()}, lambda m: cc_address.lower() in addresses(m)),
        ({"fromemail": "BILLING@acme.example"}, lambda m: "<billing@acme.example>" in m["From"]),
        ({"tag": "Welcome"}, lambda m: m.get("Tag") == "welcome"),
        ({"status": "queued"}, lambda m: m["Status"] == "Queued"),
        ({"status": "sent"}, lambda m: m["Status"] in {"Sent", "Processed"}),
        ({"subject": "INVOICE"}, lambda m: "invoice" in m["Subject"].lower()),
        ({"metadata_client-id": "12345"}, lambda m: m["Metadata"].get("client-id") == "12345"),
        ({"tag": "digest", "metadata_plan": "pro"}, lambda m: m.get("Tag") == "digest"
         and m["Metadata"].get("plan") == "pro"),
    ]  # fmt: skip


async def test_message_filters(fake: FakePostmark, http: aiohttp.ClientSession) -> None:
    """Each documented message filter selects exactly the matching outbound messages."""
    for params, matches in _message_cases(fake):
        expected = [m for m in fake.messages if m["MessageStream"] == "outbound" and matches(m)]
        assert expected, params
        assert await everything(http, "/messages/outbound", "Messages", **params) == expected
        assert fake.search_messages(params) == expected


async def test_message_stream_filter(fake: FakePostmark, http: aiohttp.ClientSession) -> None:
    """messagestream selects another stream; an unknown stream is ErrorCode 1226."""
    broadcast = await everything(http, "/messages/outbound", "Messages", messagestream="broadcast")
    assert broadcast == [m for m in fake.messages if m["MessageStream"] == "broadcast"]
    assert broadcast
    status, body = await get(http, "/messages/outbound", count=1, offset=0, messagestream="x")
    assert (status, body["ErrorCode"]) == (422, 1226)


async def test_bad_status_and_dates_are_rejected(http: aiohttp.ClientSession) -> None:
    """Unknown status values, non-dates and dates with an offset are ErrorCode 700."""
    for params in (
        {"status": "bounced"},
        {"fromdate": "yesterday"},
        {"todate": "2024-03-01T10:00:00+00:00"},
        {"fromdate": "2024-13-01"},
    ):
        status, body = await get(http, "/messages/outbound", count=1, offset=0, **params)
        assert (status, body["ErrorCode"]) == (422, 700), params


async def test_date_filters_read_eastern_days(
    fake: FakePostmark, http: aiohttp.ClientSession
) -> None:
    """Date-only bounds are inclusive Eastern days, also across the DST change (2024-03-10)."""
    for first, last in (
        ("2024-03-09", "2024-03-10"),
        ("2024-03-10", "2024-03-10"),
        ("2024-02-20", "2024-03-11"),
    ):
        low, high = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
        expected = [
            m
            for m in fake.messages
            if m["MessageStream"] == "outbound" and low <= eastern_day(m) <= high
        ]
        assert expected
        got = await everything(http, "/messages/outbound", "Messages", fromdate=first, todate=last)
        assert got == expected
    opens = await everything(
        http, "/messages/outbound/opens", "Opens", fromdate="2024-03-10", todate="2024-03-10"
    )
    assert opens == [
        o
        for o in fake.opens
        if o["MessageStream"] == "outbound" and eastern_day(o) == dt.date(2024, 3, 10)
    ]
    assert opens


async def test_date_time_bounds_are_inclusive_instants(
    fake: FakePostmark, http: aiohttp.ClientSession
) -> None:
    """A date-time bound is Eastern wall time and includes the instant it names."""
    outbound = [m for m in fake.messages if m["MessageStream"] == "outbound"]
    pivot = when(outbound[len(outbound) // 2]).astimezone(EASTERN)
    upper = pivot.replace(microsecond=0)
    lower = upper - dt.timedelta(hours=30)
    got = await everything(
        http,
        "/messages/outbound",
        "Messages",
        fromdate=lower.strftime("%Y-%m-%dT%H:%M:%S"),
        todate=upper.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    expected = [m for m in outbound if lower <= when(m) <= upper]
    assert got == expected
    assert expected
    assert outbound[len(outbound) // 2] not in got  # it lies a fraction after `upper`


# -- opens and clicks --------------------------------------------------------------------------


EVENT_FIELDS: dict[str, Callable[[Json], str | None]] = {
    "recipient": lambda r: r["Recipient"],
    "tag": lambda r: r.get("Tag"),
    "client_name": lambda r: r["Client"]["Name"],
    "client_company": lambda r: r["Client"]["Company"],
    "client_family": lambda r: r["Client"]["Family"],
    "os_name": lambda r: r["OS"]["Name"],
    "os_family": lambda r: r["OS"]["Family"],
    "os_company": lambda r: r["OS"]["Company"],
    "platform": lambda r: r["Platform"],
    "country": lambda r: r["Geo"].get("Country"),
    "region": lambda r: r["Geo"].get("Region"),
    "city": lambda r: r["Geo"].get("City"),
}


def _equals(field: Callable[[Json], str | None], value: str) -> Callable[[Json], bool]:
    return lambda record: field(record) == value


def _event_cases(records: list[Json]) -> list[tuple[dict[str, str], Callable[[Json], bool]]]:
    """One case per filter (value sent in swapped case), plus a combination."""
    sample = next(
        r for r in records if r["Geo"] and r.get("Tag") and r["MessageStream"] == "outbound"
    )
    cases: list[tuple[dict[str, str], Callable[[Json], bool]]] = []
    for name, field in EVENT_FIELDS.items():
        value = field(sample)
        assert value is not None
        cases.append(({name: value.swapcase()}, _equals(field, value)))
    country = sample["Geo"]["Country"]
    cases.append(
        (
            {"country": country, "platform": "mobile"},
            lambda r: r["Geo"].get("Country") == country and r["Platform"] == "Mobile",
        )
    )
    return cases


@pytest.mark.parametrize(("kind", "key"), [("opens", "Opens"), ("clicks", "Clicks")])
async def test_open_and_click_filters(
    fake: FakePostmark, http: aiohttp.ClientSession, kind: str, key: str
) -> None:
    """Each documented filter selects exactly the matching records of the outbound stream."""
    records = list(fake.opens if kind == "opens" else fake.clicks)
    search = fake.search_opens if kind == "opens" else fake.search_clicks
    path = f"/messages/outbound/{kind}"
    unfiltered = await everything(http, path, key)
    assert unfiltered == [r for r in records if r["MessageStream"] == "outbound"]
    for params, matches in _event_cases(records):
        expected = [r for r in records if r["MessageStream"] == "outbound" and matches(r)]
        assert expected, params
        assert await everything(http, path, key, **params) == expected
        assert search(params) == expected
    broadcast = await everything(http, path, key, messagestream="broadcast")
    assert broadcast == [r for r in records if r["MessageStream"] == "broadcast"]


async def test_record_shapes(fake: FakePostmark) -> None:
    """Opens and clicks carry Postmark's fields; some have tracking details missing."""
    opens, clicks = list(fake.opens), list(fake.clicks)
    assert {o["RecordType"] for o in opens} == {"Open"}
    assert all(o["FirstOpen"] is True and isinstance(o["ReadSeconds"], int) for o in opens)
    assert {"WebMail", "Desktop", "Mobile", "Unknown"} == {o["Platform"] for o in opens}
    assert any(o["Geo"] == {} for o in opens)
    assert {c["RecordType"] for c in clicks} == {"Click"}
    assert {c["ClickLocation"] for c in clicks} == {"HTML", "Text"}
    assert all(c["OriginalLink"].startswith("https://") for c in clicks)
    assert all("ReadSeconds" not in c for c in clicks)
    by_id = {m["MessageID"]: m for m in fake.messages}
    assert all(by_id[o["MessageID"]]["TrackOpens"] for o in opens)
    assert all(by_id[c["MessageID"]]["TrackLinks"] != "None" for c in clicks)
    stamps = [when(o) for o in opens]
    assert stamps == sorted(stamps, reverse=True)


async def test_single_message_opens_clicks_details_and_dump(
    fake: FakePostmark, http: aiohttp.ClientSession
) -> None:
    """Per-message endpoints return that message's records, events and source."""
    opened = next(m for m in fake.messages if len(fake.message_opens(m["MessageID"])) > 0)
    mid = opened["MessageID"]
    status, body = await get(http, f"/messages/outbound/opens/{mid}", count=500, offset=0)
    assert status == 200
    assert body["Opens"] == [o for o in fake.opens if o["MessageID"] == mid]
    assert body["TotalCount"] == len(body["Opens"])
    clicked = next(c for c in fake.clicks)["MessageID"]
    _, body = await get(http, f"/MESSAGES/Outbound/Clicks/{clicked}", count=500, offset=0)
    assert body["Clicks"] == [c for c in fake.clicks if c["MessageID"] == clicked]
    status, details = await get(http, f"/messages/outbound/{mid}/details")
    assert status == 200
    assert details == fake.details(mid)
    assert {k: details[k] for k in opened} == opened
    types = Counter(e["Type"] for e in details["MessageEvents"])
    opens_of_mid = fake.message_opens(mid)
    assert types["Opened"] == len(opens_of_mid)
    assert 0 < len(opens_of_mid) <= len(opened["Recipients"])
    assert types["Delivered"] + types["Bounced"] >= 1
    times = [when(e) for e in details["MessageEvents"]]
    assert times == sorted(times)
    assert all(isinstance(v, str) for e in details["MessageEvents"] for v in e["Details"].values())
    status, dump = await get(http, f"/messages/outbound/{mid}/dump")
    assert status == 200
    assert set(dump) == {"Body"}
    assert dump["Body"] == details["Body"]


# -- stats ----------------------------------------------------------------------------------------


STATS_PATHS = (
    "sends", "bounces", "spam", "tracked", "opens", "opens/platforms", "opens/emailclients",
    "opens/readtimes", "clicks", "clicks/browserfamilies", "clicks/platforms", "clicks/location",
)  # fmt: skip


def _daily(records: list[Json], **filters: str) -> Counter[str]:
    wanted = [r for r in records if all(r.get(k) == v for k, v in filters.items())]
    return Counter(eastern_day(r).isoformat() for r in wanted)


async def test_stats_days_are_sparse_and_add_up(
    fake: FakePostmark, http: aiohttp.ClientSession
) -> None:
    """Days appear only with data, zero keys are left out and totals are the day sums."""
    for path in STATS_PATHS:
        status, body = await get(http, f"/stats/outbound/{path}")
        assert status == 200
        assert body["Days"], path
        sums: Counter[str] = Counter()
        dates = []
        for day in body["Days"]:
            dates.append(day.pop("Date"))
            assert day, path
            assert all(isinstance(v, int) and v > 0 for v in day.values()), path
            sums.update(day)
        assert dates == sorted(set(dates))
        totals = {k: v for k, v in body.items() if k != "Days"}
        assert totals == dict(sums), path


async def test_stats_match_the_records(fake: FakePostmark, http: aiohttp.ClientSession) -> None:
    """Opens, clicks and sends stats count what the records hold, per Eastern day."""
    _, body = await get(http, "/stats/outbound/opens", tag="welcome")
    unique = {d["Date"]: d.get("Unique", 0) for d in body["Days"]}
    assert unique == dict(_daily(list(fake.opens), Tag="welcome"))
    _, body = await get(http, "/stats/outbound/clicks/location", messagestream="broadcast")
    expected_html = _daily(
        [c for c in fake.clicks if c["ClickLocation"] == "HTML"], MessageStream="broadcast"
    )
    assert {d["Date"]: d.get("HTML", 0) for d in body["Days"] if d.get("HTML")} == dict(
        expected_html
    )
    _, body = await get(http, "/stats/outbound/sends", fromdate="2024-03-01", todate="2024-03-10")
    sent: Counter[str] = Counter()
    for m in fake.messages:
        in_range = dt.date(2024, 3, 1) <= eastern_day(m) <= dt.date(2024, 3, 10)
        if m["Status"] != "Queued" and in_range:
            sent[eastern_day(m).isoformat()] += len(m["Recipients"])
    assert {d["Date"]: d["Sent"] for d in body["Days"]} == dict(sent)
    _, clients = await get(http, "/stats/outbound/opens/emailclients")
    families = Counter(
        o["Client"]["Family"] for o in fake.opens if o["Client"]["Family"] != "unknown"
    )
    assert {k: v for k, v in clients.items() if k != "Days"} == dict(families)


async def test_stats_cover_all_streams_by_default(http: aiohttp.ClientSession) -> None:
    """Without messagestream stats count every stream: the sum of each stream's figures."""
    _, both = await get(http, "/stats/outbound/sends")
    _, outbound = await get(http, "/stats/outbound/sends", messagestream="outbound")
    _, broadcast = await get(http, "/stats/outbound/sends", messagestream="broadcast")
    assert both["Sent"] == outbound["Sent"] + broadcast["Sent"]
    assert 0 < outbound["Sent"] < both["Sent"]


async def test_empty_ranges_are_exactly_days_empty(http: aiohttp.ClientSession) -> None:
    """A range without data answers exactly {"Days": []} on every day-series endpoint."""
    for path in (
        "sends",
        "bounces",
        "opens/emailclients",
        "clicks/location",
        "Clicks/BrowserFamilies",
    ):
        status, body = await get(http, f"/stats/outbound/{path}", fromdate="2030-01-01")
        assert (status, body) == (200, {"Days": []})
    status, body = await get(http, "/stats/outbound/spam", tag="no-such-tag")
    assert body == {"Days": []}


async def test_overview(fake: FakePostmark, http: aiohttp.ClientSession) -> None:
    """The overview has every documented key, consistent with the day series."""
    status, overview = await get(http, "/stats/outbound", messagestream="outbound")
    assert status == 200
    assert set(overview) == {
        "Sent", "Bounced", "SMTPApiErrors", "BounceRate", "SpamComplaints",
        "SpamComplaintsRate", "Opens", "UniqueOpens", "Tracked", "WithLinkTracking",
        "WithOpenTracking", "TotalTrackedLinksSent", "UniqueLinksClicked", "TotalClicks",
        "WithClientRecorded", "WithPlatformRecorded", "WithReadTimeRecorded",
    }  # fmt: skip
    _, opens = await get(http, "/stats/outbound/opens", messagestream="outbound")
    _, bounces = await get(http, "/stats/outbound/bounces", messagestream="outbound")
    assert overview["UniqueOpens"] == opens["Unique"]
    assert overview["Opens"] == opens["Opens"] >= opens["Unique"]
    assert overview["Bounced"] == bounces["HardBounce"] + bounces["SoftBounce"]
    assert isinstance(overview["BounceRate"], float)
    _, empty = await get(http, "/stats/outbound", fromdate="2030-01-01")
    assert empty["Sent"] == 0
    assert empty["BounceRate"] == 0.0
    assert fake.stats("", {"messagestream": "outbound"}) == overview


async def test_stats_reject_bad_dates(http: aiohttp.ClientSession) -> None:
    """Stats dates must be YYYY-MM-DD (ErrorCode 900) and in order (ErrorCode 1502)."""
    status, body = await get(http, "/stats/outbound/sends", fromdate="2024-03-01T10:00:00")
    assert (status, body["ErrorCode"]) == (422, 900)
    status, body = await get(
        http, "/stats/outbound/sends", fromdate="2024-03-02", todate="2024-03-01"
    )
    assert (status, body["ErrorCode"]) == (422, 1502)


# -- determinism, growth and faults --------------------------------------------------------------


def test_same_seed_and_now_give_the_same_dataset() -> None:
    """The dataset depends only on its arguments; another seed gives another dataset."""
    one = FakePostmark(messages=400, seed=9, now=NOW)
    two = FakePostmark(messages=400, seed=9, now=NOW)
    other = FakePostmark(messages=400, seed=10, now=NOW)
    assert list(one.messages) == list(two.messages)
    assert list(one.opens) == list(two.opens)
    assert list(one.clicks) == list(two.clicks)
    assert one.stats("opens/readtimes") == two.stats("opens/readtimes")
    assert one.details(one.message_ids()[7]) == two.details(two.message_ids()[7])
    assert one.message_ids() != other.message_ids()
    assert one.now == NOW
    newest = when(one.messages[0])
    oldest = when(one.messages[-1])
    assert NOW - dt.timedelta(days=45) <= oldest < newest <= NOW


def test_volume_knobs_shape_the_data() -> None:
    """Recipient and engagement knobs bound and scale what is generated."""
    quiet = FakePostmark(
        messages=300, seed=2, now=NOW, open_rate=0.0, click_rate=0.0, multi_recipient_rate=0.0
    )
    assert len(quiet.opens) == len(quiet.clicks) == 0
    assert all(len(m["To"]) == 1 for m in quiet.messages)
    bulky = FakePostmark(
        messages=300, seed=2, now=NOW, open_rate=1.0, click_rate=1.0,
        max_recipients=5, multi_recipient_rate=1.0,
    )  # fmt: skip
    sizes = Counter(len(m["To"]) for m in bulky.messages)
    assert min(sizes) >= 2
    assert max(sizes) == 5
    assert len(bulky.opens) + len(bulky.clicks) > 5 * 300


def test_arguments_are_validated() -> None:
    """Bad constructor arguments fail at once."""
    with pytest.raises(ValueError):
        FakePostmark(messages=-1)
    with pytest.raises(TypeError):
        FakePostmark(now=dt.datetime(2024, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError):
        FakePostmark(open_rate=1.5)
    with pytest.raises(TypeError):
        FakePostmark(messages=1.5)  # type: ignore[arg-type]


async def test_added_messages_come_first_and_stay_out_of_frozen_windows(
    fake: FakePostmark, http: aiohttp.ClientSession
) -> None:
    """New messages are newest; a search whose todate was frozen earlier does not see them."""
    frozen = dt.datetime.now(EASTERN).replace(microsecond=0) - dt.timedelta(seconds=1)
    window = {"todate": frozen.strftime("%Y-%m-%dT%H:%M:%S")}
    before = await everything(http, "/messages/outbound", "Messages", **window)
    added = fake.add_messages(3)
    assert [m["MessageStream"] for m in added] == ["outbound"] * 3
    assert [m["MessageID"] for m in added] == fake.message_ids()[:3]
    _, page = await get(http, "/messages/outbound", count=3, offset=0)
    assert page["Messages"] == added
    assert await everything(http, "/messages/outbound", "Messages", **window) == before
    at = NOW - dt.timedelta(days=2)
    [middle] = fake.add_messages(1, at=at)
    assert when(middle) == at
    assert (
        fake.search_messages({"fromdate": "2024-03-18", "todate": "2024-03-18"}).count(middle) == 1
    )


async def test_injected_errors_use_postmarks_error_shape(fake: FakePostmark) -> None:
    """Injected 429/500/503 bodies carry ErrorCode and Message; 503 is maintenance (100)."""
    headers = {"X-Postmark-Server-Token": fake.token}
    async with aiohttp.ClientSession(base_url=fake.url, headers=headers) as session:
        for plan, status, code in (
            (FaultPlan(rate_limit_no_header=1.0), 429, 429),
            (FaultPlan(server_error=1.0), 500, 500),
            (FaultPlan(unavailable=1.0), 503, 100),
        ):
            fake.set_faults(plan)
            async with session.get("/stats/outbound") as response:
                assert response.status == status
                body = await response.json()
                assert body["ErrorCode"] == code
                assert body["Message"]


def test_nothing_happens_after_now() -> None:
    """No message, event, open or click is later than `now`, even for the newest messages."""
    fake = FakePostmark(messages=20_000, seed=0, now=NOW, retention_days=1)
    newest = fake.message_ids()[:2000]
    events = [e for mid in newest for e in fake.details(mid)["MessageEvents"]]
    records = [*fake.messages[:2000], *fake.opens[:2000], *fake.clicks[:2000], *events]
    assert max(when(r) for r in records) <= NOW
