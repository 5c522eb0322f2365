"""Fixtures shared by the whole suite: an in-memory transport and a check for leaked tasks."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from hypothesis import settings

from asyncmailstats._http import Request, Response
from asyncmailstats._transport import Timeout

# Property tests draw the same examples on every run, and no example database carries a
# failure from one run into the next: the suite is deterministic.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")

MemoryHandler = Callable[[Request], Response | Awaitable[Response]]

#: Loop turns granted to cancelled tasks to finish before they count as leaked.
SETTLE_TURNS = 50


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Build a JSON response the way a transport hands it to decoders."""
    all_headers = {"content-type": "application/json", **(headers or {})}
    return Response(status, all_headers, json.dumps(body).encode())


class MemoryTransport:
    """A transport that answers through ``handler`` without any network.

    It records every request (with the URL and timeout it was sent with), the most
    requests it saw in flight at once, and how often it was opened and closed. A handler
    may return a response (or an awaitable of one) or raise, e.g. a ``TransportError``
    standing for a dropped connection.
    """

    def __init__(self, handler: MemoryHandler | None = None) -> None:
        self.handler: MemoryHandler = handler or (lambda _: json_response({}))
        self.sent: list[tuple[Request, str, Timeout]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.opens = 0
        self.closes = 0

    @property
    def closed(self) -> bool:
        """Whether ``aclose()`` was called."""
        return self.closes > 0

    @property
    def requests(self) -> list[Request]:
        """The requests sent so far, in order."""
        return [request for request, _, _ in self.sent]

    async def send(self, request: Request, url: str, timeout: Timeout) -> Response:
        self.sent.append((request, url, timeout))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            answer = self.handler(request)
            if inspect.isawaitable(answer):
                answer = await answer
            return answer
        finally:
            self.in_flight -= 1

    def open(self) -> None:
        self.opens += 1

    async def aclose(self) -> None:
        self.closes += 1


@pytest.fixture
def memory_transport() -> MemoryTransport:
    """Return a fresh in-memory transport answering ``200 {}`` until given a handler."""
    return MemoryTransport()


@pytest.fixture
def make_transport() -> type[MemoryTransport]:
    """Return the in-memory transport class, for tests that need several or a handler."""
    return MemoryTransport


async def settle(turns: int = SETTLE_TURNS) -> None:
    """Give the event loop *turns* iterations, so cancelled tasks can finish unwinding."""
    for _ in range(turns):
        await asyncio.sleep(0)


def pending_tasks(baseline: set[asyncio.Task[Any]]) -> list[asyncio.Task[Any]]:
    """Return the tasks that are not done and were not in *baseline* (nor the current one)."""
    current = asyncio.current_task()
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and task is not current and task not in baseline
    ]


@pytest.fixture(name="settle")
def settle_fixture() -> Callable[..., Awaitable[None]]:
    """Return :func:`settle`, which lets the loop run a few turns."""
    return settle


@pytest.fixture
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail the test if it leaves a task pending once the loop has had time to settle."""
    baseline = set(asyncio.all_tasks())
    yield
    await settle()
    leaked = pending_tasks(baseline)
    assert not leaked, f"tasks left pending: {leaked}"


@pytest.fixture
def watch_fallback(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], list[Any]]:
    """Return ``watch(hook)``: it lists every record *hook* hands to its generic hook.

    *hook* is a generated fast structure function; the list fills as it declines records.
    """

    def watch(hook: Any) -> list[Any]:
        generic = hook.__globals__["fallback"]
        declined: list[Any] = []

        def counting(data: Any, t: Any) -> Any:
            declined.append(data)
            return generic(data, t)

        monkeypatch.setitem(hook.__globals__, "fallback", counting)
        return declined

    return watch
