"""Sans-I/O request and response types shared by every layer."""

from __future__ import annotations

import hmac
import secrets as _random
from collections.abc import Mapping, Sequence
from typing import Final

import attrs

#: Headers whose values are never shown in a repr, a log line or an error.
SECRET_HEADERS: Final = frozenset(
    {"x-postmark-server-token", "x-postmark-account-token", "x-api-key", "authorization"}
)


#: Headers whose values a repr shows; every other value is hidden, because a provider's
#: credential header may have any name (EmailConsul's is configurable).
SHOWN_HEADERS: Final = frozenset(
    {"accept", "accept-encoding", "content-length", "content-type", "user-agent"}
)


class Secret:
    """A credential that shows as ``<redacted>`` and is not stored as its plain text.

    The value is kept XOR-masked with a random pad, so a tool that captures the local
    variables of a failing frame (an error tracker, ``pytest --showlocals``) and walks
    into objects finds neither the string nor its bytes. :meth:`reveal` returns it; the
    transport calls it only while it hands the headers to the HTTP library. A secret
    compares equal to the plain string it hides (in constant time).
    """

    __slots__ = ("_masked", "_pad")

    def __init__(self, value: str) -> None:
        raw = value.encode("utf-8", "surrogatepass")
        pad = _random.token_bytes(len(raw))
        self._pad = pad
        self._masked = bytes(a ^ b for a, b in zip(raw, pad, strict=True))

    @property
    def size(self) -> int:
        """Return the length of the value in UTF-8 bytes."""
        return len(self._masked)

    def reveal(self) -> str:
        """Return the plain value."""
        size = len(self._masked)
        mixed = int.from_bytes(self._masked) ^ int.from_bytes(self._pad)
        return mixed.to_bytes(size).decode("utf-8", "surrogatepass")

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            other = other.reveal()
        if not isinstance(other, str):
            return NotImplemented
        mine = self.reveal().encode("utf-8", "surrogatepass")
        return hmac.compare_digest(mine, other.encode("utf-8", "surrogatepass"))

    def __hash__(self) -> int:
        return hash(self.reveal())


#: A header value: plain text, or a credential revealed only when sent.
HeaderValue = str | Secret


class SecretBody:
    """A request body with a credential inside it, kept apart from the rest until sent.

    The body is ``parts`` joined by the secret's UTF-8 bytes (GetResponse puts the API
    key in every JSON-RPC call), so no frame and no object on the request path holds
    the body with the key in it: :meth:`reveal` makes it, for the transport. Its
    ``len()`` is the length of the revealed body.
    """

    __slots__ = ("_parts", "_secret", "_size")

    def __init__(self, parts: Sequence[bytes], secret: Secret) -> None:
        if not parts:
            msg = "a secret body needs at least one part"
            raise ValueError(msg)
        self._parts = tuple(parts)
        self._secret = secret
        self._size = sum(map(len, self._parts)) + (len(self._parts) - 1) * secret.size

    @property
    def parts(self) -> tuple[bytes, ...]:
        """Return the pieces of the body around each place the secret goes."""
        return self._parts

    @property
    def secret(self) -> Secret:
        """Return the secret that goes between the parts."""
        return self._secret

    def reveal(self) -> bytes:
        """Return the body as sent, secret included."""
        return self._secret.reveal().encode("utf-8", "surrogatepass").join(self._parts)

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"<SecretBody of {self._size} bytes>"


#: A request body: bytes, a body with a credential in it, or none.
Body = bytes | SecretBody | None


def reveal_body(body: Body) -> bytes | None:
    """Return *body* as bytes, with the credential of a :class:`SecretBody` put in."""
    return body.reveal() if isinstance(body, SecretBody) else body


def reveal_headers(headers: Mapping[str, HeaderValue]) -> dict[str, str]:
    """Return *headers* with every :class:`Secret` replaced by its plain value."""
    return {name: v.reveal() if isinstance(v, Secret) else v for name, v in headers.items()}


def _redact_headers(headers: Mapping[str, HeaderValue]) -> str:
    shown = {
        name: (value if name.lower() in SHOWN_HEADERS else "<redacted>")
        for name, value in headers.items()
    }
    return repr(shown)


@attrs.frozen(slots=True)
class Request:
    """One HTTP request, described without any I/O.

    ``path`` is relative to the provider's base URL and already percent-encoded.
    ``endpoint`` is a stable label (``"GET /messages/outbound/{id}/details"``) used in
    errors, logs and statistics: it never holds an identifier or a secret.
    """

    method: str
    path: str
    params: Sequence[tuple[str, str]] = ()
    headers: Mapping[str, HeaderValue] = attrs.field(factory=dict, repr=_redact_headers)
    # A body may carry a secret (GetResponse puts the API key in it): then it is a
    # SecretBody, revealed by the transport with reveal_body(); never shown.
    body: Body = attrs.field(default=None, repr=False)
    endpoint: str = ""

    @property
    def label(self) -> str:
        """Return the endpoint label, or ``METHOD path`` when none was given."""
        return self.endpoint or f"{self.method} {self.path}"


@attrs.frozen(slots=True)
class Response:
    """A complete HTTP response: status, headers (lower-case names) and body bytes."""

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = attrs.field(default=b"", repr=lambda b: f"<{len(b)} bytes>")

    def header(self, name: str) -> str | None:
        """Return the value of header *name* (case-insensitive), or ``None``."""
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str:
        """Return the media type of the body without parameters, lower-cased."""
        value = self.header("content-type") or ""
        return value.split(";", 1)[0].strip().lower()
