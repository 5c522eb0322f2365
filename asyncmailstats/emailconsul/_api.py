"""The public EmailConsul client: link, pixel and delivery statistics."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Final, TypeVar

from .._page_source import PagedEndpoint, Parsed
from .._paging import offset_paginator
from . import _wire

if TYPE_CHECKING:
    from datetime import datetime

    from .._client import ProviderClient
    from .._http import Response
    from .._paging import Paginator
    from .models import (
        DeliveryDay,
        LinkGroup,
        LinkStat,
        LinkTimeseriesPoint,
        PixelTimeseriesPoint,
    )

T = TypeVar("T")

#: The page size used when none is given, and the largest one accepted.
#:
#: EmailConsul documents neither a default nor a maximum ``limit``; 1000 rows keeps a
#: page's body small (tens of kilobytes) while needing few round trips.
MAX_PAGE_SIZE: Final = 1000


class EmailConsulAPI:
    """Read EmailConsul's link (click), pixel (open) and delivery statistics.

    Get one from :meth:`asyncmailstats.Session.emailconsul`. EmailConsul's public
    documentation confirms neither the API's base URL nor the header that carries the API
    key, so both are options of that factory (``base_url=``, ``auth_header=``).

    Every period is a pair of timezone-aware datetimes, sent as ISO-8601 UTC with
    milliseconds (``2021-07-06T00:00:00.000Z``). Arguments are checked when a method is
    called, also for streams, so bad input fails before any request is sent.
    """

    __slots__ = ("_client",)

    def __init__(self, client: ProviderClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<EmailConsulAPI {self._client.base_url}>"

    def link_stats(
        self,
        *,
        period_from: datetime,
        period_to: datetime,
        group: LinkGroup | str | None = None,
        sort: str | None = None,
        campaign_id: str | None = None,
        subscriber_id: str | None = None,
        profile_id: str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        prefetch: int = 4,
    ) -> Paginator[LinkStat]:
        """Stream link-log (click) counts aggregated by one field.

        Args:
            period_from: Start of the period (aware).
            period_to: End of the period (aware), not before *period_from*.
            group: What to count by; the rows carry that field (``params`` fills
                ``params_name`` and ``params_value``). The server's default when ``None``.
            sort: A field name, ``-`` in front for descending (``"-count"``).
            campaign_id: Only this campaign (letters, digits, ``-``, ``_``).
            subscriber_id: Only this subscriber (letters, digits, ``-``, ``_``, ``.``, or
                an email address).
            profile_id: Only this profile.
            limit: Yield at most this many rows.
            page_size: Rows per request, 1 to :data:`MAX_PAGE_SIZE` (the default).
            prefetch: Pages kept in flight once the total is known (1 = sequential).

        Returns:
            A :class:`~asyncmailstats.Paginator` of :class:`LinkStat`, in the server's
            order; nothing is sent until it is iterated.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: An argument has a wrong value (naive datetime, unknown group, …).
        """
        chosen = _wire.check_group(group)
        period = _wire.period_params(period_from, period_to)
        params = _link_params(period, chosen, campaign_id, subscriber_id, profile_id, sort=sort)
        return self._paginate(
            _wire.LINK_STATS,
            params,
            _wire.parse_link_stats,
            _wire.link_stat_key,
            stable=_wire.sorted_by_key(chosen, sort),
            limit=limit,
            page_size=page_size,
            prefetch=prefetch,
        )

    async def link_timeseries(
        self,
        *,
        period_from: datetime,
        period_to: datetime,
        group: LinkGroup | str | None = None,
        campaign_id: str | None = None,
        subscriber_id: str | None = None,
        profile_id: str | None = None,
    ) -> list[LinkTimeseriesPoint]:
        """Return link-log (click) counts per date, optionally split by a grouping.

        Args:
            period_from: Start of the period (aware).
            period_to: End of the period (aware), not before *period_from*.
            group: Split each date by this field; the points carry it.
            campaign_id: Only this campaign.
            subscriber_id: Only this subscriber (an ID or an email address).
            profile_id: Only this profile.

        Returns:
            The points in the server's order.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: An argument has a wrong value.
        """
        chosen = _wire.check_group(group)
        period = _wire.period_params(period_from, period_to)
        params = _link_params(period, chosen, campaign_id, subscriber_id, profile_id)
        return await self._get(_wire.LINK_TIMESERIES, params, _wire.decode_link_timeseries)

    async def pixel_timeseries(
        self,
        *,
        period_from: datetime,
        period_to: datetime,
        group: LinkGroup | str | None = None,
        campaign_id: str | None = None,
        subscriber_id: str | None = None,
    ) -> list[PixelTimeseriesPoint]:
        """Return pixel-log (open) counts per date, optionally split by campaign or subscriber.

        Args:
            period_from: Start of the period (aware).
            period_to: End of the period (aware), not before *period_from*.
            group: ``campaign_id`` or ``subscriber_id`` (the only groupings this series
                documents).
            campaign_id: Only this campaign.
            subscriber_id: Only this subscriber (an ID or an email address).

        Returns:
            The points in the server's order.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: An argument has a wrong value (including any other grouping).
        """
        chosen = _wire.check_group(group, _wire.PIXEL_GROUPS)
        period = _wire.period_params(period_from, period_to)
        params = _link_params(period, chosen, campaign_id, subscriber_id)
        return await self._get(_wire.PIXEL_TIMESERIES, params, _wire.decode_pixel_timeseries)

    def delivery_timeseries(
        self,
        *,
        period_from: datetime,
        period_to: datetime,
        domain: str | None = None,
        status: str | Sequence[str] | None = None,
        sort: str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        prefetch: int = 4,
    ) -> Paginator[DeliveryDay]:
        """Stream delivery counters per date.

        Args:
            period_from: Start of the period (aware).
            period_to: End of the period (aware), not before *period_from*.
            domain: Only recipients whose domain contains this text.
            status: Only emails in this status, or in any of these (``"DELIVERED"``,
                ``["REQUESTED", "SENDING"]``); sent comma-separated.
            sort: A field name, ``-`` in front for descending (``"-date"``).
            limit: Yield at most this many days.
            page_size: Days per request, 1 to :data:`MAX_PAGE_SIZE` (the default).
            prefetch: Pages kept in flight once the total is known (1 = sequential).

        Returns:
            A :class:`~asyncmailstats.Paginator` of :class:`DeliveryDay`; nothing is sent
            until it is iterated.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: An argument has a wrong value.
        """
        params = (
            *_wire.period_params(period_from, period_to),
            *_wire.optional("domain", domain, _wire.check_domain),
            *_wire.optional("status", status, _wire.check_status),
            *_wire.optional("sort", sort, _wire.check_sort),
        )
        return self._paginate(
            _wire.DELIVERY_TIMESERIES,
            params,
            _wire.parse_delivery_timeseries,
            _wire.delivery_day_key,
            stable=sort in ("date", "-date"),
            limit=limit,
            page_size=page_size,
            prefetch=prefetch,
        )

    async def _get(self, endpoint: str, params: _wire.Params, decode: Callable[[Response], T]) -> T:
        """Send one GET request to *endpoint* and return its decoded body."""
        return await self._client.call(_wire.get(endpoint, params), decode)

    def _paginate(
        self,
        endpoint: str,
        params: _wire.Params,
        parse: Callable[[bytes], Parsed[T]],
        key: Callable[[T], Hashable],
        *,
        stable: bool,
        limit: int | None,
        page_size: int | None,
        prefetch: int,
    ) -> Paginator[T]:
        client = self._client
        check = functools.partial(_wire.raise_for_status, endpoint=endpoint)

        async def fetch(offset: int, count: int) -> Response:
            return await client.fetch(_wire.paged(endpoint, params, offset, count), check)

        def parse_reply(response: Response) -> Parsed[T]:
            return client.decode(response.body, parse)

        source = PagedEndpoint(
            fetch, parse_reply, key, stable=stable, label=f"EmailConsul {endpoint}"
        )
        return offset_paginator(
            source,
            limit=limit,
            page_size=page_size,
            max_page_size=MAX_PAGE_SIZE,
            prefetch=prefetch,
        )


def _link_params(
    period: _wire.Params,
    group: LinkGroup | None,
    campaign_id: object,
    subscriber_id: object,
    profile_id: object = None,
    *,
    sort: object = None,
) -> _wire.Params:
    """Return the parameters of a link- or pixel-log query, the filters checked.

    *period* and *group* are checked already (:func:`_wire.period_params`,
    :func:`_wire.check_group`); a filter that is ``None`` is left out. The query string
    holds them in this order: period, group, sort, then the filters.
    """
    return (
        *period,
        *_wire.optional("group", group, str),
        *_wire.optional("sort", sort, _wire.check_sort),
        *_wire.optional("campaign_id", campaign_id, _wire.check_campaign_id),
        *_wire.optional("subscriber_id", subscriber_id, _wire.check_subscriber_id),
        *_wire.optional("profile_id", profile_id, _wire.check_profile_id),
    )
