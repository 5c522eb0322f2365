"""Postmark's Stats API: totals and day series of sends, bounces, opens and clicks.

Stats are kept per day in Eastern time, so their ranges are dates. Without
``message_stream`` no stream is sent and Postmark counts every stream of the server
(the Messages API, by contrast, defaults to the ``outbound`` stream).
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from . import _decode, _wire
from ._base import APIBase
from ._stats_endpoints import (
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
    """The stats methods of :class:`PostmarkAPI`."""

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
        filters = _wire.stats_filters(
            tag=tag, from_date=from_date, to_date=to_date, message_stream=message_stream
        )
        request = _wire.stats_request(stats, filters)
        return await self._call(request, _decode.decode_stats, cls=stats.model)

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

        Args:
            tag: Only messages with this tag.
            from_date: First day (inclusive); all time when neither date is given.
            to_date: Last day (inclusive).
            message_stream: Only this stream; every stream when ``None``.

        Raises:
            TypeError: A bound is not a :class:`datetime.date` (datetimes are refused:
                stats are kept per day).
            ValueError: *from_date* is after *to_date*, a date is outside 1900-01-01 to
                9998-12-31, or a filter is empty.
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

        Args:
            tag: Only messages with this tag.
            from_date: First day (inclusive); all time when neither date is given.
            to_date: Last day (inclusive).
            message_stream: Only this stream; every stream when ``None``.

        Raises:
            TypeError: A bound is not a :class:`datetime.date` (datetimes are refused:
                stats are kept per day).
            ValueError: *from_date* is after *to_date*, a date is outside 1900-01-01 to
                9998-12-31, or a filter is empty.
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

        Args:
            tag: Only messages with this tag.
            from_date: First day (inclusive); all time when neither date is given.
            to_date: Last day (inclusive).
            message_stream: Only this stream; every stream when ``None``.

        Raises:
            TypeError: A bound is not a :class:`datetime.date` (datetimes are refused:
                stats are kept per day).
            ValueError: *from_date* is after *to_date*, a date is outside 1900-01-01 to
                9998-12-31, or a filter is empty.
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

        Args:
            tag: Only messages with this tag.
            from_date: First day (inclusive); all time when neither date is given.
            to_date: Last day (inclusive).
            message_stream: Only this stream; every stream when ``None``.

        Raises:
            TypeError: A bound is not a :class:`datetime.date` (datetimes are refused:
                stats are kept per day).
            ValueError: *from_date* is after *to_date*, a date is outside 1900-01-01 to
                9998-12-31, or a filter is empty.
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

        Args:
            tag: Only messages with this tag.
            from_date: First day (inclusive); all time when neither date is given.
            to_date: Last day (inclusive).
            message_stream: Only this stream; every stream when ``None``.

        Raises:
            TypeError: A bound is not a :class:`datetime.date` (datetimes are refused:
                stats are kept per day).
            ValueError: *from_date* is after *to_date*, a date is outside 1900-01-01 to
                9998-12-31, or a filter is empty.
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

        Args:
            tag: Only messages with this tag.
            from_date: First day (inclusive); all time when neither date is given.
            to_date: Last day (inclusive).
            message_stream: Only this stream; every stream when ``None``.

        Raises:
            TypeError: A bound is not a :class:`datetime.date` (datetimes are refused:
                stats are kept per day).
            ValueError: *from_date* is after *to_date*, a date is outside 1900-01-01 to
                9998-12-31, or a filter is empty.
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

        Args:
            tag: Only messages with this tag.
            from_date: First day (inclusive); all time when neither date is given.
            to_date: Last day (inclusive).
            message_stream: Only this stream; every stream when ``None``.

        Raises:
            TypeError: A bound is not a :class:`datetime.date` (datetimes are refused:
                stats are kept per day).
            ValueError: *from_date* is after *to_date*, a date is outside 1900-01-01 to
                9998-12-31, or a filter is empty.
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

        Args:
            tag: Only messages with this tag.
            from_date: First day (inclusive); all time when neither date is given.
            to_date: Last day (inclusive).
            message_stream: Only this stream; every stream when ``None``.

        Raises:
            TypeError: A bound is not a :class:`datetime.date` (datetimes are refused:
                stats are kept per day).
            ValueError: *from_date* is after *to_date*, a date is outside 1900-01-01 to
                9998-12-31, or a filter is empty.
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

        Args:
            tag: Only messages with this tag.
            from_date: First day (inclusive); all time when neither date is given.
            to_date: Last day (inclusive).
            message_stream: Only this stream; every stream when ``None``.

        Raises:
            TypeError: A bound is not a :class:`datetime.date` (datetimes are refused:
                stats are kept per day).
            ValueError: *from_date* is after *to_date*, a date is outside 1900-01-01 to
                9998-12-31, or a filter is empty.
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

        Args:
            tag: Only messages with this tag.
            from_date: First day (inclusive); all time when neither date is given.
            to_date: Last day (inclusive).
            message_stream: Only this stream; every stream when ``None``.

        Raises:
            TypeError: A bound is not a :class:`datetime.date` (datetimes are refused:
                stats are kept per day).
            ValueError: *from_date* is after *to_date*, a date is outside 1900-01-01 to
                9998-12-31, or a filter is empty.
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

        Args:
            tag: Only messages with this tag.
            from_date: First day (inclusive); all time when neither date is given.
            to_date: Last day (inclusive).
            message_stream: Only this stream; every stream when ``None``.

        Raises:
            TypeError: A bound is not a :class:`datetime.date` (datetimes are refused:
                stats are kept per day).
            ValueError: *from_date* is after *to_date*, a date is outside 1900-01-01 to
                9998-12-31, or a filter is empty.
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

        Args:
            tag: Only messages with this tag.
            from_date: First day (inclusive); all time when neither date is given.
            to_date: Last day (inclusive).
            message_stream: Only this stream; every stream when ``None``.

        Raises:
            TypeError: A bound is not a :class:`datetime.date` (datetimes are refused:
                stats are kept per day).
            ValueError: *from_date* is after *to_date*, a date is outside 1900-01-01 to
                9998-12-31, or a filter is empty.
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

        Args:
            tag: Only messages with this tag.
            from_date: First day (inclusive); all time when neither date is given.
            to_date: Last day (inclusive).
            message_stream: Only this stream; every stream when ``None``.

        Raises:
            TypeError: A bound is not a :class:`datetime.date` (datetimes are refused:
                stats are kept per day).
            ValueError: *from_date* is after *to_date*, a date is outside 1900-01-01 to
                9998-12-31, or a filter is empty.
        """
        return await self._stats(CLICK_LOCATIONS, tag, from_date, to_date, message_stream)
