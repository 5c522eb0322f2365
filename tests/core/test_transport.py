"""The aiohttp transport: body size limits, error mapping, cancellation, released connections."""

from __future__ import annotations

import asyncio
import gzip
import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aioresponses import aioresponses

from asyncmailstats import RetryPolicy, Session, Timeout
from asyncmailstats._http import Request, Response
from asyncmailstats._transport import AiohttpTransport
from asyncmailstats.exceptions import DecodeError, RequestTimeoutError, TransportError
from asyncmailstats.testing import instant_retries

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

LIMIT = 1000
REQUEST = Request("GET", "/items", endpoint="GET /items")


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    opened = AiohttpTransport(max_body_size=LIMIT)
    opened.open()
    yield opened
    await opened.aclose()


def acquired(transport: AiohttpTransport) -> int:
    """How many pooled connections are held by responses not yet released."""
    assert transport._session is not None
    return len(transport._session.connector._acquired)  # type: ignore[union-attr]


async def sized(request: web.Request) -> web.StreamResponse:
    """Answer ``/fixed/<n>`` with n bytes and a Content-Length, ``/chunked/<n>`` without."""
    kind, size = request.path.strip("/").split("/")
    payload = b"x" * int(size)
    if kind == "fixed":
        return web.Response(body=payload)
    if kind == "gzip":
        return web.Response(body=gzip.compress(payload), headers={"Content-Encoding": "gzip"})
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    chunk = 300 if len(payload) <= 10 * LIMIT else 64 * 1024
    for start in range(0, len(payload), chunk):
        await response.write(payload[start : start + chunk])
    await response.write_eof()
    return response


@pytest.mark.parametrize("kind", ["fixed", "chunked", "gzip"])
@pytest.mark.parametrize("size", [0, 1, LIMIT])
async def test_bodies_up_to_the_limit_are_read_whole(transport, kit, kind, size) -> None:
    """Bodies of at most max_body_size bytes arrive complete, with or without a length."""
    async with kit.LoopbackServer(sized) as server:
        response = await transport.send(REQUEST, f"{server.url}/{kind}/{size}", Timeout())
        assert acquired(transport) == 0
    assert response.status == 200
    assert response.body == b"x" * size


@pytest.mark.parametrize("kind", ["fixed", "chunked", "gzip"])
async def test_bodies_over_the_limit_are_refused(transport, kit, kind) -> None:
    """A body over max_body_size raises DecodeError, with or without Content-Length."""
    async with kit.LoopbackServer(sized) as server:
        # A large body is not read to its end: the connection must still be let go.
        for size in (LIMIT + 1, 5_000_000):
            with pytest.raises(DecodeError, match="larger than") as caught:
                await transport.send(REQUEST, f"{server.url}/{kind}/{size}", Timeout())
            assert caught.value.endpoint == "GET /items"
            assert acquired(transport) == 0  # the connection was released all the same
        # The transport is still usable afterwards.
        response = await transport.send(REQUEST, f"{server.url}/{kind}/10", Timeout())
    assert response.body == b"x" * 10


async def test_session_max_body_size_applies_and_is_not_retried(kit) -> None:
    """Session(max_body_size=) reaches the transport; an oversized body is not retried."""
    async with (
        kit.LoopbackServer(sized) as server,
        Session(max_body_size=LIMIT, retry=RetryPolicy(max_attempts=4)) as session,
    ):
        client = kit.make_client(session, base_url=server.url)
        with instant_retries(), pytest.raises(DecodeError):
            await client.call(Request("GET", "/fixed/5000", endpoint="GET /fixed"), lambda r: r)
        stats = session.statistics()
    assert len(server.requests) == 1
    assert (stats.requests, stats.retries, stats.failures) == (1, 0, 1)


