"""A fake Postmark server: outbound messages, opens, clicks and stats from seeded data.

:class:`FakePostmark` serves the Messages and Stats endpoints of Postmark's server API
the way the real service answers them (PascalCase JSON, US-Eastern timestamps with seven
fractional digits, newest first, ``count``/``offset`` limits, HTTP 422 with an
``ErrorCode``), from a synthetic dataset generated from a seed. The dataset is exposed
so tests can compare what a client streamed with the truth.

Records are kept compact and rendered to JSON once, the first time they are served;
each page is the join of those bytes. Lists are kept sorted newest first and date
filters are bisections, so the server stays fast with 100 000 messages.

The server is a thin layer over its parts: the dataset (``_postmark_dataset``, built
from the tables and records of ``_postmark_data`` by ``_postmark_generate``), the
search and stats functions that read it (``_postmark_query``, ``_postmark_stats``),
the functions that render its records (``_postmark_render``) and those that record
arrivals in it (``_postmark_live``). This module parses requests, calls them and
answers, and holds the public API.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from ..postmark.models import Click, Open, OutboundMessage
from . import _postmark_live as arrivals
from . import _postmark_query as query_
from . import _postmark_render as render
from ._faults import FaultPlan, utc_now
from ._live import LivePlan, _LiveFake
from ._postmark_data import TICKS, WireView, dumps, to_ticks, uuid4
from ._postmark_dataset import MS, PostmarkDataset, check_arguments, check_int
from ._postmark_query import NOT_FILTERS, Found, Reject, normalise, page_args
from ._postmark_stats import StatsTables, stats_body


def _error(status: int, code: int, message: str) -> web.Response:
    return web.Response(
        status=status,
        body=dumps({"ErrorCode": code, "Message": message}),
        content_type="application/json",
        charset="utf-8",
    )


def _loads_all(records: Sequence[Any], render_one: Callable[[Any], bytes]) -> list[dict[str, Any]]:
    return [json.loads(render_one(record)) for record in records]


# -- the server ----------------------------------------------------------------------------


class FakePostmark(_LiveFake):
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
        sizes = {"messages": (messages, 0), "seed": (seed, None)}
        sizes |= {"retention_days": (retention_days, 1), "max_recipients": (max_recipients, 1)}
        if recipients is not None:
            sizes["recipients"] = (recipients, 1)
        rates = {"open_rate": open_rate, "click_rate": click_rate}
        check_arguments(sizes, rates | {"multi_recipient_rate": multi_recipient_rate})
        if token is not None and (not isinstance(token, str) or not token):
            raise TypeError("token must be a non-empty string")
        self.token: str = token or uuid4(random.Random(f"token-{seed}").getrandbits(128))
        """The server token every request must carry in ``X-Postmark-Server-Token``."""
        self.now: dt.datetime = utc_now(now)
        """The instant the generated dataset ends at (UTC)."""
        self.retention_days = retention_days
        self.open_rate = float(open_rate)
        self.click_rate = float(click_rate)
        self.max_recipients = max_recipients
        self.multi_recipient_rate = float(multi_recipient_rate)
        self.data = PostmarkDataset(
            messages=messages,
            seed=seed,
            now_ticks=to_ticks(self.now),
            retention_days=retention_days,
            open_rate=self.open_rate,
            click_rate=self.click_rate,
            recipients=recipients or max(20, messages // 5),
            max_recipients=max_recipients,
            multi_recipient_rate=self.multi_recipient_rate,
        )
        """The dataset every endpoint answers from."""
        pool = self.data.pool
        self._render_message = functools.partial(render.render_message, pool)
        self._render_open = functools.partial(render.render_open, pool)
        self._render_click = functools.partial(render.render_click, pool)

    # -- the dataset, as Postmark would return it ------------------------------------------

    @property
    def messages(self) -> WireView:
        """Every message of every stream, newest first, as the search returns them.

        Like ``opens`` and ``clicks``, a live view: take ``.snapshot()`` to keep one moment.
        """
        return WireView(self.data.all, self._render_message)

    @property
    def opens(self) -> WireView:
        """Every open of every stream, newest first."""
        return WireView(self.data.all_opens(), self._render_open)

    @property
    def clicks(self) -> WireView:
        """Every click of every stream, newest first."""
        return WireView(self.data.all_clicks(), self._render_click)

    def message_models(self) -> list[OutboundMessage]:
        """Return :attr:`messages` as the library's models, newest first.

        Each is decoded from the message's JSON with the converter the Postmark client
        uses, so it equals what the client yields for the same message.
        """
        return render.as_models(self.data.all, self._render_message, OutboundMessage)

    def open_models(self) -> list[Open]:
        """Return :attr:`opens` as the library's :class:`~asyncmailstats.postmark.Open` models."""
        return render.as_models(self.data.all_opens(), self._render_open, Open)

    def click_models(self) -> list[Click]:
        """Return :attr:`clicks` as the library's :class:`~asyncmailstats.postmark.Click` models."""
        return render.as_models(self.data.all_clicks(), self._render_click, Click)

    def message_ids(self) -> list[str]:
        """Return the ID of every message, newest first."""
        return [m.id for m in self.data.all]

    def details(self, message_id: str) -> dict[str, Any]:
        """Return what ``/messages/outbound/{id}/details`` returns for *message_id*."""
        return render.details(self.data.pool, self.data.lookup(message_id))

    def search_messages(self, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Return every message the search with these query *params* matches, unpaged."""
        found = query_.unpaged(functools.partial(query_.search_messages, self.data), params)
        return _loads_all(found, self._render_message)

    def search_opens(self, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Return every open the opens search with these query *params* matches, unpaged."""
        found = query_.unpaged(functools.partial(query_.search_events, self.data, "opens"), params)
        return _loads_all(found, self._render_open)

    def search_clicks(self, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Return every click the clicks search with these query *params* matches, unpaged."""
        found = query_.unpaged(functools.partial(query_.search_events, self.data, "clicks"), params)
        return _loads_all(found, self._render_click)

    def message_opens(self, message_id: str) -> list[dict[str, Any]]:
        """Return the opens of one message, newest first."""
        return _loads_all(self.data.lookup(message_id).opens, self._render_open)

    def message_clicks(self, message_id: str) -> list[dict[str, Any]]:
        """Return the clicks of one message, newest first."""
        return _loads_all(self.data.lookup(message_id).clicks, self._render_click)

    def stats(self, path: str = "", params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Return what ``/stats/outbound/<path>`` answers with these query *params*."""
        query = {k.lower(): v for k, v in (params or {}).items()}
        name = path.strip("/").lower()
        try:
            body = stats_body(self.data, name, query)
        except Reject as exc:
            raise ValueError(exc.message) from None
        if body is None:
            raise ValueError(f"no stats endpoint /stats/outbound/{name}")
        result: dict[str, Any] = json.loads(body)
        return result

    @property
    def _stats(self) -> StatsTables | None:
        """The stats counts; set to ``None`` to make the next stats request aggregate afresh."""
        return self.data.stats

    @_stats.setter
    def _stats(self, value: StatsTables | None) -> None:
        self.data.stats = value

    # -- arrivals ------------------------------------------------------------------------------

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
        check_int("count", count, 0)
        data = self.data
        if at is None:
            newest = data.all[0].ticks + MS if data.all else 0
            ticks = max(to_ticks(dt.datetime.now(dt.UTC)), newest)
        elif isinstance(at, dt.datetime) and at.utcoffset() is not None:
            ticks = to_ticks(at)
        else:
            raise TypeError("at must be an aware datetime")
        added = [data.add_message(ticks + i * MS) for i in range(count)]
        data.forget("messages")
        return _loads_all(added[::-1], self._render_message)

    def add_opens(self, count: int, *, stream: str = "outbound") -> list[dict[str, Any]]:
        """Record *count* new first opens on messages of *stream*, newer than any record.

        Each goes to a delivered recipient of an open-tracked message who has not
        opened it yet, so there are fewer only when no such recipient is left. Call it
        from the server's event loop, between requests; every endpoint sees them at once.

        Returns:
            The new opens as the opens search returns them, newest first.
        """
        added = arrivals.add_opens(self.data, arrivals.checked_count(count, stream), stream, None)
        return _loads_all(added[::-1], self._render_open)

    def add_clicks(self, count: int, *, stream: str = "outbound") -> list[dict[str, Any]]:
        """Record *count* new clicks on messages of *stream*, newer than any record.

        Each goes to a delivered recipient of a link-tracked message, on one of its links
        that recipient has not clicked yet; fewer only when no such pair is left. Call it
        from the server's event loop, between requests.

        Returns:
            The new clicks as the clicks search returns them, newest first.
        """
        added = arrivals.add_clicks(self.data, arrivals.checked_count(count, stream), stream, None)
        return _loads_all(added[::-1], self._render_click)

    def _arrive(self, records: int, messages: int, elapsed: float | None) -> None:
        """Record what the live plan says arrives (*elapsed*: seconds of wall clock)."""
        floor = None if elapsed is None else self.data.now_ticks + int(elapsed * TICKS)
        arrivals.arrive(self.data, records, messages, floor)

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
        return dumps({"ErrorCode": code, "Message": message}), "application/json"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("X-Postmark-Server-Token") != self.token:
            return _error(401, 10, "Request does not contain a valid Server token.")
        segments = [unquote(s) for s in request.rel_url.raw_path.split("/")[1:]]
        if len(segments) > 1 and segments[-1] == "":
            segments.pop()
        try:
            body = self._route(segments, normalise(request.query.items()))
        except Reject as exc:
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
        created = self.now - dt.timedelta(days=400)
        return render.stream_listing(stream_type, self.server_id, created)

    def _route(self, segments: list[str], query: dict[str, str]) -> bytes | None:
        """Answer the request for the path *segments* with the normalised *query*."""
        low = [s.lower() for s in segments]
        if low == ["message-streams"]:
            kind = query.get("messagestreamtype", "all")
            if kind.lower() not in render.STREAM_TYPES:
                raise Reject(422, 1227, f"Invalid MessageStreamType: {kind}")
            listed = self.message_stream_listing(kind)
            return dumps({"MessageStreams": listed, "TotalCount": len(listed)})
        if low[:2] == ["stats", "outbound"]:
            return stats_body(self.data, "/".join(low[2:]), query)
        if low[:2] != ["messages", "outbound"]:
            return None
        rest, tail = segments[2:], low[2:]
        if not rest:
            return self._messages_page(query)
        if tail[0] in {"opens", "clicks"} and len(rest) <= 2:
            paging = page_args(query)
            opens = tail[0] == "opens"
            render_one = self._render_open if opens else self._render_click
            if len(rest) == 1:
                found = query_.search_events(self.data, tail[0], query)
            else:
                m = query_.message_or_reject(self.data, rest[1])
                records: list[Any] = m.opens if opens else m.clicks
                found = (records, 0, len(records))
            return self._list_page("Opens" if opens else "Clicks", found, paging, render_one)
        if len(rest) == 2 and tail[1] == "details":
            message = query_.message_or_reject(self.data, rest[0])
            return dumps(render.details(self.data.pool, message))
        if len(rest) == 2 and tail[1] == "dump":
            message = query_.message_or_reject(self.data, rest[0])
            return dumps({"Body": render.dump(self.data.pool, message)})
        return None

    def _messages_page(self, query: dict[str, str]) -> bytes:
        paging = page_args(query)
        matches = query_.search_messages(self.data, query)

        def unfiltered() -> int:
            filters = {k: v for k, v in query.items() if k not in NOT_FILTERS}
            _, lo, hi = query_.search_messages(self.data, filters)
            return hi - lo

        return self._list_page("Messages", matches, paging, self._render_message, unfiltered)

    def _list_page(
        self,
        name: str,
        found: Found[Any],
        paging: tuple[int, int],
        render_one: Callable[[Any], bytes],
        unfiltered: Callable[[], int] | None = None,
    ) -> bytes:
        """Render one list page as the live plan shapes it, then count it (and arrive).

        *unfiltered* counts the matches without the date filter, for
        ``total_ignores_filter``; only the messages search passes it.
        """
        seq, lo, hi = found
        count, offset = paging
        shaped = self._shape(offset, count, hi - lo)
        if shaped is None:
            body = query_.page(name, found, paging, render_one)
        else:
            take, total = shaped
            plan = self.live
            if unfiltered is not None and plan is not None and plan.total is None:
                total = unfiltered() if plan.total_ignores_filter else total
            start = lo + offset
            items = b",".join(render_one(r) for r in seq[start : start + take])
            body = b'{"TotalCount":%d,"%s":[%s]}' % (total, name.encode(), items)
        self._served_list_page()
        return body
