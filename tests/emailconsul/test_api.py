"""EmailConsulAPI over a recording client: the requests it builds and what it refuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar

import pytest

from asyncmailstats._http import Request, Response
from asyncmailstats.emailconsul import (
    MAX_PAGE_SIZE,
    DeliveryDay,
    EmailConsulAPI,
    LinkGroup,
    LinkStat,
    LinkTimeseriesPoint,
    PixelTimeseriesPoint,
)

T = TypeVar("T")

START = datetime(2021, 7, 1, tzinfo=UTC)
END = datetime(2021, 7, 6, 12, 0, 0, 250_000, tzinfo=UTC)
PERIOD = {"period_from": START, "period_to": END}
PERIOD_PARAMS = [
    ("period_from", "2021-07-01T00:00:00.000Z"),
    ("period_to", "2021-07-06T12:00:00.250Z"),
]


class RecordingClient:
    """Stands in for ProviderClient: records requests and answers from a handler."""

    provider = "emailconsul"
    base_url = "https://ec.example"

    def __init__(self, answer: Callable[[Request], object] | None = None) -> None:
        self.requests: list[Request] = []
        self._answer = answer or (lambda _: {"data": [], "meta": {"count": 0}})

    async def call(self, request: Request, decode: Callable[[Response], T]) -> T:
        self.requests.append(request)
        return decode(Response(200, {}, json.dumps(self._answer(request)).encode()))

    async def fetch(self, request: Request, check: Callable[[Response], None]) -> Response:
        def checked(response: Response) -> Response:
            check(response)
            return response

        return await self.call(request, checked)

    def decode(self, value: Any, parse: Callable[[Any], T]) -> T:
        return parse(value)

    def check_open(self) -> None:
        pass


def make_api(
    answer: Callable[[Request], object] | None = None,
) -> tuple[EmailConsulAPI, RecordingClient]:
    client = RecordingClient(answer)
    return EmailConsulAPI(client), client  # type: ignore[arg-type]


def paged_rows(total: int, make: Callable[[int], dict[str, Any]]) -> Callable[[Request], object]:
    """Answer page requests from a list of *total* rows, honouring offset and limit."""

    def answer(request: Request) -> object:
        params = dict(request.params)
        offset, limit = int(params["offset"]), int(params["limit"])
        data = [make(i) for i in range(offset, min(total, offset + limit))]
        return {"data": data, "meta": {"count": total, "offset": offset, "limit": limit}}

    return answer


# -- requests --------------------------------------------------------------------------


async def test_link_stats_sends_every_filter_in_order() -> None:
    """link_stats sends periods, group, sort, filters, then offset and limit."""
    api, client = make_api()
    await api.link_stats(
        **PERIOD,
        group=LinkGroup.COUNTRY,
        sort="-count",
        campaign_id="spring_24",
        subscriber_id="jane@example.com",
        profile_id="p 1",
        page_size=50,
    ).to_list()
    (request,) = client.requests
    assert request.method == "GET"
    assert request.path == "/tracking/link/stats/aggregated"
    assert list(request.params) == [
        *PERIOD_PARAMS,
        ("group", "country"),
        ("sort", "-count"),
        ("campaign_id", "spring_24"),
        ("subscriber_id", "jane@example.com"),
        ("profile_id", "p 1"),
        ("offset", "0"),
        ("limit", "50"),
    ]


async def test_link_stats_omits_unset_filters_and_uses_the_default_page_size() -> None:
    """Without options only the period and paging are sent, with limit=MAX_PAGE_SIZE."""
    api, client = make_api()
    await api.link_stats(**PERIOD).to_list()
    assert list(client.requests[0].params) == [
        *PERIOD_PARAMS,
        ("offset", "0"),
        ("limit", str(MAX_PAGE_SIZE)),
    ]


async def test_group_given_as_string_is_sent_as_its_value() -> None:
    """A grouping given as a string is sent unchanged."""
    api, client = make_api()
    await api.link_stats(**PERIOD, group="params").to_list()
    assert ("group", "params") in client.requests[0].params


async def test_link_stats_walks_pages_by_offset() -> None:
    """Rows come from overlapping offsets (one row re-read per page), each once, in order."""
    api, client = make_api(paged_rows(250, lambda i: {"ip": f"10.0.0.{i}", "count": 1000 - i}))
    rows = await api.link_stats(**PERIOD, group="ip", page_size=100, prefetch=1).to_list()
    assert [r.ip for r in rows] == [f"10.0.0.{i}" for i in range(250)]
    assert rows[0] == LinkStat(count=1000, ip="10.0.0.0")
    offsets = [dict(r.params)["offset"] for r in client.requests]
    assert offsets == ["0", "99", "198"]


async def test_link_stats_limit_stops_early() -> None:
    """limit caps the rows yielded and the pages requested."""
    api, client = make_api(paged_rows(10_000, lambda i: {"device": str(i), "count": 1}))
    rows = await api.link_stats(**PERIOD, limit=150, page_size=100, prefetch=1).to_list()
    assert len(rows) == 150
    assert len(client.requests) == 2


async def test_link_timeseries_request_and_result() -> None:
    """link_timeseries sends its filters without paging and returns the points."""
    api, client = make_api(
        lambda _: {"data": [{"date": "2021-07-02", "count": 4, "device": "iPad"}]}
    )
    points = await api.link_timeseries(
        **PERIOD, group="device", campaign_id="c-1", subscriber_id="s.1", profile_id="p"
    )
    assert points == [LinkTimeseriesPoint(date=date(2021, 7, 2), count=4, device="iPad")]
    (request,) = client.requests
    assert request.path == "/tracking/link/stats/timeseries"
    assert list(request.params) == [
        *PERIOD_PARAMS,
        ("group", "device"),
        ("campaign_id", "c-1"),
        ("subscriber_id", "s.1"),
        ("profile_id", "p"),
    ]


async def test_pixel_timeseries_request_and_result() -> None:
    """pixel_timeseries sends period, group and filters, and returns the points."""
    api, client = make_api(
        lambda _: {"data": [{"date": "2021-07-02", "count": 7, "campaign_id": "c"}]}
    )
    points = await api.pixel_timeseries(**PERIOD, group=LinkGroup.CAMPAIGN_ID, subscriber_id="s")
    assert points == [PixelTimeseriesPoint(date=date(2021, 7, 2), count=7, campaign_id="c")]
    (request,) = client.requests
    assert request.path == "/tracking/pixel/stats/timeseries"
    assert list(request.params) == [
        *PERIOD_PARAMS,
        ("group", "campaign_id"),
        ("subscriber_id", "s"),
    ]


async def test_delivery_timeseries_request_and_result() -> None:
    """delivery_timeseries sends domain, comma-joined status, sort and paging."""
    api, client = make_api(
        paged_rows(3, lambda i: {"date": f"2021-07-0{i + 1}", "total_count": i, "delivered": i})
    )
    days = await api.delivery_timeseries(
        **PERIOD, domain="example.org", status=["DELIVERED", "SENDING"], sort="-date", page_size=2
    ).to_list()
    assert days == [
        DeliveryDay(date=date(2021, 7, i + 1), total_count=i, delivered=i) for i in range(3)
    ]
    assert list(client.requests[0].params) == [
        *PERIOD_PARAMS,
        ("domain", "example.org"),
        ("status", "DELIVERED,SENDING"),
        ("sort", "-date"),
        ("offset", "0"),
        ("limit", "2"),
    ]
    assert client.requests[0].path == "/email_delivery/emails/stats/timeseries"


async def test_period_in_another_zone_is_sent_in_utc() -> None:
    """Periods given in a non-UTC zone are sent as the same instant in UTC."""
    api, client = make_api(lambda _: {"data": []})
    tz = timezone(timedelta(hours=-4))
    await api.pixel_timeseries(
        period_from=datetime(2021, 7, 5, 22, tzinfo=tz),
        period_to=datetime(2021, 7, 6, 20, tzinfo=tz),
    )
    assert list(client.requests[0].params) == [
        ("period_from", "2021-07-06T02:00:00.000Z"),
        ("period_to", "2021-07-07T00:00:00.000Z"),
    ]


def test_repr_shows_only_the_base_url() -> None:
    """The API's repr names the base URL and nothing else."""
    api, _ = make_api()
    assert repr(api) == "<EmailConsulAPI https://ec.example>"


