"""Session lifecycle: unopened, open, closed; ResourceWarning; where the ClientSession is made."""

from __future__ import annotations

import asyncio
import gc
import warnings

import aiohttp
import pytest

import asyncmailstats as ams
from asyncmailstats import Limits, RetryPolicy, Session, SessionClosedError, Timeout, _transport
from asyncmailstats._http import Request


async def test_states_run_unopened_open_closed(memory_transport) -> None:
    """A session goes unopened -> open -> closed, and says so."""
    session = Session(transport=memory_transport)
    assert "unopened" in repr(session)
    assert not session.closed
    async with session as entered:
        assert entered is session
        assert "open" in repr(session)
        assert not session.closed
    assert "closed" in repr(session)
    assert session.closed
    assert memory_transport.closed


async def test_client_used_after_close_raises(memory_transport, kit) -> None:
    """A provider client used after its session closed raises SessionClosedError, sends nothing."""
    async with Session(transport=memory_transport) as session:
        client = kit.make_client(session)
        await client.call(kit.items_request(0, 1), kit.decode_json)
    with pytest.raises(SessionClosedError):
        await client.call(kit.items_request(0, 1), kit.decode_json)
    assert len(memory_transport.sent) == 1


async def test_provider_api_used_after_close_raises(memory_transport) -> None:
    """Awaited calls and streams of a provider API raise SessionClosedError after close."""
    async with Session(transport=memory_transport) as session:
        pm = session.postmark(server_token="token")
    with pytest.raises(SessionClosedError):
        await pm.message_details("abc")
    with pytest.raises(SessionClosedError):
        await pm.opens().to_list()
    assert memory_transport.sent == []


async def test_factories_refuse_a_closed_session(memory_transport) -> None:
    """Asking a closed session for a provider API raises SessionClosedError."""
    session = Session(transport=memory_transport)
    await session.aclose()
    with pytest.raises(SessionClosedError):
        session.postmark(server_token="token")
    with pytest.raises(SessionClosedError):
        session.emailconsul(api_key="key")
    with pytest.raises(SessionClosedError):
        session.getresponse(api_key="key")


async def test_reopening_a_closed_session_raises(memory_transport) -> None:
    """A closed session cannot be entered again."""
    session = Session(transport=memory_transport)
    async with session:
        pass
    with pytest.raises(SessionClosedError):
        async with session:
            pass
    with pytest.raises(SessionClosedError):
        session.open()


async def test_opening_twice_raises(memory_transport) -> None:
    """An open session cannot be opened again."""
    async with Session(transport=memory_transport) as session:
        with pytest.raises(RuntimeError, match="already open"):
            session.open()
        assert not session.closed


async def test_client_of_an_unopened_session_says_so(memory_transport, kit) -> None:
    """Calls before the session is opened raise RuntimeError (not SessionClosedError)."""
    session = Session(transport=memory_transport)
    client = kit.make_client(session)  # factories need no open session
    with pytest.raises(RuntimeError, match="not open") as caught:
        await client.call(kit.items_request(0, 1), kit.decode_json)
    assert not isinstance(caught.value, SessionClosedError)
    assert memory_transport.sent == []
    await session.aclose()


async def test_aclose_is_idempotent(make_transport) -> None:
    """aclose() can be called any number of times and closes the transport once."""
    closes = 0

    class Counting(make_transport):
        async def aclose(self) -> None:
            nonlocal closes
            closes += 1

    session = Session(transport=Counting())
    async with session:
        pass
    await session.aclose()
    await session.aclose()
    assert closes == 1
    assert session.closed


async def test_a_custom_transport_is_opened_and_closed_once(memory_transport, kit) -> None:
    """The session opens its transport when it opens and closes it when it closes, once each."""
    session = Session(transport=memory_transport)
    assert (memory_transport.opens, memory_transport.closes) == (0, 0)
    async with session:
        assert (memory_transport.opens, memory_transport.closes) == (1, 0)
        client = kit.make_client(session)
        await client.call(kit.items_request(0, 1), kit.decode_json)
        await client.call(kit.items_request(1, 1), kit.decode_json)
    await session.aclose()
    assert (memory_transport.opens, memory_transport.closes) == (1, 1)
    assert len(memory_transport.sent) == 2


async def test_a_failing_transport_open_leaves_the_session_unopened(make_transport) -> None:
    """If the transport cannot open, the session stays unopened and closes nothing."""

    class Failing(make_transport):
        def open(self) -> None:
            super().open()
            msg = "cannot open"
            raise OSError(msg)

    transport = Failing()
    session = Session(transport=transport)
    with pytest.raises(OSError, match="cannot open"):
        session.open()
    assert "unopened" in repr(session)
    await session.aclose()
    assert (transport.opens, transport.closes) == (1, 0)


