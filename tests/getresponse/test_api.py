"""GetResponseAPI over a recording client: requests it sends, what it refuses, batching."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date
from typing import Any, TypeVar

import pytest

from asyncmailstats._http import Request, Response, reveal_body
from asyncmailstats.exceptions import NotFoundError, SessionClosedError, TransportError
from asyncmailstats.getresponse import (
    GetResponseAPI,
    Grouping,
    Link,
    MessageStatsSeries,
    TimeRange,
)
from asyncmailstats.getresponse._jsonrpc import MAX_REQUEST_BYTES

T = TypeVar("T")
KEY = "k3y-0f-the-acc0unt-that-must-not-leak"

Answer = Callable[[str, dict[str, Any]], Any]
PERIOD_KEYS = {
    "hourly": "2024-01-01 00",
    "daily": "2024-01-01",
    "monthly": "2024-01",
    "yearly": "2024",
}


def default_answer(method: str, conditions: dict[str, Any]) -> Any:
    """Stats of one period for any message whose ID does not start with 'x'."""
    if method == "get_message_stats":
        if conditions["message"].startswith("x"):
            raise LookupError("Missing message")
        period = PERIOD_KEYS[conditions.get("grouping", "daily")]
        return {period: {"sent": len(conditions["message"])}}
    return []


class RecordingClient:
    """Stands in for ProviderClient: records requests, answers calls and batches."""

    provider = "getresponse"
    base_url = "https://gr.example"

    def __init__(self, answer: Answer = default_answer) -> None:
        self.requests: list[Request] = []
        self.answer = answer
        self.before: Callable[[Request], Any] | None = None

    def _one(self, call: dict[str, Any]) -> dict[str, Any]:
        assert call["params"][0] == KEY
        conditions = call["params"][1] if len(call["params"]) > 1 else {}
        try:
            result = self.answer(call["method"], conditions)
        except LookupError as exc:
            error = {"code": -1, "message": str(exc.args[0])}
            return {"jsonrpc": "2.0", "error": error, "id": call["id"]}
        return {"jsonrpc": "2.0", "result": result, "id": call["id"]}

    async def call(self, request: Request, decode: Callable[[Response], T]) -> T:
        self.requests.append(request)
        if self.before is not None:
            await self.before(request)
        payload = json.loads(reveal_body(request.body) or b"")
        if isinstance(payload, list):
            body: Any = [self._one(c) for c in reversed(payload)]
        else:
            body = self._one(payload)
        return decode(Response(200, {}, json.dumps(body).encode()))

    def check_open(self) -> None:
        pass

    def calls(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for request in self.requests:
            payload = json.loads(reveal_body(request.body) or b"")
            out.extend(payload if isinstance(payload, list) else [payload])
        return out


def make_api(answer: Answer = default_answer) -> tuple[GetResponseAPI, RecordingClient]:
    client = RecordingClient(answer)
    return GetResponseAPI(client, api_key=KEY), client  # type: ignore[arg-type]


def test_repr_shows_no_key() -> None:
    """The API object's repr names the endpoint but not the key."""
    api, _ = make_api()
    assert KEY not in repr(api)
    assert "gr.example" in repr(api)


# -- single calls ---------------------------------------------------------------------------


async def test_message_stats_sends_key_first_and_conditions() -> None:
    """message_stats sends [KEY, {message, grouping, created_on}] and returns the series."""
    api, client = make_api()
    series = await api.message_stats(
        "abc", grouping="hourly", created_on={"FROM": "2024-01-01", "TO": date(2024, 2, 1)}
    )
    (call,) = client.calls()
    assert call["method"] == "get_message_stats"
    assert call["params"] == [
        KEY,
        {
            "message": "abc",
            "grouping": "hourly",
            "created_on": {"FROM": "2024-01-01", "TO": "2024-02-01"},
        },
    ]
    assert client.requests[0].endpoint == "POST get_message_stats"
    assert series.message_id == "abc"
    assert series.grouping is Grouping.HOURLY


async def test_message_stats_default_grouping_is_daily_and_ids_increase() -> None:
    """Without grouping, daily is sent; each call gets a fresh id."""
    api, client = make_api(lambda m, c: [])
    await api.message_stats("a")
    await api.message_stats("b")
    first, second = client.calls()
    assert first["params"][1] == {"message": "a", "grouping": "daily"}
    assert second["id"] != first["id"]


async def test_messages_without_conditions_sends_only_the_key() -> None:
    """messages() with no filter sends params [KEY]."""
    api, client = make_api()
    assert await api.messages() == []
    assert client.calls()[0]["params"] == [KEY]
    assert client.calls()[0]["method"] == "get_messages"


async def test_links_sends_conditions_and_decodes() -> None:
    """links() sends messages and url conditions and decodes the keyed result."""

    def answer(method: str, conditions: dict[str, Any]) -> Any:
        assert method == "get_links"
        assert conditions == {"messages": ["m1"], "url": {"CONTAINS": "%shop%"}}
        return {"L1": {"message": "m1", "name": "Shop", "url": "https://shop", "clicks": 2}}

    api, _ = make_api(answer)
    links = await api.links(messages=["m1"], url={"CONTAINS": "%shop%"})
    assert links == [Link(id="L1", message="m1", name="Shop", url="https://shop", clicks=2)]