@pytest.mark.parametrize("status", [200, 404])
async def test_a_custom_transports_oversized_body_is_refused(make_transport, kit, status) -> None:
    """Session(max_body_size=) holds for a custom transport too: DecodeError, not retried."""
    sizes = iter([LIMIT, LIMIT + 1])
    transport = make_transport(lambda _: Response(status, {}, b"x" * next(sizes)))
    async with Session(
        transport=transport, max_body_size=LIMIT, retry=RetryPolicy(max_attempts=4)
    ) as session:
        client = kit.make_client(session)
        request = Request("GET", "/items", endpoint="GET /items")
        response = await client.call(request, lambda r: r)  # the limit itself is accepted
        assert len(response.body) == LIMIT
        with instant_retries(), pytest.raises(DecodeError, match="larger than") as caught:
            await client.call(request, lambda r: r)
        stats = session.statistics()
    assert caught.value.endpoint == "GET /items"
    assert len(transport.sent) == 2
    assert (stats.requests, stats.retries, stats.failures) == (2, 0, 1)


async def test_request_round_trip(transport, kit) -> None:
    """Method, params, headers and body are sent; response headers come back lower-cased."""
    seen: dict[str, object] = {}

    async def echo(request: web.Request) -> web.StreamResponse:
        seen.update(
            method=request.method,
            path=request.path,
            query=list(request.query.items()),
            header=request.headers.get("X-Thing"),
            body=await request.read(),
        )
        return web.json_response({"ok": True}, headers={"X-Reply-Header": "yes"})

    request = Request(
        "POST",
        "/rpc",
        params=(("a", "1"), ("a", "2"), ("b", "x y")),
        headers={"X-Thing": "thing", "Content-Type": "application/json"},
        body=b'{"q": 1}',
        endpoint="POST /rpc",
    )
    async with kit.LoopbackServer(echo) as server:
        response = await transport.send(request, f"{server.url}/rpc", Timeout())
    assert seen == {
        "method": "POST",
        "path": "/rpc",
        "query": [("a", "1"), ("a", "2"), ("b", "x y")],
        "header": "thing",
        "body": b'{"q": 1}',
    }
    assert response.status == 200
    assert response.header("X-Reply-Header") == "yes"
    assert "x-reply-header" in response.headers
    assert response.content_type == "application/json"


async def test_redirects_are_not_followed(transport, kit) -> None:
    """A 302 is returned as is; the credentials are never sent to another location."""

    async def redirect(request: web.Request) -> web.StreamResponse:
        if request.path == "/elsewhere":
            raise AssertionError("the redirect must not be followed")
        return web.Response(status=302, headers={"Location": "/elsewhere"})

    async with kit.LoopbackServer(redirect) as server:
        response = await transport.send(REQUEST, f"{server.url}/items", Timeout())
        assert len(server.requests) == 1
    assert response.status == 302


async def test_debug_log_names_the_endpoint_and_status(transport, kit, caplog) -> None:
    """Each response is logged at DEBUG with its endpoint label and status only."""
    caplog.set_level(logging.DEBUG, logger="asyncmailstats")
    async with kit.LoopbackServer(sized) as server:
        await transport.send(REQUEST, f"{server.url}/fixed/3", Timeout())
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("GET /items -> 200 (3 bytes") for m in messages)


