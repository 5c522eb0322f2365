"""Huge, compressed and deeply nested response bodies are refused with a DecodeError.

A tiny loopback server streams the same 1 MiB chunk a hundred times (never holding
100 MB), with and without ``Content-Length``, or a gzip stream that inflates to 100 MB,
or JSON nested 100 000 levels deep. Every provider must refuse each with a
:class:`DecodeError` after one request, without holding the whole body in memory (peak
allocation is measured with :mod:`tracemalloc`) and without a ``RecursionError``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import subprocess
import sys
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import pytest
from aiohttp import web

from asyncmailstats import APIError, DecodeError, Session
from asyncmailstats._http import Response
from asyncmailstats.emailconsul import _wire as ec
from asyncmailstats.getresponse import _jsonrpc as rpc
from asyncmailstats.getresponse import _wire as gr
from asyncmailstats.getresponse.models import Grouping
from asyncmailstats.postmark import _wire as pm
from asyncmailstats.postmark.models import OutboundOverview

MIB: Final = 1024 * 1024
CHUNK: Final = b" " * MIB
TOTAL: Final = 100 * MIB
DEPTH: Final = 100_000
TOKEN: Final = "0f8fad5b-d9cb-469f-a165-70867728950e"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[str]:
    """Serve *handler* for every path and method on 127.0.0.1; yield the base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


class Streamer:
    """Streams *chunks* (an iterable of bytes) as one response and counts what got out."""

    def __init__(self, chunks: Callable[[], Any], headers: dict[str, str]) -> None:
        self.chunks = chunks
        self.headers = headers
        self.sent = 0
        self.requests = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        await request.read()
        response = web.StreamResponse(status=200, headers=self.headers)
        if "Content-Length" not in self.headers:
            response.enable_chunked_encoding()
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            for chunk in self.chunks():
                await response.write(chunk)
                self.sent += len(chunk)
        return response


