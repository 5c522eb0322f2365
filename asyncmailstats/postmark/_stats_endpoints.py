"""Postmark's stats endpoints: one table of each endpoint's path and the model it returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Generic, NamedTuple, TypeVar

from . import models

M = TypeVar("M")


class StatsEndpoint(NamedTuple, Generic[M]):
    """A stats endpoint: its path, and the model its reply is read as."""

    path: str
    model: type[M]


OUTBOUND_OVERVIEW: Final = StatsEndpoint("/stats/outbound", models.OutboundOverview)
SENT_COUNTS: Final = StatsEndpoint("/stats/outbound/sends", models.SentCounts)
BOUNCE_COUNTS: Final = StatsEndpoint("/stats/outbound/bounces", models.BounceCounts)
SPAM_COMPLAINTS: Final = StatsEndpoint("/stats/outbound/spam", models.SpamComplaintCounts)
TRACKED_COUNTS: Final = StatsEndpoint("/stats/outbound/tracked", models.TrackedCounts)
OPEN_COUNTS: Final = StatsEndpoint("/stats/outbound/opens", models.OpenCounts)
OPEN_PLATFORMS: Final = StatsEndpoint("/stats/outbound/opens/platforms", models.OpenPlatformCounts)
EMAIL_CLIENTS: Final = StatsEndpoint("/stats/outbound/opens/emailclients", models.DynamicCounts)
READ_TIMES: Final = StatsEndpoint("/stats/outbound/opens/readtimes", models.DynamicCounts)
CLICK_COUNTS: Final = StatsEndpoint("/stats/outbound/clicks", models.ClickCounts)
BROWSER_FAMILIES: Final = StatsEndpoint(
    "/stats/outbound/clicks/browserfamilies", models.DynamicCounts
)
CLICK_PLATFORMS: Final = StatsEndpoint(
    "/stats/outbound/clicks/platforms", models.ClickPlatformCounts
)
CLICK_LOCATIONS: Final = StatsEndpoint(
    "/stats/outbound/clicks/location", models.ClickLocationCounts
)

#: Stats endpoints: name → (path, model).
STATS: Final[Mapping[str, StatsEndpoint[Any]]] = {
    "outbound_overview": OUTBOUND_OVERVIEW,
    "sent_counts": SENT_COUNTS,
    "bounce_counts": BOUNCE_COUNTS,
    "spam_complaints": SPAM_COMPLAINTS,
    "tracked_counts": TRACKED_COUNTS,
    "open_counts": OPEN_COUNTS,
    "open_platforms": OPEN_PLATFORMS,
    "email_clients": EMAIL_CLIENTS,
    "read_times": READ_TIMES,
    "click_counts": CLICK_COUNTS,
    "browser_families": BROWSER_FAMILIES,
    "click_platforms": CLICK_PLATFORMS,
    "click_locations": CLICK_LOCATIONS,
}
