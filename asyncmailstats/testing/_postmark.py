"""A fake Postmark server: outbound messages, opens, clicks and stats from seeded data.

:class:`FakePostmark` serves the Messages and Stats endpoints of Postmark's server API
the way the real service answers them (PascalCase JSON, US-Eastern timestamps with seven
fractional digits, newest first, ``count``/``offset`` limits, HTTP 422 with an
``ErrorCode``), from a synthetic dataset generated from a seed. The dataset is exposed
so tests can compare what a client streamed with the truth.

Records are kept compact and rendered to JSON once, the first time they are served;
each page is the join of those bytes. Lists are kept sorted newest first and date
filters are bisections, so the server stays fast with 100 000 messages.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import email.utils
import heapq
import json
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from html import escape
from typing import Any, Final, TypeVar, overload
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from aiohttp import web

from ._server import FakeServer, FaultPlan

try:  # orjson renders the same JSON faster; it is optional.
    import orjson

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value)

except ImportError:  # pragma: no cover - exercised only without orjson

    def _dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


R = TypeVar("R", "_Message", "_Open", "_Click")

EASTERN: Final = ZoneInfo("America/New_York")
TICKS: Final = 10_000_000  # timestamps are kept as integer 100 ns ticks since the epoch
MAX_COUNT: Final = 500
OFFSET_CEILING: Final = 10_000
STREAMS: Final = ("outbound", "broadcast")

# tag, subject, sender: each message is one of these kinds.
_KINDS: Final = (
    ("welcome", "Welcome to Acme!", 0),
    ("invoice", "Your Acme invoice is ready", 1),
    ("password-reset", "Reset your password", 0),
    ("digest", "Your weekly digest", 2),
    ("shipping", "Your order has shipped", 3),
    ("verification", "Confirm your e-mail address", 0),
    ("survey", "Quick question: how are we doing? \u2713", 3),
    (None, "A note from the Acme team", 3),
)
_SENDERS: Final = (
    ('"Acme Support" <support@acme.example>', "support@acme.example"),
    ("Acme Billing <billing@acme.example>", "billing@acme.example"),
    ("news@acme.example", "news@acme.example"),
    ("Ada from Acme <ada@acme.example>", "ada@acme.example"),
)
_FIRST: Final = ("ada", "bo", "chen", "dana", "emil", "farah", "gus", "hana", "ivo", "jules")
_LAST: Final = ("berg", "costa", "diaz", "evans", "fischer", "garcia", "hall", "ito", "jensen")
_DOMAINS: Final = ("example.com", "example.org", "mail.example.net", "example.dk")
_LINKS: Final = (
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
_LINK_SETS: Final = tuple(
    tuple(tuple(sorted({(first + k) % len(_LINKS) for k in range(n)})) for n in (1, 2, 3))
    for first in range(len(_LINKS))
)
_INVOICE: Final = 1  # the _KINDS entry whose messages carry an attachment
_TRACK_LINKS: Final = ("None",) * 5 + ("HtmlAndText",) * 9 + ("HtmlOnly",) * 4 + ("TextOnly",) * 2
_METADATA: Final = (
    None,
    None,
    None,
    {"client-id": "12345"},
    {"client-id": "67890", "plan": "pro"},
    {"plan": "free"},
    {"plan": "team", "region": "eu"},
)
# Opens: client name|company|family|OS name|company|family|platform|weight|user agent.
_OPEN_PROFILES: Final = _table(
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
_CLICK_PROFILES: Final = _table(
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
_GEOS: Final = _table(
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
_GEO_KEYS: Final = ("CountryISOCode", "Country", "RegionISOCode", "Region", "City", "Zip", "Coords")

#: Stats endpoints (path below ``/stats/outbound``) and their keys; ``None``: dynamic keys.
STATS_KEYS: Final[Mapping[str, tuple[str, ...] | None]] = {
    "sends": ("Sent",),
    "bounces": ("HardBounce", "SoftBounce", "SMTPApiError", "Transient"),
    "spam": ("SpamComplaint",),
    "tracked": ("Tracked",),
    "opens": ("Opens", "Unique"),
    "opens/platforms": ("Desktop", "WebMail", "Mobile", "Unknown"),
    "opens/emailclients": None,
    "opens/readtimes": None,
    "clicks": ("Clicks", "Unique"),
    "clicks/browserfamilies": None,
    "clicks/platforms": ("Desktop", "Mobile", "Unknown"),
    "clicks/location": ("HTML", "Text"),
}
_BOUNCE_SUMMARY: Final = {
    "HardBounce": "The server was unable to deliver your message (ex: unknown user).",
    "SoftBounce": "The server could not temporarily deliver your message.",
    "SMTPApiError": "An error occurred while accepting an email through the SMTP API.",
}


class _Reject(Exception):  # noqa: N818 - an answer, not a failure of the fake
    """A request Postmark would refuse with HTTP *status* and an ``ErrorCode``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _error(status: int, code: int, message: str) -> web.Response:
    return web.Response(
        status=status,
        body=_dumps({"ErrorCode": code, "Message": message}),
        content_type="application/json",
        charset="utf-8",
    )


# -- time --------------------------------------------------------------------------------


def _to_ticks(moment: dt.datetime) -> int:
    utc = moment.astimezone(dt.UTC)
    return calendar.timegm(utc.timetuple()) * TICKS + utc.microsecond * 10


def _midnight(day: dt.date) -> int:
    return _to_ticks(dt.datetime.combine(day, dt.time(), EASTERN))


def _stamp(ticks: int) -> str:
    """Format *ticks* like Postmark: Eastern wall time, 7 fractional digits, offset."""
    seconds, fraction = divmod(ticks, TICKS)
    local = dt.datetime.fromtimestamp(seconds, EASTERN).isoformat()
    return f"{local[:19]}.{fraction:07d}{local[19:]}"