# -- bad input fails at the call, before any request ------------------------------------

NAIVE = datetime(2021, 7, 1)  # noqa: DTZ001 - deliberately naive

BAD_STREAM_CALLS: list[tuple[str, dict[str, Any], type[Exception]]] = [
    ("link_stats", {"period_from": NAIVE, "period_to": END}, ValueError),
    ("link_stats", {"period_from": END, "period_to": START}, ValueError),
    ("link_stats", {"period_from": date(2021, 7, 1), "period_to": END}, TypeError),
    ("link_stats", {**PERIOD, "group": "city"}, ValueError),
    ("link_stats", {**PERIOD, "group": 1}, TypeError),
    ("link_stats", {**PERIOD, "sort": "count desc"}, ValueError),
    ("link_stats", {**PERIOD, "campaign_id": "a b"}, ValueError),
    ("link_stats", {**PERIOD, "campaign_id": 5}, TypeError),
    ("link_stats", {**PERIOD, "subscriber_id": "x/y"}, ValueError),
    ("link_stats", {**PERIOD, "profile_id": ""}, ValueError),
    ("link_stats", {**PERIOD, "page_size": MAX_PAGE_SIZE + 1}, ValueError),
    ("link_stats", {**PERIOD, "page_size": 0}, ValueError),
    ("link_stats", {**PERIOD, "prefetch": 0}, ValueError),
    ("link_stats", {**PERIOD, "limit": -1}, ValueError),
    ("link_stats", {**PERIOD, "limit": "10"}, TypeError),
    ("delivery_timeseries", {"period_from": START, "period_to": NAIVE}, ValueError),
    ("delivery_timeseries", {**PERIOD, "status": []}, ValueError),
    ("delivery_timeseries", {**PERIOD, "status": b"DELIVERED"}, TypeError),
    ("delivery_timeseries", {**PERIOD, "domain": 3}, TypeError),
    ("delivery_timeseries", {**PERIOD, "sort": "-"}, ValueError),
    ("delivery_timeseries", {**PERIOD, "page_size": 1.5}, TypeError),
]


