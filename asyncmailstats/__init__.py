"""Asyncio client for email-engagement statistics: Postmark, EmailConsul, GetResponse 1.5.

Open a :class:`Session`, ask it for a provider API, and stream typed, immutable records::

    async with asyncmailstats.Session() as session:
        pm = session.postmark(server_token="...")
        async for open_ in pm.opens(tag="welcome"):
            ...
"""

from __future__ import annotations

from typing import Any

from ._client import ProviderStatistics
from ._fanout import FanOut, Outcome, fan_out
from ._limiter import Limits
from ._paging import Page, Paginator
from ._retry import RetryPolicy
from ._session import Session, SessionStatistics
from ._transport import Timeout, Transport
from .exceptions import (
    APIError,
    AuthenticationError,
    DecodeError,
    InvalidRequestError,
    JSONRPCError,
    MailStatsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResultWindowError,
    ServerError,
    SessionClosedError,
    TransportError,
)

__all__ = [
    "APIError",
    "AuthenticationError",
    "DecodeError",
    "FanOut",
    "InvalidRequestError",
    "JSONRPCError",
    "Limits",
    "MailStatsError",
    "NotFoundError",
    "Outcome",
    "Page",
    "Paginator",
    "PermissionDeniedError",
    "ProviderStatistics",
    "RateLimitError",
    "RequestTimeoutError",
    "ResultWindowError",
    "RetryPolicy",
    "ServerError",
    "Session",
    "SessionClosedError",
    "SessionStatistics",
    "Timeout",
    "Transport",
    "TransportError",
    "fan_out",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from ._version import __version__  # noqa: PLC0415 - read only when asked

        return __version__
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
