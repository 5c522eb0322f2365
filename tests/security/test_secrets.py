"""Tokens and API keys never show up where a user or a log collector could see them.

Each provider runs at DEBUG level with faults injected, and against a server that echoes
the credential back in its error messages, bodies and headers. Nothing may then contain
the secret: no log record of any logger, no exception (``str``, ``repr``, ``args``,
attributes, chained tracebacks), no ``repr()`` of the session, the API objects, their
clients, streams, outcomes or the requests handed to the transport, and no
``statistics()``. HTTPS is every provider's default, and a plain-HTTP base URL that is
not loopback is warned about.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import traceback
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from asyncmailstats import (
    AuthenticationError,
    MailStatsError,
    RetryPolicy,
    Session,
    Timeout,
    fan_out,
)
from asyncmailstats._http import Request, Response
from asyncmailstats._transport import AiohttpTransport
from asyncmailstats.testing import (
    FakeEmailConsul,
    FakeGetResponse,
    FakePostmark,
    FaultPlan,
    instant_retries,
)

NOW = dt.datetime(2024, 6, 1, 16, 0, 0, tzinfo=dt.UTC)
GR_NOW = dt.datetime(2024, 6, 1, 12)  # noqa: DTZ001 - GetResponse's clock has no zone
PERIOD: dict[str, Any] = {"period_from": NOW - dt.timedelta(days=40), "period_to": NOW}
SECRET = "s3cr3t-9f1c2d7e-4b6a-4e0f-a8d2-5c3b1e7f9a60"
PROVIDERS = ["postmark", "emailconsul", "getresponse"]
FAULTS = FaultPlan(
    rate_limit=0.05,
    rate_limit_no_header=0.05,
    server_error=0.05,
    bad_gateway=0.05,
    unavailable=0.05,
    reset=0.05,
    truncate=0.05,
    stall=0.02,
    stall_seconds=5.0,
    seed=5,
)


class RecordingTransport(AiohttpTransport):
    """The real transport, keeping every request it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Request] = []

    async def send(self, request: Request, url: str, timeout: Timeout) -> Response:
        self.seen.append(request)
        return await super().send(request, url, timeout)


class Evidence:
    """Everything a secret must not appear in, gathered as text."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, what: str, text: object) -> None:
        self.texts.append((what, text if isinstance(text, str) else repr(text)))

    def error(self, error: BaseException) -> None:
        self.add("error str", str(error))
        self.add("error repr", repr(error))
        self.add("error args", error.args)
        self.add("error attributes", vars(error))
        self.add("error traceback", "".join(traceback.format_exception(error)))

    def records(self, records: list[logging.LogRecord]) -> None:
        for record in records:
            self.add(f"log {record.name}", record.getMessage())
            self.add(f"log {record.name} args", record.args)
            if record.exc_info and record.exc_info[1] is not None:
                self.error(record.exc_info[1])

    def leaks(self, secret: str) -> list[str]:
        return [what for what, text in self.texts if secret in text]


@pytest.fixture
def evidence(caplog: pytest.LogCaptureFixture) -> Evidence:
    caplog.set_level(logging.DEBUG)
    return Evidence()


def connect(provider: str, session: Session, url: str, secret: str) -> Any:
    if provider == "postmark":
        return session.postmark(server_token=secret, base_url=url)
    if provider == "emailconsul":
        return session.emailconsul(api_key=secret, base_url=url)
    return session.getresponse(api_key=secret, base_url=url)


def streams(provider: str, api: Any, fake: Any) -> list[Any]:
    """The provider's streams, fresh (not yet iterated)."""
    if provider == "postmark":
        ids = fake.message_ids()[:30]
        return [
            api.outbound_messages(from_date=NOW - dt.timedelta(days=46), to_date=NOW),
            api.opens(page_size=50),
            fan_out(api.message_details, ids, concurrency=8),
        ]
    if provider == "emailconsul":
        return [
            api.link_stats(**PERIOD, group="ip", page_size=50),
            api.delivery_timeseries(**PERIOD, page_size=5),
        ]
    ids = list(fake.messages)
    return [
        api.message_stats_many(ids, batch_size=5),
        fan_out(api.message_stats, ids[:30], concurrency=8),
    ]


async def singles(provider: str, api: Any, fake: Any) -> None:
    if provider == "postmark":
        await api.message_dump(fake.message_ids()[0])
        await api.outbound_overview()
    elif provider == "emailconsul":
        await api.link_timeseries(**PERIOD)
        await api.pixel_timeseries(**PERIOD)
    else:
        await api.messages()
        await api.links()


