"""Secrets never show: not in repr(), not in DEBUG logs, not in exception text."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web

from asyncmailstats import RetryPolicy, Session
from asyncmailstats._http import Request, Response
from asyncmailstats.exceptions import AuthenticationError, DecodeError, ServerError
from asyncmailstats.testing import instant_retries

TOKEN = "pm-T0ken-abc123"
KEY = "ec-K3y-xyz789"
GR_KEY = "gr-K3y-qwe456"


def error_texts(error: BaseException) -> list[str]:
    """Every text an error exposes: str, repr, args, message, body, excerpt."""
    texts = [str(error), repr(error), *(str(arg) for arg in error.args)]
    for name in ("message", "body", "excerpt", "endpoint"):
        value = getattr(error, name, None)
        if value is not None:
            texts.append(str(value))
    return texts


async def test_reprs_hide_every_secret(memory_transport) -> None:
    """repr() of the session, its clients and provider APIs never shows a credential."""
    async with Session(transport=memory_transport) as session:
        apis = [
            session.postmark(server_token=TOKEN),
            session.emailconsul(api_key=KEY),
            session.getresponse(api_key=GR_KEY),
        ]
        shown = [repr(session), *map(repr, apis), *map(repr, session._clients.values())]
        shown.append(repr(session.statistics()))
    for text in shown:
        for secret in (TOKEN, KEY, GR_KEY):
            assert secret not in text


@pytest.mark.parametrize(
    "header", ["X-Postmark-Server-Token", "X-API-Key", "Authorization", "X-Custom-Auth"]
)
def test_request_repr_hides_credential_headers(header) -> None:
    """A Request's repr hides credential headers, whatever their name, and its body."""
    request = Request(
        "POST",
        "/rpc",
        headers={header: TOKEN, "Accept": "application/json"},
        body=f'{{"key": "{TOKEN}"}}'.encode(),
        endpoint="POST /rpc",
    )
    text = repr(request)
    assert TOKEN not in text
    assert "application/json" in text  # harmless headers stay readable
    assert "POST /rpc" in text


async def test_requests_sent_by_clients_do_not_show_their_keys(memory_transport) -> None:
    """The requests a transport receives hide the key, even under a custom auth header."""
    async with Session(transport=memory_transport) as session:
        session.emailconsul(api_key=KEY, auth_header="X-Custom-Auth")
        session.postmark(server_token=TOKEN)
        for client in session._clients.values():
            await client.call(Request("GET", "/x", endpoint="GET /x"), lambda r: r)
    assert len(memory_transport.sent) == 2
    for request, url, timeout in memory_transport.sent:
        assert TOKEN not in repr(request)
        assert KEY not in repr(request)
        assert TOKEN not in url
        assert KEY not in url
        assert TOKEN not in repr(timeout)


def test_response_repr_does_not_dump_the_body() -> None:
    """A Response's repr gives the body size, not the body (which may echo a secret)."""
    response = Response(401, {"content-type": "text/plain"}, f"bad token {TOKEN}".encode())
    assert TOKEN not in repr(response)


async def test_echoed_secrets_stay_out_of_logs_and_errors(caplog, kit) -> None:
    """A server echoing the token in error bodies leaks it into no log record or error."""
    answers = [503, 500, 401]

    async def echo(request: web.Request) -> web.StreamResponse:
        token = request.headers.get(kit.SECRET_HEADER, "")
        status = answers.pop(0) if answers else 401
        return web.Response(status=status, text=f"token {token} is not welcome here")

    caplog.set_level(logging.DEBUG)
    async with (
        kit.LoopbackServer(echo) as server,
        Session(retry=RetryPolicy(max_attempts=4)) as session,
    ):
        client = kit.make_client(session, base_url=server.url)
        with instant_retries(), pytest.raises(AuthenticationError) as caught:
            await client.call(kit.items_request(0, 1), kit.decode_json)
        answers.extend([502, 502, 502, 502])
        with instant_retries(), pytest.raises(ServerError) as exhausted:
            await client.call(kit.items_request(0, 1), kit.decode_json)
    assert server.requests[0].headers[kit.SECRET_HEADER] == kit.SECRET  # it was sent
    assert len(server.requests) == 7
    retry_logs = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retry_logs) == 5  # the logs were really written, with the error text
    assert "is not welcome" in retry_logs[0].getMessage()
    for record in caplog.records:
        assert kit.SECRET not in record.getMessage()
        assert kit.SECRET not in str(record.args)
    assert kit.SECRET not in caplog.text
    for error in (caught.value, exhausted.value):
        assert "is not welcome" in error.body
        for text in error_texts(error):
            assert kit.SECRET not in text


async def test_decode_error_excerpt_hides_an_echoed_secret(memory_transport, kit) -> None:
    """A non-JSON 200 echoing the token gives a DecodeError whose excerpt hides it."""
    memory_transport.handler = lambda _: Response(200, {}, f"<p>hi {kit.SECRET}</p>".encode())
    async with Session(transport=memory_transport) as session:
        client = kit.make_client(session)
        with pytest.raises(DecodeError) as caught:
            await client.call(kit.items_request(0, 1), kit.decode_json)
    assert caught.value.excerpt is not None
    assert "<p>hi" in caught.value.excerpt
    for text in error_texts(caught.value):
        assert kit.SECRET not in text


async def test_bad_token_errors_do_not_quote_the_token(memory_transport) -> None:
    """Validation errors about a credential never repeat the value."""
    async with Session(transport=memory_transport) as session:
        with pytest.raises(ValueError) as caught:
            session.postmark(server_token=f"{TOKEN}\n")
    assert TOKEN not in str(caught.value)