def spaces() -> Any:
    return (CHUNK for _ in range(TOTAL // MIB))


@functools.cache
def gzip_bomb() -> bytes:
    """A gzip stream of 100 MiB of spaces, about 100 KB long."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(CHUNK) for _ in range(TOTAL // MIB)]
    parts.append(packer.flush())
    return b"".join(parts)


def split(data: bytes, size: int = 64 * 1024) -> Any:
    return (data[i : i + size] for i in range(0, len(data), size))


async def one_call(provider: str, session: Session, url: str) -> Any:
    if provider == "postmark":
        return await session.postmark(server_token=TOKEN, base_url=url).message_details("m")
    if provider == "emailconsul":
        end = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
        api = session.emailconsul(api_key=TOKEN, base_url=url)
        return await api.link_timeseries(period_from=end - dt.timedelta(days=1), period_to=end)
    return await session.getresponse(api_key=TOKEN, base_url=url).message_stats("m")


PROVIDERS = ["postmark", "emailconsul", "getresponse"]


async def refused(provider: str, streamer: Streamer, **options: Any) -> tuple[DecodeError, int]:
    """Call the provider against *streamer*; return the DecodeError and the peak allocation."""
    async with serve(streamer.handle) as url, Session(**options) as session:
        tracemalloc.start()
        try:
            with pytest.raises(DecodeError) as info:
                await one_call(provider, session, url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert session.statistics().retries == 0
    assert streamer.requests == 1
    return info.value, peak


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_100_mb_with_content_length_is_refused_unread(provider: str) -> None:
    """A 100 MB Content-Length is refused from the header: little is read or held."""
    streamer = Streamer(spaces, {"Content-Type": "application/json", "Content-Length": str(TOTAL)})
    error, peak = await refused(provider, streamer)
    assert "larger than" in str(error)
    assert streamer.sent < TOTAL // 2
    assert peak < 16 * MIB


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_100_mb_chunked_is_refused_at_the_limit(provider: str) -> None:
    """A 100 MB chunked body is cut off at max_body_size, never held whole."""
    streamer = Streamer(spaces, {"Content-Type": "application/json"})
    error, peak = await refused(provider, streamer, max_body_size=4 * MIB)
    assert "larger than" in str(error)
    assert streamer.sent < TOTAL // 2
    assert peak < 16 * MIB


async def test_100_mb_chunked_is_refused_with_the_default_limit() -> None:
    """With the default limit (64 MiB) a 100 MB body still fails cleanly, below 100 MB held."""
    streamer = Streamer(spaces, {"Content-Type": "application/json"})
    error, peak = await refused("postmark", streamer)
    assert "larger than" in str(error)
    assert peak < 90 * MIB


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_gzip_bomb_without_content_length_is_refused(provider: str) -> None:
    """A chunked gzip body inflating to 100 MiB is cut off at max_body_size."""
    streamer = Streamer(
        lambda: split(gzip_bomb()),
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    error, peak = await refused(provider, streamer, max_body_size=MIB)
    assert "larger than" in str(error)
    assert peak < 16 * MIB


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_gzip_bomb_with_content_length_is_refused_without_inflating_it(
    provider: str,
) -> None:
    """A 100 KB gzip body (Content-Length) inflating to 100 MiB is refused while streaming."""
    bomb = gzip_bomb()
    streamer = Streamer(
        lambda: split(bomb),
        {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Content-Length": str(len(bomb)),
        },
    )
    error, peak = await refused(provider, streamer, max_body_size=MIB)
    assert "larger than" in str(error)
    assert peak < 16 * MIB


# --------------------------------------------------------------------------- nesting bombs


def nested(depth: int = DEPTH) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_objects(depth: int = DEPTH) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


#: Deeper than any parser accepts (orjson and the standard library both stop near 1 000
#: levels), and shallow enough for every parser to accept, so the decoders see it.
SHALLOW: Final = "objects-500"
BOMBS = {
    "arrays-100000": nested(),
    "objects-100000": nested_objects(DEPTH),
    SHALLOW: nested_objects(500),
}


def rpc_result(bomb: bytes) -> bytes:
    return b'{"jsonrpc": "2.0", "id": 1, "result": ' + bomb + b"}"


def rpc_error(bomb: bytes) -> bytes:
    return b'{"jsonrpc": "2.0", "id": 1, "error": {"code": -1, "message": "x", "data": %s}}' % (
        bomb
    )


BATCH = gr.Batch(message_ids=("m",), call_ids=(1,), body=b"[]")

#: Each decoder, and where in its body a bomb lands in what the decoder reads.
DECODERS: dict[str, tuple[Callable[[Response], Any], dict[str, Callable[[bytes], bytes]]]] = {
    "postmark.decode_messages": (
        pm.MESSAGES.decode,
        {"item": lambda b: b'{"TotalCount": 1, "Messages": [' + b + b"]}"},
    ),
    "postmark.decode_opens": (
        pm.OPENS.decode,
        {"item": lambda b: b'{"TotalCount": 1, "Opens": [' + b + b"]}"},
    ),
    "postmark.decode_details": (
        pm.decode_details,
        {"field": lambda b: b'{"MessageID": "m", "Metadata": ' + b + b"}"},
    ),
    "postmark.decode_dump": (pm.decode_dump, {"field": lambda b: b'{"Body": ' + b + b"}"}),
    "postmark.decode_stats": (
        functools.partial(pm.decode_stats, cls=OutboundOverview, endpoint="GET /stats/outbound"),
        {"field": lambda b: b'{"Sent": ' + b + b"}"},
    ),
    "emailconsul.decode_link_stats": (
        ec.decode_link_stats,
        {
            "item": lambda b: b'{"data": [' + b + b'], "meta": {"count": 1}}',
            "meta": lambda b: b'{"data": [], "meta": ' + b + b"}",
        },
    ),
    "emailconsul.decode_link_timeseries": (
        ec.decode_link_timeseries,
        {"item": lambda b: b'{"data": [' + b + b"]}"},
    ),
    "getresponse.stats_series": (
        lambda r: gr.stats_series(
            gr.decode_result(r, method=gr.GET_MESSAGE_STATS, call_id=1),
            message_id="m",
            grouping=Grouping.DAILY,
        ),
        {
            "result": rpc_result,
            "period": lambda b: rpc_result(b'{"2024-01-01": ' + b + b"}"),
            "error": rpc_error,
        },
    ),
    "getresponse.message_list": (
        lambda r: gr.message_list(gr.decode_result(r, method=gr.GET_MESSAGES, call_id=1)),
        {"result": rpc_result, "message": lambda b: rpc_result(b'{"a1": ' + b + b"}")},
    ),
    "getresponse.decode_stats_batch": (
        functools.partial(gr.decode_stats_batch, batch=BATCH, grouping=Grouping.DAILY),
        {"reply": lambda b: b"[" + b + b"]", "result": lambda b: b"[" + rpc_result(b) + b"]"},
    ),
    "getresponse.decode_batch": (
        functools.partial(rpc.decode_batch, call_ids=(1,), endpoint="POST x (batch)"),
        {"reply": lambda b: b"[" + b + b"]", "error": lambda b: b"[" + rpc_error(b) + b"]"},
    ),
}


def decode_outcome(decode: Callable[[Response], Any], response: Response) -> Exception | None:
    """Run *decode*; return the error it raised (or put in an outcome), else None."""
    try:
        result = decode(response)
    except Exception as exc:  # the type is what is under test
        return exc
    # Batch decoders put per-call errors into their outcomes or replies.
    items = list(result.values()) if isinstance(result, dict) else result
    for item in items if isinstance(items, list) else ():
        error = getattr(item, "error", None)
        if isinstance(error, Exception):
            return error
    return None


def _where(name: str) -> list[str]:
    return ["body", *DECODERS[name][1]]


#: Where an object bomb sits under a key the decoder ignores: a depth the parser accepts
#: decodes as an empty object there would, since unknown keys are never read.
IGNORED: Final = {
    ("postmark.decode_dump", "body"),
    ("postmark.decode_stats", "body"),
    ("getresponse.stats_series", "period"),
}
CASES = [
    (name, place, bomb)
    for name in DECODERS
    for place in _where(name)
    for bomb in BOMBS
    if not (bomb == SHALLOW and (name, place) in IGNORED)
]


def _body(name: str, place: str, bomb: bytes) -> bytes:
    return bomb if place == "body" else DECODERS[name][1][place](bomb)


@pytest.mark.parametrize(("name", "place", "bomb"), CASES)
def test_nesting_bomb_is_refused(name: str, place: str, bomb: str) -> None:
    """Deep JSON where a decoder reads it raises DecodeError.

    A JSON-RPC error member the parser accepts is still the provider's error (APIError).
    """
    response = Response(200, {}, _body(name, place, BOMBS[bomb]))
    error = decode_outcome(DECODERS[name][0], response)
    expected = APIError if place == "error" and bomb == SHALLOW else DecodeError
    assert isinstance(error, expected), repr(error)[:300]


@pytest.mark.parametrize(("name", "place"), sorted(IGNORED))
def test_deep_value_under_an_ignored_key_is_ignored(name: str, place: str) -> None:
    """500 levels under an unknown key decode exactly as an empty object there does."""
    decode = DECODERS[name][0]
    deep = decode(Response(200, {}, _body(name, place, BOMBS[SHALLOW])))
    empty = decode(Response(200, {}, _body(name, place, b"{}")))
    assert deep == empty


@pytest.mark.parametrize("status", [400, 422, 500])
@pytest.mark.parametrize("name", DECODERS)
def test_nesting_bomb_in_an_error_reply_keeps_the_status(name: str, status: int) -> None:
    """A deeply nested error body still yields the APIError of its HTTP status."""
    error = decode_outcome(DECODERS[name][0], Response(status, {}, nested()))
    assert isinstance(error, APIError)
    assert error.status == status


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_nesting_bomb_over_http_is_a_decode_error(provider: str) -> None:
    """Served over HTTP, 100 000 nested arrays raise DecodeError after one request."""
    bomb = nested()
    streamer = Streamer(
        lambda: [bomb], {"Content-Type": "application/json", "Content-Length": str(len(bomb))}
    )
    async with serve(streamer.handle) as url, Session() as session:
        with pytest.raises(DecodeError):
            await one_call(provider, session, url)
        assert session.statistics().retries == 0
    assert streamer.requests == 1


CRASH_PROBE = """
from asyncmailstats._http import Response
from asyncmailstats.emailconsul._wire import decode_link_stats
from asyncmailstats.getresponse._jsonrpc import decode_reply
from asyncmailstats.postmark._wire import MESSAGES

body = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
for decode in (
    MESSAGES.decode,
    decode_link_stats,
    lambda r: decode_reply(r, call_id=1, endpoint="POST x"),
):
    try:
        decode(Response(200, {}, body))
    except Exception as exc:
        print(type(exc).__name__)
    else:
        print("value")
"""


def test_nested_objects_do_not_crash_the_process() -> None:
    """100 000 nested objects end in DecodeError for every provider; the process survives.

    An orjson older than 3.9.15 (CVE-2024-27454) overflows the C stack on such a body, so
    the library parses with the standard library when only such a release is installed.
    """
    root = Path(__file__).parents[2]
    result = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", CRASH_PROBE],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.split() == ["DecodeError"] * 3
