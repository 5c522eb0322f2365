"""The stats methods of :class:`~._api.PostmarkAPI`, as a mixin.

A mixin because the whole class would not fit one module (see :mod:`._api_base`). Every
stats method reads one endpoint of :data:`._wire.STATS` with the same filters, so each is
one call of :meth:`StatsMethods._stats`; what they share (arguments, errors) is said
once, in the docstring of :class:`~._api.PostmarkAPI`.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from ._api_base import APIBase
from ._args import stats_filters
from ._wire import (
    BOUNCE_COUNTS,
    BROWSER_FAMILIES,
    CLICK_COUNTS,
    CLICK_LOCATIONS,
    CLICK_PLATFORMS,
    EMAIL_CLIENTS,
    OPEN_COUNTS,
    OPEN_PLATFORMS,
    OUTBOUND_OVERVIEW,
    READ_TIMES,
    SENT_COUNTS,
    SPAM_COMPLAINTS,
    TRACKED_COUNTS,
    StatsEndpoint,
    decode_stats,
    stats_request,
)
from .models import (
    BounceCounts,
    ClickCounts,
    ClickLocationCounts,
    ClickPlatformCounts,
    DynamicCounts,
    OpenCounts,
    OpenPlatformCounts,
    OutboundOverview,
    SentCounts,
    SpamComplaintCounts,
    TrackedCounts,
)

T = TypeVar("T")


class StatsMethods(APIBase):
    """The stats methods of :class:`PostmarkAPI`: totals and day series, one per endpoint.

    Their shared arguments and errors are described once, in the docstring of
    :class:`PostmarkAPI` (*Stats*).
    """

    __slots__ = ()

    async def _stats(
        self,
        stats: StatsEndpoint[T],
        tag: str | None,
        from_date: dt.date | None,
        to_date: dt.date | None,
        message_stream: str | None,
    ) -> T:
        """Return the reply of *stats*, read as its model, for these filters."""
        filters = stats_filters(
            tag=tag, from_date=from_date, to_date=to_date, message_stream=message_stream
        )
        request = stats_request(stats, filters)
        return await self._call(request, decode_stats, cls=stats.model)

    async def outbound_overview(
        self,
        *,
        tag: str | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        message_stream: str | None = None,
    ) -> OutboundOverview:
        """Return the totals of sends, bounces, complaints, opens and clicks.

        ``GET /stats/outbound``; absent counters are 0.
        Filters and errors: see *Stats* in :class:`PostmarkAPI`.
        """
        return await self._stats(OUTBOUND_OVERVIEW, tag, from_date, to_date, message_stream)

    async def sent_counts(
        self,
        *,
        tag: str | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        message_stream: str | None = None,
    ) -> SentCounts:
        """Return messages sent per day.

        ``GET /stats/outbound/sends``.
        Filters and errors: see *Stats* in :class:`PostmarkAPI`.
        """
        return await self._stats(SENT_COUNTS, tag, from_date, to_date, message_stream)

    async def bounce_counts(
        self,
        *,
        tag: str | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        message_stream: str | None = None,
    ) -> BounceCounts:
        """Return bounces per day by kind (hard, soft, SMTP API error, transient).

        ``GET /stats/outbound/bounces``.
        Filters and errors: see *Stats* in :class:`PostmarkAPI`.
        """
        return await self._stats(BOUNCE_COUNTS, tag, from_date, to_date, message_stream)

    async def spam_complaints(
        self,
        *,
        tag: str | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        message_stream: str | None = None,
    ) -> SpamComplaintCounts:
        """Return spam complaints per day.

        ``GET /stats/outbound/spam``.
        Filters and errors: see *Stats* in :class:`PostmarkAPI`.
        """
        return await self._stats(SPAM_COMPLAINTS, tag, from_date, to_date, message_stream)

    async def tracked_counts(
        self,
        *,
        tag: str | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        message_stream: str | None = None,
    ) -> TrackedCounts:
        """Return messages sent with tracking per day.

        ``GET /stats/outbound/tracked``.
        Filters and errors: see *Stats* in :class:`PostmarkAPI`.
        """
        return await self._stats(TRACKED_COUNTS, tag, from_date, to_date, message_stream)

    async def open_counts(
        self,
        *,
        tag: str | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        message_stream: str | None = None,
    ) -> OpenCounts:
        """Return opens and unique opens per day.

        ``GET /stats/outbound/opens``.
        Filters and errors: see *Stats* in :class:`PostmarkAPI`.
        """
        return await self._stats(OPEN_COUNTS, tag, from_date, to_date, message_stream)

    async def open_platforms(
        self,
        *,
        tag: str | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        message_stream: str | None = None,
    ) -> OpenPlatformCounts:
        """Return opens per day by platform (desktop, web mail, mobile, unknown).

        ``GET /stats/outbound/opens/platforms``.
        Filters and errors: see *Stats* in :class:`PostmarkAPI`.
        """
        return await self._stats(OPEN_PLATFORMS, tag, from_date, to_date, message_stream)

    async def email_clients(
        self,
        *,
        tag: str | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        message_stream: str | None = None,
    ) -> DynamicCounts:
        """Return opens per day by e-mail client.

        ``GET /stats/outbound/opens/emailclients``; keys are client names such as ``"Gmail"``.
        Filters and errors: see *Stats* in :class:`PostmarkAPI`.
        """
        return await self._stats(EMAIL_CLIENTS, tag, from_date, to_date, message_stream)

    async def read_times(
        self,
        *,
        tag: str | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        message_stream: str | None = None,
    ) -> DynamicCounts:
        """Return opens per day by read time.

        ``GET /stats/outbound/opens/readtimes``; keys are buckets such as ``"4s"`` or ``"20s+"``.
        Filters and errors: see *Stats* in :class:`PostmarkAPI`.
        """
        return await self._stats(READ_TIMES, tag, from_date, to_date, message_stream)

    async def click_counts(
        self,
        *,
        tag: str | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        message_stream: str | None = None,
    ) -> ClickCounts:
        """Return clicks and unique clicks per day.

        ``GET /stats/outbound/clicks``.
        Filters and errors: see *Stats* in :class:`PostmarkAPI`.
        """
        return await self._stats(CLICK_COUNTS, tag, from_date, to_date, message_stream)

    async def browser_families(
        self,
        *,
        tag: str | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        message_stream: str | None = None,
    ) -> DynamicCounts:
        """Return clicks per day by browser family.

        ``GET /stats/outbound/clicks/browserfamilies``; keys are families such as ``"Safari"``.
        Filters and errors: see *Stats* in :class:`PostmarkAPI`.
        """
        return await self._stats(BROWSER_FAMILIES, tag, from_date, to_date, message_stream)

    async def click_platforms(
        self,
        *,
        tag: str | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        message_stream: str | None = None,
    ) -> ClickPlatformCounts:
        """Return clicks per day by platform (desktop, mobile, unknown).

        ``GET /stats/outbound/clicks/platforms``.
        Filters and errors: see *Stats* in :class:`PostmarkAPI`.
        """
        return await self._stats(CLICK_PLATFORMS, tag, from_date, to_date, message_stream)

    async def click_locations(
        self,
        *,
        tag: str | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        message_stream: str | None = None,
    ) -> ClickLocationCounts:
        """Return clicks per day by the part the link was in (HTML or text).

        ``GET /stats/outbound/clicks/location``.
        Filters and errors: see *Stats* in :class:`PostmarkAPI`.
        """
        return await self._stats(CLICK_LOCATIONS, tag, from_date, to_date, message_stream)
