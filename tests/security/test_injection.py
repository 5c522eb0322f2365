"""Identifiers and filter values cannot reach another endpoint or another parameter.

A message ID is one path segment: an ID holding a path separator (``/``, ``\\``) is
refused before any request; whatever else it contains (``..``, ``?``, ``#``, spaces, an
already-encoded ``%2F``, non-ASCII), the request must go to the endpoint the method
names, with the ID intact in its own segment. This is checked twice: on the exact
URL handed to the transport, and on the raw path a real server receives after aiohttp
has prepared the URL, where FakePostmark must answer 422 / ErrorCode 701 from the right
endpoint. Query values and JSON-RPC parameters are likewise checked to arrive verbatim.
"""

from __future__ import annotations

import datetime as dt
import json
import types
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import pytest

from asyncmailstats import NotFoundError, Session
from asyncmailstats._http import reveal_body
from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark

NOW = dt.datetime(2024, 6, 1, 16, 0, 0, tzinfo=dt.UTC)
BASE = "https://api.example.com"
NOT_FOUND = b'{"ErrorCode": 701, "Message": "This message was not found."}'

SAFE_IDS = [
    "a?count=500",
    "a#frag",
    "a b",
    "%2F",
    "%2e%2e",
    "a%2F..%2Fb",
    "é-日本-🙂",
    "a;b=c",
    "a\tb",
]
#: IDs that are whole dot segments: a URL library or server folds them into the parent.
DOT_IDS = [".", ".."]
IDS = [*SAFE_IDS, *(pytest.param(i, id=repr(i)) for i in DOT_IDS)]

#: method -> (call, the endpoint's path with ``{}`` for the ID segment).
Call = Callable[[Any, str], Awaitable[Any]]
METHODS: dict[str, tuple[Call, str]] = {
    "message_details": (lambda pm, i: pm.message_details(i), "/messages/outbound/{}/details"),
    "message_dump": (lambda pm, i: pm.message_dump(i), "/messages/outbound/{}/dump"),
    "message_opens": (
        lambda pm, i: pm.message_opens(i).to_list(),
        "/messages/outbound/opens/{}",
    ),
    "message_clicks": (
        lambda pm, i: pm.message_clicks(i).to_list(),
        "/messages/outbound/clicks/{}",
    ),
}


def check_path(path: str, template: str, message_id: str) -> None:
    """*path* is *template* with one segment standing for exactly *message_id*."""
    prefix, suffix = template.split("{}")
    assert path.startswith(prefix)
    assert path.endswith(suffix)
    segment = path[len(prefix) : len(path) - len(suffix)]
    assert segment not in {".", ".."}
    assert not set(segment) & set("/?# \\")
    assert segment.isascii()
    assert unquote(segment) == message_id


#: IDs holding a path separator: refused with ValueError, before any request.
SEPARATOR_IDS = ["a/b", "../stats", "../../stats/outbound", "/", "a\\b", "..\\stats"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("message_id", SEPARATOR_IDS)
async def test_id_with_a_separator_is_refused_unsent(
    message_id: str, method: str, sec: types.SimpleNamespace
) -> None:
    """'/' or '\\' in an ID raises ValueError and the transport is never called."""
    call, _ = METHODS[method]
    transport = sec.RecordingTransport(status=422, body=NOT_FOUND)
    async with Session(transport=transport) as session:
        pm = session.postmark(server_token="pm-token", base_url=BASE)
        with pytest.raises(ValueError, match="must not contain"):
            await call(pm, message_id)
    assert transport.sent == []


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("message_id", IDS)
async def test_id_is_one_segment_of_the_url_sent(
    message_id: str, method: str, sec: types.SimpleNamespace
) -> None:
    """The transport is handed the method's own URL, the ID encoded into one segment."""
    call, template = METHODS[method]
    transport = sec.RecordingTransport(status=422, body=NOT_FOUND)
    async with Session(transport=transport) as session:
        pm = session.postmark(server_token="pm-token", base_url=BASE)
        with pytest.raises(NotFoundError):
            await call(pm, message_id)
    [(request, url)] = transport.sent
    assert url.startswith(BASE + "/")
    check_path(url.removeprefix(BASE), template, message_id)
    assert request.endpoint == f"GET {template.format('{id}')}"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("message_id", IDS)
async def test_id_reaches_the_right_endpoint_over_http(message_id: str, method: str) -> None:
    """Over real HTTP the server sees the method's path and answers 422/701 from it."""
    call, template = METHODS[method]
    async with FakePostmark(messages=5, seed=3, now=NOW) as fake, Session() as session:
        pm = session.postmark(server_token=fake.token, base_url=fake.url)
        with pytest.raises(NotFoundError) as info:
            await call(pm, message_id)
    [request] = fake.requests
    check_path(request.path, template, message_id)
    assert (info.value.status, info.value.code) == (422, 701)


async def test_query_values_stay_in_their_parameter() -> None:
    """Filter values with ``&``, ``=``, ``#`` and non-ASCII arrive verbatim, paging intact."""
    tag = "a&count=500&offset=9000#x"
    subject = "50% off = ¥ & more?"
    key, value = "k&ey=1", "v#a&l=2"
    async with FakePostmark(messages=30, seed=3, now=NOW) as fake, Session() as session:
        pm = session.postmark(server_token=fake.token, base_url=fake.url)
        assert await pm.opens(tag=tag, page_size=7).to_list() == []
        await pm.outbound_messages(
            subject=subject, metadata={key: value}, from_date=NOW.date(), page_size=9
        ).to_list()
    opens, *messages = fake.requests
    assert opens.query == (("count", "7"), ("offset", "0"), ("tag", tag))
    assert ("subject", subject) in messages[-1].query
    assert (f"metadata_{key}", value) in messages[-1].query
    assert all(r.param("count") in {"1", "9"} for r in messages)


async def test_emailconsul_query_values_stay_in_their_parameter() -> None:
    """An EmailConsul domain filter with ``&limit=`` stays one value; paging is intact."""
    domain = "example.org&limit=1&offset=5"
    period: dict[str, Any] = {"period_from": NOW - dt.timedelta(days=2), "period_to": NOW}
    async with (
        FakeEmailConsul(link_logs=0, pixel_logs=0, deliveries=50, seed=3, now=NOW) as fake,
        Session() as session,
    ):
        ec = session.emailconsul(api_key=fake.api_key, base_url=fake.url)
        assert await ec.delivery_timeseries(**period, domain=domain, page_size=20).to_list() == []
    [request] = fake.requests
    assert request.param("domain") == domain
    assert (request.param("limit"), request.param("offset")) == ("20", "0")


async def test_getresponse_ids_cannot_break_out_of_the_json_body() -> None:
    """An ID full of JSON syntax is sent as one string; the fake reports it missing."""
    hostile = '"}], "method": "get_messages", "x": ["'
    async with FakeGetResponse(messages=5, seed=3) as fake, Session() as session:
        gr = session.getresponse(api_key=fake.api_key, base_url=fake.url)
        with pytest.raises(NotFoundError):
            await gr.message_stats(hostile)
    [request] = fake.requests
    call = json.loads(reveal_body(request.body) or b"")
    assert call["method"] == "get_message_stats"
    assert call["params"] == [fake.api_key, {"message": hostile, "grouping": "daily"}]
    assert dict(fake.rpc_calls) == {"get_message_stats": 1}
