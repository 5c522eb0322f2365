"""What a service sees of the client: shared provider clients, log lines, fan-out limits."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

import asyncmailstats as ams
from asyncmailstats import Limits, RetryPolicy, Session
from asyncmailstats.testing import instant_retries

from . import conftest as kit

TOKEN = "pm-t0ken-for-logs"


@pytest.fixture
def no_waiting() -> Iterator[None]:
    with instant_retries():
        yield


# -- one provider client per server and credential -------------------------------------


async def test_the_same_server_and_token_share_one_client(memory_transport: Any) -> None:
    async with Session(transport=memory_transport) as session:
        first = session.postmark(server_token=TOKEN)
        again = session.postmark(server_token=TOKEN, limits=session.limits)
        other_token = session.postmark(server_token=TOKEN + "x")
        other_url = session.postmark(server_token=TOKEN, base_url="http://127.0.0.1:9")
        assert first._client is again._client
        assert first._client is not other_token._client
        assert first._client is not other_url._client
        # Providers never share, even with the same credential.
        gr_a = session.getresponse(api_key=TOKEN)
        gr_b = session.getresponse(api_key=TOKEN)
        assert gr_a._client is gr_b._client
        ec = session.emailconsul(api_key=TOKEN)
        ec_other_header = session.emailconsul(api_key=TOKEN, auth_header="X-Other-Key")
        assert ec._client is not ec_other_header._client
        assert len(session.statistics().providers) == 6


async def test_a_shared_client_shares_limiter_and_counters(memory_transport: Any) -> None:
    async with Session(transport=memory_transport) as session:
        a = session.postmark(server_token=TOKEN)
        b = session.postmark(server_token=TOKEN)
        await a.message_dump("one")
        await b.message_dump("two")
        (stats,) = session.statistics().providers
        assert stats.requests == 2
        assert a._client.limiter is b._client.limiter


async def test_other_limits_for_a_shared_client_are_refused(memory_transport: Any) -> None:
    async with Session(transport=memory_transport) as session:
        session.postmark(server_token=TOKEN, limits=Limits(max_concurrency=4))
        session.postmark(server_token=TOKEN)  # none given: the existing ones apply
        session.postmark(server_token=TOKEN, limits=Limits(max_concurrency=4))
        with pytest.raises(ValueError, match="already has a postmark client") as caught:
            session.postmark(server_token=TOKEN, limits=Limits(max_concurrency=8))
        with pytest.raises(ValueError, match="retry="):
            session.postmark(server_token=TOKEN, retry=RetryPolicy(max_attempts=9))
        assert TOKEN not in str(caught.value)
        assert memory_transport.requests == []


# -- fan_out and the provider's limit -----------------------------------------------------


async def test_fan_out_above_the_limit_is_logged_once_per_client(
    memory_transport: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="asyncmailstats")
    async with Session(transport=memory_transport) as session:
        pm = session.postmark(server_token=TOKEN)
        for _ in range(2):
            async for outcome in ams.fan_out(pm.message_dump, ["a", "b"], concurrency=32):
                assert outcome.error is None
        warned = [r for r in caplog.records if r.name == "asyncmailstats.limits"]
        assert len(warned) == 1
        assert warned[0].levelno == logging.WARNING
        message = warned[0].getMessage()
        assert "concurrency=32" in message
        assert "postmark" in message
        assert "16" in message


async def test_fan_out_within_the_limit_or_by_default_is_not_logged(
    memory_transport: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncmailstats")
    async with Session(transport=memory_transport, limits=Limits(max_concurrency=32)) as session:
        pm = session.postmark(server_token=TOKEN)
        async for _ in ams.fan_out(pm.message_dump, ["a"], concurrency=32):
            pass
        async for _ in ams.fan_out(pm.message_dump, ["a"]):  # the default: no request made
            pass

        async def plain(item: str) -> str:
            return item

        async for _ in ams.fan_out(plain, ["a"], concurrency=500):
            pass
    assert not [r for r in caplog.records if r.name == "asyncmailstats.limits"]


# -- outcomes narrow -----------------------------------------------------------------------


async def test_fan_out_yields_successes_and_failures() -> None:
    async def half(n: int) -> int:
        if n % 2:
            raise ValueError(n)
        return n // 2

    seen = [outcome async for outcome in ams.fan_out(half, range(4), ordered=True)]
    assert [type(o) for o in seen] == [ams.Success, ams.Failure, ams.Success, ams.Failure]
    assert all(isinstance(o, ams.Outcome) for o in seen)
    assert [o.ok for o in seen] == [True, False, True, False]
    assert seen[2].unwrap() == 1
    with pytest.raises(ValueError, match="3"):
        seen[3].unwrap()
    assert seen[0] == ams.Success(0, 0)
    assert seen[1].value is None
    assert isinstance(seen[1].error, ValueError)


# -- log lines -------------------------------------------------------------------------------


def _scripted(statuses: list[int]) -> kit.Handler:
    """Answer with the given statuses in turn, then 200 for ever."""
    remaining = list(statuses)

    async def handler(request: web.Request) -> web.StreamResponse:
        status = remaining.pop(0) if remaining else 200
        headers = {"Retry-After": "0"} if status == 429 else {}
        body = {"ErrorCode": 0, "Message": f"status {status} {TOKEN}"} if status >= 400 else {}
        return web.json_response(body, status=status, headers=headers)

    return handler


async def test_retries_429s_and_limit_changes_are_info(
    caplog: pytest.LogCaptureFixture, no_waiting: None
) -> None:
    caplog.set_level(logging.INFO, logger="asyncmailstats")
    async with kit.LoopbackServer(_scripted([503, 429])) as server, Session() as session:
        pm = session.postmark(
            server_token=TOKEN, base_url=server.url, limits=Limits(max_concurrency=4)
        )
        assert await pm.message_dump("abc") is not None
    by_logger: dict[str, list[str]] = {}
    for record in caplog.records:
        assert record.levelno == logging.INFO
        by_logger.setdefault(record.name, []).append(record.getMessage())
    retries = by_logger["asyncmailstats.retry"]
    assert any("failed on attempt 1 (ServerError" in m and "retrying in" in m for m in retries)
    assert any("rate limited (429)" in m and "every postmark request waits" in m for m in retries)
    assert all(m.startswith("postmark") for m in retries)
    (lowered,) = by_logger["asyncmailstats.limits"]
    assert "lowered from 4 to 2" in lowered
    # No request line at INFO, and no secret anywhere.
    assert "asyncmailstats.http" not in by_logger
    assert not any(TOKEN in m for messages in by_logger.values() for m in messages)


async def test_each_request_is_one_debug_line(
    caplog: pytest.LogCaptureFixture, no_waiting: None
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncmailstats")
    async with kit.LoopbackServer(_scripted([500])) as server, Session() as session:
        pm = session.postmark(server_token=TOKEN, base_url=server.url)
        await pm.message_dump("abc")
    lines = [r for r in caplog.records if r.name == "asyncmailstats.http"]
    assert [r.levelno for r in lines] == [logging.DEBUG, logging.DEBUG]
    assert "-> 500" in lines[0].getMessage()
    assert "-> 200" in lines[1].getMessage()
    assert not any(TOKEN in r.getMessage() for r in caplog.records)


async def test_giving_up_after_retries_is_info(
    caplog: pytest.LogCaptureFixture, no_waiting: None
) -> None:
    caplog.set_level(logging.INFO, logger="asyncmailstats")
    async with kit.LoopbackServer(_scripted([503] * 10)) as server, Session() as session:
        pm = session.postmark(
            server_token=TOKEN, base_url=server.url, retry=RetryPolicy(max_attempts=3)
        )
        with pytest.raises(ams.ServerError):
            await pm.message_dump("abc")
    messages = [r.getMessage() for r in caplog.records if r.name == "asyncmailstats.retry"]
    assert len(messages) == 3
    assert "failed after 3 attempts" in messages[-1]
    assert not any(TOKEN in m for m in messages)