async def test_cancellation_passes_through_untouched(transport, kit) -> None:
    """Cancelling a send raises CancelledError (not a TransportError) and frees the connection."""
    release = asyncio.Event()

    async def blocked(_: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(text="late")

    async with kit.LoopbackServer(blocked) as server:
        task = asyncio.create_task(transport.send(REQUEST, f"{server.url}/x", Timeout()))
        await kit.until(lambda: server.in_flight == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
        assert acquired(transport) == 0
        release.set()


async def test_attempt_timeout_maps_to_request_timeout_error(transport, kit) -> None:
    """A response slower than Timeout.total raises RequestTimeoutError."""
    release = asyncio.Event()

    async def blocked(_: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(text="late")

    async with kit.LoopbackServer(blocked) as server:
        with pytest.raises(RequestTimeoutError, match="timeout") as caught:
            await transport.send(REQUEST, f"{server.url}/x", Timeout(total=0.05))
        release.set()
    assert caught.value.endpoint == "GET /items"
    assert isinstance(caught.value, TransportError)


async def test_connection_refused_is_a_transport_error(transport) -> None:
    """Nothing listening on the port gives TransportError naming the endpoint."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransportError, match="connection failed") as caught:
        await transport.send(REQUEST, f"http://127.0.0.1:{port}/x", Timeout())
    assert caught.value.endpoint == "GET /items"
    # Raised with no context at all: aiohttp's frames, which hold the revealed
    # credentials, are not kept alive by the error's chain.
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    ("raised", "expected", "fragment"),
    [
        (aiohttp.ClientPayloadError("cut"), TransportError, "cut short"),
        (aiohttp.ServerDisconnectedError(), TransportError, "connection failed"),
        (aiohttp.ClientConnectionError("refused"), TransportError, "connection failed"),
        (aiohttp.ClientOSError(104, "reset by peer"), TransportError, "reset by peer"),
        (ConnectionResetError("reset"), TransportError, "connection failed"),
        (aiohttp.ServerTimeoutError("read timeout"), RequestTimeoutError, "timeout"),
        (TimeoutError(), RequestTimeoutError, "timeout"),
    ],
)
async def test_aiohttp_failures_map_to_our_errors(transport, raised, expected, fragment) -> None:
    """Every aiohttp or socket failure becomes TransportError or RequestTimeoutError."""
    with aioresponses() as mocked:
        mocked.get("http://api.example.com/items", exception=raised)
        with pytest.raises(expected, match=fragment) as caught:
            await transport.send(REQUEST, "http://api.example.com/items", Timeout())
    assert type(caught.value) is expected
    assert caught.value.endpoint == "GET /items"


async def test_cancelled_error_from_aiohttp_is_not_wrapped(transport) -> None:
    """A CancelledError raised inside aiohttp propagates as CancelledError."""
    with aioresponses() as mocked:
        mocked.get("http://api.example.com/items", exception=asyncio.CancelledError())
        with pytest.raises(asyncio.CancelledError):
            await transport.send(REQUEST, "http://api.example.com/items", Timeout())


async def test_payload_errors_are_retried_by_the_client(kit) -> None:
    """ClientPayloadError and ServerDisconnectedError are retried, then surface with attempts."""
    async with Session(retry=RetryPolicy(max_attempts=3)) as session:
        client = kit.make_client(session, base_url="http://api.example.com")
        with aioresponses() as mocked:
            url = "http://api.example.com/items?count=1&offset=0"
            mocked.get(url, exception=aiohttp.ClientPayloadError("cut"))
            mocked.get(url, exception=aiohttp.ServerDisconnectedError())
            mocked.get(url, exception=aiohttp.ClientPayloadError("cut again"))
            with instant_retries(), pytest.raises(TransportError, match="cut again") as caught:
                await client.call(kit.items_request(0, 1), kit.decode_json)
        stats = session.statistics()
    assert caught.value.attempts == 3
    assert (stats.requests, stats.retries, stats.failures) == (3, 2, 1)


async def test_send_needs_an_open_transport() -> None:
    """Sending before open() or after aclose() raises RuntimeError."""
    transport = AiohttpTransport()
    with pytest.raises(RuntimeError, match="not open"):
        await transport.send(REQUEST, "http://127.0.0.1:1/x", Timeout())
    transport.open()
    await transport.aclose()
    await transport.aclose()  # idempotent
    with pytest.raises(RuntimeError, match="not open"):
        await transport.send(REQUEST, "http://127.0.0.1:1/x", Timeout())


async def test_many_errors_leave_no_connection_behind(transport, kit) -> None:
    """After a mix of errors, cut bodies and successes, no connection is held by a response."""
    cycle = [kit.truncated_body, kit.drop_connection, sized]

    async def handler(request: web.Request) -> web.StreamResponse:
        step = cycle[len(server.requests) % len(cycle)]
        if step is sized:
            return web.Response(body=b"y" * (LIMIT + 5))
        return await step(request)

    async with kit.LoopbackServer(handler) as server:
        for _ in range(9):
            with pytest.raises((TransportError, DecodeError)):
                await transport.send(REQUEST, f"{server.url}/x", Timeout())
        assert acquired(transport) == 0