async def test_missing_message_raises_not_found() -> None:
    """A 'Missing message' reply to message_stats raises NotFoundError."""
    api, _ = make_api()
    with pytest.raises(NotFoundError):
        await api.message_stats("x-unknown")


# -- validation before any request ------------------------------------------------------------


BAD_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any], type[Exception]]] = [
    ("message_stats", ("",), {}, ValueError),
    ("message_stats", (None,), {}, TypeError),
    ("message_stats", ("m",), {"grouping": "weekly"}, ValueError),
    ("message_stats", ("m",), {"grouping": "Daily"}, ValueError),
    ("message_stats", ("m",), {"created_on": {"from": "2024-01-01"}}, ValueError),
    (
        "message_stats",
        ("m",),
        {"created_on": {"FROM": "2024-02-01", "TO": "2024-01-01"}},
        ValueError,
    ),
    ("messages", (), {"subject": {"contains": "x"}}, ValueError),
    ("messages", (), {"name": {"SIMILAR": "x"}}, ValueError),
    ("messages", (), {"type": "promo"}, ValueError),
    ("messages", (), {"campaigns": "c1"}, TypeError),
    ("messages", (), {"send_on": "2024-01-01"}, TypeError),
    ("links", (), {"messages": [""]}, ValueError),
    ("links", (), {"url": {"equals": "x"}}, ValueError),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "error"), BAD_CALLS)
