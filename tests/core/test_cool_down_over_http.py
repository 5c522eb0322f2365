"""A 429 answered by a real loopback server holds back the provider's other pending requests."""

from __future__ import annotations

import asyncio
import types
from typing import Any

import pytest
from aiohttp import web

from asyncmailstats import Limits, Session
from asyncmailstats._http import Request

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")


def get(path: str) -> Request:
    return Request("GET", path, endpoint=f"GET {path}")


async def test_a_429_over_http_holds_back_the_other_pending_requests(
    kit: types.SimpleNamespace,
) -> None:
    """After one 429 with Retry-After, the provider's later calls wait; another provider's don't.

    The cool-down (30 s) is far longer than the test runs, so the held-back calls are
    observed waiting, by state rather than by time, and then cancelled.
    """
    limited_once: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/first" and not limited_once:
            limited_once.append(request.path)
            return web.json_response(
                {"error": "slow down"}, status=429, headers={"Retry-After": "30"}
            )
        return web.json_response({"path": request.path})

    async with (
        kit.LoopbackServer(handler) as server,
        Session(limits=Limits(max_concurrency=8, adaptive=False)) as session,
    ):
        client = kit.make_client(session, base_url=server.url)
        other = kit.make_client(session, provider="other", base_url=server.url)

        first = asyncio.create_task(client.call(get("/first"), kit.decode_json))
        await kit.until(lambda: session.statistics().rate_limited == 1)
        pending = [
            asyncio.create_task(client.call(get(f"/pending-{n}"), kit.decode_json))
            for n in range(3)
        ]
        # A call of another provider, started after the pending ones, completes at once.
        assert await other.call(get("/other"), kit.decode_json) == {"path": "/other"}

        stats: Any = {p.provider: p for p in session.statistics().providers}
        assert [r.path for r in server.requests] == ["/first", "/other"]
        assert stats["test"].waiting == 3  # slots are free (8): they wait for the cool-down
        assert stats["test"].rate_limited == 1
        assert stats["other"].rate_limited == 0
        assert not first.done()
        assert not any(task.done() for task in pending)

        for task in (first, *pending):
            task.cancel()
        results = await asyncio.gather(first, *pending, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        after = session.statistics()
        assert (after.in_flight, after.waiting) == (0, 0)
    assert server.max_in_flight == 1