def new_fake(provider: str, faults: FaultPlan | None) -> Any:
    if provider == "postmark":
        return FakePostmark(messages=300, seed=2, now=NOW, token=SECRET, faults=faults)
    if provider == "emailconsul":
        return FakeEmailConsul(
            link_logs=500,
            pixel_logs=200,
            deliveries=200,
            seed=2,
            now=NOW,
            api_key=SECRET,
            faults=faults,
        )
    return FakeGetResponse(
        messages=40, seed=2, now=GR_NOW.replace(tzinfo=dt.UTC), api_key=SECRET, faults=faults
    )


def look_at_everything(evidence: Evidence, session: Session, api: Any, stream: list[Any]) -> None:
    evidence.add("session", session)
    evidence.add("api", api)
    evidence.add("client", api._client)
    evidence.add("statistics", session.statistics())
    for item in stream:
        evidence.add("stream", item)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_nothing_shows_the_secret_under_faults(
    provider: str, evidence: Evidence, caplog: pytest.LogCaptureFixture
) -> None:
    """With faults at DEBUG level, no log, error, repr, request or statistic holds the secret."""
    transport = RecordingTransport()
    retry = RetryPolicy(max_attempts=30)
    with instant_retries():
        async with (
            new_fake(provider, FAULTS) as fake,
            Session(transport=transport, retry=retry, timeout=Timeout(total=0.5)) as session,
        ):
            api = connect(provider, session, fake.url, SECRET)
            made = streams(provider, api, fake)
            for stream in made:
                async for item in stream:
                    evidence.add("item", item)
            await singles(provider, api, fake)
            wrong = connect(provider, session, fake.url, SECRET[::-1])
            with pytest.raises(AuthenticationError) as info:
                await singles(provider, wrong, fake)
            evidence.error(info.value)
            look_at_everything(evidence, session, api, made)
    assert sum(fake.faults_injected.values()) > 0
    assert transport.seen
    for request in transport.seen:
        evidence.add("request", request)
    evidence.records(caplog.records)
    assert caplog.records
    assert evidence.leaks(SECRET) == []
    assert evidence.leaks(SECRET[::-1]) == []


# --------------------------------------------------------------------------- an echoing server


class Echo:
    """A provider stand-in that quotes the credential it received in every answer.

    Each call meets three retryable errors (500, 503, 429) and then a 401 (for GetResponse
    a JSON-RPC error), all quoting the credential in the message, the body and a header.
    """

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.requests = 0

    async def credential(self, request: web.Request) -> str:
        if self.provider == "postmark":
            return request.headers.get("X-Postmark-Server-Token", "")
        if self.provider == "emailconsul":
            return request.headers.get("X-API-Key", "")
        body = await request.json()
        calls = body if isinstance(body, list) else [body]
        return str(calls[0]["params"][0])

    async def handle(self, request: web.Request) -> web.StreamResponse:
        secret = await self.credential(request)
        status = (500, 503, 429, 401)[self.requests % 4]
        self.requests += 1
        text = f"credential {secret} refused; send {secret} again later"
        headers = {"X-Echo": secret}
        if status == 429:
            headers["Retry-After"] = "0"
        if self.provider == "postmark":
            body: Any = {"ErrorCode": 10 if status == 401 else 0, "Message": text}
        elif self.provider == "emailconsul":
            body = {"error": "refused", "message": text, "key": secret}
        elif status == 401:
            status = 200
            error = {"code": -1, "message": "API key verification failed", "data": text}
            body = {"jsonrpc": "2.0", "id": 1, "error": error}
        else:
            body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32000, "message": text}}
        return web.json_response(body, status=status, headers=headers)


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