@pytest.mark.parametrize(("method", "kwargs", "error"), BAD_STREAM_CALLS)
def test_streams_validate_when_called(
    method: str, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """A stream method raises on bad input at once, without being iterated or sending."""
    api, client = make_api()
    with pytest.raises(error):
        getattr(api, method)(**kwargs)
    assert client.requests == []


BAD_AWAITED_CALLS: list[tuple[str, dict[str, Any], type[Exception]]] = [
    ("link_timeseries", {"period_from": NAIVE, "period_to": END}, ValueError),
    ("link_timeseries", {**PERIOD, "group": "os"}, ValueError),
    ("link_timeseries", {**PERIOD, "subscriber_id": 1}, TypeError),
    ("pixel_timeseries", {**PERIOD, "group": "country"}, ValueError),
    ("pixel_timeseries", {"period_from": "2021-07-01", "period_to": END}, TypeError),
    ("pixel_timeseries", {**PERIOD, "campaign_id": "a.b"}, ValueError),
]


@pytest.mark.parametrize(("method", "kwargs", "error"), BAD_AWAITED_CALLS)
async def test_series_validate_before_sending(
    method: str, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """The awaited series methods raise on bad input without sending anything."""
    api, client = make_api()
    with pytest.raises(error):
        await getattr(api, method)(**kwargs)
    assert client.requests == []


@pytest.mark.parametrize(
    "method", ["link_stats", "link_timeseries", "pixel_timeseries", "delivery_timeseries"]
)
def test_periods_are_required(method: str) -> None:
    """Both period bounds are required keyword arguments."""
    api, _ = make_api()
    with pytest.raises(TypeError):
        getattr(api, method)(period_from=START)
    with pytest.raises(TypeError):
        getattr(api, method)(START, END)
