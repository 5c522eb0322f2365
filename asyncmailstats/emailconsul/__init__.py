"""EmailConsul: link (click), pixel (open) and delivery statistics."""

from __future__ import annotations

from ._api import MAX_PAGE_SIZE, EmailConsulAPI
from .models import (
    DeliveryDay,
    LinkGroup,
    LinkStat,
    LinkTimeseriesPoint,
    PixelTimeseriesPoint,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "DeliveryDay",
    "EmailConsulAPI",
    "LinkGroup",
    "LinkStat",
    "LinkTimeseriesPoint",
    "PixelTimeseriesPoint",
]
