"""A fake EmailConsul statistics API over a seeded synthetic dataset.

The dataset is plain and public (:attr:`FakeEmailConsul.link_logs`, ``pixel_logs``,
``deliveries``) so tests can compute the answer they expect on their own. Where the real
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
"""

from __future__ import annotations

import json
import operator
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import attrs
from aiohttp import web

from ._server import FakeServer, FaultPlan

_LINK_STATS: Final = "/tracking/link/stats/aggregated"
_LINK_SERIES: Final = "/tracking/link/stats/timeseries"
_PIXEL_SERIES: Final = "/tracking/pixel/stats/timeseries"
_DELIVERY: Final = "/email_delivery/emails/stats/timeseries"
_PAGING: Final = ("offset", "limit")
_LINK_FILTERS: Final = ("campaign_id", "subscriber_id", "profile_id")
_PIXEL_FILTERS: Final = ("campaign_id", "subscriber_id")
_PAGE_DEFAULT: Final = 100
_PAGE_MAX: Final = 1000
_SPAN: Final = timedelta(days=30)

_FIELD_GROUPS: Final = ("campaign_id", "subscriber_id", "device", "country", "ip", "browser")
_LINK_GROUPS: Final = {
    **{name: (name,) for name in (*_FIELD_GROUPS, "custom_link_title")},
    "params": ("params_name", "params_value"),
}
_PIXEL_GROUPS: Final = {"campaign_id": ("campaign_id",), "subscriber_id": ("subscriber_id",)}

#: The status words of :class:`Delivery`; each counts under its lower-case name.
DELIVERY_STATUSES: Final = (
    "REQUESTED",
    "SENDING",
    "DELIVERED",
    "HARD_BOUNCED",
    "BOUNCED",
    "DROPPED_UNSUBSCRIBED",
    "DROPPED_HARD_BOUNCED",
    "DROPPED_SPAM_REPORTED",
    "DROPPED_MANUALLY_SUPPRESSED",
)
#: What can happen to a delivered email; each counts under its own name.
DELIVERY_FLAGS: Final = ("opened", "clicked", "unsubscribed", "spam_reported")
_DELIVERY_FIELDS: Final = (
    "total_count",
    *(s.lower() for s in DELIVERY_STATUSES[:5]),
    *DELIVERY_FLAGS,
    *(s.lower() for s in DELIVERY_STATUSES[5:]),
)

_DEVICES: Final = ("desktop", "iPhone", "iPad", "Android", "Pixel 8", "Galaxy S23")
_COUNTRIES: Final = ("US", "DE", "GB", "FR", "DK", "BR", "IN", "JP", "CA", "AU")
_BROWSERS: Final = ("Chrome 120.0", "Safari 17.2", "Firefox 121.0", "Edge 120.0", "Opera 105")
_TITLES: Final = ("Shop now", "Read more", "View online", "Pricing", "Unsubscribe")
_PARAMS: Final = {
    "utm_source": ("newsletter", "digest", "promo"),
    "utm_medium": ("email",),
    "utm_campaign": ("spring", "summer", "launch", "winback"),
}
_DOMAINS: Final = ("example.com", "example.org", "example.net", "mail.example.co.uk")


@attrs.frozen(slots=True)
class LinkLog:
    """One recorded link click."""

    timestamp: datetime
    campaign_id: str
    subscriber_id: str
    profile_id: str
    device: str
    country: str
    ip: str
    browser: str
    custom_link_title: str
    params_name: str
    params_value: str


@attrs.frozen(slots=True)
class PixelLog:
    """One recorded open (tracking pixel load)."""

    timestamp: datetime
    campaign_id: str
    subscriber_id: str
    device: str
    ip: str


@attrs.frozen(slots=True)
class Delivery:
    """One email handed to EmailConsul: when, to which domain, its status and events."""

    timestamp: datetime
    domain: str
    status: str
    flags: frozenset[str]


class _BadRequestError(Exception):
    """A request parameter the fake refuses (answered with HTTP 400)."""


