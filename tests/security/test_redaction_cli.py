"""A credential echoed in an error reply never reaches what the command prints.

The server echoes the command's own secret at every offset from 0 to 600 of an error body
(and, around the cuts at 200 and 500 characters, JSON-escaped inside the error's message);
``asyncmailstats export`` must print its one error line without any 8-character piece of
the secret, for each provider. The command runs in process for each offset (a process
each would take minutes) and as a real process at a few offsets around the cuts.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import pytest
from aiohttp import web

from asyncmailstats.cli import main

#: ASCII (it travels in a header) with "/", "+" and "%" so that its spellings differ.
SECRET = "tok/a+b%9f1c2d7e-4b6a-4e0f-a8d2"
PIECE = 8
#: Where each form of the secret is planted: the raw body everywhere, the JSON message
#: around the cuts (the library's own tests plant every spelling at every offset).
OFFSETS = {"raw body": range(601), "json message": [*range(185, 216), *range(485, 516)]}
#: The real process, at the start and around each cut.
IN_A_PROCESS = [("raw body", 0), ("raw body", 500), ("json message", 200)]
ROOT = Path(__file__).resolve().parents[2]
ENV_NAMES = {
    "postmark": "POSTMARK_SERVER_TOKEN",
    "emailconsul": "EMAILCONSUL_API_KEY",
    "getresponse": "GETRESPONSE_API_KEY",
}
WHAT = {
    "postmark": ["postmark", "opens"],
    "emailconsul": ["emailconsul", "link-stats", "--from=2024-05-01", "--to=2024-05-02"],
    "getresponse": ["getresponse", "messages"],
}
FORMS = ["raw body", "json message"]


def pieces(text: str) -> set[str]:
    return {text[i : i + PIECE] for i in range(len(text) - PIECE + 1)}


BAD = pieces(SECRET) | pieces(json.dumps(SECRET)[1:-1].replace("/", "\\/"))


def reply(provider: str, form: str, offset: int) -> web.Response:
    """A non-retryable error reply with the secret planted at *offset*."""
    if form == "raw body":
        return web.Response(status=400, text="a" * offset + SECRET + " z" * 400)
    message = "a" * offset + json.dumps(SECRET)[1:-1].replace("/", "\\/") + "b" * 700
    if provider == "postmark":
        body = '{"ErrorCode": 300, "Message": "' + message + '"}'
        return web.Response(status=422, text=body, content_type="application/json")
    if provider == "emailconsul":
        body = '{"error": {"message": "' + message + '"}}'
        return web.Response(status=400, text=body, content_type="application/json")
    body = '{"jsonrpc": "2.0", "id": 1, "error": {"code": -1, "message": "' + message + '"}}'
    return web.Response(status=200, text=body, content_type="application/json")


class EchoServer:
    """An aiohttp server on its own thread answering with ``reply(provider, form, offset)``."""

    def __init__(self) -> None:
        self.provider = "postmark"
        self.form = FORMS[0]
        self.offset = 0
        self.requests = 0
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._serve(),))

    async def _handle(self, _: web.Request) -> web.Response:
        self.requests += 1
        return reply(self.provider, self.form, self.offset)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def __enter__(self) -> Self:
        self._thread.start()
        self._ready.wait(timeout=30)
        return self

    def __exit__(self, *_: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        self._loop.close()


@pytest.fixture
def server() -> Iterator[EchoServer]:
    with EchoServer() as running:
        yield running


def argv(provider: str, url: str, out: Path) -> list[str]:
    return ["export", *WHAT[provider], "--base-url", url, "--no-progress", "--out", str(out)]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("provider", list(WHAT))
def test_the_command_never_prints_a_piece_of_an_echoed_secret(
    provider: str,
    form: str,
    server: EchoServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At every planted offset the command fails with one line (exit 1) free of the secret."""
    monkeypatch.setenv(ENV_NAMES[provider], SECRET)
    server.provider, server.form = provider, form
    leaked: list[str] = []
    for offset in OFFSETS[form]:
        server.offset = offset
        printed = io.StringIO()
        with contextlib.redirect_stderr(printed), contextlib.redirect_stdout(printed):
            status = main(argv(provider, server.url, tmp_path / "out"))
        text = printed.getvalue()
        assert status == 1, text
        assert len(text.splitlines()) == 1, text
        if any(piece in text for piece in BAD):
            leaked.append(f"{offset}: {text[:80]}")
    assert leaked == []
    assert server.requests >= len(OFFSETS[form])


@pytest.mark.parametrize("provider", list(WHAT))
def test_the_command_as_a_process_never_prints_the_secret(
    provider: str, server: EchoServer, tmp_path: Path
) -> None:
    """As a real process, stdout and stderr hold no piece of the secret."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), ENV_NAMES[provider]: SECRET}
    server.provider = provider
    outputs: list[str] = []
    command = [sys.executable, "-m", "asyncmailstats", *argv(provider, server.url, tmp_path / "o")]
    for form, offset in IN_A_PROCESS:
        server.form, server.offset = form, offset
        done = subprocess.run(  # noqa: S603 - our own interpreter and command
            command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False
        )
        assert done.returncode == 1, done.stderr
        outputs.append(done.stdout + done.stderr)
    assert all(text.startswith("asyncmailstats: ") for text in outputs)
    assert [text for text in outputs if any(piece in text for piece in BAD)] == []
