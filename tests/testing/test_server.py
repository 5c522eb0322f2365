"""FakeServer: the request log, latency, every fault kind, limits and a clean shutdown."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web

from asyncmailstats.testing import FaultPlan, RecordedRequest
from asyncmailstats.testing._server import FAULT_KINDS, FakeServer

OK_BODY = {"ok": True, "padding": "x" * 200}


class EchoServer(FakeServer):
    """A fake with one JSON endpoint and one endpoint that blocks until released."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.release = asyncio.Event()

    def routes(self) -> list[web.RouteDef]:
        async def ok(_: web.Request) -> web.Response:
            return web.json_response(OK_BODY)

        async def blocked(_: web.Request) -> web.Response:
            await self.release.wait()
            return web.json_response(OK_BODY)

        return [web.get("/ok", ok), web.post("/ok", ok), web.get("/blocked", blocked)]


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def until(predicate: Callable[[], bool]) -> None:
    """Yield to the loop until *predicate* holds (at most five seconds)."""
    for _ in range(5000):
        if predicate():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never became true")


async def status_of(client: aiohttp.ClientSession, url: str) -> int:
    async with client.get(url) as response:
        await response.read()
        return response.status


# -- FaultPlan ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_probability_out_of_range_is_rejected(value: float) -> None:
    """A probability outside [0, 1] raises ValueError."""
    with pytest.raises(ValueError, match="server_error"):
        FaultPlan(server_error=value)


def test_probabilities_adding_up_past_one_are_rejected() -> None:
    """The drawn kinds together cannot exceed certainty."""
    with pytest.raises(ValueError, match="add up"):
        FaultPlan(reset=0.6, truncate=0.6)


def test_non_numbers_are_rejected() -> None:
    """Booleans and strings are not probabilities, and limits must be positive."""
    with pytest.raises(TypeError):
        FaultPlan(reset=True)
    with pytest.raises(TypeError):
        FaultPlan(stall_seconds="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        FaultPlan(max_concurrency=0)


def test_draws_are_reproducible_and_follow_the_rates() -> None:
    """The same seed gives the same kinds, and each kind appears at roughly its rate."""
    plan = FaultPlan(server_error=0.2, reset=0.1)
    first = [plan.draw(random.Random(3)) for _ in range(1)]
    rng_a, rng_b = random.Random(3), random.Random(3)
    seq_a = [plan.draw(rng_a) for _ in range(5000)]
    seq_b = [plan.draw(rng_b) for _ in range(5000)]
    assert seq_a == seq_b
    assert first == seq_a[:1]
    counts = Counter(seq_a)
    assert set(counts) == {None, "server_error", "reset"}
    assert 850 < counts["server_error"] < 1150
    assert 400 < counts["reset"] < 600


# -- lifecycle and the request log ---------------------------------------------------------


async def test_url_and_lifecycle() -> None:
    """The URL is loopback with a real port once started; start twice fails; close twice is fine."""
    server = EchoServer()
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.url
    async with server:
        assert server.url.startswith("http://127.0.0.1:")
        assert int(server.url.rsplit(":", 1)[1]) > 0
        assert server.running
        with pytest.raises(RuntimeError, match="only once"):
            await server.start()
    assert not server.running
    await server.close()


async def test_requests_are_recorded(client: aiohttp.ClientSession) -> None:
    """Method, raw path, query pairs, headers and body of each request are kept in order."""
    async with EchoServer() as server:
        async with client.post(
            server.url + "/ok",
            params=[("a", "1"), ("a", "2"), ("b", "x y")],
            headers={"X-Postmark-Server-Token": "sekrit-token"},
            data=b"payload",
        ) as response:
            assert response.status == 200
        assert await status_of(client, server.url + "/nowhere") == 404
    first, second = server.requests
    assert isinstance(first, RecordedRequest)
    assert first.method == "POST"
    assert first.path == "/ok"
    assert first.query == (("a", "1"), ("a", "2"), ("b", "x y"))
    assert first.param("a") == "2"
    assert first.param("missing") is None
    assert first.headers["x-postmark-server-token"] == "sekrit-token"
    assert first.body == b"payload"
    assert "sekrit-token" not in repr(first)
    assert second.method == "GET"
    assert second.path == "/nowhere"


async def test_recording_can_be_turned_off(client: aiohttp.ClientSession) -> None:
    """With record_requests off nothing is kept, but in-flight counting goes on."""
    async with EchoServer() as server:
        server.record_requests = False
        assert await status_of(client, server.url + "/ok") == 200
        assert server.requests == []
        assert server.max_in_flight == 1


async def test_no_plan_injects_nothing(client: aiohttp.ClientSession) -> None:
    """Without a FaultPlan every request reaches the handler."""
    async with EchoServer() as server:
        statuses = [await status_of(client, server.url + "/ok") for _ in range(20)]
    assert statuses == [200] * 20
    assert server.faults_injected == dict.fromkeys(FAULT_KINDS, 0)


async def test_latency_is_applied(client: aiohttp.ClientSession) -> None:
    """Every answer waits at least `latency` seconds."""
    async with EchoServer(latency=0.15) as server:
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await status_of(client, server.url + "/ok") == 200
        assert loop.time() - started >= 0.15


# -- each fault kind, seen by a plain client ----------------------------------------------


@pytest.mark.parametrize(("seconds", "header"), [(0.0, "0"), (2.5, "2.5"), (120.0, "120")])
async def test_retry_after_is_plain_seconds(
    client: aiohttp.ClientSession, seconds: float, header: str
) -> None:
    """Retry-After is written as plain decimal seconds, never in exponent notation."""
    server = EchoServer(faults=FaultPlan(rate_limit=1.0, retry_after=seconds))
    async with server, client.get(server.url + "/ok") as response:
        assert response.headers["Retry-After"] == header


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("rate_limit", 429),
        ("rate_limit_no_header", 429),
        ("server_error", 500),
        ("bad_gateway", 502),
        ("unavailable", 503),
    ],
)
async def test_status_faults(client: aiohttp.ClientSession, kind: str, status: int) -> None:
    """A status fault answers with its status; only `rate_limit` carries Retry-After."""
    plan = FaultPlan(**{kind: 1.0}, retry_after=2.5)  # type: ignore[arg-type]
    async with EchoServer(faults=plan) as server:
        for _ in range(3):
            async with client.get(server.url + "/ok") as response:
                assert response.status == status
                if kind == "rate_limit":
                    assert response.headers["Retry-After"] == "2.5"
                else:
                    assert "Retry-After" not in response.headers
    assert server.faults_injected[kind] == 3
    assert sum(server.faults_injected.values()) == 3


