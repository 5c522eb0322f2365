"""Postmark's replies, without I/O: a response in, a model or the error it stands for out.

Errors are mapped from the body's ``ErrorCode`` first and the HTTP status second; bodies
are structured through the Postmark converter (lenient in production, strict in tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, TypeVar

import cattrs

from .._convert import loads, structure
from .._errors import make_status_error
from .._http import Response
from .._page_source import Parsed
from ..exceptions import (
    APIError,
    AuthenticationError,
    DecodeError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
)
from . import _convert
from ._wire import (
    CLICKS_ENDPOINT,
    DETAILS_ENDPOINT,
    DUMP_ENDPOINT,
    MESSAGES_ENDPOINT,
    OPENS_ENDPOINT,
)
from .models import (
    Click,
    MessageStream,
    Open,
    OutboundMessage,
    OutboundMessageDetails,
    PostmarkErrorCode,
)

T = TypeVar("T")

PROVIDER: Final = "postmark"


# --------------------------------------------------------------------------- errors


def _error_fields(response: Response) -> tuple[int | None, str | None]:
    code: int | None = None
    message: str | None = None
    try:
        data = loads(response.body)
    except DecodeError:
        data = None
    if isinstance(data, dict):
        raw_code = data.get(_convert.ERROR_CODE)
        if isinstance(raw_code, int) and not isinstance(raw_code, bool):
            code = raw_code
        raw_message = data.get(_convert.ERROR_MESSAGE)
        if isinstance(raw_message, str) and raw_message:
            message = raw_message
    if code is None:
        header = response.header("x-pm-apierrorcode")
        if header is not None and header.strip().isdigit():
            code = int(header.strip())
    return code, message


def _class_from_code(code: int | None, status: int) -> type[APIError] | None:
    """Return the class Postmark's ``ErrorCode`` decides, or ``None`` to go by the status.

    The code is read before the status, because Postmark reuses numbers: 10 (or HTTP 401)
    is an authentication failure and 701 (sent with HTTP 422) a missing message whatever
    the status; a 429 or 5xx then goes by its status; else code 100 (maintenance) is a
    server error and 614 a permission error.
    """
    if code == PostmarkErrorCode.INVALID_API_TOKEN or status == 401:
        return AuthenticationError
    if code == PostmarkErrorCode.MESSAGE_NOT_FOUND:
        return NotFoundError
    if status == 429 or status >= 500:
        return None
    if code == PostmarkErrorCode.MAINTENANCE:
        return ServerError
    if code == PostmarkErrorCode.STATS_NOT_ENTITLED:
        return PermissionDeniedError
    return None


def raise_for_status(response: Response, *, endpoint: str) -> None:
    """Raise the error a non-2xx reply stands for; do nothing for a 2xx reply.

    The class comes from ``ErrorCode`` first (:func:`_class_from_code`), then from the
    status: 429 a rate limit (with ``Retry-After`` when given); 5xx a server error; 403
    — which Postmark's own API does not send, but a security layer in front of it does,
    as HTML — a permission error; a bare 404 a missing object; any other 4xx an invalid
    request carrying its code.
    """
    status = response.status
    if 200 <= status < 300:
        return
    code, message = _error_fields(response)
    raise make_status_error(
        PROVIDER,
        response,
        message or f"HTTP {status} from Postmark",
        endpoint=endpoint,
        code=code,
        cls=_class_from_code(code, status),
        client_error=InvalidRequestError,
    )


def _json_object(response: Response, endpoint: str) -> dict[str, Any]:
    raise_for_status(response, endpoint=endpoint)
    return _object(response.body, endpoint)


def _object(body: bytes, endpoint: str) -> dict[str, Any]:
    data = loads(body, endpoint=endpoint)
    if not isinstance(data, dict):
        msg = f"expected a JSON object, got {type(data).__name__}"
        raise DecodeError(msg, endpoint=endpoint, body=body)
    return data


# --------------------------------------------------------------------------- decoders


def parse_list(
    body: bytes,
    key: str,
    cls: type[T],
    *,
    endpoint: str,
    converter: cattrs.Converter = _convert.CONVERTER,
) -> Parsed[T]:
    """Return the records under *key* of a successful list reply and its ``TotalCount``."""
    data = _object(body, endpoint)
    raw_total = data.get(_convert.TOTAL_COUNT)
    if isinstance(raw_total, bool) or not isinstance(raw_total, int | str):
        msg = f"{_convert.TOTAL_COUNT} is missing or not an integer"
        raise DecodeError(msg, endpoint=endpoint, body=body)
    try:
        total = int(raw_total)
    except ValueError:
        msg = f"{_convert.TOTAL_COUNT} is not an integer: {raw_total!r}"
        raise DecodeError(msg, endpoint=endpoint, body=body) from None
    if total < 0:
        msg = f"{_convert.TOTAL_COUNT} is negative: {total}"
        raise DecodeError(msg, endpoint=endpoint, body=body)
    raw_items = data.get(key)
    if raw_items is None:
        raw_items = []
    if not isinstance(raw_items, list):
        msg = f"{key} is not a list"
        raise DecodeError(msg, endpoint=endpoint, body=body)
    hook = converter.get_structure_hook(cls)
    try:
        items = [hook(item, cls) for item in raw_items]
    except (cattrs.errors.CattrsError, ValueError, TypeError, KeyError, AttributeError):
        # Structure again one by one through the shared helper for a precise error.
        items = [structure(converter, item, cls, endpoint=endpoint) for item in raw_items]
    return Parsed(items, total)


def parse_messages(
    body: bytes,
    *,
    endpoint: str = MESSAGES_ENDPOINT,
    converter: cattrs.Converter = _convert.CONVERTER,
) -> Parsed[OutboundMessage]:
    """Return the messages of one successful search reply and its ``TotalCount``."""
    return parse_list(
        body, _convert.MESSAGES, OutboundMessage, endpoint=endpoint, converter=converter
    )


def parse_opens(
    body: bytes, *, endpoint: str = OPENS_ENDPOINT, converter: cattrs.Converter = _convert.CONVERTER
) -> Parsed[Open]:
    """Return the opens of one successful page and its ``TotalCount``."""
    return parse_list(body, _convert.OPENS, Open, endpoint=endpoint, converter=converter)


def parse_clicks(
    body: bytes,
    *,
    endpoint: str = CLICKS_ENDPOINT,
    converter: cattrs.Converter = _convert.CONVERTER,
) -> Parsed[Click]:
    """Return the clicks of one successful page and its ``TotalCount``."""
    return parse_list(body, _convert.CLICKS, Click, endpoint=endpoint, converter=converter)


def decode_messages(
    response: Response,
    *,
    endpoint: str = MESSAGES_ENDPOINT,
    converter: cattrs.Converter = _convert.CONVERTER,
) -> tuple[Sequence[OutboundMessage], int]:
    """Return the messages of one search page and the search's ``TotalCount``."""
    raise_for_status(response, endpoint=endpoint)
    page = parse_messages(response.body, endpoint=endpoint, converter=converter)
    return page.items, page.total


