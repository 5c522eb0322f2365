"""A fake EmailConsul statistics API over a seeded synthetic dataset.

The dataset is plain and public (:attr:`FakeEmailConsul.link_logs`, ``pixel_logs``,
``deliveries``) so tests can compute the answer they expect on their own;
:meth:`FakeEmailConsul.link_stat_models` gives what the aggregated link stats answer to
a query, as the library's models. Where the real
API's behaviour is undocumented the fake makes a choice and states it:

* periods are inclusive at both ends; dates are UTC days;
* ``group`` defaults to ``campaign_id`` on the aggregated endpoint;
* aggregated rows are sorted by ``-count`` unless ``sort`` says otherwise; ties are
  broken by the group's value, so the order is total and paging is stable;
* ``limit`` defaults to 100 and may not exceed 1000; ``offset`` defaults to 0;
* time-series points come in date order, then by group value;
* delivery days are sorted by ``date`` unless ``sort`` names a counter; days without
  emails are left out; ``status`` matches the email's status word exactly;
* unknown query parameters, malformed values and unknown sort fields get a 400 with a
  JSON body ``{"error": "bad_request", "message": ...}``; a wrong or missing key a 401.

With a :class:`~asyncmailstats.testing.LivePlan` the server keeps recording link logs
while it is paged, and pages sloppily the way the plan says. The dataset and its rows
(``_emailconsul_data``) and the query checks (``_emailconsul_query``) live apart; this
module holds the public API and the endpoints.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Final

from aiohttp import web

from ..emailconsul import _wire as ec_wire
from ..emailconsul._convert import CONVERTER as EC_CONVERTER
from ..emailconsul.models import LinkGroup, LinkStat
from ._emailconsul_data import (
    _DELIVERY_FIELDS,
    Delivery,
    LinkLog,
    PixelLog,
    _generate,
    _LinkArrivals,
)
from ._emailconsul_query import (
    _LINK_FILTERS,
    _LINK_GROUPS,
    _PAGE_DEFAULT,
    _PAGE_MAX,
    _PAGING,
    _PIXEL_FILTERS,
    _PIXEL_GROUPS,
    _BadRequestError,
    _group,
    _int,
    _select,
    _series,
    _single,
    _sorted,
    _statuses,
)
from ._faults import FaultPlan, utc_now
from ._live import LivePlan, _LiveFake

__all__ = ["Delivery", "FakeEmailConsul", "LinkLog", "PixelLog"]

_LINK_STATS: Final = "/tracking/link/stats/aggregated"
_LINK_SERIES: Final = "/tracking/link/stats/timeseries"
_PIXEL_SERIES: Final = "/tracking/pixel/stats/timeseries"
_DELIVERY: Final = "/email_delivery/emails/stats/timeseries"
#: The period ``total_ignores_filter`` counts over: all of it.
_WHOLE_PERIOD: Final = {
    "period_from": "0001-01-01T00:00:00.000Z",
    "period_to": "9999-12-31T23:59:59.999Z",
}
_MS: Final = timedelta(milliseconds=1)

Rows = Callable[[Mapping[str, str]], list[dict[str, Any]]]


class FakeEmailConsul(_LiveFake):
    """A fake EmailConsul statistics API serving seeded link, pixel and delivery logs.

    With a :class:`~asyncmailstats.testing.LivePlan`, link logs keep arriving (after
    list pages, by wall clock, or from :meth:`add_link_logs`), each 1 ms after the
    newest so far and so later than every log of the dataset; aggregates and series
    count them at once. A client that wants to see them asks for a ``period_to`` later
    than ``now``.

    Args:
        link_logs: How many link clicks to generate.
        pixel_logs: How many opens to generate.
        deliveries: How many emails to generate.
        seed: Seed of the dataset (and of the API key when none is given).
        latency: Seconds each request waits before it is answered.
        faults: Faults to inject; none when ``None``.
        api_key: The key clients must send; generated from *seed* when ``None``.
        auth_header: The header that carries the key.
        now: The end of the 30 days the logs spread over (aware); the current time
            when ``None``.
        live: How the server keeps recording and pages while it runs; ``None``: a
            still dataset paged exactly.

    Example::

        async with FakeEmailConsul(link_logs=2000, seed=1) as fake:
            ec = session.emailconsul(api_key=fake.api_key, base_url=fake.url)
    """

    def __init__(
        self,
        *,
        link_logs: int = 5000,
        pixel_logs: int = 10_000,
        deliveries: int = 5000,
        seed: int = 0,
        latency: float = 0.0,
        faults: FaultPlan | None = None,
        api_key: str | None = None,
        auth_header: str = "X-API-Key",
        now: datetime | None = None,
        live: LivePlan | None = None,
    ) -> None:
        for name, value in (
            ("link_logs", link_logs),
            ("pixel_logs", pixel_logs),
            ("deliveries", deliveries),
        ):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int")
            if value < 0:
                raise ValueError(f"{name} must not be negative")
        utc = utc_now(now)
        super().__init__(latency=latency, faults=faults, live=live)
        #: The end of the period the dataset covers.
        self.now = utc.replace(microsecond=0)
        #: The key clients must send in :attr:`auth_header`.
        self.api_key = (
            api_key
            if api_key is not None
            else f"ec_test_{random.Random(f'key-{seed}').getrandbits(64):016x}"
        )
        self.auth_header = auth_header
        links, pixels, emails = _generate(
            random.Random(seed), self.now, link_logs, pixel_logs, deliveries
        )
        #: Every pixel load, oldest first.
        self.pixel_logs: tuple[PixelLog, ...] = pixels
        #: Every email, oldest first.
        self.deliveries: tuple[Delivery, ...] = emails
        self._links = list(links)  # oldest first; arrivals are appended
        self._links_view: tuple[LinkLog, ...] | None = links
        self._seed = seed
        self._arrivals: _LinkArrivals | None = None
        self._clock = self.now  # nothing generated is later than `now`
        self._cache: dict[tuple[object, ...], list[dict[str, Any]]] = {}

    @property
    def link_logs(self) -> tuple[LinkLog, ...]:
        """Every link click, oldest first, arrivals included.

        A tuple of frozen records: keep it as the truth of this moment; arrivals make the
        next read a new tuple.
        """
        if self._links_view is None:
            self._links_view = tuple(self._links)
        return self._links_view

    def add_link_logs(self, count: int) -> list[LinkLog]:
        """Record *count* new link clicks, each 1 ms after the newest log so far.

        Most reuse the dataset's campaigns, subscribers and countries; every fourth
        arrival opens new ones (a new campaign, subscriber and country). Call it from the
        server's event loop, between requests; aggregates and series count them at once.

        Returns:
            The new logs, oldest first, as :attr:`link_logs` now ends with them.
        """
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"count must be an integer, got {type(count).__name__}")
        if count < 0:
            raise ValueError(f"count must not be negative, got {count}")
        return self._add_links(count, None)

    def link_stat_models(
        self,
        *,
        period_from: datetime,
        period_to: datetime,
        group: LinkGroup | str | None = None,
        sort: str | None = None,
        campaign_id: str | None = None,
        subscriber_id: str | None = None,
        profile_id: str | None = None,
    ) -> list[LinkStat]:
        """Return every row the aggregated link stats serve for this query, as models.

        The arguments are those of :meth:`~asyncmailstats.EmailConsulAPI.link_stats`,
        checked and sent the same way; the rows come unpaged, in the server's order,
        decoded with the converter the EmailConsul client uses (arrivals included).

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: An argument has a wrong value, as the client would refuse it.
        """
        chosen = ec_wire.check_group(group)
        params = (
            *ec_wire.period_params(period_from, period_to),
            *ec_wire.optional("group", chosen, str),
            *ec_wire.optional("sort", sort, ec_wire.check_sort),
            *ec_wire.optional("campaign_id", campaign_id, ec_wire.check_campaign_id),
            *ec_wire.optional("subscriber_id", subscriber_id, ec_wire.check_subscriber_id),
            *ec_wire.optional("profile_id", profile_id, ec_wire.check_profile_id),
        )
        try:
            rows = self._link_stats(dict(params))
        except _BadRequestError as exc:
            raise ValueError(str(exc)) from None
        hook = EC_CONVERTER.get_structure_hook(LinkStat)
        return [hook(row, LinkStat) for row in rows]

    def routes(self) -> list[web.RouteDef]:
        """Return the four statistics endpoints."""
        endpoints = (
            (_LINK_STATS, (*_PAGING, "group", "sort", *_LINK_FILTERS), self._link_stats, True),
            (_LINK_SERIES, ("group", *_LINK_FILTERS), self._link_series, False),
            (_PIXEL_SERIES, ("group", *_PIXEL_FILTERS), self._pixel_series, False),
            (_DELIVERY, (*_PAGING, "domain", "status", "sort"), self._delivery_days, True),
        )
        return [
            web.get(path, self._endpoint(("period_from", "period_to", *names), rows, paged))
            for path, names, rows, paged in endpoints
        ]

    # -- arrivals ----------------------------------------------------------------------

    def _arrive(self, records: int, messages: int, elapsed: float | None) -> None:
        floor = None if elapsed is None else self.now + timedelta(seconds=elapsed)
        self._add_links(records, floor)

    def _add_links(self, count: int, floor: datetime | None) -> list[LinkLog]:
        if self._arrivals is None:
            self._arrivals = _LinkArrivals(self._seed, self._links, self.pixel_logs)
        added = []
        for _ in range(count):
            stamp = self._clock + _MS
            if floor is not None and floor > stamp:
                stamp = floor.replace(microsecond=floor.microsecond // 1000 * 1000)
            self._clock = stamp
            added.append(self._arrivals.make(stamp))
        if added:
            self._links.extend(added)
            self._links_view = None
            stale = (self._link_stats, self._link_series)
            for key in [key for key in self._cache if key[0] in stale]:
                del self._cache[key]
        return added

    # -- endpoints ---------------------------------------------------------------------

    def _rows(self, rows: Rows, query: Mapping[str, str]) -> list[dict[str, Any]]:
        key = (rows, *sorted((k, v) for k, v in query.items() if k not in {"offset", "limit"}))
        result = self._cache.get(key)
        if result is None:
            result = self._cache[key] = rows(query)
            if len(self._cache) > 64:
                self._cache.pop(next(iter(self._cache)))
        return result

    def _endpoint(
        self, allowed: tuple[str, ...], rows: Rows, paged: bool
    ) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.Response:
            if request.headers.get(self.auth_header) != self.api_key:
                return web.json_response(
                    {"error": "unauthorized", "message": "Missing or invalid API key"}, status=401
                )
            try:
                query = _single(request.query, request.query.getall, allowed)
                offset = _int(query, "offset", 0, 0)
                limit = _int(query, "limit", _PAGE_DEFAULT, 1, _PAGE_MAX)
                result = self._rows(rows, query)
                plan = self.live
                whole = None
                if paged and plan is not None and plan.total is None and plan.total_ignores_filter:
                    whole = len(self._rows(rows, {**query, **_WHOLE_PERIOD}))
            except _BadRequestError as exc:
                return web.json_response({"error": "bad_request", "message": str(exc)}, status=400)
            if not paged:
                return web.json_response({"data": result})
            shaped = self._shape(offset, limit, len(result))
            if shaped is None:
                meta = {"count": len(result), "offset": offset, "limit": limit}
                body = {"data": result[offset : offset + limit], "meta": meta}
            else:
                take, total = shaped
                cap = limit if plan is None or plan.page_cap is None else min(limit, plan.page_cap)
                meta = {"count": total if whole is None else whole, "offset": offset, "limit": cap}
                body = {"data": result[offset : offset + take], "meta": meta}
            self._served_list_page()
            return web.json_response(body)

        return handle

    def _link_stats(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        fields = _group(query, _LINK_GROUPS, "campaign_id")
        logs = _select(self._links, query, _LINK_FILTERS)
        counts = Counter(tuple(getattr(log, f) for f in fields) for log in logs)
        rows = [
            {**dict(zip(fields, k, strict=True)), "count": n} for k, n in sorted(counts.items())
        ]
        return _sorted(rows, query, ("count", *fields), "-count")

    def _link_series(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        fields = _group(query, _LINK_GROUPS, None)
        return _series(_select(self._links, query, _LINK_FILTERS), fields)

    def _pixel_series(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        fields = _group(query, _PIXEL_GROUPS, None)
        return _series(_select(self.pixel_logs, query, _PIXEL_FILTERS), fields)

    def _delivery_days(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        emails: list[Delivery] = _select(self.deliveries, query, ())
        domain = query.get("domain")
        if domain is not None:
            emails = [e for e in emails if domain.lower() in e.domain.lower()]
        raw_status = query.get("status")
        if raw_status is not None:
            wanted = _statuses(raw_status)
            emails = [e for e in emails if e.status in wanted]
        days: dict[date, Counter[str]] = {}
        for email in emails:
            day = days.setdefault(email.timestamp.date(), Counter())
            day.update(("total_count", email.status.lower(), *email.flags))
        rows = [
            {"date": day.isoformat(), **{f: counts[f] for f in _DELIVERY_FIELDS}}
            for day, counts in sorted(days.items())
        ]
        return _sorted(rows, query, ("date", *_DELIVERY_FIELDS), "date")
