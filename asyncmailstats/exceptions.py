"""The public error tree.

Every error the library raises on purpose derives from :class:`MailStatsError`::

    MailStatsError
    ├── SessionClosedError
    ├── TransportError                  connection failed / reset / truncated body
    │   └── RequestTimeoutError
    ├── APIError                        provider, status, code, message, body (no secrets)
    │   ├── AuthenticationError         401, Postmark ErrorCode 10, GetResponse key failure
    │   ├── PermissionDeniedError       403, GetResponse IP not allowed
    │   ├── NotFoundError               404, Postmark 701 (HTTP 422), GetResponse "Missing message"
    │   ├── InvalidRequestError         400/422 other codes, GetResponse "Invalid params"
    │   ├── RateLimitError              429; retry_after
    │   ├── ServerError                 5xx
    │   └── JSONRPCError                any other GetResponse error; code, message
    ├── ResultWindowError               offset ceiling reached and cannot be windowed
    ├── PagingError                     pages that do not add up: a result that moved and
    │                                   cannot be re-aligned, an empty page before the total,
    │                                   totals that cannot be true
    └── DecodeError                     body is not JSON / does not fit the model

Client-side bad arguments raise the built-in :class:`ValueError` / :class:`TypeError`
before any request is sent.
"""

from __future__ import annotations

import functools
import json
import re
import reprlib
from collections.abc import Iterable
from typing import Final
from urllib.parse import quote, quote_plus

#: How many characters of a response body an error keeps.
BODY_EXCERPT_CHARS: Final = 500
#: What replaces a secret in any text taken from a response.
REDACTED: Final = "<redacted>"
#: How many characters past the excerpt an error keeps until its secrets are redacted,
#: so that a secret straddling the cut is redacted whole before the text is cut.
_REDACT_MARGIN: Final = 8192

_PERCENT = re.compile(r"%[0-9A-F]{2}")
_UNICODE_ESCAPE = re.compile(r"\\u[0-9a-f]{4}")


@functools.lru_cache(maxsize=64)
def secret_spellings(secret: str) -> tuple[str, ...]:
    r"""Return the ways a reply may spell *secret*, longest first.

    As is; JSON-escaped the way ``json.dumps`` writes it (with and without
    ``ensure_ascii``, with ``/`` escaped as ``\/`` or not, ``\u`` escapes in either
    case); and percent-encoded (``quote`` with and without ``/`` kept, ``quote_plus``,
    hex digits in either case).
    """
    if not secret:
        return ()
    found = {secret}
    for ascii_only in (True, False):
        escaped = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        found.update((escaped, escaped.replace("/", "\\/")))
        found.add(_UNICODE_ESCAPE.sub(lambda m: m.group().upper().replace("\\U", "\\u"), escaped))
    for encoded in (quote(secret, safe=""), quote(secret), quote_plus(secret)):
        found.update((encoded, _PERCENT.sub(lambda m: m.group().lower(), encoded)))
    return tuple(sorted(found, key=lambda s: (-len(s), s)))


def redact(text: str, secrets: Iterable[str]) -> str:
    """Return *text* with every spelling of every non-empty secret replaced."""
    for secret in secrets:
        for spelling in secret_spellings(secret):
            if spelling in text:
                text = text.replace(spelling, REDACTED)
    return text


_REPR = reprlib.Repr()
_REPR.maxlevel = 6
_REPR.maxdict = _REPR.maxlist = _REPR.maxtuple = _REPR.maxset = 10
_REPR.maxstring = _REPR.maxother = 200


