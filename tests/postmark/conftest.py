"""Fakes for the Postmark API tests: a client that serves canned responses, no network."""

from __future__ import annotations

import bisect
import datetime as dt
import inspect
import json
import random
import types
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from asyncmailstats._http import Request, Response
from asyncmailstats.postmark._api import PostmarkAPI

NY = ZoneInfo("America/New_York")

Handler = Callable[[Request], Response | Awaitable[Response]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Build a JSON response the way the transport hands it to decoders."""
    all_headers = {"content-type": "application/json; charset=utf-8", **(headers or {})}
    return Response(status, all_headers, json.dumps(body).encode())


class FakeClient:
    """Stands in for ProviderClient: records requests and answers through a handler."""

    provider = "postmark"
    base_url = "https://pm.invalid"

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    async def call(self, request: Request, decode: Callable[[Response], Any]) -> Any:
        self.requests.append(request)
        response = self.handler(request)
        if inspect.isawaitable(response):
            response = await response
        return decode(response)

    async def fetch(self, request: Request, check: Callable[[Response], None]) -> Response:
        def checked(response: Response) -> Response:
            check(response)
            return response

        return await self.call(request, checked)

    def decode(self, value: Any, parse: Callable[[Any], Any]) -> Any:
        return parse(value)


def wire_time(when: dt.datetime) -> str:
    """Format a timestamp like Postmark: Eastern offset, seven fractional digits."""
    local = when.astimezone(NY)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond:06d}0{offset[:3]}:{offset[3:]}"


def parse_bound(value: str, *, upper: bool, whole_seconds: bool, fold: int = 0) -> dt.datetime:
    """Read a fromdate/todate value as Postmark would: Eastern, inclusive.

    *fold* picks the instant of a wall time that occurs twice when daylight saving ends.
    """
    if "T" not in value:
        day = dt.date.fromisoformat(value)
        if upper:
            day += dt.timedelta(days=1)
        start = dt.datetime.combine(day, dt.time(), NY)
        return start - dt.timedelta(microseconds=1) if upper else start
    moment = dt.datetime.fromisoformat(value).replace(tzinfo=NY, fold=fold)
    if upper and whole_seconds:
        return moment + dt.timedelta(seconds=1) - dt.timedelta(microseconds=1)
    return moment


class InMemoryPostmark:
    """A tiny Postmark over a list of messages and their opens, enforcing the paging limits.

    ``whole_seconds`` picks how a date-time ``todate`` is read: ``True`` covers the whole
    named second, ``False`` compares to the exact instant. Both are plausible for the real
    API, and windowed streams must be exact under both.
    """

    def __init__(self, *, whole_seconds: bool = True, fold: int = 0) -> None:
        self.whole_seconds = whole_seconds
        self.fold = fold
        self.messages: list[dict[str, Any]] = []
        self._times: list[float] = []  # negated timestamps, ascending = newest first
        self.opens: dict[str, list[dict[str, Any]]] = {}
        self.on_request: Callable[[Request], None] | None = None

    def add_message(
        self, when: dt.datetime, message_id: str, *, track_opens: bool = True, **extra: Any
    ) -> dict[str, Any]:
        message = {
            "MessageID": message_id,
            "ReceivedAt": wire_time(when),
            "Status": "Sent",
            "From": "Sender <sender@example.com>",
            "Subject": "Hello",
            "To": [{"Email": "to@example.com", "Name": None}],
            "Cc": [],
            "Bcc": [],
            "Recipients": ["to@example.com"],
            "Attachments": [],
            "TrackOpens": track_opens,
            "TrackLinks": "None",
            "MessageStream": "outbound",
            **extra,
        }
        key = -when.timestamp()
        index = bisect.bisect_right(self._times, key)
        self._times.insert(index, key)
        self.messages.insert(index, message)
        return message

    def add_open(self, message_id: str, when: dt.datetime, recipient: str) -> None:
        self.opens.setdefault(message_id, []).append(
            {
                "RecordType": "Open",
                "MessageID": message_id,
                "ReceivedAt": wire_time(when),
                "Recipient": recipient,
                "Platform": "Desktop",
                "Geo": {},
            }
        )

    def __call__(self, request: Request) -> Response:
        if self.on_request is not None:
            self.on_request(request)
        params = dict(request.params)
        count, offset = int(params["count"]), int(params["offset"])
        if not 1 <= count <= 500 or offset < 0 or count + offset > 10_000:
            return json_response({"ErrorCode": 700, "Message": "bad paging"}, 422)
        if request.path == "/messages/outbound":
            rows = self._search(params)
            return json_response(
                {"TotalCount": len(rows), "Messages": rows[offset : offset + count]}
            )
        if request.path.startswith("/messages/outbound/opens/"):
            message_id = request.path.rsplit("/", 1)[1]
            if message_id not in self.opens:
                return json_response({"ErrorCode": 701, "Message": "not found"}, 422)
            rows = self.opens[message_id]
            return json_response({"TotalCount": len(rows), "Opens": rows[offset : offset + count]})
        return json_response({"ErrorCode": 0, "Message": "no such path"}, 404)

    def _search(self, params: dict[str, str]) -> list[dict[str, Any]]:
        lo, hi = 0, len(self.messages)
        if "todate" in params:
            top = parse_bound(
                params["todate"], upper=True, whole_seconds=self.whole_seconds, fold=self.fold
            )
            lo = bisect.bisect_left(self._times, -top.timestamp())
        if "fromdate" in params:
            bottom = parse_bound(
                params["fromdate"], upper=False, whole_seconds=False, fold=self.fold
            )
            hi = bisect.bisect_right(self._times, -bottom.timestamp())
        rows = self.messages[lo:hi]
        if "tag" in params:
            rows = [m for m in rows if m.get("Tag") == params["tag"]]
        return rows


def seeded_messages(
    server: InMemoryPostmark,
    count: int,
    *,
    start: dt.datetime,
    end: dt.datetime,
    seed: int,
    same_second: int = 0,
) -> list[str]:
    """Add *count* messages at seeded random instants in ``[start, end)``; return their ids.

    With *same_second*, that many extra messages share single seconds (bursts), so window
    edges fall among many simultaneous messages.
    """
    rng = random.Random(seed)
    span = (end - start).total_seconds()
    ids = []
    for n in range(count):
        when = start + dt.timedelta(seconds=rng.random() * span)
        ids.append(f"m{n:06d}")
        server.add_message(when, ids[-1])
    burst_at = start + dt.timedelta(seconds=int(span // 2))
    for n in range(same_second):
        when = burst_at + dt.timedelta(microseconds=rng.randrange(1_000_000))
        ids.append(f"b{n:06d}")
        server.add_message(when, ids[-1])
    return ids


@pytest.fixture
def make_api() -> Callable[..., tuple[PostmarkAPI, FakeClient]]:
    """Return a factory of (PostmarkAPI, FakeClient) pairs over a handler."""

    def factory(handler: Handler, **kwargs: Any) -> tuple[PostmarkAPI, FakeClient]:
        client = FakeClient(handler)
        return PostmarkAPI(client, **kwargs), client  # type: ignore[arg-type]

    return factory


@pytest.fixture
def fakes() -> types.SimpleNamespace:
    """Expose the helpers of this module to the tests (conftest is not importable)."""
    return types.SimpleNamespace(
        FakeClient=FakeClient,
        InMemoryPostmark=InMemoryPostmark,
        json_response=json_response,
        seeded_messages=seeded_messages,
        wire_time=wire_time,
        NY=NY,
    )
