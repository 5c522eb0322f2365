"""GetResponse API 1.5 (JSON-RPC): message stats, messages and click-tracked links."""

from ._api import MAX_BATCH_SIZE, GetResponseAPI, StatsOutcomes
from .models import (
    COUNTER_NAMES,
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
    "COUNTER_NAMES",
    "MAX_BATCH_SIZE",
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
