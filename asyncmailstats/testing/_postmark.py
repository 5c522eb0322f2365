"""A fake Postmark server: outbound messages, opens, clicks and stats from seeded data.

:class:`FakePostmark` serves the Messages and Stats endpoints of Postmark's server API
the way the real service answers them (PascalCase JSON, US-Eastern timestamps with seven
fractional digits, newest first, ``count``/``offset`` limits, HTTP 422 with an
``ErrorCode``), from a synthetic dataset generated from a seed. The dataset is exposed
so tests can compare what a client streamed with the truth.

Records are kept compact and rendered to JSON once, the first time they are served;
each page is the join of those bytes. Lists are kept sorted newest first and date
filters are bisections, so the server stays fast with 100 000 messages.

The server is assembled from parts that share one dataset: its tables and records
(``_postmark_data``), their seeded generation (``_postmark_generate``), rendering
(``_postmark_render``), searching (``_postmark_query``), stats (``_postmark_stats``)
and what keeps arriving while it runs (``_postmark_live``). This module holds the
public API and the HTTP routing.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar
from urllib.parse import unquote

from aiohttp import web

from ..postmark._convert import CONVERTER
from ..postmark.models import Click, Open, OutboundMessage
from ._faults import FaultPlan, utc_now
from ._live import LivePlan
from ._postmark_data import (
    _CLICK_PROFILES,
    _GEOS,
    _OPEN_PROFILES,
    EASTERN,
    STREAMS,
    TICKS,
    WireView,
    _Click,
    _dumps,
    _merge,
    _Message,
    _Open,
    _recipient_pool,
    _Timeline,
    _to_ticks,
    _uuid4,
    _weighted,
)
from ._postmark_live import _Arrivals
from ._postmark_query import _NOT_FILTERS, _normalise, _page_args, _Reject, _Searching
from ._postmark_render import _geo_frag, _profile_frag

M = TypeVar("M")

#: The server's message streams: the two outbound ones the data is sent through, and the
#: inbound stream every Postmark server has.
_STREAM_LISTING: Final = (
    ("outbound", "Default Transactional Stream", "Transactional"),
    ("broadcast", "Broadcasts", "Broadcasts"),
    ("inbound", "Default Inbound Stream", "Inbound"),
)


def _error(status: int, code: int, message: str) -> web.Response:
    return web.Response(
        status=status,
        body=_dumps({"ErrorCode": code, "Message": message}),
        content_type="application/json",
        charset="utf-8",
    )


# -- the server ----------------------------------------------------------------------------


class FakePostmark(_Arrivals, _Searching):
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

    With a :class:`LivePlan` the server keeps recording while it is paged (new opens,
    clicks and, if asked, messages, all newer than anything before) and pages sloppily
    the way the plan says. :meth:`add_opens`, :meth:`add_clicks` and :meth:`add_messages`
    record arrivals from a test between requests. The truth properties (``messages``,
    ``opens``, ``clicks``) and every endpoint follow arrivals at once; keep the truth of
    one moment with ``fake.opens.snapshot()`` (cheap) or ``list(fake.opens)``. The same
    truth as the library's models, for comparing with what a client returns, comes from
    :meth:`message_models`, :meth:`open_models` and :meth:`click_models`.

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
        live: How the server keeps recording and pages while it runs; ``None``: a
            still dataset paged exactly.
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
        live: LivePlan | None = None,
    ) -> None:
        super().__init__(latency=latency, faults=faults, live=live)
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
        self.token: str = token or _uuid4(random.Random(f"token-{seed}").getrandbits(128))
        """The server token every request must carry in ``X-Postmark-Server-Token``."""
        self.now: dt.datetime = utc_now(now)
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
        self._all = _Timeline[_Message]()
        self._by_id = {}
        self._messages = {s: _Timeline[_Message]() for s in STREAMS}
        self._opens = {s: _Timeline[_Open]() for s in STREAMS}
        self._clicks = {s: _Timeline[_Click]() for s in STREAMS}
        self._merged_opens = None  # arrivals are prepended to these once they are built
        self._merged_clicks = None
        self._cache = {}
        self._stats = None
        self._stat_days = {}
        self._clock = self._now_ticks  # nothing generated is later than `now`
        self._live_rng = random.Random(f"live-{seed}")
        self._generate(messages)

    # -- the dataset, as Postmark would return it ------------------------------------------

    @property
    def messages(self) -> WireView:
        """Every message of every stream, newest first, as the search returns them.

        Like ``opens`` and ``clicks``, a live view: take ``.snapshot()`` to keep one moment.
        """
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

    def message_models(self) -> list[OutboundMessage]:
        """Return :attr:`messages` as the library's models, newest first.

        Each is decoded from the message's JSON with the converter the Postmark client
        uses, so it equals what the client yields for the same message.
        """
        return self._models(self._all, self._render_message, OutboundMessage)

    def open_models(self) -> list[Open]:
        """Return :attr:`opens` as the library's :class:`~asyncmailstats.postmark.Open` models."""
        if self._merged_opens is None:
            self._merged_opens = _merge(self._opens)
        return self._models(self._merged_opens, self._render_open, Open)

    def click_models(self) -> list[Click]:
        """Return :attr:`clicks` as the library's :class:`~asyncmailstats.postmark.Click` models."""
        if self._merged_clicks is None:
            self._merged_clicks = _merge(self._clicks)
        return self._models(self._merged_clicks, self._render_click, Click)

    @staticmethod
    def _models(records: Sequence[Any], render: Callable[[Any], bytes], cls: type[M]) -> list[M]:
        hook = CONVERTER.get_structure_hook(cls)
        return [hook(json.loads(render(record)), cls) for record in records]

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

        Each lands where its timestamp puts it in every newest-first list, and the
        searches, details and stats count it at once.

        Args:
            count: How many messages to add.
            at: When they were sent (aware), 1 ms apart; by default the current time,
                and never before the newest message already there. ``now`` does not
                change.

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
            if self._stats is not None:
                self._tally_message(message)
            added.append(message)
        self._forget("messages")
        return [json.loads(self._render_message(m)) for m in reversed(added)]

    # -- HTTP ------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """Serve every path; the handler dispatches case-insensitively itself."""
        return [web.get("/{path:.*}", self._handle)]

    def endpoint_of(self, request: web.Request) -> str:
        """Name the endpoint of *request*, lower-cased, with ``{id}`` for a message ID."""
        low = [s.lower() for s in request.rel_url.raw_path.split("/")[1:]]
        if len(low) > 1 and low[-1] == "":
            low.pop()
        rest = low[2:]
        if low[:2] == ["messages", "outbound"] and rest:
            if rest[0] in {"opens", "clicks"} and len(rest) == 2:
                return f"/messages/outbound/{rest[0]}/{{id}}"
            if len(rest) == 2 and rest[1] in {"details", "dump"}:
                return f"/messages/outbound/{{id}}/{rest[1]}"
        return "/" + "/".join(low)

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

    @property
    def server_id(self) -> int:
        """The ``ServerID`` the server's message streams carry (derived from the token)."""
        return 10_000 + zlib.crc32(self.token.encode()) % 99_990_000

    def message_stream_listing(self, stream_type: str = "all") -> list[dict[str, Any]]:
        """Return what ``/message-streams`` lists for *stream_type* (any case)."""
        created = (self.now - dt.timedelta(days=400)).astimezone(EASTERN)
        listed = []
        for stream_id, name, kind in _STREAM_LISTING:
            if stream_type.lower() not in {"all", kind.lower()}:
                continue
            listed.append(
                {
                    "ID": stream_id,
                    "ServerID": self.server_id,
                    "Name": name,
                    "Description": None,
                    "MessageStreamType": kind,
                    "CreatedAt": created.isoformat(),
                    "UpdatedAt": None,
                    "ArchivedAt": None,
                    "ExpectedPurgeDate": None,
                    "SubscriptionManagementConfiguration": {"UnsubscribeHandlingType": "None"},
                }
            )
        return listed

    def _route(self, segments: list[str], query: dict[str, str]) -> bytes | None:
        low = [s.lower() for s in segments]
        if low == ["message-streams"]:
            kind = query.get("messagestreamtype", "all")
            if kind.lower() not in {"all", *(k.lower() for _, _, k in _STREAM_LISTING)}:
                raise _Reject(422, 1227, f"Invalid MessageStreamType: {kind}")
            listed = self.message_stream_listing(kind)
            return _dumps({"MessageStreams": listed, "TotalCount": len(listed)})
        if low[:2] == ["stats", "outbound"]:
            return self._stats_body("/".join(low[2:]), query)
        if low[:2] != ["messages", "outbound"]:
            return None
        rest, tail = segments[2:], low[2:]
        if not rest:
            paging = _page_args(query)
            matches = self._search_messages(query)

            def unfiltered() -> int:
                _, lo, hi = self._search_messages(
                    {k: v for k, v in query.items() if k not in _NOT_FILTERS}
                )
                return hi - lo

            return self._list_page("Messages", matches, paging, self._render_message, unfiltered)
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
            return self._list_page("Opens" if opens else "Clicks", found, paging, render)
        if len(rest) == 2 and tail[1] == "details":
            return _dumps(self._details(self._message(rest[0])))
        if len(rest) == 2 and tail[1] == "dump":
            return _dumps({"Body": self._dump(self._message(rest[0]))})
        return None


def _check_int(name: str, value: object, minimum: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be an integer, got {type(value).__name__}"
        raise TypeError(msg)
    if minimum is not None and value < minimum:
        msg = f"{name} must be at least {minimum}, got {value}"
        raise ValueError(msg)
