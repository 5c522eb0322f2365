"""Shared pieces of the security tests: transports that refuse or record every request."""

from __future__ import annotations

import types

import pytest

from asyncmailstats._http import Request, Response
from asyncmailstats._transport import Timeout


class RequestSentError(AssertionError):
    """A request reached the transport although the test expected none."""


class RefusingTransport:
    """A transport that records what reaches it and fails the test by raising."""

    def __init__(self) -> None:
        self.sent: list[tuple[Request, str]] = []

    def open(self) -> None:
        pass

    async def send(self, request: Request, url: str, timeout: Timeout) -> Response:
        self.sent.append((request, url))
        msg = f"a request was sent: {request.method} {url}"
        raise RequestSentError(msg)

    async def aclose(self) -> None:
        pass


class RecordingTransport:
    """A transport that records each request with its URL and answers ``status`` and ``body``."""

    def __init__(self, status: int = 200, body: bytes = b"{}") -> None:
        self.status = status
        self.body = body
        self.sent: list[tuple[Request, str]] = []

    def open(self) -> None:
        pass

    async def send(self, request: Request, url: str, timeout: Timeout) -> Response:
        self.sent.append((request, url))
        return Response(self.status, {"content-type": "application/json"}, self.body)

    async def aclose(self) -> None:
        pass


@pytest.fixture
def sec() -> types.SimpleNamespace:
    """Expose this module's helpers to the tests (a conftest cannot be imported)."""
    return types.SimpleNamespace(
        RefusingTransport=RefusingTransport,
        RecordingTransport=RecordingTransport,
        RequestSentError=RequestSentError,
    )
