"""The :class:`Session`: owner of the transport, and factory of provider APIs."""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import logging
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Self
from urllib.parse import urlsplit

import attrs
from yarl import URL

from ._client import ProviderClient, ProviderStatistics
from ._closing import AsyncClosing
from ._limiter import Limits
from ._retry import RetryPolicy
from ._text import check_encodable
from ._transport import DEFAULT_MAX_BODY_SIZE, AiohttpTransport, Timeout, Transport
from ._validate import check_str
from .exceptions import SessionClosedError

if TYPE_CHECKING:
    from .emailconsul import EmailConsulAPI
    from .getresponse import GetResponseAPI
    from .postmark import PostmarkAPI

_log = logging.getLogger("asyncmailstats")

POSTMARK_URL: Final = "https://api.postmarkapp.com"
EMAILCONSUL_URL: Final = "https://api.emailconsul.com"
GETRESPONSE_URL: Final = "https://api2.getresponse.com"


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


@attrs.frozen
class SessionStatistics:
    """A snapshot of a session's traffic, summed over its provider clients.

    Attributes:
        requests: Attempts sent (every retry counts).
        retries: Attempts that failed and were tried again.
        failures: Calls that raised after their last attempt.
        rate_limited: 429 answers received.
        in_flight: Requests holding a slot now.
        waiting: Requests queued for a slot (or a cool-down) now.
        peak_in_flight: The highest per-client in-flight count seen.
        providers: The same figures per provider client.
    """

    requests: int
    retries: int
    failures: int
    rate_limited: int
    in_flight: int
    waiting: int
    peak_in_flight: int
    providers: tuple[ProviderStatistics, ...]


#: Every control character: none belongs in a credential or a header.
_CONTROL = frozenset(map(chr, [*range(0x20), 0x7F]))
#: RFC 9110's ``tchar``: what a header name (a ``token``) is made of.
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
#: Headers a credential may not take the name of: hop-by-hop, framing and routing
#: headers, and the ones the client sets itself (compared case-insensitively).
_RESERVED_HEADERS: Final = frozenset(
    {
        "accept",
        "accept-encoding",
        "connection",
        "content-encoding",
        "content-length",
        "content-type",
        "cookie",
        "expect",
        "host",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
    }
)


def _check_secret(name: str, value: object) -> str:
    # The messages name the argument, never its value.
    text = check_str(name, value)
    if not _CONTROL.isdisjoint(text):
        msg = f"{name} must not contain control characters (line breaks, NUL, tabs, DEL, ...)"
        raise ValueError(msg)
    return check_encodable(name, text)


def _check_header_name(name: str, value: object) -> str:
    if not isinstance(value, str):
        msg = f"{name} must be a str, got {type(value).__name__}"
        raise TypeError(msg)
    if not value or not _TCHAR.issuperset(value):
        msg = f"{name} must be an HTTP header name (an RFC 9110 token), got {value!r}"
        raise ValueError(msg)
    lowered = value.lower()
    if lowered in _RESERVED_HEADERS or lowered.startswith("proxy-"):
        msg = f"{name} must not be a hop-by-hop, framing or reserved header, got {value!r}"
        raise ValueError(msg)
    return value


def _check_base_url(value: object) -> str:
    if not isinstance(value, str):
        msg = f"base_url must be a str, got {type(value).__name__}"
        raise TypeError(msg)
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        msg = f"base_url must be an http(s) URL with a host, got {value!r}"
        raise ValueError(msg)
    if parts.query or parts.fragment or parts.username or parts.password:
        msg = "base_url must not carry a query, a fragment or credentials"
        raise ValueError(msg)
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        _log.warning(
            "base_url %s uses plain HTTP: credentials will travel unencrypted",
            f"http://{parts.netloc}",
        )
    # The canonical, percent-encoded form: request paths are appended to it already
    # encoded, and the transport sends the result without encoding it again.
    return str(URL(value.rstrip("/")))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_option(name: str, value: object, kind: type) -> None:
    if value is not None and not isinstance(value, kind):
        msg = f"{name} must be a {kind.__name__} or None, got {type(value).__name__}"
        raise TypeError(msg)


