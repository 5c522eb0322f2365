"""Helpers for the core tests: a generic decoder, a paged endpoint, a loopback server."""

from __future__ import annotations

import asyncio
import time
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Self

import pytest
from aiohttp import web

from asyncmailstats import Session
from asyncmailstats._client import ProviderClient
from asyncmailstats._convert import loads
from asyncmailstats._http import Request, Response
from asyncmailstats._retry import parse_retry_after
from asyncmailstats.exceptions import (
    APIError,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)

#: The endpoint label of the generic test endpoint.
ENDPOINT = "GET /items"
#: The secret every test client is created with.
SECRET = "s3cret-t0ken"
#: The header that carries it.
SECRET_HEADER = "X-Test-Token"

_ERRORS: dict[int, type[APIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: InvalidRequestError,
}


def decode_json(response: Response) -> Any:
    """Decode a generic JSON API reply: the body on success, an APIError otherwise.

    The error message is the body text itself, so a server echoing a secret puts it in
    the error, the way a careless provider would.
    """
    status = response.status
    if status < 400:
        return loads(response.body, endpoint=ENDPOINT)
    text = response.body.decode("utf-8", "replace")
    common: dict[str, Any] = {
        "provider": "test",
        "status": status,
        "body": response.body,
        "endpoint": ENDPOINT,
    }
    if status == 429:
        retry_after = parse_retry_after(response.header("retry-after"))
        raise RateLimitError(text, retry_after=retry_after, **common)
    cls = _ERRORS.get(status) or (ServerError if status >= 500 else APIError)
    raise cls(text, **common)


def make_client(session: Session, **options: Any) -> ProviderClient:
    """Create the generic test client on *session*, with the test secret in a header."""
    options.setdefault("limits", None)
    options.setdefault("retry", None)
    options.setdefault("base_url", "http://127.0.0.1:1")
    return session._client(
        options.pop("provider", "test"),
        headers={SECRET_HEADER: SECRET, "Accept": "application/json"},
        secrets=(SECRET,),
        **options,
    )


def items_request(offset: int, count: int) -> Request:
    """Return the request for one page of the generic endpoint."""
    return Request(
        "GET", "/items", params=(("offset", str(offset)), ("count", str(count))), endpoint=ENDPOINT
    )


class ItemsEndpoint:
    """A paged in-memory endpoint: ``GET /items?offset=&count=`` over ``range(total)``.

    ``faults`` maps an offset to responses served (once each, in order) before the page.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.faults: dict[int, list[Response]] = {}

    def __call__(self, request: Request) -> Response:
        params = dict(request.params)
        offset, count = int(params["offset"]), int(params["count"])
        queued = self.faults.get(offset)
        if queued:
            return queued.pop(0)
        items = list(range(offset, min(offset + count, self.total)))
        return Response(
            200,
            {"content-type": "application/json"},
            f'{{"total": {self.total}, "items": {items}}}'.encode(),
        )


def items_fetch(
    client: ProviderClient,
) -> Callable[[int, int], Awaitable[tuple[Sequence[int], int]]]:
    """Return a pager ``fetch`` that reads the generic endpoint through *client*."""

    def decode(response: Response) -> tuple[Sequence[int], int]:
        data = decode_json(response)
        return data["items"], data["total"]

    async def fetch(offset: int, count: int) -> tuple[Sequence[int], int]:
        return await client.call(items_request(offset, count), decode)

    return fetch


async def until(predicate: Callable[[], bool], *, seconds: float = 5.0) -> None:
    """Let the loop run until *predicate* holds; fail after *seconds*."""
    deadline = time.monotonic() + seconds
    turns = 0
    while not predicate():
        if time.monotonic() > deadline:
            msg = "condition never became true"
            raise AssertionError(msg)
        turns += 1
        # Plain turns first (cheap and enough for in-memory work), then short waits for I/O.
        await asyncio.sleep(0 if turns < 200 else 0.001)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LoopbackServer:
    """A real aiohttp server on 127.0.0.1 (random port) that records what it serves.

    Args:
        handler: Answers every request, whatever its path.
        keepalive: ``False`` closes the connection after each response, so that every
            request arrives on a fresh connection.
    """

    def __init__(self, handler: Handler, *, keepalive: bool = True) -> None:
        self.handler = handler
        self.keepalive = keepalive
        self.in_flight = 0
        self.max_in_flight = 0
        self.served = 0
        self.requests: list[web.Request] = []
        self._runner: web.AppRunner | None = None
        self._url = ""

    @property
    def url(self) -> str:
        return self._url

    async def __aenter__(self) -> Self:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_route("*", "/{tail:.*}", self.handler)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        self._url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = await handler(request)
            if not self.keepalive:
                response.force_close()
            return response
        finally:
            self.in_flight -= 1
            self.served += 1


async def drop_connection(request: web.Request) -> web.StreamResponse:
    """Close the connection without answering."""
    assert request.transport is not None
    request.transport.close()
    return web.Response(status=500)


async def truncated_body(request: web.Request) -> web.StreamResponse:
    """Announce a 100-byte JSON body, send 10 bytes of it, and close the connection."""
    response = web.StreamResponse(status=200)
    response.content_type = "application/json"
    response.content_length = 100
    await response.prepare(request)
    await response.write(b'{"total": ')
    assert request.transport is not None
    request.transport.close()
    return response


@pytest.fixture
def kit() -> types.SimpleNamespace:
    """Expose this module's helpers to the tests (conftest modules are not importable)."""
    return types.SimpleNamespace(
        ENDPOINT=ENDPOINT,
        SECRET=SECRET,
        SECRET_HEADER=SECRET_HEADER,
        ItemsEndpoint=ItemsEndpoint,
        LoopbackServer=LoopbackServer,
        decode_json=decode_json,
        drop_connection=drop_connection,
        items_fetch=items_fetch,
        items_request=items_request,
        make_client=make_client,
        truncated_body=truncated_body,
        until=until,
    )


@pytest.fixture
async def session(memory_transport: Any) -> AsyncIterator[Session]:
    """Yield an open session whose transport is the test's in-memory transport."""
    async with Session(transport=memory_transport) as opened:
        yield opened