def decode_opens(
    response: Response,
    *,
    endpoint: str = OPENS_ENDPOINT,
    converter: cattrs.Converter = _convert.CONVERTER,
) -> tuple[Sequence[Open], int]:
    """Return the opens of one page and the ``TotalCount``."""
    raise_for_status(response, endpoint=endpoint)
    page = parse_opens(response.body, endpoint=endpoint, converter=converter)
    return page.items, page.total


def decode_clicks(
    response: Response,
    *,
    endpoint: str = CLICKS_ENDPOINT,
    converter: cattrs.Converter = _convert.CONVERTER,
) -> tuple[Sequence[Click], int]:
    """Return the clicks of one page and the ``TotalCount``."""
    raise_for_status(response, endpoint=endpoint)
    page = parse_clicks(response.body, endpoint=endpoint, converter=converter)
    return page.items, page.total


def decode_details(
    response: Response,
    *,
    endpoint: str = DETAILS_ENDPOINT,
    converter: cattrs.Converter = _convert.CONVERTER,
) -> OutboundMessageDetails:
    """Return a message's details."""
    data = _json_object(response, endpoint)
    return structure(converter, data, OutboundMessageDetails, endpoint=endpoint)


def decode_message_streams(
    response: Response,
    *,
    endpoint: str,
    converter: cattrs.Converter = _convert.CONVERTER,
) -> tuple[MessageStream, ...]:
    """Return the message streams a ``GET /message-streams`` reply lists."""
    raise_for_status(response, endpoint=endpoint)
    page = parse_list(
        response.body,
        _convert.MESSAGE_STREAMS,
        MessageStream,
        endpoint=endpoint,
        converter=converter,
    )
    return tuple(page.items)


def decode_dump(response: Response, *, endpoint: str = DUMP_ENDPOINT) -> str:
    """Return a message's raw source (``""`` when Postmark no longer has it)."""
    data = _json_object(response, endpoint)
    body = data.get(_convert.BODY)
    if body is None:
        return ""
    if not isinstance(body, str):
        msg = f"{_convert.BODY} is not a string"
        raise DecodeError(msg, endpoint=endpoint, body=response.body)
    return body


def decode_stats(
    response: Response,
    cls: type[T],
    *,
    endpoint: str,
    converter: cattrs.Converter = _convert.CONVERTER,
) -> T:
    """Return a stats reply as *cls* (absent counters are 0)."""
    data = _json_object(response, endpoint)
    return structure(converter, data, cls, endpoint=endpoint)
