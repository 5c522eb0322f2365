"""The only module that imports aiohttp.

It opens the ``ClientSession`` inside the running loop, sends one :class:`Request`,
reads the whole body, always releases the connection, and maps every aiohttp/asyncio
failure to our errors. ``CancelledError`` passes through untouched.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any, Final, Protocol

import aiohttp
import attrs
from yarl import URL

from ._http import Request, Response, reveal_body, reveal_headers
from .exceptions import DecodeError, RequestTimeoutError, TransportError

#: One DEBUG line per request; a child of the ``asyncmailstats`` logger.
_log = logging.getLogger("asyncmailstats.http")

#: The largest response body accepted by default (64 MiB).
DEFAULT_MAX_BODY_SIZE: Final = 64 * 1024 * 1024
_CHUNK: Final = 256 * 1024


def _check_timeout(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{attribute.name} must be a number or None, got {type(value).__name__}"
        raise TypeError(msg)
    if not math.isfinite(value) or value <= 0:
        msg = f"{attribute.name} must be a finite number > 0, got {value}"
        raise ValueError(msg)


@attrs.frozen
class Timeout:
    """Time limits for one attempt (queueing for a slot is not counted).

    Args:
        total: The whole attempt: connect, send, wait and read the body. ``None`` lifts
            this bound, but *read* still applies.
        connect: Getting a connection (from the pool or a new one).
        read: The longest wait for the next bytes of the reply (an idle timeout, not a
            bound on the whole body), 60 seconds by default. It applies even when
            *total* is ``None``, so a server that drips a byte now and then cannot hold
            a request open forever. **``read=None`` disables it: with ``total=None``
            too, an attempt may then never end.**
    """

    total: float | None = attrs.field(default=30.0, validator=_check_timeout)
    connect: float | None = attrs.field(default=10.0, validator=_check_timeout)
    read: float | None = attrs.field(default=60.0, validator=_check_timeout)


class Transport(Protocol):
    """Sends one request and returns its complete response.

    A :class:`~asyncmailstats.Session` calls :meth:`open` once when it opens (inside the
    running event loop), :meth:`send` for every attempt while it is open, and
    :meth:`aclose` once when it closes, if it was opened.

    The session refuses, with :class:`~asyncmailstats.DecodeError`, any response whose
    body is longer than its ``max_body_size``, whatever transport read it. A transport
    may refuse a body earlier, while it streams in, as :class:`AiohttpTransport` does
    with its own ``max_body_size``.
    """

    def open(self) -> None:
        """Get ready to send; runs inside the event loop that will use the transport."""
        ...

    async def send(self, request: Request, url: str, timeout: Timeout) -> Response:
        """Send *request* to *url* and return the response with its whole body.

        Credentials are revealed only here: header values with ``reveal_headers()``,
        the body with ``reveal_body()`` (both in ``asyncmailstats._http``).
        """
        ...

    async def aclose(self) -> None:
        """Release every connection."""
        ...


class AiohttpTransport:
    """A :class:`Transport` on one shared ``aiohttp.ClientSession``.

    Args:
        max_body_size: The largest body read, in bytes. A longer one is refused while it
            streams in (or at once, from its ``Content-Length``), so it is never held
            whole in memory. A session builds its default transport with its own limit.
    """

    def __init__(self, *, max_body_size: int = DEFAULT_MAX_BODY_SIZE) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[Timeout, aiohttp.ClientTimeout] = {}
        # The last timeout asked for and its aiohttp form: almost every request of a
        # session passes the same object, and an identity check is cheaper than hashing.
        self._last_timeout: tuple[Timeout, aiohttp.ClientTimeout] | None = None
        self.max_body_size = max_body_size

    def open(self) -> None:
        """Create the client session; must run inside the event loop that will use it."""
        asyncio.get_running_loop()  # fail early outside a loop
        # Concurrency is bounded per provider by the limiters; the pool must never be
        # the tighter bound, so it is unlimited here.
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=True,
            raise_for_status=False,
            trust_env=False,
        )

    async def aclose(self) -> None:
        """Close the client session and its connector."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _client_timeout(self, timeout: Timeout) -> aiohttp.ClientTimeout:
        last = self._last_timeout
        if last is not None and last[0] is timeout:
            return last[1]
        cached = self._timeouts.get(timeout)
        if cached is None:
            cached = aiohttp.ClientTimeout(
                total=timeout.total, sock_connect=timeout.connect, sock_read=timeout.read
            )
            self._timeouts[timeout] = cached
        self._last_timeout = (timeout, cached)
        return cached

    async def send(self, request: Request, url: str, timeout: Timeout) -> Response:
        """Send *request* and return the complete response; see the module docstring."""
        session = self._session
        if session is None:
            msg = "transport is not open"
            raise RuntimeError(msg)
        label = request.label
        debug = _log.isEnabledFor(logging.DEBUG)
        started = time.monotonic() if debug else 0.0
        # The error is raised outside the except blocks, so it carries no __context__:
        # the frames of aiohttp, which hold the real header values, are not kept alive in
        # its traceback for a tool that captures local variables to find.
        failure: TransportError | None = None
        try:
            status, headers, body = await self._exchange(session, request, url, timeout)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            msg = f"no complete response within the timeout ({_describe(timeout)})"
            failure = RequestTimeoutError(msg, endpoint=label)
        except aiohttp.ClientPayloadError as exc:
            failure = TransportError(f"response body was cut short: {exc}", endpoint=label)
        except (aiohttp.ClientError, OSError) as exc:
            msg = f"connection failed: {type(exc).__name__}: {exc}"
            failure = TransportError(msg, endpoint=label)
        if failure is not None:
            if debug:
                _log.debug("%s -> %s", label, failure)
            raise failure
        if debug:
            _log.debug(
                "%s -> %d (%d bytes, %.1f ms)",
                label,
                status,
                len(body),
                (time.monotonic() - started) * 1000,
            )
        return Response(status=status, headers=headers, body=body)

    async def _exchange(
        self, session: aiohttp.ClientSession, request: Request, url: str, timeout: Timeout
    ) -> tuple[int, dict[str, str], bytes]:
        async with session.request(
            request.method,
            # Encoded already: taken as is, so "%2E" is not decoded into a dot segment.
            URL(url, encoded=True),
            params=request.params or None,
            # Credentials are revealed here, into aiohttp's own frames, and nowhere else.
            headers=reveal_headers(request.headers),
            data=reveal_body(request.body),
            timeout=self._client_timeout(timeout),
            allow_redirects=False,
        ) as resp:
            body = await self._read_body(resp, request.label)
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, body

    async def _read_body(self, resp: aiohttp.ClientResponse, label: str) -> bytes:
        limit = self.max_body_size
        length = resp.content_length
        if length is not None and length > limit:
            raise body_too_large(label, limit)
        if length is not None and "Content-Encoding" not in resp.headers:
            # What Content-Length announces is what arrives: read it in one go.
            return await resp.read()
        # Unknown length, or a compressed body that may inflate far past its
        # Content-Length: count what decompression yields while it streams in.
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise body_too_large(label, limit)
            chunks.append(chunk)
        return b"".join(chunks)


def _describe(timeout: Timeout) -> str:
    parts = [f"{name} {value}s" for name, value in attrs.asdict(timeout).items() if value]
    return ", ".join(parts) or "no limit"


def body_too_large(label: str, limit: int) -> DecodeError:
    """Return the error that refuses a body over *limit* bytes, for the endpoint *label*."""
    msg = f"response body is larger than the {limit}-byte maximum; refused"
    return DecodeError(msg, endpoint=label)