async def test_bad_arguments_raise_before_any_request(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """Bad arguments raise TypeError/ValueError and nothing is sent."""
    api, client = make_api()
    with pytest.raises(error):
        await getattr(api, method)(*args, **kwargs)
    assert client.requests == []


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        (("abc",), {}, TypeError),
        ((42,), {}, TypeError),
        ((["a", ""],), {}, ValueError),
        ((("a", 3),), {}, TypeError),
        ((["a"],), {"grouping": "weekly"}, ValueError),
        ((["a"],), {"batch_size": 0}, ValueError),
        ((["a"],), {"batch_size": 1001}, ValueError),
        ((["a"],), {"batch_size": 1.5}, TypeError),
        ((["a"],), {"batch_size": True}, TypeError),
        ((["a"],), {"concurrency": 0}, ValueError),
        ((["a"],), {"ordered": "yes"}, TypeError),
        ((["a"],), {"created_on": {"AT": "2024-1-1"}}, ValueError),
    ],
)
def test_stats_many_validates_in_the_call_itself(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """message_stats_many raises at the call, before iteration and before any request."""
    api, client = make_api()
    with pytest.raises(error):
        api.message_stats_many(*args, **kwargs)
    assert client.requests == []


# -- batches -----------------------------------------------------------------------------------


async def test_stats_many_packs_ids_into_batches() -> None:
    """250 IDs with batch_size=100 go out as three batches and yield 250 outcomes."""
    api, client = make_api()
    ids = [f"m{n:03d}" for n in range(250)]
    outcomes = [o async for o in api.message_stats_many(ids, batch_size=100, grouping="daily")]
    assert sorted(len(json.loads(reveal_body(r.body) or b"")) for r in client.requests) == [
        50,
        100,
        100,
    ]
    assert {r.endpoint for r in client.requests} == {"POST get_message_stats (batch)"}
    assert sorted(o.item for o in outcomes) == ids
    for outcome in outcomes:
        series = outcome.unwrap()
        assert isinstance(series, MessageStatsSeries)
        assert series.message_id == outcome.item
        assert series.periods[0].sent == len(outcome.item)


async def test_stats_many_sends_the_same_conditions_to_every_call() -> None:
    """Every call of a batch carries the grouping and created_on given once."""
    api, client = make_api()
    window = TimeRange(at=date(2024, 5, 1))
    async with api.message_stats_many(
        ["a", "b"], grouping=Grouping.MONTHLY, created_on=window
    ) as it:
        async for _ in it:
            pass
    assert [c["params"][1] for c in client.calls()] == [
        {"message": m, "grouping": "monthly", "created_on": {"AT": "2024-05-01"}}
        for m in ("a", "b")
    ]
    assert len({c["id"] for c in client.calls()}) == 2


async def test_stats_many_keeps_requests_under_one_mebibyte() -> None:
    """Calls too large to share one request are split across several under 1 MiB."""
    api, client = make_api(lambda m, c: [])
    ids = [f"{n:03d}" + "y" * 30_000 for n in range(100)]
    outcomes = [o async for o in api.message_stats_many(ids, batch_size=100)]
    assert len(outcomes) == 100
    assert all(o.error is None for o in outcomes)
    assert len(client.requests) >= 3
    assert all(len(reveal_body(r.body) or b"") <= MAX_REQUEST_BYTES for r in client.requests)


async def test_stats_many_gives_per_call_errors_to_their_ids_only() -> None:
    """Unknown IDs get NotFoundError outcomes; the rest of the batch succeeds."""
    api, _ = make_api()
    ids = ["a", "x1", "b", "x2", "c"]
    outcomes = {o.item: o async for o in api.message_stats_many(ids, batch_size=10)}
    assert set(outcomes) == set(ids)
    assert isinstance(outcomes["x1"].error, NotFoundError)
    assert isinstance(outcomes["x2"].error, NotFoundError)
    assert all(outcomes[m].error is None for m in "abc")


async def test_stats_many_whole_batch_failure_reaches_every_id_of_that_batch() -> None:
    """When one batch request fails, each of its IDs carries that error; other batches succeed."""
    api, client = make_api()

    async def fail_second(request: Request) -> None:
        if len(client.requests) == 2:
            raise TransportError("connection reset", endpoint=request.endpoint)

    client.before = fail_second
    ids = [f"m{n}" for n in range(6)]
    outcomes = [
        o async for o in api.message_stats_many(ids, batch_size=2, concurrency=1, ordered=True)
    ]
    assert [o.item for o in outcomes] == ids
    assert [type(o.error) for o in outcomes] == [
        type(None),
        type(None),
        TransportError,
        TransportError,
        type(None),
        type(None),
    ]


async def test_stats_many_raises_when_the_session_is_closed() -> None:
    """A closed session ends the stream with SessionClosedError instead of per-ID errors."""
    api, client = make_api()

    async def closed(_: Request) -> None:
        raise SessionClosedError("the session is closed")

    client.before = closed
    with pytest.raises(SessionClosedError):
        async for _ in api.message_stats_many(["a", "b"]):
            pass


async def test_stats_many_reads_ids_lazily() -> None:
    """An endless ID source is read only as far as needed, and stops when the loop ends."""
    api, _ = make_api()
    pulled = 0

    def endless() -> Iterator[str]:
        nonlocal pulled
        for n in itertools.count():
            pulled += 1
            yield f"m{n}"

    stream = api.message_stats_many(endless(), batch_size=10, concurrency=2)
    assert pulled == 0
    got = []
    async with stream:
        async for outcome in stream:
            got.append(outcome)
            if len(got) == 15:
                break
    seen = pulled
    await asyncio.sleep(0)
    assert pulled == seen
    assert seen <= 10 * 4


async def test_stats_many_accepts_an_async_iterable() -> None:
    """IDs may come from an async iterable."""
    api, _ = make_api()

    async def source() -> AsyncIterator[str]:
        for n in range(5):
            await asyncio.sleep(0)
            yield f"m{n}"

    outcomes = [o async for o in api.message_stats_many(source(), batch_size=2)]
    assert sorted(o.item for o in outcomes) == [f"m{n}" for n in range(5)]


async def test_stats_many_bad_id_from_a_lazy_source_raises_from_iteration() -> None:
    """A bad ID in a non-sequence source is found when read and raised from the loop."""
    api, _ = make_api()
    source = iter(["a", "b", ""])
    stream = api.message_stats_many(source, batch_size=1)
    with pytest.raises(ValueError, match="empty"):
        async for _ in stream:
            pass


async def test_stats_many_ordered_yields_input_order() -> None:
    """ordered=True yields IDs in input order even when an early batch is slowest."""
    api, client = make_api()
    release = asyncio.Event()

    async def slow_first(request: Request) -> None:
        if b'"m0"' in (reveal_body(request.body) or b""):
            await release.wait()

    client.before = slow_first
    ids = [f"m{n}" for n in range(8)]
    stream = api.message_stats_many(ids, batch_size=2, concurrency=4, ordered=True)

    async def collect() -> list[str]:
        return [o.item async for o in stream]

    task = asyncio.create_task(collect())
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(client.requests) == 4
    release.set()
    assert await task == ids


async def test_leaving_early_cancels_batches_in_flight() -> None:
    """Breaking out of the loop cancels the batch requests still running."""
    api, client = make_api()
    cancelled = 0

    async def hang_unless_first(request: Request) -> None:
        nonlocal cancelled
        if b'"m0"' in (reveal_body(request.body) or b""):
            return
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled += 1
            raise

    client.before = hang_unless_first
    stream = api.message_stats_many([f"m{n}" for n in range(10)], batch_size=2, concurrency=5)
    async with stream:
        async for _ in stream:
            break
    assert len(client.requests) == 5
    assert cancelled == 4


async def test_breaking_out_without_closing_still_cancels_batches_in_flight() -> None:
    """A bare break out of a temporary stream cancels its batch requests soon after."""
    api, client = make_api()
    cancelled = asyncio.Event()

    async def hang_unless_first(request: Request) -> None:
        if b'"m0"' in (reveal_body(request.body) or b""):
            return
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    client.before = hang_unless_first
    async for _ in api.message_stats_many([f"m{n}" for n in range(6)], batch_size=2):
        break
    await asyncio.wait_for(cancelled.wait(), timeout=5)
    assert len(client.requests) == 3
