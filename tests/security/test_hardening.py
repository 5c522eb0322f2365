"""Hardening of the request path: credentials kept out of frame locals, header names and
credentials checked at the factory, a read timeout that holds without a total, and
GetResponse's refused key told by its message.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import types
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, cast

import attrs
import pytest
from aiohttp import web

from asyncmailstats import (
    AuthenticationError,
    MailStatsError,
    RetryPolicy,
    Session,
    Timeout,
)
from asyncmailstats._http import Request, Response
from asyncmailstats._transport import AiohttpTransport
from asyncmailstats.exceptions import RequestTimeoutError
from asyncmailstats.getresponse import _jsonrpc as rpc
from asyncmailstats.testing import instant_retries

TOKEN = "tok-4f1d9a7c-2be0-4c55-9e1a-7d3b6c0f8e21"


@contextlib.asynccontextmanager
async def serve(handler: Any) -> AsyncIterator[str]:
    """Serve *handler* on 127.0.0.1 for every path and method; yield the base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------- frame locals


def children(value: object) -> list[object]:
    """The values one level inside *value*: items, attrs fields, attributes, slots."""
    if isinstance(value, str | bytes | bytearray | int | float | types.ModuleType | type):
        return []
    if isinstance(value, Mapping):
        return [*value.keys(), *value.values()]
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    found: list[object] = []
    if attrs.has(type(value)):
        found += [getattr(value, f.name, None) for f in attrs.fields(cast("Any", type(value)))]
    with contextlib.suppress(TypeError):
        found += list(vars(value).values())
    for cls in type(value).__mro__:
        for name in getattr(cls, "__slots__", ()):
            found.append(getattr(value, name, None))
    return found


def walk(value: object, depth: int, seen: set[int]) -> Iterator[object]:
    yield value
    if depth == 0 or id(value) in seen:
        return
    seen.add(id(value))
    for child in children(value):
        yield from walk(child, depth - 1, seen)


def holds_token(value: object) -> bool:
    if isinstance(value, str):
        return TOKEN in value
    if isinstance(value, bytes | bytearray):
        return TOKEN.encode() in value
    try:
        return TOKEN in repr(value)
    except Exception:
        return False


def leaking_locals(error: BaseException) -> list[str]:
    """Name every frame local (up to three levels in) of *error*'s traceback showing TOKEN."""
    found: list[str] = []
    errors: list[BaseException | None] = [error]
    while errors:
        current = errors.pop()
        if current is None:
            continue
        errors += [current.__cause__, current.__context__]
        tb = current.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            for name, value in frame.f_locals.items():
                if any(holds_token(v) for v in walk(value, 3, set())):
                    found.append(f"{frame.f_code.co_qualname}: {name}")
            tb = tb.tb_next
    return found


def connect(provider: str, session: Session, url: str) -> Any:
    if provider == "postmark":
        return session.postmark(server_token=TOKEN, base_url=url).sent_counts
    if provider == "getresponse":
        # The key travels in the body of every call, here and in a batch.
        return session.getresponse(api_key=TOKEN, base_url=url).messages
    ec = session.emailconsul(api_key=TOKEN, base_url=url)
    return ec.pixel_timeseries


async def fail_with(provider: str, url: str) -> MailStatsError:
    import datetime as dt  # noqa: PLC0415

    now = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    async with Session(retry=RetryPolicy(max_attempts=1)) as session:
        call = connect(provider, session, url)
        with pytest.raises(MailStatsError) as info:
            if provider != "emailconsul":
                await call()
            else:
                await call(period_from=now - dt.timedelta(days=1), period_to=now)
    return info.value


@pytest.mark.parametrize("provider", ["postmark", "emailconsul", "getresponse"])
async def test_no_frame_local_holds_the_token_after_a_server_error(provider: str) -> None:
    """After an HTTP 500 no local of any frame in the traceback holds the token."""

    async def handler(_: web.Request) -> web.Response:
        return web.json_response({"Message": "boom"}, status=500)

    async with serve(handler) as url:
        error = await fail_with(provider, url)
    assert leaking_locals(error) == []


@pytest.mark.parametrize("provider", ["postmark", "emailconsul", "getresponse"])
async def test_no_frame_local_holds_the_token_after_a_refused_connection(provider: str) -> None:
    """After a refused connection no local of any frame in the traceback holds the token."""
    error = await fail_with(provider, f"http://127.0.0.1:{free_port()}")
    assert leaking_locals(error) == []


