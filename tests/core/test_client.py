"""The request path of a provider client: retries, errors, statistics, headers, URLs."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from asyncmailstats import RetryPolicy, Session, Timeout
from asyncmailstats._http import Request, Response
from asyncmailstats.exceptions import (
    APIError,
    AuthenticationError,
    DecodeError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)
from asyncmailstats.testing import instant_retries

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

RETRY = RetryPolicy(max_attempts=3, initial_delay=0.0, max_delay=0.0)


def status_response(status: int) -> Response:
    return Response(status, {"content-type": "text/plain"}, f"status {status}".encode())


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (408, APIError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
    ],
)
async def test_retried_statuses_exhaust_max_attempts(
    session, memory_transport, kit, status, error_type
) -> None:
    """A retried status is tried max_attempts times, then raises with ``attempts`` set."""
    memory_transport.handler = lambda _: status_response(status)
    client = kit.make_client(session, retry=RETRY)
    with instant_retries(), pytest.raises(error_type) as caught:
        await client.call(kit.items_request(0, 10), kit.decode_json)
    assert type(caught.value) is error_type
    assert caught.value.status == status
    assert caught.value.attempts == 3
    assert len(memory_transport.sent) == 3
    stats = session.statistics()
    assert (stats.requests, stats.retries, stats.failures) == (3, 2, 1)
    assert stats.rate_limited == (3 if status == 429 else 0)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (404, NotFoundError),
        (422, InvalidRequestError),
    ],
)
async def test_client_errors_are_not_retried(
    session, memory_transport, kit, status, error_type
) -> None:
    """400, 401, 404 and 422 raise after a single attempt."""
    memory_transport.handler = lambda _: status_response(status)
    client = kit.make_client(session, retry=RETRY)
    with instant_retries(), pytest.raises(error_type) as caught:
        await client.call(kit.items_request(0, 10), kit.decode_json)
    assert caught.value.attempts == 1
    assert len(memory_transport.sent) == 1
    stats = session.statistics()
    assert (stats.requests, stats.retries, stats.failures, stats.rate_limited) == (1, 0, 1, 0)


async def test_decode_errors_are_not_retried(session, memory_transport, kit) -> None:
    """A 200 whose body is not JSON raises DecodeError after one attempt."""
    memory_transport.handler = lambda _: Response(200, {}, b"<html>")
    client = kit.make_client(session, retry=RETRY)
    with instant_retries(), pytest.raises(DecodeError):
        await client.call(kit.items_request(0, 10), kit.decode_json)
    assert len(memory_transport.sent) == 1


async def test_success_after_retries_is_counted(session, memory_transport, kit) -> None:
    """A 503 then a 429 then a 200 returns the body; statistics count each attempt."""
    answers = [status_response(503), status_response(429), kit.ItemsEndpoint(3)]

    def handler(request: Request) -> Response:
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(request) if callable(answer) else answer

    memory_transport.handler = handler
    client = kit.make_client(session, retry=RETRY)
    with instant_retries():
        data = await client.call(kit.items_request(0, 10), kit.decode_json)
    assert data == {"total": 3, "items": [0, 1, 2]}
    stats = session.statistics()
    assert (stats.requests, stats.retries, stats.failures, stats.rate_limited) == (3, 2, 0, 1)
    assert stats.in_flight == 0
    assert stats.waiting == 0


async def test_transport_errors_are_retried(session, memory_transport, kit) -> None:
    """A TransportError from the transport is retried like a 5xx."""
    errors = [TransportError("reset"), RequestTimeoutError("slow")]

    def handler(request: Request) -> Response:
        if errors:
            raise errors.pop(0)
        return kit.ItemsEndpoint(1)(request)

    memory_transport.handler = handler
    client = kit.make_client(session, retry=RETRY)
    with instant_retries():
        assert await client.call(kit.items_request(0, 5), kit.decode_json) == {
            "total": 1,
            "items": [0],
        }
    stats = session.statistics()
    assert (stats.requests, stats.retries, stats.failures) == (3, 2, 0)


async def test_client_sends_its_headers_to_the_joined_url(session, memory_transport, kit) -> None:
    """Requests carry the client's headers, merged with their own, to base_url + path."""
    client = kit.make_client(session, base_url="http://127.0.0.1:8080/api/")
    request = Request("GET", "/items", headers={"X-Extra": "1"}, endpoint="GET /items")
    await client.call(request, kit.decode_json)
    sent, url, timeout = memory_transport.sent[0]
    assert url == "http://127.0.0.1:8080/api/items"
    assert sent.headers == {
        kit.SECRET_HEADER: kit.SECRET,
        "Accept": "application/json",
        "X-Extra": "1",
    }
    assert timeout == session.timeout