def _eastern_day(ticks: int) -> dt.date:
    return dt.datetime.fromtimestamp(ticks // TICKS, EASTERN).date()


def _parse_day(name: str, value: str, code: int) -> dt.date:
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _Reject(422, code, f"The '{name}' parameter must be a date (YYYY-MM-DD).") from None


def _parse_bound(name: str, value: str, *, upper: bool) -> int:
    """Return the tick a ``fromdate``/``todate`` covers (inclusive), read as Eastern time."""
    if len(value) == 10:
        day = _parse_day(name, value, 700)
        return _midnight(day + dt.timedelta(days=1)) - 1 if upper else _midnight(day)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is not None:
        msg = f"The '{name}' parameter must be an Eastern date or date-time without offset."
        raise _Reject(422, 700, msg)
    return _to_ticks(moment.replace(tzinfo=EASTERN))


def _page_args(query: Mapping[str, str]) -> tuple[int, int]:
    values = []
    for name in ("count", "offset"):
        text = query.get(name)
        if text is None:
            raise _Reject(422, 700, f"The '{name}' parameter is required.")
        try:
            values.append(int(text))
        except ValueError:
            raise _Reject(422, 700, f"The '{name}' parameter must be an integer.") from None
    count, offset = values
    if not 1 <= count <= MAX_COUNT:
        raise _Reject(422, 700, f"The 'count' parameter must be between 1 and {MAX_COUNT}.")
    if offset < 0:
        raise _Reject(422, 700, "The 'offset' parameter must not be negative.")
    if count + offset > OFFSET_CEILING:
        msg = f"The sum of 'count' and 'offset' cannot exceed {OFFSET_CEILING}."
        raise _Reject(422, 700, msg)
    return count, offset


def _uuid4(bits: int) -> str:
    """Format 128 random bits as a version-4 UUID string."""
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _weighted(pool: Sequence[tuple[str, ...]], column: int) -> tuple[int, ...]:
    """Return row indices of *pool*, each repeated as often as its weight *column* says."""
    return tuple(i for i, row in enumerate(pool) for _ in range(int(row[column])))


# -- records -------------------------------------------------------------------------------


class _Message:
    __slots__ = (
        "attachments", "bcc", "cc", "clicks", "delay", "events", "frag", "id", "kind",
        "links", "metadata", "opens", "raw", "seq", "status", "stream", "ticks",
        "to", "track_links", "track_opens",
    )  # fmt: skip

    stream: str
    kind: int  # index into _KINDS: tag, subject, sender
    to: tuple[int, ...]  # indices into the recipient pool, as are cc, bcc
    cc: tuple[int, ...]
    bcc: tuple[int, ...]
    status: str
    track_opens: bool
    track_links: str
    metadata: dict[str, str] | None
    attachments: tuple[str, ...]
    links: tuple[int, ...]  # indices into _LINKS
    delay: int  # ticks from acceptance to delivery

    def __init__(self, seq: int, message_id: str, ticks: int) -> None:
        self.seq = seq
        self.id = message_id
        self.ticks = ticks
        self.events: list[tuple[str, int, int]] = []  # (type, recipient, ticks)
        self.opens: list[_Open] = []
        self.clicks: list[_Click] = []
        self.raw: bytes | None = None
        self.frag: bytes | None = None

    @property
    def tag(self) -> str | None:
        return _KINDS[self.kind][0]

    @property
    def everyone(self) -> tuple[int, ...]:
        return self.to + self.cc + self.bcc


class _Open:
    __slots__ = ("geo", "msg", "profile", "raw", "rcpt", "read", "repeats", "ticks")

    def __init__(self, msg: _Message, rcpt: int, ticks: int, profile: int, geo: int) -> None:
        self.msg = msg
        self.rcpt = rcpt
        self.ticks = ticks
        self.profile = profile
        self.geo = geo
        self.read = -1  # seconds read; -1 when unknown
        self.repeats = 0  # opens after the first, counted by stats only
        self.raw: bytes | None = None


class _Click:
    __slots__ = ("geo", "link", "location", "msg", "profile", "raw", "rcpt", "repeats", "ticks")

    def __init__(self, msg: _Message, rcpt: int, ticks: int, profile: int, geo: int) -> None:
        self.msg = msg
        self.rcpt = rcpt
        self.ticks = ticks
        self.profile = profile
        self.geo = geo
        self.link = 0
        self.location = "HTML"
        self.repeats = 0
        self.raw: bytes | None = None


def _neg_ticks(record: _Message | _Open | _Click) -> int:
    return -record.ticks


class WireView(Sequence[dict[str, Any]]):
    """A read-only list of records as Postmark's JSON objects (newest first)."""

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


# -- the server ----------------------------------------------------------------------------


class FakePostmark(FakeServer):
    """A Postmark server API (Messages and Stats) on 127.0.0.1, serving seeded data.

    The dataset depends only on the arguments: the same ``seed`` and ``now`` give the same
    messages, opens, clicks and stats. Messages are spread over the ``retention_days``
    before ``now`` across the ``outbound`` and ``broadcast`` streams, with several tags,
    senders, recipients (To, Cc, Bcc), metadata and tracking settings; recipients of
    tracked messages open them and click their links, some bounce or complain.

    Filters behave as follows: ``recipient``, ``fromemail``, ``tag``, client, OS, platform
    and place filters are case-insensitive equality; ``subject`` is a case-insensitive
    substring; ``metadata_<key>`` is exact; ``fromdate``/``todate`` are inclusive Eastern
    dates or date-times without offset (a date-only ``todate`` covers the whole day).
    Query keys and fixed path segments are matched case-insensitively.

    Args:
        messages: How many messages to generate.
        seed: Seed of the dataset (and of the default token).
        latency: Seconds every request waits before it is answered.
        faults: Misbehaviour to inject (see :class:`FaultPlan`).
        token: The server token requests must carry; generated from ``seed`` if omitted.
        now: The aware instant the dataset ends at; the current time (whole seconds) if
            omitted.
        retention_days: How many days of history the dataset spans.
        open_rate: Chance that a recipient of an open-tracked message opens it.
        click_rate: Chance that a recipient of a link-tracked message clicks a given link.
        recipients: Size of the recipient pool (default: a fifth of ``messages``, at
            least 20).
        max_recipients: The most To addressees one message has.
        multi_recipient_rate: Chance that a message has more than one To addressee
            (then 2 to ``max_recipients``); raise it with the rates for bulkier data.
    """

    def __init__(
        self,
        *,
        messages: int = 1000,
        seed: int = 0,
        latency: float = 0.0,
        faults: FaultPlan | None = None,
        token: str | None = None,
        now: dt.datetime | None = None,
        retention_days: int = 45,
        open_rate: float = 0.5,
        click_rate: float = 0.2,
        recipients: int | None = None,
        max_recipients: int = 3,
        multi_recipient_rate: float = 0.15,
    ) -> None:
        super().__init__(latency=latency, faults=faults)
        _check_int("messages", messages, 0)
        _check_int("seed", seed, None)
        _check_int("retention_days", retention_days, 1)
        _check_int("max_recipients", max_recipients, 1)
        if recipients is not None:
            _check_int("recipients", recipients, 1)
        rates = {
            "open_rate": open_rate,
            "click_rate": click_rate,
            "multi_recipient_rate": multi_recipient_rate,
        }
        for name, rate in rates.items():
            if isinstance(rate, bool) or not isinstance(rate, int | float):
                raise TypeError(f"{name} must be a number")
            if not 0 <= rate <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if token is not None and (not isinstance(token, str) or not token):
            raise TypeError("token must be a non-empty string")
        if now is None:
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        elif not isinstance(now, dt.datetime) or now.utcoffset() is None:
            raise TypeError("now must be an aware datetime")
        self.token: str = token or _uuid4(random.Random(f"token-{seed}").getrandbits(128))
        """The server token every request must carry in ``X-Postmark-Server-Token``."""
        self.now: dt.datetime = now.astimezone(dt.UTC)
        """The instant the generated dataset ends at (UTC)."""
        self.retention_days = retention_days
        self.open_rate = float(open_rate)
        self.click_rate = float(click_rate)
        self.max_recipients = max_recipients
        self.multi_recipient_rate = float(multi_recipient_rate)
        self._rng = random.Random(seed)
        self._now_ticks = _to_ticks(self.now)
        self._pool = _recipient_pool(self._rng, recipients or max(20, messages // 5))
        self._pool_index = {address.lower(): i for i, (address, _, _) in enumerate(self._pool)}
        self._open_pick = _weighted(_OPEN_PROFILES, 7)
        self._click_pick = _weighted(_CLICK_PROFILES, 7)
        self._geo_pick = _weighted(_GEOS, 8)
        self._open_frags = [_profile_frag(p) for p in _OPEN_PROFILES]
        self._click_frags = [_profile_frag(p) for p in _CLICK_PROFILES]
        self._geo_frags = [_geo_frag(g) for g in _GEOS]
        self._all: list[_Message] = []
        self._by_id: dict[str, _Message] = {}
        self._messages = {s: list[_Message]() for s in STREAMS}
        self._opens = {s: list[_Open]() for s in STREAMS}
        self._clicks = {s: list[_Click]() for s in STREAMS}
        self._merged_opens: list[_Open] | None = None  # opens and clicks never change
        self._merged_clicks: list[_Click] | None = None
        self._cache: dict[tuple[Any, ...], list[Any]] = {}
        self._stats: dict[str, dict[tuple[str, str | None, int, str], int]] | None = None
        self._generate(messages)

    # -- the dataset, as Postmark would return it ------------------------------------------

    @property
    def messages(self) -> WireView:
        """Every message of every stream, newest first, as the search returns them."""
        return WireView(self._all, self._render_message)

    @property
    def opens(self) -> WireView:
        """Every open of every stream, newest first."""
        if self._merged_opens is None:
            self._merged_opens = _merge(self._opens)
        return WireView(self._merged_opens, self._render_open)

    @property
    def clicks(self) -> WireView:
        """Every click of every stream, newest first."""
        if self._merged_clicks is None:
            self._merged_clicks = _merge(self._clicks)
        return WireView(self._merged_clicks, self._render_click)

    def message_ids(self) -> list[str]:
        """Return the ID of every message, newest first."""
        return [m.id for m in self._all]

    def details(self, message_id: str) -> dict[str, Any]:
        """Return what ``/messages/outbound/{id}/details`` returns for *message_id*."""
        return self._details(self._lookup(message_id))

    def search_messages(self, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Return every message the search with these query *params* matches, unpaged."""
        seq, lo, hi = self._wrap(self._search_messages, params)
        return [json.loads(self._render_message(m)) for m in seq[lo:hi]]

    def search_opens(self, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Return every open the opens search with these query *params* matches, unpaged."""
        seq, lo, hi = self._wrap(lambda q: self._search_events("opens", q), params)
        return [json.loads(self._render_open(o)) for o in seq[lo:hi]]

    def search_clicks(self, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Return every click the clicks search with these query *params* matches, unpaged."""
        seq, lo, hi = self._wrap(lambda q: self._search_events("clicks", q), params)
        return [json.loads(self._render_click(c)) for c in seq[lo:hi]]

    def message_opens(self, message_id: str) -> list[dict[str, Any]]:
        """Return the opens of one message, newest first."""
        return [json.loads(self._render_open(o)) for o in self._lookup(message_id).opens]

    def message_clicks(self, message_id: str) -> list[dict[str, Any]]:
        """Return the clicks of one message, newest first."""
        return [json.loads(self._render_click(c)) for c in self._lookup(message_id).clicks]

    def stats(self, path: str = "", params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Return what ``/stats/outbound/<path>`` answers with these query *params*."""
        query = {k.lower(): v for k, v in (params or {}).items()}
        name = path.strip("/").lower()
        try:
            body = self._stats_body(name, query)
        except _Reject as exc:
            raise ValueError(exc.message) from None
        if body is None:
            raise ValueError(f"no stats endpoint /stats/outbound/{name}")
        result: dict[str, Any] = json.loads(body)
        return result

    def add_messages(self, count: int, *, at: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Add *count* just-sent messages (no opens or clicks yet) to the ``outbound`` stream.

        Args:
            count: How many messages to add.
            at: When they were sent (aware); by default the current time, and never
                before the newest message already there. ``now`` does not change.

        Returns:
            The new messages, newest first.
        """
        _check_int("count", count, 0)
        if at is None:
            newest = self._all[0].ticks + TICKS // 1000 if self._all else 0
            ticks = max(_to_ticks(dt.datetime.now(dt.UTC)), newest)
        elif isinstance(at, dt.datetime) and at.utcoffset() is not None:
            ticks = _to_ticks(at)
        else:
            raise TypeError("at must be an aware datetime")
        added = []
        for i in range(count):
            message = self._new_message(len(self._by_id), ticks + i * (TICKS // 1000))
            message.stream = "outbound"
            self._index(message)
            added.append(message)
        self._cache.clear()
        self._stats = None
        return [json.loads(self._render_message(m)) for m in reversed(added)]

    # -- generation ----------------------------------------------------------------------

    def _generate(self, count: int) -> None:
        span = self.retention_days * 86_400 * TICKS
        rng, now = self._rng, self._now_ticks
        made = [self._new_message(seq, now - int(rng.random() * span)) for seq in range(count)]
        for message in made:
            self._engage(message)
        self._all = sorted(made, key=_neg_ticks)
        self._by_id = {m.id: m for m in self._all}
        for stream in STREAMS:
            self._messages[stream] = [m for m in self._all if m.stream == stream]
            self._opens[stream] = sorted(
                (o for m in self._messages[stream] for o in m.opens), key=_neg_ticks
            )
            self._clicks[stream] = sorted(
                (c for m in self._messages[stream] for c in m.clicks), key=_neg_ticks
            )

    def _new_message(self, seq: int, ticks: int) -> _Message:
        rng = self._rng
        draw = rng.random
        size = len(self._pool)
        message = _Message(seq, _uuid4(rng.getrandbits(128)), ticks)
        message.stream = STREAMS[draw() >= 0.8]
        message.kind = kind = int(draw() * len(_KINDS))
        if draw() < self.multi_recipient_rate and self.max_recipients > 1:
            wanted = min(size, 2 + int(draw() * (self.max_recipients - 1)))
            picked: dict[int, None] = {}
            while len(picked) < wanted:
                picked[int(draw() * size)] = None
            message.to = tuple(picked)
        else:
            message.to = (int(draw() * size),)
        copy, extra = draw(), int(draw() * size)
        message.cc = (extra,) if copy < 0.1 and extra not in message.to else ()
        message.bcc = (extra,) if 0.1 <= copy < 0.15 and extra not in message.to else ()
        state = draw()
        message.status = "Queued" if state < 0.01 else "Processed" if state < 0.03 else "Sent"
        message.track_opens = draw() < 0.8
        message.track_links = _TRACK_LINKS[int(draw() * len(_TRACK_LINKS))]
        message.metadata = _METADATA[int(draw() * len(_METADATA))]
        message.attachments = ("invoice.pdf",) if kind == _INVOICE else ()
        message.links = _LINK_SETS[int(draw() * len(_LINKS))][seq % 3]
        message.delay = TICKS + int(draw() * 4 * TICKS)
        return message

    def _engage(self, message: _Message) -> None:
        """Deliver, bounce, open and click *message* for each of its recipients."""
        if message.status == "Queued":
            return
        rng, now = self._rng, self._now_ticks
        sent = min(message.ticks + message.delay, now)  # nothing happens after `now`
        hour = 3600 * TICKS
        for rcpt in message.everyone:
            fate = rng.random()
            if fate < 0.033:
                kind = (
                    "HardBounce" if fate < 0.02 else "SoftBounce" if fate < 0.03 else "SMTPApiError"
                )
                message.events.append((kind, rcpt, sent))
                continue
            delivered = sent
            if fate < 0.04:
                message.events.append(("Transient", rcpt, sent))
                delivered = min(sent + hour // 6, now)
            message.events.append(("Delivered", rcpt, delivered))
            if fate > 0.998 and delivered + hour <= now:
                message.events.append(("SpamComplaint", rcpt, delivered + hour))
            if message.track_opens and rng.random() < self.open_rate:
                at = delivered + 5 * TICKS + int(rng.expovariate(1 / (6 * hour)))
                if at <= now:
                    profile = self._open_pick[int(rng.random() * len(self._open_pick))]
                    geo = self._geo_pick[int(rng.random() * len(self._geo_pick))]
                    opened = _Open(message, rcpt, at, profile, geo)
                    if _OPEN_PROFILES[profile][6] != "Unknown" and rng.random() < 0.9:
                        opened.read = int(rng.random() * 30)
                    opened.repeats = int(rng.expovariate(1.0))
                    message.opens.append(opened)
            if message.track_links == "None":
                continue
            for link in message.links:
                if rng.random() >= self.click_rate:
                    continue
                at = delivered + 20 * TICKS + int(rng.expovariate(1 / (8 * hour)))
                if at > now:
                    continue
                profile = self._click_pick[int(rng.random() * len(self._click_pick))]
                geo = self._geo_pick[int(rng.random() * len(self._geo_pick))]
                click = _Click(message, rcpt, at, profile, geo)
                click.link = link
                if message.track_links == "TextOnly" or (
                    message.track_links == "HtmlAndText" and rng.random() < 0.2
                ):
                    click.location = "Text"
                click.repeats = int(rng.expovariate(1.5))
                message.clicks.append(click)
        message.opens.sort(key=_neg_ticks)
        message.clicks.sort(key=_neg_ticks)

    def _index(self, message: _Message) -> None:
        self._by_id[message.id] = message
        bisect.insort_left(self._all, message, key=_neg_ticks)
        bisect.insort_left(self._messages[message.stream], message, key=_neg_ticks)

    # -- rendering -------------------------------------------------------------------------

    def _addressee(self, rcpt: int) -> dict[str, str | None]:
        address, name, _ = self._pool[rcpt]
        return {"Email": address, "Name": name}

    def _message_dict(self, m: _Message) -> dict[str, Any]:
        tag, subject, sender = _KINDS[m.kind]
        wire: dict[str, Any] = {} if tag is None else {"Tag": tag}
        wire.update(
            MessageID=m.id,
            MessageStream=m.stream,
            To=[self._addressee(i) for i in m.to],
            Cc=[self._addressee(i) for i in m.cc],
            Bcc=[self._addressee(i) for i in m.bcc],
            Recipients=[self._pool[i][0] for i in m.everyone],
            ReceivedAt=_stamp(m.ticks),
            From=_SENDERS[sender][0],
            Subject=subject,
            Attachments=list(m.attachments),
            Status=m.status,
            TrackOpens=m.track_opens,
            TrackLinks=m.track_links,
            Metadata=dict(m.metadata or {}),
            Sandboxed=False,
        )
        return wire

    def _render_message(self, m: _Message) -> bytes:
        if m.raw is None:
            m.raw = _dumps(self._message_dict(m))
        return m.raw

    @staticmethod
    def _frag(m: _Message) -> bytes:
        if m.frag is None:
            tag = m.tag
            m.frag = b'"MessageID":"%s","MessageStream":"%s"%s' % (
                m.id.encode(),
                m.stream.encode(),
                b"" if tag is None else b',"Tag":' + _dumps(tag),
            )
        return m.frag

    def _render_open(self, o: _Open) -> bytes:
        if o.raw is None:
            o.raw = b"".join(
                (
                    b'{"RecordType":"Open",',
                    self._frag(o.msg),
                    b',"Recipient":',
                    self._pool[o.rcpt][2],
                    b',"ReceivedAt":"%s","FirstOpen":true,"ReadSeconds":%d,'
                    % (_stamp(o.ticks).encode(), max(o.read, 0)),
                    self._open_frags[o.profile],
                    b",",
                    self._geo_frags[o.geo],
                    b"}",
                )
            )
        return o.raw

    def _render_click(self, c: _Click) -> bytes:
        if c.raw is None:
            c.raw = b"".join(
                (
                    b'{"RecordType":"Click","ClickLocation":"%s","OriginalLink":'
                    % c.location.encode(),
                    _dumps(_LINKS[c.link]),
                    b",",
                    self._frag(c.msg),
                    b',"Recipient":',
                    self._pool[c.rcpt][2],
                    b',"ReceivedAt":"%s",' % _stamp(c.ticks).encode(),
                    self._click_frags[c.profile],
                    b",",
                    self._geo_frags[c.geo],
                    b"}",
                )
            )
        return c.raw

    def _details(self, m: _Message) -> dict[str, Any]:
        wire = self._message_dict(m)
        _, subject, _ = _KINDS[m.kind]
        name = self._pool[m.to[0]][1] or "there"
        links = [_LINKS[i] for i in m.links]
        text = f"Hi {name},\n\n{subject}\n\n" + "\n".join(links) + "\n\n-- \nAcme\n"
        html = (
            f"<html><body><p>Hi {escape(name)},</p><p>{escape(subject)}</p>"
            + "".join(f'<p><a href="{escape(u)}">{escape(u)}</a></p>' for u in links)
            + "</body></html>"
        )
        events: list[tuple[int, dict[str, Any]]] = []
        for kind, rcpt, ticks in m.events:
            events.append((ticks, self._event(m, kind, rcpt, ticks)))
        for o in m.opens:
            client = _OPEN_PROFILES[o.profile][0]
            summary = {"Summary": f"Viewed using {client}"}
            events.append((o.ticks, self._event_dict(o.rcpt, "Opened", o.ticks, summary)))
        for c in m.clicks:
            details = {
                "Summary": f"Clicked using {_CLICK_PROFILES[c.profile][0]}",
                "Link": _LINKS[c.link],
                "ClickLocation": c.location,
            }
            events.append((c.ticks, self._event_dict(c.rcpt, "LinkClicked", c.ticks, details)))
        events.sort(key=lambda pair: pair[0])
        wire.update(
            TextBody=text,
            HtmlBody=html,
            Body=self._dump(m),
            MessageEvents=[event for _, event in events],
        )
        return wire

    def _event_dict(
        self, rcpt: int, kind: str, ticks: int, details: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "Recipient": self._pool[rcpt][0],
            "Type": kind,
            "ReceivedAt": _stamp(ticks),
            "Details": details,
        }

    def _event(self, m: _Message, kind: str, rcpt: int, ticks: int) -> dict[str, Any]:
        if kind in _BOUNCE_SUMMARY:
            bounce_id = str(1_000_000_000 + m.seq * 1000 + rcpt % 1000)
            details = {"Summary": _BOUNCE_SUMMARY[kind], "BounceID": bounce_id}
            return self._event_dict(rcpt, "Bounced", ticks, details)
        if kind == "SpamComplaint":
            details = {"Origin": "Recipient", "SuppressSending": "True"}
            return self._event_dict(rcpt, "SubscriptionChanged", ticks, details)
        domain = self._pool[rcpt][0].rpartition("@")[2]
        reply = "smtp;421 4.7.0 Try again later" if kind == "Transient" else "smtp;250 2.0.0 OK"
        details = {
            "DeliveryMessage": reply,
            "DestinationServer": f"mx.{domain} (203.0.113.25)",
            "DestinationIP": "203.0.113.25",
        }
        return self._event_dict(rcpt, kind, ticks, details)

    def _dump(self, m: _Message) -> str:
        if m.seq % 20 == 19:  # Postmark no longer has the source of some messages
            return ""
        _, subject, sender = _KINDS[m.kind]
        seconds = m.ticks // TICKS
        date = email.utils.format_datetime(dt.datetime.fromtimestamp(seconds, EASTERN))
        to = ", ".join(self._pool[i][0] for i in m.to)
        return (
            f"Received: from acme.example (203.0.113.1) by mtasv.net\r\n"
            f"From: {_SENDERS[sender][0]}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{m.id}@mtasv.net>\r\nDate: {date}\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=UTF-8\r\n\r\n{subject}\r\n"
        )

    # -- searching -------------------------------------------------------------------------

    def _lookup(self, message_id: str) -> _Message:
        try:
            return self._by_id[message_id]
        except KeyError:
            raise KeyError(f"no message {message_id!r}") from None

    def _message(self, message_id: str) -> _Message:
        message = self._by_id.get(message_id)
        if message is None:
            raise _Reject(422, 701, "This message was not found.")
        return message

    def _wrap(
        self,
        search: Callable[[dict[str, str]], tuple[Sequence[Any], int, int]],
        params: Mapping[str, str] | None,
    ) -> tuple[Sequence[Any], int, int]:
        try:
            return search(_normalise((params or {}).items()))
        except _Reject as exc:
            raise ValueError(exc.message) from None

    def _selection(
        self,
        key: tuple[Any, ...],
        base: list[R],
        query: Mapping[str, str],
        tests: list[Callable[[R], bool]],
    ) -> tuple[Sequence[R], int, int]:
        lo, hi = _bounds(base, query)
        if not tests:
            return base, lo, hi
        key = (*key, lo, hi)
        found = self._cache.get(key)
        if found is None:
            found = [r for r in base[lo:hi] if all(test(r) for test in tests)]
            if len(self._cache) >= 64:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = found
        return found, 0, len(found)

    def _search_messages(self, query: Mapping[str, str]) -> tuple[Sequence[_Message], int, int]:
        stream = _stream(query)
        tests: list[Callable[[_Message], bool]] = []
        if (recipient := query.get("recipient")) is not None:
            who = self._pool_index.get(recipient.lower(), -1)
            tests.append(lambda m: who in m.to or who in m.cc or who in m.bcc)
        kinds = set(range(len(_KINDS)))
        if (sender := query.get("fromemail")) is not None:
            kinds &= {k for k, kind in enumerate(_KINDS) if _SENDERS[kind[2]][1] == sender.lower()}
        if (tag := query.get("tag")) is not None:
            kinds &= {k for k, kind in enumerate(_KINDS) if (kind[0] or "").lower() == tag.lower()}
        if (subject := query.get("subject")) is not None:
            kinds &= {k for k, kind in enumerate(_KINDS) if subject.lower() in kind[1].lower()}
        if len(kinds) < len(_KINDS):
            tests.append(lambda m: m.kind in kinds)
        if (status := query.get("status")) is not None:
            wanted = _STATUS_FILTER.get(status.lower())
            if wanted is None:
                raise _Reject(422, 700, "The 'status' parameter must be queued, sent or processed.")
            tests.append(lambda m: m.status in wanted)
        tests.extend(
            _metadata_test(name[9:], value)
            for name, value in query.items()
            if name.startswith("metadata_")
        )
        key = ("messages", stream, *sorted(i for i in query.items() if i[0] not in _NOT_FILTERS))
        return self._selection(key, self._messages[stream], query, tests)

    def _search_events(
        self, kind: str, query: Mapping[str, str]
    ) -> tuple[Sequence[_Open | _Click], int, int]:
        stream = _stream(query)
        profiles_pool: Sequence[tuple[Any, ...]] = (
            _OPEN_PROFILES if kind == "opens" else _CLICK_PROFILES
        )
        tests: list[Callable[[_Open | _Click], bool]] = []
        if (recipient := query.get("recipient")) is not None:
            who = self._pool_index.get(recipient.lower(), -1)
            tests.append(lambda r: r.rcpt == who)
        if (tag := query.get("tag")) is not None:
            kinds = {k for k, each in enumerate(_KINDS) if (each[0] or "").lower() == tag.lower()}
            tests.append(lambda r: r.msg.kind in kinds)
        profiles = _matching(profiles_pool, query, _PROFILE_FIELDS)
        if profiles is not None:
            tests.append(lambda r: r.profile in profiles)
        geos = _matching(_GEOS, query, _GEO_FIELDS)
        if geos is not None:
            tests.append(lambda r: r.geo in geos)
        base: list[Any] = (self._opens if kind == "opens" else self._clicks)[stream]
        key = (kind, stream, *sorted(i for i in query.items() if i[0] not in _NOT_FILTERS))
        return self._selection(key, base, query, tests)

    # -- stats -----------------------------------------------------------------------------

    def _build_stats(self) -> dict[str, dict[tuple[str, str | None, int, str], int]]:
        counts: dict[str, dict[tuple[str, str | None, int, str], int]] = {
            name: {} for name in (*STATS_KEYS, "")
        }
        days: dict[int, int] = {}
        hour = 3600 * TICKS

        def add(series: str, m: _Message, ticks: int, key: str, amount: int = 1) -> None:
            # Eastern midnight is always a whole UTC hour, so the day is fixed per hour.
            day = days.get(ticks // hour)
            if day is None:
                day = days[ticks // hour] = _eastern_day(ticks).toordinal()
            table = counts[series]
            slot = (m.stream, m.tag, day, key)
            table[slot] = table.get(slot, 0) + amount

        for m in self._all:
            if m.status == "Queued":
                continue
            reached = len(m.everyone)
            add("sends", m, m.ticks, "Sent", reached)
            if m.track_opens:
                add("", m, m.ticks, "WithOpenTracking", reached)
            if m.track_links != "None":
                add("", m, m.ticks, "WithLinkTracking", reached)
                add("", m, m.ticks, "TotalTrackedLinksSent", reached * len(m.links))
            if m.track_opens or m.track_links != "None":
                add("tracked", m, m.ticks, "Tracked", reached)
            for kind, _, ticks in m.events:
                if kind == "SpamComplaint":
                    add("spam", m, ticks, kind)
                elif kind != "Delivered":
                    add("bounces", m, ticks, kind)
            for o in m.opens:
                profile = _OPEN_PROFILES[o.profile]
                add("opens", m, o.ticks, "Opens", 1 + o.repeats)
                add("opens", m, o.ticks, "Unique")
                add("opens/platforms", m, o.ticks, profile[6])
                add("opens/readtimes", m, o.ticks, _read_bucket(o.read))
                if profile[2] != "unknown":
                    add("opens/emailclients", m, o.ticks, profile[2])
                    add("", m, o.ticks, "WithClientRecorded")
            for c in m.clicks:
                profile = _CLICK_PROFILES[c.profile]
                add("clicks", m, c.ticks, "Clicks", 1 + c.repeats)
                add("clicks", m, c.ticks, "Unique")
                add("clicks/platforms", m, c.ticks, profile[6])
                add("clicks/location", m, c.ticks, c.location)
                if profile[9]:
                    add("clicks/browserfamilies", m, c.ticks, profile[9])
        return counts

    def _per_day(self, series: str, query: Mapping[str, str]) -> dict[int, dict[str, int]]:
        stream = query.get("messagestream")
        if stream is not None:
            _stream(query)
        tag = query.get("tag")
        first = last = None
        if (text := query.get("fromdate")) is not None:
            first = _parse_day("fromdate", text, 900).toordinal()
        if (text := query.get("todate")) is not None:
            last = _parse_day("todate", text, 900).toordinal()
        if first is not None and last is not None and first > last:
            raise _Reject(422, 1502, "FromDate must be before ToDate.")
        if self._stats is None:
            self._stats = self._build_stats()
        result: dict[int, dict[str, int]] = {}
        for (s, t, day, key), amount in self._stats[series].items():
            if stream is not None and s != stream:
                continue
            if tag is not None and (t or "").lower() != tag.lower():
                continue
            if (first is not None and day < first) or (last is not None and day > last):
                continue
            row = result.setdefault(day, {})
            row[key] = row.get(key, 0) + amount
        return result

    def _stats_body(self, name: str, query: Mapping[str, str]) -> bytes | None:
        if name == "":
            return _dumps(self._overview(query))
        if name not in STATS_KEYS:
            return None
        per_day = self._per_day(name, query)
        fixed = STATS_KEYS[name]
        totals: dict[str, int] = {}
        days = []
        for day in sorted(per_day):
            row = per_day[day]
            keys = fixed if fixed is not None else sorted(row)
            days.append(
                {"Date": dt.date.fromordinal(day).isoformat()}
                | {k: row[k] for k in keys if row.get(k)}
            )
            for key, amount in row.items():
                totals[key] = totals.get(key, 0) + amount
        keys = fixed if fixed is not None else sorted(totals)
        return _dumps({"Days": days} | {k: totals[k] for k in keys if totals.get(k)})

    def _overview(self, query: Mapping[str, str]) -> dict[str, Any]:
        def total(series: str) -> dict[str, int]:
            summed: dict[str, int] = dict.fromkeys(STATS_KEYS.get(series) or (), 0)
            for row in self._per_day(series, query).values():
                for key, amount in row.items():
                    summed[key] = summed.get(key, 0) + amount
            return summed

        sent = total("sends")["Sent"]
        bounces, opens, clicks, extra = total("bounces"), total("opens"), total("clicks"), total("")
        bounced = bounces["HardBounce"] + bounces["SoftBounce"]
        spam = total("spam")["SpamComplaint"]
        return {
            "Sent": sent,
            "Bounced": bounced,
            "SMTPApiErrors": bounces["SMTPApiError"],
            "BounceRate": round(100 * bounced / sent, 3) if sent else 0.0,
            "SpamComplaints": spam,
            "SpamComplaintsRate": round(100 * spam / sent, 3) if sent else 0.0,
            "Tracked": total("tracked")["Tracked"],
            "Opens": opens["Opens"],
            "UniqueOpens": opens["Unique"],
            "TotalClicks": clicks["Clicks"],
            "UniqueLinksClicked": clicks["Unique"],
            "WithClientRecorded": extra.get("WithClientRecorded", 0),
            "WithPlatformRecorded": opens["Unique"],
            "WithReadTimeRecorded": opens["Unique"],
            "WithLinkTracking": extra.get("WithLinkTracking", 0),
            "WithOpenTracking": extra.get("WithOpenTracking", 0),
            "TotalTrackedLinksSent": extra.get("TotalTrackedLinksSent", 0),
        }

    # -- HTTP ------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """Serve every path; the handler dispatches case-insensitively itself."""
        return [web.get("/{path:.*}", self._handle)]

    def error_body(self, status: int) -> tuple[bytes, str]:
        """Answer injected errors the way Postmark shapes its errors (502: a gateway page)."""
        known = {
            429: (429, "Rate limit exceeded: you are making requests too quickly."),
            500: (500, "Internal server error."),
            503: (100, "Maintenance: the API is temporarily unavailable."),
        }
        if status not in known:
            return super().error_body(status)
        code, message = known[status]
        return _dumps({"ErrorCode": code, "Message": message}), "application/json"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("X-Postmark-Server-Token") != self.token:
            return _error(401, 10, "Request does not contain a valid Server token.")
        segments = [unquote(s) for s in request.rel_url.raw_path.split("/")[1:]]
        if len(segments) > 1 and segments[-1] == "":
            segments.pop()
        try:
            body = self._route(segments, _normalise(request.query.items()))
        except _Reject as exc:
            return _error(exc.status, exc.code, exc.message)
        if body is None:
            raise web.HTTPNotFound
        return web.Response(body=body, content_type="application/json", charset="utf-8")

    def _route(self, segments: list[str], query: dict[str, str]) -> bytes | None:
        low = [s.lower() for s in segments]
        if low[:2] == ["stats", "outbound"]:
            return self._stats_body("/".join(low[2:]), query)
        if low[:2] != ["messages", "outbound"]:
            return None
        rest, tail = segments[2:], low[2:]
        if not rest:
            paging = _page_args(query)
            return _page("Messages", self._search_messages(query), paging, self._render_message)
        if tail[0] in {"opens", "clicks"} and len(rest) <= 2:
            paging = _page_args(query)
            opens = tail[0] == "opens"
            render: Callable[[Any], bytes] = self._render_open if opens else self._render_click
            if len(rest) == 1:
                found = self._search_events(tail[0], query)
            else:
                m = self._message(rest[1])
                records: list[Any] = m.opens if opens else m.clicks
                found = (records, 0, len(records))
            return _page("Opens" if opens else "Clicks", found, paging, render)
        if len(rest) == 2 and tail[1] == "details":
            return _dumps(self._details(self._message(rest[0])))
        if len(rest) == 2 and tail[1] == "dump":
            return _dumps({"Body": self._dump(self._message(rest[0]))})
        return None


# -- helpers ---------------------------------------------------------------------------------

_STATUS_FILTER: Final = {
    "queued": frozenset({"Queued"}),
    "sent": frozenset({"Sent", "Processed"}),
    "processed": frozenset({"Sent", "Processed"}),
}
_NOT_FILTERS: Final = frozenset({"count", "offset", "fromdate", "todate"})
_PROFILE_FIELDS: Final = {
    "client_name": 0,
    "client_company": 1,
    "client_family": 2,
    "os_name": 3,
    "os_company": 4,
    "os_family": 5,
    "platform": 6,
}
_GEO_FIELDS: Final = {"country": 1, "region": 3, "city": 4}


def _check_int(name: str, value: object, minimum: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be an integer, got {type(value).__name__}"
        raise TypeError(msg)
    if minimum is not None and value < minimum:
        msg = f"{name} must be at least {minimum}, got {value}"
        raise ValueError(msg)


def _normalise(pairs: Any) -> dict[str, str]:
    """Lower-case query keys (the last value wins), keeping the case of metadata keys."""
    query: dict[str, str] = {}
    for key, value in pairs:
        lowered = key.lower()
        query["metadata_" + key[9:] if lowered.startswith("metadata_") else lowered] = value
    return query


def _metadata_test(key: str, value: str) -> Callable[[_Message], bool]:
    return lambda m: m.metadata is not None and m.metadata.get(key) == value


def _stream(query: Mapping[str, str]) -> str:
    stream = query.get("messagestream", "outbound")
    if stream not in STREAMS:
        raise _Reject(422, 1226, "The message stream for the provided 'ID' was not found.")
    return stream


def _bounds(base: Sequence[Any], query: Mapping[str, str]) -> tuple[int, int]:
    """Return the slice of newest-first *base* within ``fromdate``..``todate``."""
    lo, hi = 0, len(base)
    if (text := query.get("todate")) is not None:
        lo = bisect.bisect_left(base, -_parse_bound("todate", text, upper=True), key=_neg_ticks)
    if (text := query.get("fromdate")) is not None:
        hi = bisect.bisect_right(base, -_parse_bound("fromdate", text, upper=False), key=_neg_ticks)
    return lo, max(lo, hi)


def _page(
    name: str,
    found: tuple[Sequence[Any], int, int],
    paging: tuple[int, int],
    render: Callable[[Any], bytes],
) -> bytes:
    """Render one page of the records ``seq[lo:hi]`` as ``{"TotalCount": …, name: […]}``."""
    seq, lo, hi = found
    count, offset = paging
    start = lo + offset
    items = b",".join(render(r) for r in seq[start : min(hi, start + count)])
    return b'{"TotalCount":%d,"%s":[%s]}' % (hi - lo, name.encode(), items)


def _matching(
    pool: Sequence[tuple[str, ...]], query: Mapping[str, str], fields: Mapping[str, int]
) -> set[int] | None:
    """Return the indices of *pool* rows matching every column filter, or ``None``."""
    found: set[int] | None = None
    for name, column in fields.items():
        wanted = query.get(name)
        if wanted is not None:
            hits = {i for i, row in enumerate(pool) if row[column].lower() == wanted.lower()}
            found = hits if found is None else found & hits
    return found


def _read_bucket(seconds: int) -> str:
    if seconds < 0:
        return "unknown"
    return "20s+" if seconds >= 20 else f"{seconds}s"


def _merge(lists: Mapping[str, list[R]]) -> list[R]:
    return list(heapq.merge(*lists.values(), key=_neg_ticks))


def _recipient_pool(rng: random.Random, size: int) -> list[tuple[str, str | None, bytes]]:
    pool: list[tuple[str, str | None, bytes]] = []
    for i in range(size):
        first = _FIRST[int(rng.random() * len(_FIRST))]
        last = _LAST[int(rng.random() * len(_LAST))]
        address = f"{first}.{last}{i}@{_DOMAINS[int(rng.random() * len(_DOMAINS))]}"
        style = rng.random()
        name = f"{first.title()} {last.title()}" if style < 0.6 else "" if style < 0.85 else None
        pool.append((address, name, _dumps(address)))
    return pool


def _profile_frag(row: tuple[str, ...]) -> bytes:
    names = ("Name", "Company", "Family")
    wire = {
        "Platform": row[6],
        "UserAgent": row[8],
        "Client": dict(zip(names, row[0:3], strict=True)),
        "OS": dict(zip(names, row[3:6], strict=True)),
    }
    return _dumps(wire)[1:-1]


def _geo_frag(row: tuple[str, ...]) -> bytes:
    if not row[0]:
        return b'"Geo":{}'
    return b'"Geo":' + _dumps(dict(zip((*_GEO_KEYS, "IP"), row[:8], strict=True)))