def test_a_secret_shows_redacted_and_still_compares_equal() -> None:
    """A Secret's repr and str are redacted; it equals its plain text, hides it otherwise."""
    from asyncmailstats._http import Secret  # noqa: PLC0415

    secret = Secret(TOKEN)
    assert repr(secret) == str(secret) == "<redacted>"
    assert secret == TOKEN
    assert secret != TOKEN + "x"
    assert secret.reveal() == TOKEN
    assert not any(holds_token(v) for v in walk(secret, 3, set()))


# --------------------------------------------------------------------------- factory checks

BAD_HEADER_NAMES = [
    "Host",
    "host",
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "Accept",
    "ACCEPT",
    "Content-Type",
    "User-Agent",
    "Accept-Encoding",
    "Keep-Alive",
    "TE",
    "Trailer",
    "Upgrade",
    "Proxy-Authorization",
    "proxy-connection",
    "Bad Header",
    "X:Y",
    "X-Key\r\nX-Evil",
    "X-Kéy",
    "",
]


@pytest.mark.parametrize("name", BAD_HEADER_NAMES)
def test_the_auth_header_must_be_a_plain_token_not_a_reserved_header(name: str) -> None:
    """auth_header= refuses non-tokens and hop-by-hop or framing headers with ValueError."""
    session = Session()
    with pytest.raises(ValueError, match="auth_header"):
        session.emailconsul(api_key="k", auth_header=name)


@pytest.mark.parametrize(
    "name", ["X-API-Key", "Authorization", "x-consul-key", "X_Key!#$%&'*+.^`|~"]
)
def test_a_token_auth_header_is_accepted(name: str) -> None:
    """Any RFC 9110 token that is not reserved is a valid auth_header."""
    assert Session().emailconsul(api_key="k", auth_header=name) is not None


CONTROLS = [chr(c) for c in [*range(0x20), 0x7F]]


@pytest.mark.parametrize("control", CONTROLS, ids=[f"0x{ord(c):02x}" for c in CONTROLS])
@pytest.mark.parametrize(
    ("factory", "option"),
    [("postmark", "server_token"), ("emailconsul", "api_key"), ("getresponse", "api_key")],
)
def test_every_control_character_in_a_credential_is_refused(
    factory: str, option: str, control: str
) -> None:
    """A credential holding any of \\x00-\\x1f or \\x7f is a ValueError not naming it."""
    secret = f"{TOKEN}{control}tail"
    with pytest.raises(ValueError, match=option) as info:
        getattr(Session(), factory)(**{option: secret})
    assert TOKEN not in str(info.value)
    assert "tail" not in str(info.value)


# --------------------------------------------------------------------------- read timeout


def test_a_read_timeout_holds_even_without_a_total() -> None:
    """Timeout(total=None) keeps a finite read timeout; read=None alone disables it."""
    transport = AiohttpTransport()
    assert Timeout(total=None).read == 60.0
    assert transport._client_timeout(Timeout(total=None)).sock_read == 60.0
    assert transport._client_timeout(Timeout(total=None, read=None)).sock_read is None


async def test_a_server_dripping_its_body_hits_the_read_timeout() -> None:
    """Headers then one byte per 0.5 s, with total=None and read=0.2: RequestTimeoutError."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "100"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            for _ in range(100):
                await response.write(b"x")
                await asyncio.sleep(0.5)
        return response

    async with serve(handler) as url:
        transport = AiohttpTransport()
        transport.open()
        try:
            async with asyncio.timeout(10):
                with pytest.raises(RequestTimeoutError):
                    await transport.send(
                        Request("GET", "/slow", endpoint="GET /slow"),
                        url + "/slow",
                        Timeout(total=None, read=0.2),
                    )
        finally:
            await transport.aclose()


# --------------------------------------------------------------------------- GetResponse


@pytest.mark.parametrize("status", [200, 401, 403, 500])
def test_getresponse_key_failure_is_an_authentication_error_whatever_the_status(
    status: int,
) -> None:
    """The message "API key verification failed" is an AuthenticationError, 403 included."""
    body = b'{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"API key verification failed"}}'
    with pytest.raises(AuthenticationError):
        rpc.decode_reply(Response(status, {}, body), call_id=1, endpoint="POST x")


async def test_getresponse_403_key_failure_is_not_retried_as_a_permission_error(
    make_transport: Any,
) -> None:
    """Through a session a 403 "API key verification failed" is an AuthenticationError."""
    body = b'{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"API key verification failed"}}'
    transport = make_transport(lambda _: Response(403, {"content-type": "application/json"}, body))
    with instant_retries():
        async with Session(transport=transport) as session:
            gr = session.getresponse(api_key=TOKEN, base_url="http://127.0.0.1:9")
            with pytest.raises(AuthenticationError):
                await gr.messages()
    assert len(transport.sent) == 1