def _credential_digest(headers: Mapping[str, str], secrets: tuple[str, ...]) -> bytes:
    """Return a digest of a client's headers and secrets, to key it without keeping them."""
    digest = hashlib.sha256()
    for name, value in sorted((k.lower(), v) for k, v in headers.items()):
        digest.update(f"{name}\0{value}\0".encode("utf-8", "surrogatepass"))
    for secret in secrets:
        digest.update(f"\1{secret}\0".encode("utf-8", "surrogatepass"))
    return digest.digest()


class Session(AsyncClosing):
    """Owns the HTTP transport, and hands out provider APIs that share it.

    Use it as an async context manager::

        async with asyncmailstats.Session() as session:
            pm = session.postmark(server_token="...")

    Constructing a session, and calling its factories, does no I/O. A factory called
    again for the same provider, base URL and credential returns an API on the same
    provider client: one limiter, one cool-down and one set of counters per server. A
    session is opened
    once and closed once: using a provider API after the session closed, or opening a
    closed session again, raises :class:`~asyncmailstats.SessionClosedError`.

    Args:
        limits: Default :class:`Limits` of each provider client.
        retry: Default :class:`RetryPolicy` of each provider client.
        timeout: Time limits of each attempt.
        max_body_size: Largest response body accepted, in bytes, whatever the transport:
            a longer one raises :class:`~asyncmailstats.DecodeError` (not retried). The
            default transport refuses it while it streams in; a body from a custom
            *transport* is measured once the transport returns it.
        transport: A custom :class:`Transport` (tests); the default uses aiohttp. The
            session calls its ``open()`` when it opens and its ``aclose()`` when it
            closes.
    """

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
        timeout: Timeout | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        transport: Transport | None = None,
    ) -> None:
        _check_option("limits", limits, Limits)
        _check_option("retry", retry, RetryPolicy)
        _check_option("timeout", timeout, Timeout)
        if isinstance(max_body_size, bool) or not isinstance(max_body_size, int):
            msg = f"max_body_size must be an int, got {type(max_body_size).__name__}"
            raise TypeError(msg)
        if max_body_size < 1:
            msg = "max_body_size must be at least 1"
            raise ValueError(msg)
        self.limits = limits or Limits()
        self.retry = retry or RetryPolicy()
        self.timeout = timeout or Timeout()
        self.max_body_size = max_body_size
        self._transport: Transport = transport or AiohttpTransport(max_body_size=max_body_size)
        self._state = _State.UNOPENED
        # One provider client per provider, base URL and credential: asking twice for
        # the same server shares its limiter, cool-down and counters.
        self._clients: dict[tuple[str, str, bytes], ProviderClient] = {}

    def __repr__(self) -> str:
        return f"<Session {self._state.value}, {len(self._clients)} provider client(s)>"

    async def __aenter__(self) -> Self:
        self.open()
        return self

    def open(self) -> None:
        """Open the session inside the running event loop (``async with`` does this)."""
        if self._state is _State.CLOSED:
            msg = "this session was closed; create a new Session"
            raise SessionClosedError(msg)
        if self._state is _State.OPEN:
            msg = "this session is already open"
            raise RuntimeError(msg)
        self._transport.open()
        self._state = _State.OPEN

    async def aclose(self) -> None:
        """Close the session and release every connection; calling it again does nothing."""
        if self._state is _State.CLOSED:
            return
        was_open = self._state is _State.OPEN
        self._state = _State.CLOSED
        if was_open:
            await self._transport.aclose()

    @property
    def closed(self) -> bool:
        """Whether the session has been closed."""
        return self._state is _State.CLOSED

    def __del__(self) -> None:
        if getattr(self, "_state", None) is _State.OPEN:
            warnings.warn(  # noqa: B028 - the default level points at the collector
                f"unclosed {self!r}: use 'async with Session()' or await aclose()",
                ResourceWarning,
                source=self,
            )

    def _ensure_open(self) -> Transport:
        if self._state is _State.OPEN:
            return self._transport
        if self._state is _State.CLOSED:
            msg = "the session is closed"
            raise SessionClosedError(msg)
        msg = "the session is not open yet: use 'async with Session() as session'"
        raise RuntimeError(msg)

    def _client(
        self,
        provider: str,
        *,
        base_url: object,
        headers: Mapping[str, str],
        secrets: tuple[str, ...],
        limits: Limits | None,
        retry: RetryPolicy | None,
    ) -> ProviderClient:
        if self._state is _State.CLOSED:
            msg = "the session is closed"
            raise SessionClosedError(msg)
        _check_option("limits", limits, Limits)
        _check_option("retry", retry, RetryPolicy)
        url = _check_base_url(base_url)
        key = (provider, url, _credential_digest(headers, secrets))
        client = self._clients.get(key)
        if client is not None:
            for name, given, held in (
                ("limits", limits, client.limiter.limits),
                ("retry", retry, client.retry),
            ):
                if given is not None and given != held:
                    msg = (
                        f"this session already has a {provider} client for {url} with "
                        f"this credential and {name}={held!r}; pass the same {name}= (or "
                        "none) to share its limiter and cool-down, or use another Session"
                    )
                    raise ValueError(msg)
            return client
        client = ProviderClient(
            self,
            provider=provider,
            base_url=url,
            headers=headers,
            secrets=secrets,
            limits=limits or self.limits,
            retry=retry or self.retry,
            timeout=self.timeout,
            max_body_size=self.max_body_size,
        )
        self._clients[key] = client
        return client

    def postmark(
        self,
        *,
        server_token: str,
        base_url: str = POSTMARK_URL,
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
        retention_days: int = 45,
    ) -> PostmarkAPI:
        """Return a Postmark client for one server.

        Args:
            server_token: The server's API token (sent as ``X-Postmark-Server-Token``).
            base_url: The API root; change it for tests or fakes.
            limits: Limits for this client instead of the session's.
            retry: Retry policy for this client instead of the session's.
            retention_days: The server's message retention, which bounds
                ``outbound_messages()`` when no dates are given.
        """
        from .postmark import PostmarkAPI  # noqa: PLC0415 - providers load on demand

        token = _check_secret("server_token", server_token)
        client = self._client(
            "postmark",
            base_url=base_url,
            headers={"X-Postmark-Server-Token": token, "Accept": "application/json"},
            secrets=(token,),
            limits=limits,
            retry=retry,
        )
        return PostmarkAPI(client, retention_days=retention_days)

    def emailconsul(
        self,
        *,
        api_key: str,
        base_url: str = EMAILCONSUL_URL,
        auth_header: str = "X-API-Key",
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
    ) -> EmailConsulAPI:
        """Return an EmailConsul client.

        The public documentation confirms neither the base URL nor the name of the auth
        header: both defaults are best guesses, and both can be overridden.

        Args:
            api_key: The API key, sent in the *auth_header* header.
            base_url: The API root.
            auth_header: The name of the header that carries the key.
            limits: Limits for this client instead of the session's.
            retry: Retry policy for this client instead of the session's.
        """
        from .emailconsul import EmailConsulAPI  # noqa: PLC0415

        header = _check_header_name("auth_header", auth_header)
        key = _check_secret("api_key", api_key)
        client = self._client(
            "emailconsul",
            base_url=base_url,
            headers={header: key, "Accept": "application/json"},
            secrets=(key,),
            limits=limits,
            retry=retry,
        )
        return EmailConsulAPI(client)

    def getresponse(
        self,
        *,
        api_key: str,
        base_url: str = GETRESPONSE_URL,
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
    ) -> GetResponseAPI:
        """Return a GetResponse API 1.5 (JSON-RPC) client.

        Args:
            api_key: The API key; it travels inside each JSON-RPC body.
            base_url: The API endpoint; GetResponse360 accounts have their own.
            limits: Limits for this client instead of the session's.
            retry: Retry policy for this client instead of the session's.
        """
        from .getresponse import GetResponseAPI  # noqa: PLC0415

        key = _check_secret("api_key", api_key)
        client = self._client(
            "getresponse",
            base_url=base_url,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            secrets=(key,),
            limits=limits,
            retry=retry,
        )
        return GetResponseAPI(client, api_key=key)

    def statistics(self) -> SessionStatistics:
        """Return a snapshot of the session's traffic so far."""
        per = tuple(c.statistics() for c in self._clients.values())
        return SessionStatistics(
            requests=sum(p.requests for p in per),
            retries=sum(p.retries for p in per),
            failures=sum(p.failures for p in per),
            rate_limited=sum(p.rate_limited for p in per),
            in_flight=sum(p.in_flight for p in per),
            waiting=sum(p.waiting for p in per),
            peak_in_flight=max((p.peak_in_flight for p in per), default=0),
            providers=per,
        )