async def echo_run(provider: str, evidence: Evidence) -> list[MailStatsError]:
    """Call every kind of method against the echo; return the errors they ended with."""
    echo = Echo(provider)
    errors: list[MailStatsError] = []
    with instant_retries():
        async with serve(echo.handle) as url, Session(retry=RetryPolicy(max_attempts=4)) as session:
            api = connect(provider, session, url, SECRET)
            if provider == "postmark":
                calls = [
                    lambda: api.message_details("m"),
                    lambda: api.opens().to_list(),
                    api.sent_counts,
                ]
            elif provider == "emailconsul":
                calls = [
                    lambda: api.link_timeseries(**PERIOD),
                    lambda: api.link_stats(**PERIOD).to_list(),
                ]
            else:
                calls = [lambda: api.message_stats("m"), api.messages]
            for call in calls:
                with pytest.raises(MailStatsError) as info:
                    await call()
                errors.append(info.value)
            if provider == "getresponse":
                async for outcome in api.message_stats_many(["m1", "m2"]):
                    assert outcome.error is not None
                    evidence.add("outcome", outcome)
                    errors.append(outcome.error)
            look_at_everything(evidence, session, api, [])
    # Every call went through the three retryable echoes before its final one.
    assert echo.requests == 4 * len(calls) + (4 if provider == "getresponse" else 0)
    return errors


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_echoed_secret_never_reaches_an_error(provider: str, evidence: Evidence) -> None:
    """A server quoting the credential back: the errors raised and their bodies never show it."""
    errors = await echo_run(provider, evidence)
    for error in errors:
        evidence.error(error)
        assert isinstance(error, AuthenticationError)
    assert evidence.leaks(SECRET) == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_echoed_secret_never_reaches_a_log_record(
    provider: str, evidence: Evidence, caplog: pytest.LogCaptureFixture
) -> None:
    """A server quoting the credential back: no DEBUG log record of any logger shows it."""
    await echo_run(provider, Evidence())
    assert caplog.records
    evidence.records(caplog.records)
    assert evidence.leaks(SECRET) == []


async def test_a_custom_auth_header_is_hidden_in_request_reprs() -> None:
    """With auth_header="X-Consul-Key", the requests handed to the transport hide the key."""
    transport = RecordingTransport()
    async with (
        FakeEmailConsul(
            link_logs=20,
            pixel_logs=0,
            deliveries=0,
            now=NOW,
            api_key=SECRET,
            auth_header="X-Consul-Key",
        ) as fake,
        Session(transport=transport) as session,
    ):
        ec = session.emailconsul(api_key=SECRET, base_url=fake.url, auth_header="X-Consul-Key")
        assert await ec.link_timeseries(**PERIOD)
    [request] = transport.seen
    assert request.headers["X-Consul-Key"] == SECRET
    assert SECRET not in repr(request)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_https_is_the_default(provider: str, sec: Any) -> None:
    """Without base_url every provider talks HTTPS to its public host."""
    transport = sec.RecordingTransport()
    async with Session(transport=transport) as session:
        api = connect_default(provider, session)
        assert api._client.base_url.startswith("https://")
        with contextlib.suppress(MailStatsError):
            await singles_default(provider, api)
    assert transport.sent
    assert all(url.startswith("https://") for _, url in transport.sent)


def connect_default(provider: str, session: Session) -> Any:
    if provider == "postmark":
        return session.postmark(server_token=SECRET)
    if provider == "emailconsul":
        return session.emailconsul(api_key=SECRET)
    return session.getresponse(api_key=SECRET)


async def singles_default(provider: str, api: Any) -> None:
    if provider == "postmark":
        await api.message_details("m")
    elif provider == "emailconsul":
        await api.link_timeseries(**PERIOD)
    else:
        await api.message_stats("m")


PLAIN_HTTP = ["http://api.example.com", "http://10.0.0.8:8080", "http://api.example.com:80/v1"]
LOOPBACK = [
    "http://127.0.0.1:8080",
    "http://127.1.2.3",
    "http://localhost:9000",
    "http://[::1]:8000",
    "https://api.example.com",
]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("url", PLAIN_HTTP)
async def test_plain_http_elsewhere_is_warned_about(
    provider: str, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A plain-HTTP base URL off this machine logs one warning that shows no secret."""
    caplog.set_level(logging.DEBUG)
    async with Session() as session:
        api = connect_base(provider, session, url)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "HTTP" in message
    assert SECRET not in message
    assert SECRET not in repr(api)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("url", LOOPBACK)
async def test_loopback_or_https_is_not_warned_about(
    provider: str, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Plain HTTP to loopback (fakes, tunnels) and any HTTPS URL log no warning."""
    caplog.set_level(logging.DEBUG)
    async with Session() as session:
        connect_base(provider, session, url)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def connect_base(provider: str, session: Session, url: str) -> Any:
    if provider == "postmark":
        return session.postmark(server_token=SECRET, base_url=url)
    if provider == "emailconsul":
        return session.emailconsul(api_key=SECRET, base_url=url)
    return session.getresponse(api_key=SECRET, base_url=url)