async def test_per_client_retry_policy_overrides_the_session(memory_transport, kit) -> None:
    """A client's own RetryPolicy is used instead of the session default."""
    memory_transport.handler = lambda _: status_response(500)
    async with Session(transport=memory_transport, retry=RetryPolicy(max_attempts=5)) as session:
        client = kit.make_client(session, retry=RetryPolicy(max_attempts=2))
        with instant_retries(), pytest.raises(ServerError) as caught:
            await client.call(kit.items_request(0, 1), kit.decode_json)
    assert caught.value.attempts == 2
    assert len(memory_transport.sent) == 2


async def test_statistics_are_kept_per_provider(session, memory_transport, kit) -> None:
    """Session statistics sum the provider clients and list each one."""
    first = kit.make_client(session, provider="one")
    second = kit.make_client(session, provider="two")
    await first.call(kit.items_request(0, 1), kit.decode_json)
    await second.call(kit.items_request(0, 1), kit.decode_json)
    await second.call(kit.items_request(0, 1), kit.decode_json)
    stats = session.statistics()
    assert stats.requests == 3
    assert [(p.provider, p.requests) for p in stats.providers] == [("one", 1), ("two", 2)]
    assert stats.peak_in_flight == 1


async def test_reset_and_truncated_body_are_retried_over_http(kit) -> None:
    """A dropped connection, a cut body and a 429 are retried; statistics count each."""

    async def slow_down(_: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "slow down"}, status=429)

    async def ok(_: web.Request) -> web.StreamResponse:
        return web.json_response({"total": 2, "items": [0, 1]})

    # aiohttp itself resends an idempotent request once after a drop before any answer,
    # so the first attempt needs two drops in a row to fail.
    steps = [kit.drop_connection, kit.drop_connection, kit.truncated_body, slow_down, ok]

    async def handler(request: web.Request) -> web.StreamResponse:
        return await steps.pop(0)(request)

    async with (
        kit.LoopbackServer(handler, keepalive=False) as server,
        Session(retry=RetryPolicy(max_attempts=4)) as session,
    ):
        client = kit.make_client(session, base_url=server.url)
        with instant_retries():
            data = await client.call(kit.items_request(0, 2), kit.decode_json)
        stats = session.statistics()
    assert data == {"total": 2, "items": [0, 1]}
    assert steps == []
    assert (stats.requests, stats.retries, stats.failures, stats.rate_limited) == (4, 3, 0, 1)


async def test_persistent_resets_fail_with_transport_error(kit) -> None:
    """When every attempt loses its connection, TransportError surfaces with attempts."""
    async with (
        kit.LoopbackServer(kit.drop_connection, keepalive=False) as server,
        Session(retry=RetryPolicy(max_attempts=3)) as session,
    ):
        client = kit.make_client(session, base_url=server.url)
        with instant_retries(), pytest.raises(TransportError) as caught:
            await client.call(kit.items_request(0, 2), kit.decode_json)
        stats = session.statistics()
    assert caught.value.attempts == 3
    assert caught.value.endpoint == kit.ENDPOINT
    assert len(server.requests) >= 3
    assert (stats.requests, stats.retries, stats.failures) == (3, 2, 1)


async def test_attempt_timeout_is_retried_then_raised(kit) -> None:
    """An attempt over Timeout.total raises RequestTimeoutError after the retries."""
    release = asyncio.Event()

    async def handler(_: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.json_response({})

    async with kit.LoopbackServer(handler) as server:
        async with Session(retry=RetryPolicy(max_attempts=2), timeout=Timeout(total=0.05)) as s:
            client = kit.make_client(s, base_url=server.url)
            with instant_retries(), pytest.raises(RequestTimeoutError) as caught:
                await client.call(kit.items_request(0, 2), kit.decode_json)
        release.set()
    assert caught.value.attempts == 2
    assert len(server.requests) == 2


async def test_cancelling_a_call_releases_its_slot(session, memory_transport, kit) -> None:
    """A call cancelled while in the transport gives its slot back and is not counted failed."""
    started = asyncio.Event()

    async def handler(_: Request) -> Response:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError

    memory_transport.handler = handler
    client = kit.make_client(session)
    task = asyncio.create_task(client.call(kit.items_request(0, 1), kit.decode_json))
    await started.wait()
    assert session.statistics().in_flight == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stats = session.statistics()
    assert (stats.in_flight, stats.waiting, stats.failures, stats.retries) == (0, 0, 0, 0)
