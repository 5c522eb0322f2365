"""The fake Postmark server's tables, time helpers and records.

Everything here is pure data and the helpers that build it: the kinds, senders, links,
client and place tables the generator draws from (with their weighted picks), the tick
arithmetic behind Postmark's Eastern timestamps, the compact ``MessageRecord``,
``OpenRecord`` and ``ClickRecord``, the recipient pool, ``Timeline`` (a newest-first
list that takes new records at its head in O(1)) and :class:`WireView`. The dataset
built from them is ``_postmark_dataset.PostmarkDataset``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import heapq
import itertools
import json
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, TypeVar, overload
from zoneinfo import ZoneInfo

try:  # orjson renders the same JSON faster; it is optional.
    import orjson

    def dumps(value: Any) -> bytes:
        return orjson.dumps(value)

except ImportError:  # pragma: no cover - exercised only without orjson

    def dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


R = TypeVar("R", "MessageRecord", "OpenRecord", "ClickRecord")
T = TypeVar("T")

EASTERN: Final = ZoneInfo("America/New_York")
TICKS: Final = 10_000_000  # timestamps are kept as integer 100 ns ticks since the epoch
STREAMS: Final = ("outbound", "broadcast")

# tag, subject, sender: each message is one of these kinds.
KINDS: Final = (
    ("welcome", "Welcome to Acme!", 0),
    ("invoice", "Your Acme invoice is ready", 1),
    ("password-reset", "Reset your password", 0),
    ("digest", "Your weekly digest", 2),
    ("shipping", "Your order has shipped", 3),
    ("verification", "Confirm your e-mail address", 0),
    ("survey", "Quick question: how are we doing? \u2713", 3),
    (None, "A note from the Acme team", 3),
)
SENDERS: Final = (
    ('"Acme Support" <support@acme.example>', "support@acme.example"),
    ("Acme Billing <billing@acme.example>", "billing@acme.example"),
    ("news@acme.example", "news@acme.example"),
    ("Ada from Acme <ada@acme.example>", "ada@acme.example"),
)
_FIRST: Final = ("ada", "bo", "chen", "dana", "emil", "farah", "gus", "hana", "ivo", "jules")
_LAST: Final = ("berg", "costa", "diaz", "evans", "fischer", "garcia", "hall", "ito", "jensen")
_DOMAINS: Final = ("example.com", "example.org", "mail.example.net", "example.dk")
LINKS: Final = (
    "https://acme.example/pricing",
    "https://acme.example/docs/getting-started",
    "https://acme.example/account/settings",
    "https://shop.acme.example/cart?utm_source=email&utm_medium=postmark",
    "https://acme.example/blog/2024/release-notes",
    "https://acme.example/support",
)


def _table(*rows: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(row.split("|")) for row in rows)


#: For each first link, the 1, 2 and 3 consecutive links a message carries.
LINK_SETS: Final = tuple(
    tuple(tuple(sorted({(first + k) % len(LINKS) for k in range(n)})) for n in (1, 2, 3))
    for first in range(len(LINKS))
)
INVOICE: Final = 1  # the KINDS entry whose messages carry an attachment
TRACK_LINKS: Final = ("None",) * 5 + ("HtmlAndText",) * 9 + ("HtmlOnly",) * 4 + ("TextOnly",) * 2
METADATA: Final = (
    None,
    None,
    None,
    {"client-id": "12345"},
    {"client-id": "67890", "plan": "pro"},
    {"plan": "free"},
    {"plan": "team", "region": "eu"},
)
# Opens: client name|company|family|OS name|company|family|platform|weight|user agent.
OPEN_PROFILES: Final = _table(
    "Gmail|Google|Gmail|unknown|unknown|unknown|WebMail|8|Mozilla/5.0 GoogleImageProxy",
    "Apple Mail 16.0|Apple|Apple Mail|macOS 14|Apple Inc.|macOS|Desktop|5|AppleWebKit/605.1.15",
    "Apple Mail|Apple|Apple Mail|iOS 17.2|Apple Inc.|iOS|Mobile|5|Mozilla/5.0 (iPhone) Mobile",
    "Outlook 2019|Microsoft|Outlook|Windows 10|Microsoft Corporation|Windows|Desktop|4|MSOffice 16",
    "Outlook.com|Microsoft|Outlook.com|unknown|unknown|unknown|WebMail|2|Mozilla/5.0 Chrome/120.0",
    "Thunderbird 115.6|Mozilla|Thunderbird|Ubuntu 22.04|Canonical Ltd.|Linux|Desktop|1|Thunderbird",
    "Gmail App|Google|Gmail|Android 14|Google, Inc.|Android|Mobile|3|Mozilla/5.0 (Android 14) GSA",
    "unknown|unknown|unknown|unknown|unknown|unknown|Unknown|2|Mozilla/5.0",
)
# Clicks: the same columns, then the browser family the stats count (empty: not counted).
CLICK_PROFILES: Final = _table(
    "Chrome 120.0|Google|Chrome|Windows 10|Microsoft Corporation|Windows|Desktop|8|Chrome/120|"
    "Google Chrome",
    "Safari 17.2|Apple|Safari|macOS 14|Apple Inc.|macOS|Desktop|4|Version/17.2 Safari|Safari",
    "Mobile Safari 17.2|Apple|Mobile Safari|iOS 17.2|Apple Inc.|iOS|Mobile|5|Mobile Safari|Safari",
    "Firefox 121.0|Mozilla|Firefox|Ubuntu 22.04|Canonical Ltd.|Linux|Desktop|2|Firefox/121|Firefox",
    "Edge 120.0|Microsoft|Edge|Windows 11|Microsoft Corporation|Windows|Desktop|2|Edg/120|"
    "Microsoft Edge",
    "Chrome Mobile 120.0|Google|Chrome Mobile|Android 14|Google, Inc.|Android|Mobile|4|Chrome/120 "
    "Mobile|Google Chrome",
    "unknown|unknown|unknown|unknown|unknown|unknown|Unknown|1|curl/8.4.0|",
)
# Geo: country code|country|region code|region|city|zip|coords|ip|weight; empty: ``Geo: {}``.
GEOS: Final = _table(
    "US|United States|NY|New York|New York|10001|40.7,-74.0|203.0.113.10|6",
    "US|United States|CA|California|San Francisco|94107|37.7,-122.4|203.0.113.7|5",
    "DK|Denmark|84|Capital Region|Copenhagen|1050|55.7,12.6|198.51.100.4|3",
    "DE|Germany|BE|Berlin|Berlin|10115|52.5,13.4|198.51.100.20|3",
    "GB|United Kingdom|ENG|England|London|EC1A|51.5,-0.1|198.51.100.33|3",
    "FR|France|IDF|\u00cele-de-France|Paris|75001|48.9,2.3|192.0.2.15|2",
    "BR|Brazil|SP|S\u00e3o Paulo|S\u00e3o Paulo|01000|-23.5,-46.6|192.0.2.80|2",
    "JP|Japan|13|Tokyo|Tokyo|100-0001|35.7,139.7|192.0.2.99|1",
    "||||||||2",
)
GEO_KEYS: Final = ("CountryISOCode", "Country", "RegionISOCode", "Region", "City", "Zip", "Coords")


# -- time --------------------------------------------------------------------------------


def to_ticks(moment: dt.datetime) -> int:
    utc = moment.astimezone(dt.UTC)
    return calendar.timegm(utc.timetuple()) * TICKS + utc.microsecond * 10


def midnight(day: dt.date) -> int:
    return to_ticks(dt.datetime.combine(day, dt.time(), EASTERN))


def stamp(ticks: int) -> str:
    """Format *ticks* like Postmark: Eastern wall time, 7 fractional digits, offset."""
    seconds, fraction = divmod(ticks, TICKS)
    local = dt.datetime.fromtimestamp(seconds, EASTERN).isoformat()
    return f"{local[:19]}.{fraction:07d}{local[19:]}"


def eastern_day(ticks: int) -> dt.date:
    return dt.datetime.fromtimestamp(ticks // TICKS, EASTERN).date()


def uuid4(bits: int) -> str:
    """Format 128 random bits as a version-4 UUID string."""
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _weighted(pool: Sequence[tuple[str, ...]], column: int) -> tuple[int, ...]:
    """Return row indices of *pool*, each repeated as often as its weight *column* says."""
    return tuple(i for i, row in enumerate(pool) for _ in range(int(row[column])))


#: Row indices of the open and click profiles and of the places, repeated by weight:
#: drawing a uniform index into one of these draws a row by its weight.
OPEN_PICK: Final = _weighted(OPEN_PROFILES, 7)
CLICK_PICK: Final = _weighted(CLICK_PROFILES, 7)
GEO_PICK: Final = _weighted(GEOS, 8)


# -- records -------------------------------------------------------------------------------


class MessageRecord:
    __slots__ = (
        "attachments", "bcc", "cc", "clicks", "delay", "events", "frag", "id", "kind",
        "links", "metadata", "opens", "raw", "seq", "status", "stream", "ticks",
        "to", "track_links", "track_opens",
    )  # fmt: skip

    stream: str
    kind: int  # index into KINDS: tag, subject, sender
    to: tuple[int, ...]  # indices into the recipient pool, as are cc, bcc
    cc: tuple[int, ...]
    bcc: tuple[int, ...]
    status: str
    track_opens: bool
    track_links: str
    metadata: dict[str, str] | None
    attachments: tuple[str, ...]
    links: tuple[int, ...]  # indices into LINKS
    delay: int  # ticks from acceptance to delivery

    def __init__(self, seq: int, message_id: str, ticks: int) -> None:
        self.seq = seq
        self.id = message_id
        self.ticks = ticks
        self.events: list[tuple[str, int, int]] = []  # (type, recipient, ticks)
        self.opens: list[OpenRecord] = []
        self.clicks: list[ClickRecord] = []
        self.raw: bytes | None = None
        self.frag: bytes | None = None

    @property
    def tag(self) -> str | None:
        return KINDS[self.kind][0]

    @property
    def everyone(self) -> tuple[int, ...]:
        return self.to + self.cc + self.bcc


class OpenRecord:
    __slots__ = ("geo", "msg", "profile", "raw", "rcpt", "read", "repeats", "ticks")

    def __init__(self, msg: MessageRecord, rcpt: int, ticks: int, profile: int, geo: int) -> None:
        self.msg = msg
        self.rcpt = rcpt
        self.ticks = ticks
        self.profile = profile
        self.geo = geo
        self.read = -1  # seconds read; -1 when unknown
        self.repeats = 0  # opens after the first, counted by stats only
        self.raw: bytes | None = None


class ClickRecord:
    __slots__ = ("geo", "link", "location", "msg", "profile", "raw", "rcpt", "repeats", "ticks")

    def __init__(self, msg: MessageRecord, rcpt: int, ticks: int, profile: int, geo: int) -> None:
        self.msg = msg
        self.rcpt = rcpt
        self.ticks = ticks
        self.profile = profile
        self.geo = geo
        self.link = 0
        self.location = "HTML"
        self.repeats = 0
        self.raw: bytes | None = None


def neg_ticks(record: MessageRecord | OpenRecord | ClickRecord) -> int:
    return -record.ticks


class Timeline(Sequence[T]):
    """Records newest first, taking new records at the head in O(1).

    ``_old`` holds the records newest first, as they were generated; ``_new`` holds the
    records put at the head since, oldest first, so putting one there is an append.
    Indexing, slicing and bisection see one newest-first sequence.
    """

    __slots__ = ("_new", "_old")

    def __init__(self, records: Iterable[T] = ()) -> None:
        self._old: list[T] = records if isinstance(records, list) else list(records)
        self._new: list[T] = []

    def __len__(self) -> int:
        return len(self._new) + len(self._old)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        new, n = self._new, len(self._new)
        if isinstance(index, slice):
            start, stop, step = index.indices(n + len(self._old))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            part = new[n - min(stop, n) : n - start] if start < n else []
            part.reverse()
            if stop > n:
                part.extend(self._old[max(start - n, 0) : stop - n])
            return part
        if index < 0:
            index += n + len(self._old)
        if not 0 <= index < n + len(self._old):
            raise IndexError("timeline index out of range")
        return new[n - 1 - index] if index < n else self._old[index - n]

    def __iter__(self) -> Iterator[T]:
        return itertools.chain(reversed(self._new), self._old)

    def __reversed__(self) -> Iterator[T]:
        return itertools.chain(reversed(self._old), self._new)

    def prepend(self, record: T) -> None:
        """Put *record*, newer than every record here, at the head."""
        self._new.append(record)

    def insert(self, index: int, record: T) -> None:
        """Insert *record* before position *index* (what ``bisect.insort`` calls)."""
        n = len(self._new)
        if index <= n:
            self._new.insert(n - max(index, 0), record)
        else:
            self._old.insert(index - n, record)


_Timeline = Timeline  # the name the timeline's own tests import


class WireView(Sequence[dict[str, Any]]):
    """A read-only list of records as Postmark's JSON objects (newest first).

    A view follows the server's dataset: records that arrive later show up in it. Take
    :meth:`snapshot` (cheap: it copies references, renders nothing) or ``list(view)``
    (renders every record) to keep the truth of one moment.
    """

    def __init__(self, items: Sequence[Any], render: Callable[[Any], bytes]) -> None:
        self._items = items
        self._render = render

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [json.loads(self._render(item)) for item in self._items[index]]
        result: dict[str, Any] = json.loads(self._render(self._items[index]))
        return result

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for item in self._items:
            yield json.loads(self._render(item))

    def snapshot(self) -> WireView:
        """Return a view of the records as they are now, unaffected by later arrivals."""
        return WireView(list(self._items), self._render)


def merge_newest_first(lists: Mapping[str, Sequence[R]]) -> Timeline[R]:
    return Timeline(list(heapq.merge(*lists.values(), key=neg_ticks)))


def recipient_pool(rng: random.Random, size: int) -> list[tuple[str, str | None, bytes]]:
    pool: list[tuple[str, str | None, bytes]] = []
    for i in range(size):
        first = _FIRST[int(rng.random() * len(_FIRST))]
        last = _LAST[int(rng.random() * len(_LAST))]
        address = f"{first}.{last}{i}@{_DOMAINS[int(rng.random() * len(_DOMAINS))]}"
        style = rng.random()
        name = f"{first.title()} {last.title()}" if style < 0.6 else "" if style < 0.85 else None
        pool.append((address, name, dumps(address)))
    return pool
