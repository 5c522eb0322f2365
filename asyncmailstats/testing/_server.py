"""The base of every fake provider server: a real aiohttp server on 127.0.0.1.

A :class:`FakeServer` listens on a random loopback port, records every request it
receives and can misbehave on purpose: a seeded :class:`FaultPlan` makes it answer
some requests with 429 or 5xx, drop the connection, cut a body short, stall, or send
something that is not JSON, and can enforce a concurrency ceiling or a request rate the
way a real provider would. Subclasses supply the endpoints through :meth:`routes` and
the provider's error format through :meth:`error_body`. The plan itself lives in
``_faults`` and is re-exported here.

Every request is counted, in total and per endpoint (:meth:`FakeServer.endpoint_of`),
even when the request log is turned off, so tests can bound the work a client does.
"""

from __future__ import annotations

import asyncio
import collections
import random
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Final, Self

import attrs
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from .._http import SECRET_HEADERS
from ._faults import DRAWN_FAULTS, FAULT_KINDS, FaultPlan

__all__ = [
    "DRAWN_FAULTS",
    "FAULT_KINDS",
    "NON_JSON_BODY",
    "FakeServer",
    "FaultPlan",
    "RecordedRequest",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATUS_OF: Final = {
    "rate_limit": 429,
    "rate_limit_no_header": 429,
    "server_error": 500,
    "bad_gateway": 502,
    "unavailable": 503,
}

#: The body of a ``non_json`` fault: what a proxy in front of an API tends to send.
NON_JSON_BODY: Final = b"<html><body><h1>oops</h1></body></html>"


def _redact(headers: Mapping[str, str]) -> str:
    return repr(
        {k: ("<redacted>" if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}
    )


@attrs.frozen
class RecordedRequest:
    """One request as a fake server received it."""

    method: str
    """The HTTP method."""
    path: str
    """The path as sent, still percent-encoded, without the query string."""
    query: tuple[tuple[str, str], ...]
    """The decoded query pairs, in order, repeated keys included."""
    headers: Mapping[str, str] = attrs.field(repr=_redact, hash=False)
    """The request headers (case-insensitive lookup); secrets are hidden in ``repr``."""
    body: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    """The request body."""

    def param(self, name: str) -> str | None:
        """Return the last value of query parameter *name*, or ``None``."""
        found = None
        for key, value in self.query:
            if key == name:
                found = value
        return found


class FakeServer:
    """A real HTTP server on 127.0.0.1 with latency, fault injection and a request log.

    Use it as an async context manager (or call :meth:`start` and :meth:`close`).
    Subclasses return their endpoints from :meth:`routes`, check their own
    authentication, and may override :meth:`error_body` to answer injected errors in
    their provider's format.

    Args:
        latency: Seconds every request waits before it is answered.
        faults: Misbehaviour to inject; ``None`` injects nothing.
    """

    #: Seconds a closing server grants requests it did not cancel itself.
    shutdown_timeout: float = 1.0

    def __init__(self, *, latency: float = 0.0, faults: FaultPlan | None = None) -> None:
        if isinstance(latency, bool) or not isinstance(latency, int | float):
            msg = f"latency must be a number, got {type(latency).__name__}"
            raise TypeError(msg)
        if latency < 0:
            msg = f"latency must not be negative, got {latency!r}"
            raise ValueError(msg)
        if faults is not None and not isinstance(faults, FaultPlan):
            msg = f"faults must be a FaultPlan or None, got {type(faults).__name__}"
            raise TypeError(msg)
        self.latency: float = float(latency)
        """Seconds every request waits before it is answered (may be changed at any time)."""
        self.requests: list[RecordedRequest] = []
        """Every request received, in arrival order (while ``record_requests`` is true)."""
        self.record_requests: bool = True
        """Whether to keep each request in :attr:`requests`; long benchmarks turn it off."""
        self.max_in_flight: int = 0
        """The most requests seen in flight at once."""
        self.faults_injected: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        """How many faults of each kind were injected."""
        self.request_count: int = 0
        """How many requests were received, whatever they were answered with."""
        self.requests_by_endpoint: collections.Counter[str] = collections.Counter()
        """How many requests each endpoint received, keyed by :meth:`endpoint_of`."""
        self.__faults = faults
        self.__rng = random.Random(faults.seed if faults else 0)
        self.__in_flight = 0
        self.__accepted: collections.deque[float] = collections.deque()
        self.__tasks: set[asyncio.Task[Any]] = set()
        self.__runner: web.AppRunner | None = None
        self.__url: str | None = None
        self.__state = "new"

    # -- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self, port: int = 0) -> None:
        """Start listening on 127.0.0.1, on *port* or (``0``) on a free port.

        Raises:
            RuntimeError: If the server was already started.
            OSError: If *port* cannot be listened on (in use, say).
        """
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            msg = f"port must be an int from 0 to 65535, got {port!r}"
            raise ValueError(msg)
        if self.__state != "new":
            msg = f"{type(self).__name__} can be started only once"
            raise RuntimeError(msg)
        self.__state = "starting"
        app = web.Application(middlewares=[self.__middleware])
        app.add_routes(self.routes())
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=self.shutdown_timeout
        )
        await runner.setup()
        self.__runner = runner
        try:
            site = web.TCPSite(runner, "127.0.0.1", port)
            await site.start()
            host, port = runner.addresses[0][:2]
        except BaseException:
            await self.close()
            raise
        self.__url = f"http://{host}:{port}"
        self.__state = "running"

    async def close(self) -> None:
        """Stop the server, cancelling requests still being served. Idempotent."""
        if self.__state == "closed":
            return
        self.__state = "closed"
        for task in list(self.__tasks):
            task.cancel()
        runner, self.__runner = self.__runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>`` (valid once started)."""
        if self.__url is None:
            msg = f"{type(self).__name__} is not started"
            raise RuntimeError(msg)
        return self.__url

    @property
    def running(self) -> bool:
        """Whether the server is accepting requests."""
        return self.__state == "running"

    @property
    def in_flight(self) -> int:
        """How many requests are being served right now."""
        return self.__in_flight

    @property
    def faults(self) -> FaultPlan | None:
        """The fault plan in force."""
        return self.__faults

    def set_faults(self, faults: FaultPlan | None) -> None:
        """Replace the fault plan; the draws restart from the new plan's seed."""
        if faults is not None and not isinstance(faults, FaultPlan):
            msg = f"faults must be a FaultPlan or None, got {type(faults).__name__}"
            raise TypeError(msg)
        self.__faults = faults
        self.__rng = random.Random(faults.seed if faults else 0)
        self.__accepted.clear()

    def reset_stats(self) -> None:
        """Forget recorded requests, the request counts, the in-flight maximum and faults."""
        self.requests.clear()
        self.request_count = 0
        self.requests_by_endpoint.clear()
        self.max_in_flight = self.__in_flight
        self.faults_injected = dict.fromkeys(FAULT_KINDS, 0)

    def __repr__(self) -> str:
        where = self.__url or "not started"
        return f"<{type(self).__name__} {where} {self.__state}>"

    # -- what subclasses provide -----------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """Return the endpoints this server serves."""
        return []

    def endpoint_of(self, request: web.Request) -> str:
        """Return the key *request* is counted under in :attr:`requests_by_endpoint`.

        By default the path of the route that matched (its template when it has
        variables), or the raw path when none did; servers that route every path through
        one handler override it to name their endpoints.
        """
        resource = request.match_info.route.resource
        return request.rel_url.raw_path if resource is None else resource.canonical

    def error_body(self, status: int) -> tuple[bytes, str]:
        """Return the body and content type of an injected error with *status*."""
        if status == 502:
            return b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"
        return (
            b'{"error": "injected fault", "status": %d}' % status,
            "application/json",
        )

    # -- the request path ------------------------------------------------------------

    @web.middleware
    async def __middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        self.request_count += 1
        self.requests_by_endpoint[self.endpoint_of(request)] += 1
        if self.record_requests:
            self.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.rel_url.raw_path,
                    query=tuple(request.query.items()),
                    headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                    body=body,
                )
            )
        if self.__state != "running":
            raise web.HTTPServiceUnavailable
        task = asyncio.current_task()
        if task is not None:
            self.__tasks.add(task)
        self.__in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.__in_flight)
        try:
            return await self.__serve(request, handler)
        finally:
            self.__in_flight -= 1
            if task is not None:
                self.__tasks.discard(task)

    async def __serve(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        plan = self.__faults
        kind = None
        if plan is not None:
            kind = plan.draw(self.__rng)
            limited = self.__over_limit(plan)
            if limited is not None:
                kind = limited
        if self.latency:
            await asyncio.sleep(self.latency)
        if kind is None:
            return await handler(request)
        assert plan is not None  # noqa: S101 - a kind is only drawn from a plan
        self.faults_injected[kind] += 1
        if kind in _STATUS_OF:
            delay = f"{plan.retry_after:.3f}".rstrip("0").rstrip(".")
            headers = {"Retry-After": delay} if kind == "rate_limit" else {}
            return self.__error(_STATUS_OF[kind], headers)
        if kind in {"max_concurrency", "max_rate"}:
            return self.__error(429, {})
        if kind == "reset":
            return await self.__reset(request)
        if kind == "truncate":
            return await self.__truncate(request, await self.__answer(request, handler))
        if kind == "stall":
            await asyncio.sleep(plan.stall_seconds)
            return await handler(request)
        return web.Response(body=NON_JSON_BODY, content_type="text/html")

    def __over_limit(self, plan: FaultPlan) -> str | None:
        if plan.max_concurrency is not None and self.__in_flight > plan.max_concurrency:
            return "max_concurrency"
        if plan.max_rate is not None:
            now = asyncio.get_running_loop().time()
            while self.__accepted and self.__accepted[0] <= now - 1.0:
                self.__accepted.popleft()
            if len(self.__accepted) >= plan.max_rate:
                return "max_rate"
            self.__accepted.append(now)
        return None

    def __error(self, status: int, headers: Mapping[str, str]) -> web.Response:
        body, content_type = self.error_body(status)
        return web.Response(
            status=status, body=body, content_type=content_type, headers=dict(headers)
        )

    @staticmethod
    async def __answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            return exc

    @staticmethod
    async def __reset(request: web.Request) -> web.StreamResponse:
        transport = request.transport
        if transport is not None:
            transport.close()
        # Nothing reaches the client: the connection is gone. aiohttp notices the closed
        # transport when it tries to write this response and drops it quietly.
        return web.Response(status=500)

    @staticmethod
    async def __truncate(request: web.Request, answer: web.StreamResponse) -> web.StreamResponse:
        full = answer.body if isinstance(answer, web.Response) else None
        data = bytes(full) if isinstance(full, bytes | bytearray) else b""
        response = web.StreamResponse(status=answer.status)
        response.content_type = answer.content_type
        response.content_length = max(len(data), 1)
        await response.prepare(request)
        await response.write(data[: len(data) // 2])
        transport = request.transport
        if transport is not None:
            transport.close()
        return response
