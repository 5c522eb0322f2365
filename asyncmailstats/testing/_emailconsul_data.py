"""The fake EmailConsul server's dataset: its tables, records and seeded generation.

:class:`LinkLog`, :class:`PixelLog` and :class:`Delivery` are the records
:class:`~asyncmailstats.testing.FakeEmailConsul` exposes as its truth. ``_generate``
draws the dataset from a seed; ``_LinkArrivals`` draws the link logs that arrive while
the server runs, from a seed of their own so the dataset never changes with them.
"""

from __future__ import annotations

import operator
import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

import attrs

_SPAN: Final = timedelta(days=30)

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


#: Countries no generated log has: every novel arrival brings the next one.
_NEW_COUNTRIES: Final = ("NL", "SE", "ES", "IT", "MX", "KR", "NZ", "PL", "PT", "NO")
#: Every this many arrivals, one is on group values nobody had before.
_NOVEL_EVERY: Final = 4


class _LinkArrivals:
    """Draw link logs that arrive after the dataset was generated, reproducibly.

    Most arrivals reuse the dataset's campaigns, subscribers and countries; every
    fourth (the 4th, 8th, ...) opens new group values: a new campaign, a new subscriber
    and a country no log had. IPs are drawn afresh, as in the dataset.
    """

    def __init__(self, seed: int, links: Iterable[LinkLog], pixels: Iterable[PixelLog]) -> None:
        self._rng = random.Random(f"live-{seed}")
        links, pixels = list(links), list(pixels)
        self._campaigns = sorted({x.campaign_id for x in links} | {x.campaign_id for x in pixels})
        self._subscribers = sorted(
            {x.subscriber_id for x in links} | {x.subscriber_id for x in pixels}
        )
        self._made = 0

    def make(self, timestamp: datetime) -> LinkLog:
        """Return the next arrival, recorded at *timestamp*."""
        rng, number = self._rng, self._made
        self._made += 1
        novel = number % _NOVEL_EVERY == _NOVEL_EVERY - 1 or not self._campaigns
        bits, name = rng.getrandbits(24), rng.choice(tuple(_PARAMS))
        if novel:
            campaign, subscriber = f"cmp_live{number:05d}", f"sub-live-{number:05d}"
            country = _NEW_COUNTRIES[number // _NOVEL_EVERY % len(_NEW_COUNTRIES)]
        else:
            campaign, subscriber = rng.choice(self._campaigns), rng.choice(self._subscribers)
            country = rng.choices(_COUNTRIES, weights=range(len(_COUNTRIES), 0, -1))[0]
        return LinkLog(
            timestamp=timestamp,
            campaign_id=campaign,
            subscriber_id=subscriber,
            profile_id=f"prof-{1 + int(rng.random() * 4)}",
            device=rng.choice(_DEVICES),
            country=country,
            ip=f"10.{bits >> 16}.{(bits >> 8) & 0xFF}.{bits & 0xFF}",
            browser=rng.choice(_BROWSERS),
            custom_link_title=rng.choice(_TITLES),
            params_name=name,
            params_value=rng.choice(_PARAMS[name]),
        )
