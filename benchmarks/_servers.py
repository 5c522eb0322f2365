"""Fake provider servers in a process of their own, controlled over a pipe.

Every benchmark talks to the fakes over loopback while they run in a separate process,
so a synchronous client (postmarker) can block its own thread without stalling the
server, and every contender meets the same server under the same load. The server
process runs uvloop when it is installed, whichever loop the clients use, so the server
side stays identical across the client's ``--loop`` modes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import multiprocessing
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark

#: How long a server process may take to build its datasets and start listening.
START_TIMEOUT = 300.0


def _build(name: str, kind: str, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Return a fake of *kind* and what the parent needs to know about its dataset."""
    started = time.perf_counter()
    info: dict[str, Any] = {"name": name, "kind": kind, "options": options}
    if kind == "postmark":
        fake: Any = FakePostmark(**options)
        info["generate_seconds"] = time.perf_counter() - started
        info["token"] = fake.token
        info["now"] = fake.now.isoformat()
        info["message_ids"] = fake.message_ids()[:5000]
    elif kind == "emailconsul":
        fake = FakeEmailConsul(**options)
        info["generate_seconds"] = time.perf_counter() - started
        info["api_key"] = fake.api_key
        info["now"] = fake.now.isoformat()
        info["distinct_ips"] = len({log.ip for log in fake.link_logs})
    elif kind == "getresponse":
        fake = FakeGetResponse(**options)
        info["generate_seconds"] = time.perf_counter() - started
        info["api_key"] = fake.api_key
        info["message_ids"] = list(fake.messages)
    else:
        msg = f"unknown fake kind {kind!r}"
        raise ValueError(msg)
    return fake, info


async def _postmark_totals(fake: Any, info: dict[str, Any]) -> None:
    """Ask the fake, over HTTP, how many outbound messages and opens it serves."""
    headers = {"X-Postmark-Server-Token": fake.token, "Accept": "application/json"}
    latency, fake.latency = fake.latency, 0.0
    async with aiohttp.ClientSession() as http:
        for key, path in (
            ("outbound_messages", "/messages/outbound"),
            ("outbound_opens", "/messages/outbound/opens"),
        ):
            params = {"count": "1", "offset": "0"}
            async with http.get(fake.url + path, params=params, headers=headers) as response:
                info[key] = (await response.json())["TotalCount"]
    fake.latency = latency
    fake.reset_stats()


async def _serve(
    conn: Connection, specs: dict[str, tuple[str, dict[str, Any]]], latency: float
) -> None:
    fakes: dict[str, Any] = {}
    infos: dict[str, Any] = {}
    for name, (kind, options) in specs.items():
        fake, info = _build(name, kind, options)
        fake.latency = latency
        await fake.start()
        info["url"] = fake.url
        fakes[name] = fake
        infos[name] = info
        if kind == "postmark":
            await _postmark_totals(fake, info)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()

    def on_command() -> None:
        command, *args = conn.recv()
        if command == "latency":
            for fake in fakes.values():
                fake.latency = float(args[0])
            conn.send(None)
        elif command == "reset":
            for fake in fakes.values():
                fake.reset_stats()
            conn.send(None)
        elif command == "stats":
            conn.send(
                {
                    name: {"requests": len(fake.requests), "max_in_flight": fake.max_in_flight}
                    for name, fake in fakes.items()
                }
            )
        elif command == "stop":
            if not stop.done():
                stop.set_result(None)
        else:
            conn.send(ValueError(f"unknown command {command!r}"))

    loop.add_reader(conn.fileno(), on_command)
    conn.send(infos)
    try:
        await stop
    finally:
        loop.remove_reader(conn.fileno())
        for fake in fakes.values():
            await fake.close()
        conn.send("stopped")


def _child(conn: Connection, specs: dict[str, tuple[str, dict[str, Any]]], latency: float) -> None:
    try:
        import uvloop  # noqa: PLC0415 - optional, bench-only

        factory: Any = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_serve(conn, specs, latency))


class ServerProcess:
    """A child process serving fakes on 127.0.0.1; the parent sends it commands.

    Args:
        specs: ``name -> (kind, options)`` with kind ``postmark``, ``emailconsul`` or
            ``getresponse`` and the options of that fake's constructor.
        latency: Seconds every request waits before it is answered.
    """

    def __init__(self, specs: dict[str, tuple[str, dict[str, Any]]], *, latency: float) -> None:
        self._specs = specs
        self._latency = latency
        self._conn: Connection | None = None
        self._process: Any = None
        self.info: dict[str, Any] = {}
        self.start_seconds = 0.0

    def start(self) -> None:
        """Start the process and wait until every fake listens."""
        started = time.perf_counter()
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(
            target=_child, args=(child, self._specs, self._latency), daemon=True
        )
        self._process.start()
        child.close()
        self._conn = parent
        if not parent.poll(START_TIMEOUT):
            self.stop()
            msg = "the fake servers did not start in time"
            raise RuntimeError(msg)
        self.info = parent.recv()
        self.start_seconds = time.perf_counter() - started

    def _ask(self, *command: Any) -> Any:
        assert self._conn is not None
        self._conn.send(command)
        answer = self._conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def set_latency(self, seconds: float) -> None:
        """Make every fake wait *seconds* before each answer."""
        self._ask("latency", seconds)

    def reset(self) -> None:
        """Forget the request logs and in-flight maxima."""
        self._ask("reset")

    def stats(self) -> dict[str, dict[str, int]]:
        """Return each fake's request count and in-flight maximum since the last reset."""
        return self._ask("stats")  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Stop the fakes and the process."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError, EOFError):
                conn.send(("stop",))
                if conn.poll(10):
                    conn.recv()
            conn.close()
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(5)
            self._process = None


@contextlib.contextmanager
def serving(
    specs: dict[str, tuple[str, dict[str, Any]]], *, latency: float
) -> Iterator[ServerProcess]:
    """Run fakes in a child process for the duration of a ``with`` block."""
    server = ServerProcess(specs, latency=latency)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def aware(iso: str) -> dt.datetime:
    """Parse an ISO timestamp sent by the server process."""
    return dt.datetime.fromisoformat(iso)
