"""A credential echoed in an error reply is redacted whole, before any text is cut.

A secret is planted at every offset from 0 to 600 of an error body (and of the message
inside it), spelled as is, JSON-escaped the ways ``json.dumps`` writes it, with ``\\/``
for ``/``, and percent-encoded. No 8-character piece of it may survive in the error's
``str``, ``repr``, ``body`` or ``message``, nor in any log record.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from asyncmailstats import MailStatsError, RetryPolicy, Session
from asyncmailstats._http import Request, Response
from asyncmailstats.testing import instant_retries

#: Has a "/", a non-ASCII letter, a "+" and a "%", so that every spelling differs.
SECRET = "tok/é+n%9f1c2d7e-4b6a-4e0f-a8d2"
NOW = dt.datetime(2024, 6, 1, 16, 0, 0, tzinfo=dt.UTC)
PERIOD: dict[str, Any] = {"period_from": NOW - dt.timedelta(days=3), "period_to": NOW}
OFFSETS = range(601)
PIECE = 8


def json_spellings(secret: str) -> dict[str, str]:
    """The ways json.dumps (and PHP's encoder) write *secret* inside a JSON string."""
    ascii_only = json.dumps(secret)[1:-1]
    unicode = json.dumps(secret, ensure_ascii=False)[1:-1]
    return {
        "json-ascii": ascii_only,
        "json-unicode": unicode,
        "json-ascii-slash": ascii_only.replace("/", "\\/"),
        "json-unicode-slash": unicode.replace("/", "\\/"),
    }


def text_spellings(secret: str) -> dict[str, str]:
    """The ways a plain-text reply may quote *secret*."""
    return {
        "raw": secret,
        **json_spellings(secret),
        "percent": quote(secret, safe=""),
        "percent-plus": quote_plus(secret),
    }


def pieces(text: str) -> set[str]:
    return {text[i : i + PIECE] for i in range(len(text) - PIECE + 1)}


SECRET_PIECES = pieces(SECRET)


def connect(
    provider: str, session: Session, secret: str = SECRET, url: str = "http://127.0.0.1:9"
) -> Callable[[], Any]:
    if provider == "postmark":
        return session.postmark(server_token=secret, base_url=url).sent_counts
    if provider == "emailconsul":
        ec = session.emailconsul(api_key=secret, base_url=url)
        return lambda: ec.link_timeseries(**PERIOD)
    return session.getresponse(api_key=secret, base_url=url).messages


def json_error(provider: str, message: str) -> tuple[int, str]:
    """An error reply whose message is *message*, already JSON-escaped; status and body."""
    filler = "b" * 700
    if provider == "postmark":
        return 422, '{"ErrorCode": 300, "Message": "' + message + filler + '"}'
    if provider == "emailconsul":
        return 400, '{"error": {"message": "' + message + filler + '"}}'
    error = '{"code": -1, "message": "' + message + filler + '"}'
    return 200, '{"jsonrpc": "2.0", "id": 1, "error": ' + error + "}"


def leaks(error: BaseException, records: list[logging.LogRecord], spelled: str) -> list[str]:
    texts = {
        "str": str(error),
        "repr": repr(error),
        "body": str(getattr(error, "body", "")),
        "message": str(getattr(error, "message", "")),
        "traceback": "".join(traceback.format_exception(error)),
    }
    for i, record in enumerate(records):
        texts[f"log {i}"] = record.getMessage()
    wanted = SECRET_PIECES | pieces(spelled)
    return [where for where, text in texts.items() if any(p in text for p in wanted)]


async def plant_everywhere(
    provider: str,
    caplog: pytest.LogCaptureFixture,
    make_transport: Any,
    reply: Callable[[int], tuple[int, str]],
    spelled: str,
) -> list[str]:
    """Answer each call with ``reply(offset)`` for every offset; return what leaked."""
    caplog.set_level(logging.DEBUG)
    offset = 0

    def handler(_: Request) -> Response:
        status, body = reply(offset)
        return Response(status, {"content-type": "application/json"}, body.encode())

    found: list[str] = []
    transport = make_transport(handler)
    with instant_retries():
        async with Session(transport=transport, retry=RetryPolicy(max_attempts=2)) as session:
            call = connect(provider, session)
            for offset in OFFSETS:
                caplog.clear()
                with pytest.raises(MailStatsError) as info:
                    await call()
                found += [
                    f"offset {offset}: {w}" for w in leaks(info.value, caplog.records, spelled)
                ]
    return found


PROVIDERS = ["postmark", "emailconsul", "getresponse"]


@pytest.mark.parametrize("spelling", list(text_spellings(SECRET)))
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_secret_at_any_offset_of_an_error_body_is_redacted_whole(
    provider: str, spelling: str, caplog: pytest.LogCaptureFixture, make_transport: Any
) -> None:
    """A secret at offsets 0-600 of a plain-text 500 body leaves no 8-character piece."""
    spelled = text_spellings(SECRET)[spelling]

    def reply(offset: int) -> tuple[int, str]:
        return 500, "a" * offset + spelled + " z" * 400

    assert await plant_everywhere(provider, caplog, make_transport, reply, spelled) == []


@pytest.mark.parametrize("spelling", list(json_spellings(SECRET)))
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_secret_at_any_offset_of_an_error_message_is_redacted_whole(
    provider: str, spelling: str, caplog: pytest.LogCaptureFixture, make_transport: Any
) -> None:
    """A JSON-escaped secret at offsets 0-600 of an error's message leaves no piece."""
    spelled = json_spellings(SECRET)[spelling]

    def reply(offset: int) -> tuple[int, str]:
        return json_error(provider, "a" * offset + spelled)

    assert await plant_everywhere(provider, caplog, make_transport, reply, spelled) == []


def test_every_spelling_a_reply_may_use_is_known() -> None:
    """secret_spellings() lists the raw, JSON-escaped and percent-encoded forms."""
    from asyncmailstats.exceptions import secret_spellings  # noqa: PLC0415

    known = set(secret_spellings(SECRET))
    assert set(text_spellings(SECRET).values()) <= known
    assert json.dumps(SECRET)[1:-1].replace("\\u00e9", "\\u00E9") in known


#: ASCII only, so that it can travel in a real HTTP header.
HTTP_SECRET = "tok/a+b%9f1c2d7e-4b6a-4e0f-a8d2"
HTTP_OFFSETS = [0, 1, 199, 200, 201, *range(485, 515), 599, 600]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_secret_near_the_cut_is_redacted_over_real_http(
    provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Over real HTTP, a raw or JSON-escaped secret around the cuts leaves no piece."""
    from aiohttp import web  # noqa: PLC0415

    caplog.set_level(logging.DEBUG)
    state = {"offset": 0}
    spelled = json.dumps(HTTP_SECRET)[1:-1].replace("/", "\\/")

    async def handler(_: web.Request) -> web.Response:
        offset = state["offset"]
        if provider == "getresponse":
            status, body = json_error(provider, "a" * offset + spelled)
        else:
            status, body = 500, "a" * offset + HTTP_SECRET + " z" * 400
        return web.Response(status=status, text=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    found: list[str] = []
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        url = f"http://{host}:{port}"
        with instant_retries():
            async with Session(retry=RetryPolicy(max_attempts=2)) as session:
                call = connect(provider, session, HTTP_SECRET, url)
                for offset in HTTP_OFFSETS:
                    state["offset"] = offset
                    caplog.clear()
                    with pytest.raises(MailStatsError) as info:
                        await call()
                    texts = [
                        str(info.value),
                        repr(info.value),
                        str(getattr(info.value, "body", "")),
                    ]
                    texts += [str(getattr(info.value, "message", ""))]
                    texts += [r.getMessage() for r in caplog.records]
                    bad = pieces(HTTP_SECRET) | pieces(spelled)
                    found += [f"{offset}: {t[:60]}" for t in texts if any(p in t for p in bad)]
    finally:
        await runner.cleanup()
    assert found == []