async def test_closing_an_unopened_session_needs_no_transport(memory_transport) -> None:
    """Closing a session that was never opened leaves it closed without touching the transport."""
    session = Session(transport=memory_transport)
    await session.aclose()
    assert session.closed
    assert not memory_transport.closed
    assert memory_transport.opens == 0
    with pytest.raises(SessionClosedError):
        session.open()


async def test_open_session_collected_emits_resource_warning(make_transport) -> None:
    """An open session garbage-collected without aclose() emits ResourceWarning."""

    def abandon_open_session() -> None:
        session = Session(transport=make_transport())
        session.open()
        del session
        gc.collect()

    with pytest.warns(ResourceWarning, match="unclosed"):
        abandon_open_session()


@pytest.mark.parametrize("state", ["unopened", "closed"])
async def test_other_sessions_are_collected_quietly(make_transport, state) -> None:
    """Unopened and closed sessions are collected without any warning."""
    session = Session(transport=make_transport())
    if state == "closed":
        async with session:
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del session
        gc.collect()


def test_session_can_be_built_outside_a_loop_and_used_inside(monkeypatch) -> None:
    """Session() needs no loop; the aiohttp ClientSession is made inside the running loop."""
    made_in: list[asyncio.AbstractEventLoop] = []
    real = aiohttp.ClientSession

    def recording(*args: object, **kwargs: object) -> aiohttp.ClientSession:
        made_in.append(asyncio.get_running_loop())  # raises outside a running loop
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_transport.aiohttp, "ClientSession", recording)
    session = Session()
    pm = session.postmark(server_token="token")  # factories need no loop either
    assert made_in == []
    assert pm is not None

    async def use() -> tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession]:
        async with session:
            inner = session._transport._session
            assert inner is not None
            assert not inner.closed
            return asyncio.get_running_loop(), inner

    loop, inner = asyncio.run(use())
    assert made_in == [loop]
    assert inner.closed
    assert session.closed


def test_open_outside_a_loop_fails_cleanly() -> None:
    """Opening the default transport outside a running loop raises and stays unopened."""
    session = Session()
    with pytest.raises(RuntimeError):
        session.open()
    assert "unopened" in repr(session)


async def test_statistics_start_at_zero(memory_transport) -> None:
    """A fresh session reports zero traffic and no providers."""
    async with Session(transport=memory_transport) as session:
        stats = session.statistics()
    assert stats == ams.SessionStatistics(
        requests=0,
        retries=0,
        failures=0,
        rate_limited=0,
        in_flight=0,
        waiting=0,
        peak_in_flight=0,
        providers=(),
    )


async def test_factories_register_one_client_each(memory_transport) -> None:
    """Each factory call adds a provider client with the session's (or its own) settings."""
    own = Limits(max_concurrency=3)
    async with Session(
        transport=memory_transport,
        limits=Limits(max_concurrency=5),
        retry=RetryPolicy(max_attempts=2),
        timeout=Timeout(total=7),
    ) as session:
        assert isinstance(session.postmark(server_token="t"), ams.PostmarkAPI)
        assert isinstance(session.emailconsul(api_key="k", limits=own), ams.EmailConsulAPI)
        assert isinstance(session.getresponse(api_key="k"), ams.GetResponseAPI)
        providers = session.statistics().providers
        clients = list(session._clients.values())
    assert [p.provider for p in providers] == ["postmark", "emailconsul", "getresponse"]
    assert [p.concurrency_limit for p in providers] == [5, 3, 5]
    assert [c.base_url for c in clients] == [
        "https://api.postmarkapp.com",
        "https://api.emailconsul.com",
        "https://api2.getresponse.com",
    ]
    assert all(c.retry == RetryPolicy(max_attempts=2) for c in clients)
    assert all(c.timeout == Timeout(total=7) for c in clients)


async def test_factories_send_the_documented_auth_headers(memory_transport) -> None:
    """Postmark and EmailConsul clients send their credentials in the documented headers."""
    async with Session(transport=memory_transport) as session:
        pm = session.postmark(server_token="pm-token", base_url="http://127.0.0.1:9/")
        ec = session.emailconsul(api_key="ec-key", auth_header="X-Other-Auth")
        pm_client, ec_client = session._clients.values()
        await pm_client.call(Request("GET", "/x"), lambda r: r)
        await ec_client.call(Request("GET", "/x"), lambda r: r)
    (pm_request, pm_url, _), (ec_request, ec_url, _) = memory_transport.sent
    assert pm_url == "http://127.0.0.1:9/x"
    assert pm_request.headers["X-Postmark-Server-Token"] == "pm-token"
    assert pm_request.headers["Accept"] == "application/json"
    assert ec_url == "https://api.emailconsul.com/x"
    assert ec_request.headers["X-Other-Auth"] == "ec-key"
    assert pm is not None
    assert ec is not None
