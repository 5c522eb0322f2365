"""The JSON-RPC envelope GetResponse API 1.5 speaks, without any I/O.

Calls are encoded as JSON-RPC 2.0 (``params`` is the positional array ``[API_KEY]`` or
``[API_KEY, {conditions}]``); replies are read in the 2.0 form and in the 1.0 form that
has no ``"jsonrpc"`` member and may carry ``"error": null`` beside the result. Batch
replies are matched to their calls by ``id``, in any order.

The API key travels inside the request body, so nothing here ever puts a request body
into an error, and every text taken from a response (error messages, body excerpts) has
the caller's secrets replaced before the exception holding it is raised or returned.
"""

from __future__ import annotations

import http
import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Final, TypeVar

import attrs

from .._convert import loads
from .._errors import make_status_error
from .._http import Response, Secret, SecretBody
from ..exceptions import (
    BODY_EXCERPT_CHARS,
    APIError,
    AuthenticationError,
    DecodeError,
    InvalidRequestError,
    JSONRPCError,
    MailStatsError,
    NotFoundError,
    PermissionDeniedError,
    excerpt,
)
from ..exceptions import REDACTED as _REDACTED

#: The provider name errors carry.
PROVIDER: Final = "getresponse"
#: The largest request body GetResponse accepts, in bytes.
MAX_REQUEST_BYTES: Final = 1_048_576
#: JSON-RPC's standard code for invalid method parameters.
INVALID_PARAMS_CODE: Final = -32602

#: What replaces a secret in any text taken from a response.
REDACTED: Final = _REDACTED

CallId = int | str

E = TypeVar("E", APIError, DecodeError)


class ApiKey:
    """The API key as the JSON string a call carries, held as a :class:`Secret`.

    Encoded once; every call's body is a :class:`SecretBody` that puts it in only
    when the transport sends it.
    """

    __slots__ = ("literal",)

    def __init__(self, key: str) -> None:
        self.literal = Secret(json.dumps(key, ensure_ascii=False))

    def __repr__(self) -> str:
        return "<ApiKey <redacted>>"


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def encode_call(
    method: str,
    api_key: ApiKey | str,
    conditions: Mapping[str, Any] | None = None,
    *,
    call_id: CallId,
) -> SecretBody:
    """Return the JSON-RPC 2.0 body of one call of *method*.

    Args:
        method: The JSON-RPC method, e.g. ``get_message_stats``.
        api_key: The API key, sent as the first positional parameter.
        conditions: The method's conditions; ``None`` sends ``[API_KEY]`` alone.
        call_id: The call's ``id``, echoed by the reply.

    Returns:
        ``{"jsonrpc":"2.0","method":…,"params":[KEY(,{…})],"id":…}`` with the key held
        apart until the body is revealed.
    """
    key = api_key if isinstance(api_key, ApiKey) else ApiKey(api_key)
    head = b'{"jsonrpc":"2.0","method":' + _json(method) + b',"params":['
    rest = b"" if conditions is None else b"," + _json(dict(conditions))
    tail = rest + b'],"id":' + _json(call_id) + b"}"
    return SecretBody((head, tail), key.literal)


def encode_batch(calls: Iterable[SecretBody]) -> SecretBody:
    """Return the body of a JSON-RPC 2.0 batch made of calls encoded by :func:`encode_call`.

    Raises:
        ValueError: No calls, or calls made with different keys.
    """
    parts: list[bytes] = [b"["]
    secret: Secret | None = None
    for index, call in enumerate(calls):
        if secret is None:
            secret = call.secret
        elif call.secret is not secret and call.secret != secret:
            msg = "every call of a batch must carry the same API key"
            raise ValueError(msg)
        first, *others = call.parts
        parts[-1] += (b"," if index else b"") + first
        parts.extend(others)
    if secret is None:
        msg = "a batch needs at least one call"
        raise ValueError(msg)
    parts[-1] += b"]"
    return SecretBody(parts, secret)


def batch_size_bytes(call_sizes: Iterable[int]) -> int:
    """Return the size of the batch body :func:`encode_batch` makes from calls of these sizes."""
    sizes = list(call_sizes)
    return 2 + sum(sizes) + max(len(sizes) - 1, 0)


@attrs.frozen
class Reply:
    """The outcome of one call in a batch: its ``result``, or the ``error`` it raised."""

    id: CallId | None
    """The call's id; ``None`` for an error about a call the server could not read."""
    result: Any = attrs.field(default=None, repr=False)
    error: MailStatsError | None = None


