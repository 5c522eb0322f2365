"""One provider client: the request path shared by every provider API.

``call()`` runs the retry loop; each attempt takes a limiter slot, sends through the
transport, releases the slot and decodes the response with the provider's pure decoder.
``fetch()`` is the same loop with only a status check inside the attempt: it returns the
response, and the pager parses it (with :meth:`ProviderClient.decode`) when the stream
reaches it. The retry loop sits outside the limiter, so a request waiting out its
backoff holds no slot.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

import attrs

from ._http import HeaderValue, Request, Response, Secret
from ._limiter import Limiter, Limits
from ._retry import RetryHooks, RetryPolicy, retry_call
from ._transport import DEFAULT_MAX_BODY_SIZE, Timeout, Transport, body_too_large
from .exceptions import APIError, DecodeError, MailStatsError, RateLimitError, redact

T = TypeVar("T")
R = TypeVar("R")

_log = logging.getLogger("asyncmailstats.retry")


class _Owner(Protocol):
    """What a provider client needs from its session."""

    def _ensure_open(self) -> Transport: ...


class Counters:
    """Mutable request counters of one provider client."""

    __slots__ = ("failures", "rate_limited", "requests", "retries")

    def __init__(self) -> None:
        self.requests = 0
        self.retries = 0
        self.failures = 0
        self.rate_limited = 0


@attrs.frozen
class ProviderStatistics:
    """A snapshot of one provider client's traffic.

    Attributes:
        provider: The provider's name.
        requests: Attempts sent (every retry counts).
        retries: Attempts that failed and were tried again.
        failures: Calls that raised after their last attempt.
        rate_limited: 429 answers received.
        in_flight: Requests holding a slot now.
        waiting: Requests queued for a slot (or a cool-down) now.
        peak_in_flight: The most requests ever in flight at once.
        concurrency_limit: The effective concurrency limit now (lowered after 429s when
            adaptive).
    """

    provider: str
    requests: int
    retries: int
    failures: int
    rate_limited: int
    in_flight: int
    waiting: int
    peak_in_flight: int
    concurrency_limit: int


class _Hooks(RetryHooks):
    __slots__ = ("_counters", "_limiter")

    def __init__(self, counters: Counters, limiter: Limiter) -> None:
        self._counters = counters
        self._limiter = limiter

    def on_retry(self, error: BaseException, delay: float) -> None:
        self._counters.retries += 1

    def on_rate_limited(self, error: RateLimitError, delay: float) -> None:
        self._counters.rate_limited += 1
        self._limiter.cool_down(delay)
        _log.info(
            "%s: rate limited (429) on %s; every %s request waits %.3f s",
            self._limiter.name,
            error.endpoint or "a request",
            self._limiter.name,
            delay,
        )

    def on_failure(self, error: BaseException) -> None:
        self._counters.failures += 1


class ProviderClient:
    """Sends a provider's requests with its auth headers, limits and retry policy."""

    def __init__(
        self,
        owner: _Owner,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, HeaderValue],
        secrets: tuple[str | Secret, ...],
        limits: Limits,
        retry: RetryPolicy,
        timeout: Timeout,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        rng: random.Random | None = None,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.limiter = Limiter(limits, name=provider)
        self.retry = retry
        self.timeout = timeout
        self.max_body_size = max_body_size
        self.counters = Counters()
        self._owner = owner
        # Credentials are held as Secret objects only, so that no frame of the request
        # path (nor this client) has one in plain text: the transport reveals them.
        secret_list = [s if isinstance(s, Secret) else Secret(s) for s in secrets if s]
        self._secrets: tuple[Secret, ...] = tuple(secret_list)
        self._headers: dict[str, HeaderValue] = {
            name: Secret(value) if isinstance(value, str) and value in secret_list else value
            for name, value in headers.items()
        }
        del secret_list
        self._hooks = _Hooks(self.counters, self.limiter)
        self._rng = rng
        #: Whether a fan-out over this client's methods was told of its limit already.
        self.warned_fan_out = False

    def __repr__(self) -> str:
        return f"<ProviderClient {self.provider} {self.base_url}>"

    async def call(self, request: Request, decode: Callable[[Response], T]) -> T:
        """Send *request* (with retries) and return ``decode(response)``.

        Raises:
            SessionClosedError: The session is closed.
            APIError: The provider answered with an error (after retries, if retryable).
            TransportError: No complete response (after retries).
            DecodeError: The body did not fit, or was over ``max_body_size`` bytes.
        """
        transport = self._owner._ensure_open()  # noqa: SLF001
        url = self.base_url + request.path
        headers = {**self._headers, **request.headers} if request.headers else self._headers
        request = Request(
            request.method, request.path, request.params, headers, request.body, request.endpoint
        )
        limiter = self.limiter
        counters = self.counters
        timeout = self.timeout
        max_body_size = self.max_body_size
        scrubbing = bool(self._secrets)

        async def attempt() -> T:
            counters.requests += 1
            epoch = limiter.epoch if limiter.try_acquire() else await limiter.acquire()
            try:
                try:
                    response = await transport.send(request, url, timeout)
                finally:
                    limiter.release()
                if len(response.body) > max_body_size:
                    # Whatever transport read it: the limit holds for every one.
                    raise body_too_large(request.label, max_body_size)
                if scrubbing and not 200 <= response.status < 300:
                    # An error reply may echo a credential: redact the whole body before
                    # any decoder reads a message from it or cuts an excerpt of it.
                    response = self._redact_response(response)
                result = decode(response)
            except MailStatsError as error:
                if isinstance(error, RateLimitError):
                    limiter.decrease(epoch)
                # Scrub here, before the retry loop logs the error, not only once it surfaces.
                if scrubbing:
                    self._scrub(error)
                raise
            limiter.record_success(epoch)
            return result

        label = f"{self.provider} {request.label}"  # for log lines
        return await retry_call(attempt, self.retry, hooks=self._hooks, rng=self._rng, label=label)

    async def fetch(self, request: Request, check: Callable[[Response], None]) -> Response:
        """Send *request* (with retries) and return the response once ``check`` accepts it.

        ``check`` raises the error an unsuccessful response stands for; it runs inside
        each attempt, so retryable errors are retried. The body is left to the caller
        to parse, with :meth:`decode`, when it needs it.
        """

        def checked(response: Response) -> Response:
            check(response)
            return response

        return await self.call(request, checked)

    def decode(self, value: R, parse: Callable[[R], T]) -> T:
        """Return ``parse(value)``, with this client's secrets scrubbed from any error."""
        try:
            return parse(value)
        except MailStatsError as error:
            if self._secrets:
                self._scrub(error)
            raise

    def statistics(self) -> ProviderStatistics:
        """Return a snapshot of this client's counters."""
        c, lim = self.counters, self.limiter
        return ProviderStatistics(
            provider=self.provider,
            requests=c.requests,
            retries=c.retries,
            failures=c.failures,
            rate_limited=c.rate_limited,
            in_flight=lim.in_flight,
            waiting=lim.waiting,
            peak_in_flight=lim.peak_in_flight,
            concurrency_limit=lim.limit,
        )

    def redact(self, text: str) -> str:
        """Return *text* with every spelling of every secret of this client replaced.

        Spellings are the secret as is, JSON-escaped and percent-encoded (see
        :func:`~asyncmailstats.exceptions.secret_spellings`).
        """
        return redact(text, (secret.reveal() for secret in self._secrets))

    def _redact_response(self, response: Response) -> Response:
        # surrogateescape round-trips any bytes, so a body that is not UTF-8 is unchanged
        # except where a secret was.
        text = response.body.decode("utf-8", "surrogateescape")
        cleaned = self.redact(text)
        headers = {name: self.redact(value) for name, value in response.headers.items()}
        if cleaned == text and headers == response.headers:
            return response
        body = cleaned.encode("utf-8", "surrogateescape")
        return Response(status=response.status, headers=headers, body=body)

    def _scrub(self, error: MailStatsError) -> None:
        # A provider may echo a credential back in an error body or message: the error
        # redacts the longer text it kept, then cuts it to its excerpt.
        if isinstance(error, APIError | DecodeError):
            error.redact(secret.reveal() for secret in self._secrets)
        else:
            error.args = tuple(self.redact(a) if isinstance(a, str) else a for a in error.args)
