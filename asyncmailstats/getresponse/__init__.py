"""GetResponse API 1.5 (JSON-RPC): message stats, messages and click-tracked links."""

from ._api import GetResponseAPI, StatsOutcomes
from .models import (
    Grouping,
    Link,
    Message,
    MessageStatsSeries,
    MessageType,
    PeriodStats,
    StatsTotals,
    TimeRange,
)

__all__ = [
    "GetResponseAPI",
    "Grouping",
    "Link",
    "Message",
    "MessageStatsSeries",
    "MessageType",
    "PeriodStats",
    "StatsOutcomes",
    "StatsTotals",
    "TimeRange",
]
