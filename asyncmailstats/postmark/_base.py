"""What every group of Postmark methods shares: the client and the call helper."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .._client import ProviderClient
    from .._http import Request, Response

T = TypeVar("T")


def check_positive(name: str, value: object) -> int:
    """Return *value* if it is an int >= 1; raise ``TypeError`` / ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be an int, got {type(value).__name__}"
        raise TypeError(msg)
    if value < 1:
        msg = f"{name} must be at least 1, got {value}"
        raise ValueError(msg)
    return value


class APIBase:
    """Holds the provider client; sends requests with a decoder bound to their endpoint."""

    __slots__ = ("_client", "_retention_days")

    def __init__(self, client: ProviderClient, *, retention_days: int = 45) -> None:
        self._client = client
        self._retention_days = check_positive("retention_days", retention_days)

    async def _call(self, request: Request, decode: Callable[..., T], **kwargs: Any) -> T:
        """Send *request*; decode the reply with ``decode(response, endpoint=…, **kwargs)``."""
        decoder: Callable[[Response], T] = functools.partial(
            decode, endpoint=request.endpoint, **kwargs
        )
        return await self._client.call(request, decoder)
