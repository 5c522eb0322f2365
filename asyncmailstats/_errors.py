"""One place that turns an HTTP error status into the :class:`APIError` subclass it stands for.

Every provider's wire module reads what it can from the body (a message, its own error
code, sometimes a class its text names) and hands that to :func:`make_status_error`,
which picks the class from :data:`STATUS_ERRORS` unless the provider named one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from ._retry import parse_retry_after
from .exceptions import (
    APIError,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)

if TYPE_CHECKING:
    from ._http import Response

#: The error class each HTTP status stands for, whatever the provider.
STATUS_ERRORS: Final[Mapping[int, type[APIError]]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: InvalidRequestError,
    429: RateLimitError,
}


def status_error_class(status: int, *, client_error: type[APIError] = APIError) -> type[APIError]:
    """Return the error class for HTTP *status*.

    A status in :data:`STATUS_ERRORS` gives its class; 5xx gives :class:`ServerError`;
    another 4xx gives *client_error*; anything else :class:`APIError`.
    """
    cls = STATUS_ERRORS.get(status)
    if cls is not None:
        return cls
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        return client_error
    return APIError


def make_status_error(
    provider: str,
    response: Response,
    message: str,
    *,
    endpoint: str,
    code: int | None = None,
    body: bytes | str | None = None,
    cls: type[APIError] | None = None,
    client_error: type[APIError] = APIError,
) -> APIError:
    """Return the error a non-success *response* stands for.

    Args:
        provider: The provider name the error carries.
        response: The reply; its status picks the class and, for a rate limit, its
            ``Retry-After`` header gives ``retry_after``.
        message: The provider's message, or a description of the status.
        endpoint: The endpoint label of the request.
        code: The provider's own error code, if the body had one.
        body: The body the error keeps an excerpt of (the response body by default).
        cls: The class the provider read from the body; the status decides when ``None``.
        client_error: The class of a 4xx status :data:`STATUS_ERRORS` does not list.
    """
    status = response.status
    if cls is None:
        cls = status_error_class(status, client_error=client_error)
    kept = response.body if body is None else body
    if issubclass(cls, RateLimitError):
        retry_after = parse_retry_after(response.header("retry-after"))
        return cls(
            message,
            provider=provider,
            status=status,
            code=code,
            body=kept,
            endpoint=endpoint,
            retry_after=retry_after,
        )
    return cls(message, provider=provider, status=status, code=code, body=kept, endpoint=endpoint)