def excerpt(value: object, limit: int = BODY_EXCERPT_CHARS, *, marker: str = "…") -> str:
    """Return at most *limit* characters showing *value*, then *marker* if it was cut.

    Bytes are decoded leniently (only as many as can be shown); anything that is not
    text is shown with a bounded repr that never recurses more than a few levels, so an
    excerpt of hostile, deeply nested JSON is cheap and cannot raise
    :class:`RecursionError`.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        # A UTF-8 character is at most 4 bytes: decode only what can be shown.
        text = bytes(value[: 4 * limit + 4]).decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value
    else:
        text = _REPR.repr(value)
    if len(text) > limit:
        return text[:limit] + marker
    return text


def _excerpt(body: bytes | str | None) -> str | None:
    """Return the excerpt an error shows of *body* (``None`` for none)."""
    return None if body is None else excerpt(body)


def _keep(body: bytes | str | None) -> str | None:
    """Return the start of *body* an error keeps until it is redacted (then cut)."""
    return None if body is None else excerpt(body, BODY_EXCERPT_CHARS + _REDACT_MARGIN)


class MailStatsError(Exception):
    """Base class of every error raised by asyncmailstats."""

    #: How many attempts were made before this error surfaced (set by the retry loop).
    attempts: int | None = None


class SessionClosedError(MailStatsError, RuntimeError):
    """The session was closed (or closed and then reopened): it cannot be used."""


class TransportError(MailStatsError):
    """The request did not get a complete HTTP response: connection failed, reset or cut."""

    def __init__(self, message: str, *, endpoint: str | None = None) -> None:
        super().__init__(message)
        #: The endpoint the request was for, e.g. ``GET /messages/outbound``.
        self.endpoint = endpoint


class RequestTimeoutError(TransportError):
    """An attempt took longer than its :class:`~asyncmailstats.Timeout` allowed."""


class APIError(MailStatsError):
    """The provider answered with an error.

    Attributes:
        provider: ``"postmark"``, ``"emailconsul"`` or ``"getresponse"``.
        status: The HTTP status of the reply.
        code: The provider's own error code (Postmark ``ErrorCode``, JSON-RPC ``code``).
        message: The provider's message, or a description of the status.
        body: An excerpt of the response body; never contains a secret of ours.
        endpoint: The endpoint the request was for.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int,
        code: int | None = None,
        body: bytes | str | None = None,
        endpoint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.code = code
        self.body = _excerpt(body)
        self.endpoint = endpoint
        # The longer text the excerpt was cut from: redact() works on it, then cuts again.
        self._raw_body = _keep(body)

    def redact(self, secrets: Iterable[str]) -> None:
        """Replace every spelling of *secrets* in this error's texts, before cutting them."""
        secrets = tuple(secrets)
        self.args = tuple(redact(a, secrets) if isinstance(a, str) else a for a in self.args)
        self.message = redact(self.message, secrets)
        if self._raw_body is not None:
            self._raw_body = redact(self._raw_body, secrets)
            self.body = excerpt(self._raw_body)
        elif self.body is not None:
            self.body = redact(self.body, secrets)

    def __str__(self) -> str:
        parts = [f"{self.provider}"]
        if self.endpoint:
            parts.append(self.endpoint)
        parts.append(f"HTTP {self.status}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        return f"{self.message} ({', '.join(parts)})"


class AuthenticationError(APIError):
    """The token or API key was missing or refused."""


class PermissionDeniedError(APIError):
    """The credentials are valid but not allowed to do this (or from here)."""


class NotFoundError(APIError):
    """The requested object (message, link, …) does not exist."""


class InvalidRequestError(APIError):
    """The provider rejected the request's parameters."""


class RateLimitError(APIError):
    """The provider asked us to slow down (HTTP 429)."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int = 429,
        code: int | None = None,
        body: bytes | str | None = None,
        endpoint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, provider=provider, status=status, code=code, body=body, endpoint=endpoint
        )
        #: Seconds the provider asked us to wait (``Retry-After``), if it said.
        self.retry_after = retry_after


class ServerError(APIError):
    """The provider failed on its side (HTTP 5xx or a maintenance reply)."""


class JSONRPCError(APIError):
    """A JSON-RPC error that has no more specific class (GetResponse)."""


class ResultWindowError(MailStatsError):
    """A stream reached a provider's offset ceiling and cannot be split into windows.

    Attributes:
        total: How many results the provider reported in all.
        ceiling: How many of them can be reached by offset.
    """

    def __init__(self, message: str, *, total: int, ceiling: int) -> None:
        super().__init__(message)
        self.total = total
        self.ceiling = ceiling


class PagingError(MailStatsError):
    """A stream's pages do not add up, so going on could lose or repeat records.

    Raised when a result moved while it was paged and the stream could not prove where
    it had got to (the record it read last is no longer where the next page says it is,
    or the list is sorted by a value that changed), when a page comes back empty before
    the reported total is reached, or when the reported totals cannot be true (a search
    that would need more windows than one stream may plan). The message names what
    changed; nothing was yielded twice and nothing was skipped before it was raised.

    Attributes:
        endpoint: The endpoint whose pages did not add up.
        offset: Where in the result the stream was.
        total: The total the provider reported last (``None`` if none).
        previous_total: The total reported before it (``None`` if unchanged or unknown).
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        offset: int | None = None,
        total: int | None = None,
        previous_total: int | None = None,
    ) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.offset = offset
        self.total = total
        self.previous_total = previous_total


class DecodeError(MailStatsError):
    """A response body was not JSON, or did not fit the expected model.

    Attributes:
        endpoint: The endpoint the response came from.
        excerpt: The start of the offending body.
    """

    def __init__(
        self, message: str, *, endpoint: str | None = None, body: bytes | str | None = None
    ) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.excerpt = _excerpt(body)
        self._raw_excerpt = _keep(body)

    def redact(self, secrets: Iterable[str]) -> None:
        """Replace every spelling of *secrets* in this error's texts, before cutting them."""
        secrets = tuple(secrets)
        self.args = tuple(redact(a, secrets) if isinstance(a, str) else a for a in self.args)
        if self._raw_excerpt is not None:
            self._raw_excerpt = redact(self._raw_excerpt, secrets)
            self.excerpt = excerpt(self._raw_excerpt)

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.endpoint})" if self.endpoint else base