async def test_status_fault_rates_are_reproducible(client: aiohttp.ClientSession) -> None:
    """Two servers with the same plan answer the same request sequence identically."""
    plan = FaultPlan(server_error=0.3, unavailable=0.2, seed=11)
    runs = []
    for _ in range(2):
        async with EchoServer(faults=plan) as server:
            runs.append([await status_of(client, server.url + "/ok") for _ in range(40)])
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 500, 503}


async def test_reset_drops_the_connection(
    client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A reset closes the connection without an answer and logs no server-side error."""
    caplog.set_level(logging.DEBUG)
    async with EchoServer(faults=FaultPlan(reset=1.0)) as server:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with client.post(server.url + "/ok") as response:
                await response.read()
    assert server.faults_injected["reset"] == len(server.requests) >= 1
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_truncate_cuts_the_body(
    client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A truncated answer promises more bytes than it sends: the client gets a payload error."""
    caplog.set_level(logging.DEBUG)
    server = EchoServer(faults=FaultPlan(truncate=1.0))
    async with server, client.get(server.url + "/ok") as response:
        assert response.status == 200
        assert int(response.headers["Content-Length"]) == len(json.dumps(OK_BODY))
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    assert server.faults_injected["truncate"] == 1
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_non_json_answers_html(client: aiohttp.ClientSession) -> None:
    """A non_json fault is a 200 whose body does not parse as JSON."""
    server = EchoServer(faults=FaultPlan(non_json=1.0))
    async with server, client.get(server.url + "/ok") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        body = await response.read()
    with pytest.raises(ValueError):
        json.loads(body)


async def test_stall_answers_late_but_normally(client: aiohttp.ClientSession) -> None:
    """A stalled request waits `stall_seconds`, then gets the real answer."""
    plan = FaultPlan(stall=1.0, stall_seconds=0.2)
    async with EchoServer(faults=plan) as server:
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with client.get(server.url + "/ok") as response:
            assert await response.json() == OK_BODY
        assert loop.time() - started >= 0.2
    assert server.faults_injected["stall"] == 1


async def test_error_body_hook_shapes_injected_errors(client: aiohttp.ClientSession) -> None:
    """Subclasses choose the body and content type of injected errors."""

    class Custom(EchoServer):
        def error_body(self, status: int) -> tuple[bytes, str]:
            return b'{"ErrorCode": %d}' % status, "application/json"

    server = Custom(faults=FaultPlan(unavailable=1.0))
    async with server, client.get(server.url + "/ok") as response:
        assert response.status == 503
        assert await response.json() == {"ErrorCode": 503}


async def test_default_error_bodies(client: aiohttp.ClientSession) -> None:
    """By default a 502 looks like a gateway's HTML page and other errors are JSON."""
    async with EchoServer(faults=FaultPlan(bad_gateway=1.0)) as server:
        async with client.get(server.url + "/ok") as response:
            assert response.content_type == "text/html"
        server.set_faults(FaultPlan(server_error=1.0))
        async with client.get(server.url + "/ok") as response:
            assert (await response.json())["status"] == 500


# -- limits ---------------------------------------------------------------------------------


async def test_max_concurrency_answers_429_above_the_ceiling(
    client: aiohttp.ClientSession,
) -> None:
    """With 3 requests held in flight, every further request gets 429 until they finish."""
    async with EchoServer(faults=FaultPlan(max_concurrency=3)) as server:
        held = [asyncio.create_task(status_of(client, server.url + "/blocked")) for _ in range(3)]
        await until(lambda: server.in_flight >= 3)
        rejected = [await status_of(client, server.url + "/ok") for _ in range(4)]
        server.release.set()
        assert await asyncio.gather(*held) == [200, 200, 200]
        assert await status_of(client, server.url + "/ok") == 200
    assert rejected == [429] * 4
    assert server.faults_injected["max_concurrency"] == 4
    assert server.max_in_flight == 4


async def test_max_rate_answers_429_above_the_rate(client: aiohttp.ClientSession) -> None:
    """Within one second only `max_rate` requests are accepted."""
    async with EchoServer(faults=FaultPlan(max_rate=5)) as server:
        loop = asyncio.get_running_loop()
        started = loop.time()
        statuses = [await status_of(client, server.url + "/ok") for _ in range(8)]
        elapsed = loop.time() - started
    assert elapsed < 1.0, "the requests must all fall in one window for this test"
    assert statuses == [200] * 5 + [429] * 3
    assert server.faults_injected["max_rate"] == 3


async def test_max_in_flight_and_reset_stats(client: aiohttp.ClientSession) -> None:
    """The in-flight maximum is measured, and reset_stats clears the log and counters."""
    async with EchoServer() as server:
        held = [asyncio.create_task(status_of(client, server.url + "/blocked")) for _ in range(5)]
        await until(lambda: server.in_flight >= 5)
        server.release.set()
        assert await asyncio.gather(*held) == [200] * 5
        assert server.max_in_flight == 5
        server.set_faults(FaultPlan(server_error=1.0))
        assert await status_of(client, server.url + "/ok") == 500
        assert server.faults_injected["server_error"] == 1
        server.reset_stats()
        assert server.requests == []
        assert server.max_in_flight == 0
        assert server.faults_injected == dict.fromkeys(FAULT_KINDS, 0)


# -- shutdown -------------------------------------------------------------------------------


async def test_close_cancels_stalled_requests_promptly(client: aiohttp.ClientSession) -> None:
    """Closing with a request stalled for a minute returns at once; the client sees a drop."""
    server = EchoServer(faults=FaultPlan(stall=1.0, stall_seconds=60.0))
    await server.start()
    pending = asyncio.create_task(status_of(client, server.url + "/ok"))
    await until(lambda: server.in_flight >= 1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await server.close()
    assert loop.time() - started < 0.5
    with pytest.raises(aiohttp.ClientConnectionError):
        await pending
    assert server.in_flight == 0
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []


async def test_close_with_a_request_blocked_in_a_handler(client: aiohttp.ClientSession) -> None:
    """A handler that never finishes is cancelled by close()."""
    server = EchoServer()
    await server.start()
    pending = asyncio.create_task(status_of(client, server.url + "/blocked"))
    await until(lambda: server.in_flight >= 1)
    await server.close()
    with pytest.raises(aiohttp.ClientConnectionError):
        await pending
    assert server.in_flight == 0