def _redacted(error: E, secrets: Collection[str]) -> E:
    """Return *error* with every spelling of every secret replaced in its texts."""
    if secrets:
        error.redact(secrets)
    return error


def error_class(code: int | None, message: str) -> type[APIError]:
    """Return the error class for a JSON-RPC error ``code`` and ``message``.

    GetResponse reports its own errors with code -1 and tells them apart by message text;
    the text decides here, whatever the code, so a server using standard JSON-RPC codes
    maps the same way.
    """
    text = message.strip().rstrip(".").casefold()
    if text == "api key verification failed":
        return AuthenticationError
    if text == "api client ip not allowed":
        return PermissionDeniedError
    if text.startswith("missing "):
        return NotFoundError
    if code == INVALID_PARAMS_CODE or text.startswith("invalid params"):
        return InvalidRequestError
    return JSONRPCError


def error_from_object(
    error: Any, *, status: int, endpoint: str, secrets: Collection[str] = ()
) -> APIError:
    """Return the exception for a reply's ``error`` member.

    Args:
        error: ``{"code": int, "message": str, "data"?: ...}``, or a bare string as some
            JSON-RPC 1.0 servers send.
        status: The HTTP status of the reply.
        endpoint: The endpoint label of the request.
        secrets: Texts to hide from the message and the body excerpt.
    """
    code: int | None = None
    if isinstance(error, Mapping):
        raw_code = error.get("code")
        if isinstance(raw_code, int) and not isinstance(raw_code, bool):
            code = raw_code
        raw_message = error.get("message")
        message = raw_message if isinstance(raw_message, str) and raw_message else "JSON-RPC error"
    elif isinstance(error, str) and error:
        message = error
    else:
        message = "JSON-RPC error"
    cls = error_class(code, message)
    try:
        body = json.dumps(error, ensure_ascii=False, default=str)
    except (RecursionError, ValueError):  # nested too deeply to render whole
        body = excerpt(error, 4 * BODY_EXCERPT_CHARS, marker="")
    found = cls(message, provider=PROVIDER, status=status, code=code, body=body, endpoint=endpoint)
    return _redacted(found, secrets)


def _class_from_text(by_text: type[APIError] | None, status: int) -> type[APIError] | None:
    """Return the class an error reply's message names, or ``None`` to go by the status.

    A refused key or address (GetResponse answers a bad key with HTTP 403) is told by its
    message whatever the status; another recognised message decides too, except that a
    429 stays a rate limit and a 5xx a server error, so that both are still retried. A
    413 without a recognised message is an invalid request: the body was too large.
    """
    if by_text in (AuthenticationError, PermissionDeniedError):
        return by_text
    if by_text not in (None, JSONRPCError) and status != 429 and status < 500:
        return by_text
    if status == 413:
        return InvalidRequestError
    return None


