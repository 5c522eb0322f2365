"""FakeGetResponse speaks JSON-RPC like the documented API: envelopes, batches, errors."""

# GetResponse timestamps carry no offset: the fake's clock is naive on purpose.
# ruff: noqa: DTZ001

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from asyncmailstats.testing import FakeGetResponse

NOW = datetime(2024, 6, 1, 12)


@pytest.fixture
async def fake() -> AsyncIterator[FakeGetResponse]:
    async with FakeGetResponse(messages=60, seed=4, now=NOW.replace(tzinfo=UTC)) as server:
        yield server


async def post(fake: FakeGetResponse, payload: Any, *, raw: bytes | None = None) -> tuple[int, Any]:
    body = raw if raw is not None else json.dumps(payload).encode()
    async with (
        aiohttp.ClientSession() as http,
        # A stream, as aiohttp warns about large bytes bodies.
        http.post(
            fake.url, data=io.BytesIO(body), headers={"Content-Type": "application/json"}
        ) as response,
    ):
        text = await response.read()
        if not text:
            return response.status, None
        if response.content_type != "application/json":
            return response.status, text
        return response.status, json.loads(text)


def call(
    fake: FakeGetResponse, method: str, conditions: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    params: list[Any] = [fake.api_key] if conditions is None else [fake.api_key, conditions]
    return {"jsonrpc": "2.0", "method": method, "params": params, **extra}


def some_message(fake: FakeGetResponse) -> str:
    return next(m for m, hours in fake.hourly_stats.items() if hours)


async def test_single_call_gets_a_2_0_reply(fake: FakeGetResponse) -> None:
    """A 2.0 call is answered with jsonrpc, result and its own id."""
    message_id = some_message(fake)
    status, reply = await post(
        fake, call(fake, "get_message_stats", {"message": message_id}, id=41)
    )
    assert status == 200
    assert reply == {"jsonrpc": "2.0", "result": fake.stats(message_id, "daily"), "id": 41}


async def test_1_0_call_gets_a_1_0_reply(fake: FakeGetResponse) -> None:
    """A call without "jsonrpc" is answered without it, with "error": null beside the result."""
    status, reply = await post(fake, {"method": "get_links", "params": [fake.api_key], "id": ""})
    assert status == 200
    assert set(reply) == {"result", "error", "id"}
    assert reply["error"] is None
    assert reply["id"] == ""
    assert len(reply["result"]) == len(fake.links)


async def test_notification_gets_204_but_is_counted(fake: FakeGetResponse) -> None:
    """A call without id is a notification: HTTP 204, no body, still received."""
    status, reply = await post(fake, call(fake, "get_messages"))
    assert (status, reply) == (204, None)
    assert fake.rpc_calls["get_messages"] == 1
    assert fake.http_requests == 1


@pytest.mark.parametrize("shuffle", [True, False])
async def test_batch_answers_every_call_except_notifications(shuffle: bool) -> None:
    """A batch gets one reply per call with an id (shuffled unless told not to)."""
    async with FakeGetResponse(
        messages=40, seed=1, now=NOW.replace(tzinfo=UTC), shuffle_batches=shuffle
    ) as fake:
        ids = list(fake.messages)[:20]
        calls = [call(fake, "get_message_stats", {"message": m}, id=n) for n, m in enumerate(ids)]
        calls.append(call(fake, "get_messages"))  # a notification inside the batch
        status, replies = await post(fake, calls)
    assert status == 200
    assert sorted(r["id"] for r in replies) == list(range(20))
    assert ([r["id"] for r in replies] == list(range(20))) is not shuffle
    for reply in replies:
        assert reply["result"] == (fake.stats(ids[reply["id"]]) or [])
    assert fake.rpc_calls == {"get_message_stats": 20, "get_messages": 1}


@pytest.mark.parametrize(
    ("conditions", "method", "code", "message"),
    [
        ({"message": "nope"}, "get_message_stats", -1, "Missing message"),
        ({"message": "x", "grouping": "weekly"}, "get_message_stats", -32602, "Invalid params"),
        ({}, "get_message_stats", -32602, "Invalid params"),
        ({"subject": {"contains": "x"}}, "get_messages", -32602, "Invalid params"),
        ({"created_on": {"from": "2024-01-01"}}, "get_messages", -32602, "Invalid params"),
        ({"created_on": {"FROM": "2024-1-1"}}, "get_messages", -32602, "Invalid params"),
        ({"type": "promo"}, "get_messages", -32602, "Invalid params"),
        ({"colour": "red"}, "get_links", -32602, "Invalid params"),
        ({"url": {"MATCHES": "("}}, "get_links", -32602, "Invalid params"),
        ({}, "get_contact_clicks", -32601, "Method not found"),
    ],
)
async def test_call_errors_have_the_documented_shape(
    fake: FakeGetResponse, conditions: dict[str, Any], method: str, code: int, message: str
) -> None:
    """Unknown IDs, bad conditions and unknown methods give {code, message} errors."""
    status, reply = await post(fake, call(fake, method, conditions, id=1))
    assert status == 200
    assert reply["error"]["code"] == code
    assert reply["error"]["message"] == message
    assert "result" not in reply


async def test_wrong_key_fails_verification(fake: FakeGetResponse) -> None:
    """A wrong API key gets code -1 "API key verification failed"."""
    status, reply = await post(
        fake, {"jsonrpc": "2.0", "method": "get_links", "params": ["bad"], "id": 1}
    )
    assert status == 200
    assert reply["error"] == {"code": -1, "message": "API key verification failed"}


async def test_params_must_be_the_key_and_a_hash(fake: FakeGetResponse) -> None:
    """params that is not [KEY] or [KEY, {…}] is Invalid params with the documented text."""
    payload = {"jsonrpc": "2.0", "method": "get_links", "params": [fake.api_key, ["m"]], "id": 1}
    _, reply = await post(fake, payload)
    assert reply["error"]["code"] == -32602
    assert reply["error"]["data"] == "Attribute params must be reference to hash"


@pytest.mark.parametrize(
    ("raw", "code"),
    [(b"{not json", -32700), (b"[]", -32600), (b'"text"', -32600)],
)
async def test_unreadable_requests_get_null_id_errors(
    fake: FakeGetResponse, raw: bytes, code: int
) -> None:
    """A body that is not JSON, an empty batch or a non-object get an error with id null."""
    status, reply = await post(fake, None, raw=raw)
    assert status == 200
    assert reply["error"]["code"] == code
    assert reply["id"] is None


async def test_oversized_request_gets_413(fake: FakeGetResponse) -> None:
    """A body over 1 MiB is refused with HTTP 413."""
    big = call(fake, "get_messages", {"subject": "x" * 1_100_000}, id=1)
    status, _ = await post(fake, big)
    assert status == 413


def test_dataset_is_seeded_sparse_and_bounded_by_now() -> None:
    """The same seed gives the same data; hours are sparse, positive and not after now."""
    first, again = (
        FakeGetResponse(messages=50, seed=3, now=NOW.replace(tzinfo=UTC)),
        FakeGetResponse(messages=50, seed=3, now=NOW.replace(tzinfo=UTC)),
    )
    other = FakeGetResponse(messages=50, seed=4, now=NOW.replace(tzinfo=UTC))
    assert first.messages == again.messages
    assert first.hourly_stats == again.hourly_stats
    assert first.links == again.links
    assert first.api_key == again.api_key != other.api_key
    assert first.messages != other.messages
    hours = [h for per in first.hourly_stats.values() for h in per]
    assert hours
    for per in first.hourly_stats.values():
        for hour, counters in per.items():
            assert datetime.fromisoformat(hour + ":00") <= NOW
            assert any(counters.values())
    gaps = sum(1 for per in first.hourly_stats.values() if per and len(per) < 14 * 24)
    assert gaps > 0
    drafts = [m for m, r in first.messages.items() if r["type"] == "draft"]
    assert all(first.hourly_stats[m] == {} for m in drafts)


def test_fake_refuses_bad_arguments() -> None:
    """Negative or non-int message counts and a naive clock are refused."""
    with pytest.raises(ValueError):
        FakeGetResponse(messages=-1)
    with pytest.raises(TypeError):
        FakeGetResponse(messages=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="now must be an aware datetime"):
        FakeGetResponse(now=NOW)
