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
from ._fanout import Failure, FanOut, Outcome, Success, fan_out
from ._limiter import Limits
from ._paging import Page, Paginator
from ._retry import RetryPolicy
from ._session import Session, SessionStatistics
from ._transport import Timeout, Transport
from .emailconsul import (
    DeliveryDay,
    EmailConsulAPI,
    LinkGroup,
    LinkStat,
    LinkTimeseriesPoint,
    PixelTimeseriesPoint,
)
from .exceptions import (
    APIError,
    AuthenticationError,
    DecodeError,
    InvalidRequestError,
    JSONRPCError,
    MailStatsError,
    NotFoundError,
    PagingError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResultWindowError,
    ServerError,
    SessionClosedError,
    TransportError,
)
from .getresponse import (
    GetResponseAPI,
    Grouping,
    Link,
    Message,
    MessageStatsSeries,
    MessageType,
    PeriodStats,
    StatsOutcomes,
    StatsTotals,
    TimeRange,
)
from .postmark import (
    BounceCounts,
    BounceDay,
    Click,
    ClickCounts,
    ClickDay,
    ClickLocation,
    ClickLocationCounts,
    ClickLocationDay,
    ClickPlatformCounts,
    ClickPlatformDay,
    ClientInfo,
    DynamicCounts,
    DynamicDay,
    EventType,
    Geo,
    MessageEvent,
    MessageStatus,
    Open,
    OpenCounts,
    OpenDay,
    OpenPlatformCounts,
    OpenPlatformDay,
    OSInfo,
    OutboundMessage,
    OutboundMessageDetails,
    OutboundOverview,
    Platform,
    PostmarkAPI,
    PostmarkErrorCode,
    Recipient,
    SentCounts,
    SentDay,
    SpamComplaintCounts,
    SpamComplaintDay,
    StatusFilter,
    TrackedCounts,
    TrackedDay,
    TrackLinks,
)

__all__ = [
    "APIError",
    "AuthenticationError",
    "BounceCounts",
    "BounceDay",
    "Click",
    "ClickCounts",
    "ClickDay",
    "ClickLocation",
    "ClickLocationCounts",
    "ClickLocationDay",
    "ClickPlatformCounts",
    "ClickPlatformDay",
    "ClientInfo",
    "DecodeError",
    "DeliveryDay",
    "DynamicCounts",
    "DynamicDay",
    "EmailConsulAPI",
    "EventType",
    "Failure",
    "FanOut",
    "Geo",
    "GetResponseAPI",
    "Grouping",
    "InvalidRequestError",
    "JSONRPCError",
    "Limits",
    "Link",
    "LinkGroup",
    "LinkStat",
    "LinkTimeseriesPoint",
    "MailStatsError",
    "Message",
    "MessageEvent",
    "MessageStatsSeries",
    "MessageStatus",
    "MessageType",
    "NotFoundError",
    "OSInfo",
    "Open",
    "OpenCounts",
    "OpenDay",
    "OpenPlatformCounts",
    "OpenPlatformDay",
    "OutboundMessage",
    "OutboundMessageDetails",
    "OutboundOverview",
    "Outcome",
    "Page",
    "Paginator",
    "PagingError",
    "PeriodStats",
    "PermissionDeniedError",
    "PixelTimeseriesPoint",
    "Platform",
    "PostmarkAPI",
    "PostmarkErrorCode",
    "ProviderStatistics",
    "RateLimitError",
    "Recipient",
    "RequestTimeoutError",
    "ResultWindowError",
    "RetryPolicy",
    "SentCounts",
    "SentDay",
    "ServerError",
    "Session",
    "SessionClosedError",
    "SessionStatistics",
    "SpamComplaintCounts",
    "SpamComplaintDay",
    "StatsOutcomes",
    "StatsTotals",
    "StatusFilter",
    "Success",
    "TimeRange",
    "Timeout",
    "TrackLinks",
    "TrackedCounts",
    "TrackedDay",
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