def raise_for_status(response: Response, *, endpoint: str, secrets: Collection[str] = ()) -> None:
    """Raise the error for a reply whose HTTP status is not 200.

    Raises:
        APIError: A subclass chosen by the JSON-RPC error message when it is a known one
            ("API key verification failed" is an :class:`AuthenticationError` whatever
            the status), else by status (401, 403, 404, 400/413/422, 429, 5xx).
        DecodeError: HTTP 204, which answers a notification, not a call with an id.
    """
    status = response.status
    if status == 200:
        return
    if status == 204:
        msg = "HTTP 204 without a reply: the call was taken for a notification"
        raise DecodeError(msg, endpoint=endpoint)
    code: int | None = None
    by_text: type[APIError] | None = None
    try:
        message = http.HTTPStatus(status).phrase
    except ValueError:
        message = f"HTTP {status}"
    try:
        data = json.loads(response.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = None
    if isinstance(data, Mapping) and isinstance(data.get("error"), Mapping):
        detail = error_from_object(data["error"], status=status, endpoint=endpoint)
        message, code, by_text = detail.message, detail.code, type(detail)
    error = make_status_error(
        PROVIDER,
        response,
        message,
        endpoint=endpoint,
        code=code,
        cls=_class_from_text(by_text, status),
    )
    raise _redacted(error, secrets)


def _load(response: Response, *, endpoint: str, secrets: Collection[str]) -> Any:
    try:
        return loads(response.body, endpoint=endpoint)
    except DecodeError as exc:
        error = DecodeError(str(exc.args[0]), endpoint=endpoint, body=response.body)
        raise _redacted(error, secrets) from None


def _reply(obj: Any, *, status: int, endpoint: str, secrets: Collection[str]) -> Reply:
    """Read one reply object; a malformed one raises :class:`DecodeError`."""
    if not isinstance(obj, Mapping):
        msg = f"JSON-RPC reply is not an object but {type(obj).__name__}"
        failure = DecodeError(msg, endpoint=endpoint, body=excerpt(obj, marker=""))
        raise _redacted(failure, secrets)
    call_id = obj.get("id")
    if isinstance(call_id, bool) or not isinstance(call_id, int | str | None):
        msg = f"JSON-RPC reply has an invalid id of type {type(call_id).__name__}"
        raise DecodeError(msg, endpoint=endpoint)
    # 1.0 replies carry both members, one of them null.
    error = obj.get("error")
    if error is not None:
        err = error_from_object(error, status=status, endpoint=endpoint, secrets=secrets)
        return Reply(id=call_id, error=err)
    if "result" not in obj:
        msg = "JSON-RPC reply has neither result nor error"
        failure = DecodeError(msg, endpoint=endpoint, body=excerpt(obj, marker=""))
        raise _redacted(failure, secrets)
    if call_id is None:
        msg = "JSON-RPC result without an id"
        raise DecodeError(msg, endpoint=endpoint)
    return Reply(id=call_id, result=obj["result"])


def _same_id(a: CallId | None, b: CallId) -> bool:
    # Some servers echo numeric ids as strings; compare their text.
    return a is not None and str(a) == str(b)


def decode_reply(
    response: Response, *, call_id: CallId, endpoint: str, secrets: Collection[str] = ()
) -> Any:
    """Return the ``result`` of a single call's reply.

    Raises:
        APIError: The HTTP status is an error, or the reply carries a JSON-RPC error.
        DecodeError: The body is not a JSON-RPC reply to call *call_id*.
    """
    raise_for_status(response, endpoint=endpoint, secrets=secrets)
    data = _load(response, endpoint=endpoint, secrets=secrets)
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    reply = _reply(data, status=response.status, endpoint=endpoint, secrets=secrets)
    if reply.error is not None:
        # A reply to a call the server could not read has a null id: still ours.
        raise reply.error
    if not _same_id(reply.id, call_id):
        msg = f"JSON-RPC reply is for id {reply.id!r}, not {call_id!r}"
        raise DecodeError(msg, endpoint=endpoint)
    return reply.result


def decode_batch(
    response: Response,
    *,
    call_ids: Iterable[CallId],
    endpoint: str,
    secrets: Collection[str] = (),
) -> dict[CallId, Reply]:
    """Return the reply of every call of a batch, keyed by the ids in *call_ids*.

    A call the reply does not answer gets a :class:`DecodeError` (or, when the server
    answered some calls with a null-id error because it could not read them, that error).

    Raises:
        APIError: The HTTP status is an error, or the whole batch was refused with a
            single error object.
        DecodeError: The body is not JSON, or not a JSON-RPC batch reply.
    """
    raise_for_status(response, endpoint=endpoint, secrets=secrets)
    data = _load(response, endpoint=endpoint, secrets=secrets)
    if isinstance(data, Mapping):
        whole = _reply(data, status=response.status, endpoint=endpoint, secrets=secrets)
        if whole.error is not None:
            raise whole.error
        msg = "JSON-RPC batch was answered with a single result"
        raise DecodeError(msg, endpoint=endpoint)
    if not isinstance(data, list):
        msg = f"JSON-RPC batch reply is not an array but {type(data).__name__}"
        raise DecodeError(msg, endpoint=endpoint)
    wanted = {str(call_id): call_id for call_id in call_ids}
    replies: dict[CallId, Reply] = {}
    orphan: MailStatsError | None = None
    for item in data:
        try:
            reply = _reply(item, status=response.status, endpoint=endpoint, secrets=secrets)
        except DecodeError as exc:
            orphan = orphan or exc
            continue
        if reply.id is None:
            orphan = orphan or reply.error
            continue
        call_id = wanted.get(str(reply.id))
        if call_id is None:  # an answer to a call we did not make
            continue
        replies.setdefault(call_id, attrs.evolve(reply, id=call_id))
    for call_id in wanted.values():
        if call_id not in replies:
            error = orphan or DecodeError(
                f"JSON-RPC batch reply has no answer for id {call_id!r}", endpoint=endpoint
            )
            replies[call_id] = Reply(id=call_id, error=error)
    return replies