def _generate(
    rng: random.Random, now: datetime, link_logs: int, pixel_logs: int, deliveries: int
) -> tuple[tuple[LinkLog, ...], tuple[PixelLog, ...], tuple[Delivery, ...]]:
    campaigns = [f"cmp_{rng.getrandbits(24):06x}" for _ in range(8)]
    profiles = [f"prof-{n}" for n in range(1, 5)]
    subscribers = [
        f"sub-{n:05d}" if n % 3 else f"reader.{n}@{rng.choice(_DOMAINS)}"
        for n in range(max(1, (link_logs + pixel_logs) // 6))
    ]
    span_ms = int(_SPAN.total_seconds() * 1000)

    def when() -> datetime:
        return now - timedelta(milliseconds=rng.randrange(span_ms))

    def ip() -> str:
        bits = rng.getrandbits(24)
        return f"10.{bits >> 16}.{(bits >> 8) & 0xFF}.{bits & 0xFF}"

    links = []
    for _ in range(link_logs):
        name = rng.choice(tuple(_PARAMS))
        links.append(
            LinkLog(
                timestamp=when(),
                campaign_id=rng.choice(campaigns),
                subscriber_id=rng.choice(subscribers),
                profile_id=rng.choice(profiles),
                device=rng.choice(_DEVICES),
                country=rng.choices(_COUNTRIES, weights=range(len(_COUNTRIES), 0, -1))[0],
                ip=ip(),
                browser=rng.choice(_BROWSERS),
                custom_link_title=rng.choice(_TITLES),
                params_name=name,
                params_value=rng.choice(_PARAMS[name]),
            )
        )
    pixels = [
        PixelLog(when(), rng.choice(campaigns), rng.choice(subscribers), rng.choice(_DEVICES), ip())
        for _ in range(pixel_logs)
    ]
    weights = (3, 2, 70, 3, 5, 4, 3, 1, 1)
    emails = []
    for _ in range(deliveries):
        status = rng.choices(DELIVERY_STATUSES, weights=weights)[0]
        flags: set[str] = set()
        if status == "DELIVERED":
            flags = {
                f
                for f, p in zip(DELIVERY_FLAGS, (0.4, 0.15, 0.02, 0.01), strict=True)
                if rng.random() < p
            }
        emails.append(Delivery(when(), rng.choice(_DOMAINS), status, frozenset(flags)))
    key = operator.attrgetter("timestamp")
    return (
        tuple(sorted(links, key=key)),
        tuple(sorted(pixels, key=key)),
        tuple(sorted(emails, key=key)),
    )


_PERIOD_SHAPE: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def _single(
    query: Mapping[str, str], getall: Callable[[str], list[str]], allowed: Iterable[str]
) -> dict[str, str]:
    known = set(allowed)
    for name in query:
        if name not in known:
            raise _BadRequestError(f"unknown parameter {name!r}")
        if len(getall(name)) > 1:
            raise _BadRequestError(f"parameter {name!r} given more than once")
    return dict(query)


def _instant(query: Mapping[str, str], name: str) -> datetime:
    raw = query.get(name)
    if raw is None:
        raise _BadRequestError(f"{name} is required")
    if _PERIOD_SHAPE.fullmatch(raw) is None:
        raise _BadRequestError(f"{name} must look like 2021-07-06T00:00:00.000Z")
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise _BadRequestError(f"{name} is not a valid date-time") from None


def _period(query: Mapping[str, str]) -> tuple[datetime, datetime]:
    start, end = _instant(query, "period_from"), _instant(query, "period_to")
    if start > end:
        raise _BadRequestError("period_from must not be after period_to")
    return start, end


def _int(
    query: Mapping[str, str], name: str, default: int, minimum: int, maximum: int | None = None
) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not raw.isascii():
        raise _BadRequestError(f"{name} must be a non-negative integer")
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        raise _BadRequestError(f"{name} must be between {minimum} and {maximum}")
    return value


def _sorted(
    rows: list[dict[str, Any]], query: Mapping[str, str], fields: Iterable[str], default: str
) -> list[dict[str, Any]]:
    raw = query.get("sort", default)
    descending = raw.startswith("-")
    name = raw[1:] if descending else raw
    if name not in set(fields):
        raise _BadRequestError(f"cannot sort by {raw!r}")
    # Rows arrive ordered by their group; a stable sort keeps that order among ties.
    return sorted(rows, key=lambda row: row[name], reverse=descending)


def _group(
    query: Mapping[str, str], groups: Mapping[str, tuple[str, ...]], default: str | None
) -> tuple[str, ...]:
    name = query.get("group", default)
    if name is None:
        return ()
    if name not in groups:
        raise _BadRequestError(f"unknown group {name!r}")
    return groups[name]


def _select(items: Iterable[Any], query: Mapping[str, str], filters: Iterable[str]) -> list[Any]:
    """Return the items inside the query's period that match its equality filters."""
    start, end = _period(query)
    wanted = [(name, query[name]) for name in filters if name in query]
    return [
        item
        for item in items
        if start <= item.timestamp <= end and all(getattr(item, n) == v for n, v in wanted)
    ]


def _series(items: Iterable[Any], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    counts = Counter((item.timestamp.date(), *(getattr(item, f) for f in fields)) for item in items)
    return [
        {"date": key[0].isoformat(), "count": n, **dict(zip(fields, key[1:], strict=True))}
        for key, n in sorted(counts.items())
    ]


def _statuses(raw: str) -> set[str]:
    try:
        words = json.loads(raw) if raw.startswith("[") else raw.split(",")
    except ValueError:
        words = None
    if not isinstance(words, list) or not words or not all(isinstance(w, str) for w in words):
        raise _BadRequestError(
            "status must be a status word, comma-separated words or a JSON array"
        )
    unknown = set(words) - set(DELIVERY_STATUSES)
    if unknown:
        raise _BadRequestError(f"unknown status {min(unknown)!r}")
    return set(words)


class FakeEmailConsul(FakeServer):
    """A fake EmailConsul statistics API serving seeded link, pixel and delivery logs.

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
        if now is not None and now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        super().__init__(latency=latency, faults=faults)
        #: The end of the period the dataset covers.
        self.now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        #: The key clients must send in :attr:`auth_header`.
        self.api_key = (
            api_key
            if api_key is not None
            else f"ec_test_{random.Random(f'key-{seed}').getrandbits(64):016x}"
        )
        self.auth_header = auth_header
        #: Every click, pixel load and email, oldest first.
        self.link_logs, self.pixel_logs, self.deliveries = _generate(
            random.Random(seed), self.now, link_logs, pixel_logs, deliveries
        )
        self._cache: dict[tuple[object, ...], list[dict[str, Any]]] = {}

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

    def _endpoint(
        self,
        allowed: tuple[str, ...],
        rows: Callable[[Mapping[str, str]], list[dict[str, Any]]],
        paged: bool,
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
                key = (
                    rows,
                    *sorted((k, v) for k, v in query.items() if k not in {"offset", "limit"}),
                )
                result = self._cache.get(key)
                if result is None:
                    result = self._cache[key] = rows(query)
                    if len(self._cache) > 64:
                        self._cache.pop(next(iter(self._cache)))
            except _BadRequestError as exc:
                return web.json_response({"error": "bad_request", "message": str(exc)}, status=400)
            if not paged:
                return web.json_response({"data": result})
            meta = {"count": len(result), "offset": offset, "limit": limit}
            return web.json_response({"data": result[offset : offset + limit], "meta": meta})

        return handle

    def _link_stats(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        fields = _group(query, _LINK_GROUPS, "campaign_id")
        logs = _select(self.link_logs, query, _LINK_FILTERS)
        counts = Counter(tuple(getattr(log, f) for f in fields) for log in logs)
        rows = [
            {**dict(zip(fields, k, strict=True)), "count": n} for k, n in sorted(counts.items())
        ]
        return _sorted(rows, query, ("count", *fields), "-count")

    def _link_series(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        fields = _group(query, _LINK_GROUPS, None)
        return _series(_select(self.link_logs, query, _LINK_FILTERS), fields)

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
