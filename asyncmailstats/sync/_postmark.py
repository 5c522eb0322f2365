"""The Postmark plan: messages, opens and clicks of every message stream, and stats.

- ``messages``: one unit per stream and US-Eastern day, oldest first; a later run starts
  ``lookback_days`` before the last day it finished (status and events change a while).
- ``opens`` / ``clicks``: a later run reads the newest-first list until it passes the
  newest record stored at the previous run minus :data:`OVERLAP`. When more than the
  10 000-row ceiling is new (the first run of a busy account, a long pause), it falls back
  to the per-message lists of the messages sent in the window, one unit per day.
- ``stats``: every day series over the window, re-reading the trailing
  ``lookback_days`` on every run, in long form (``series``, ``date``, ``metric``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..exceptions import ResultWindowError
from ..postmark._args import EASTERN
from ..postmark._wire import STATS
from ..postmark.models import DynamicCounts
from ._runner import CHUNK_ROWS, Context
from ._store import Write
from ._tables import (
    POSTMARK_CLICK,
    POSTMARK_CLICKS,
    POSTMARK_MESSAGE,
    POSTMARK_MESSAGES,
    POSTMARK_OPEN,
    POSTMARK_OPENS,
    POSTMARK_STATS,
    Row,
    Shape,
    Table,
    day,
)

if TYPE_CHECKING:
    from .._paging import Paginator
    from ..postmark import PostmarkAPI

#: Messages whose events are read at once when a run falls back to per-message lists.
HISTORY_CONCURRENCY: Final = 16

#: How far before the newest stored open (or click) a later run reads again.
OVERLAP: Final = dt.timedelta(hours=1)

#: The stats series: name in the tables → method of PostmarkAPI (every day series of
#: the client's table of stats endpoints).
STATS_SERIES: Final = {
    method.replace("_", "-"): method for method in STATS if method != "outbound_overview"
}


def eastern_today() -> dt.date:
    """Return today's date in US-Eastern time, the calendar Postmark counts days in."""
    return dt.datetime.now(EASTERN).date()


def days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    """Yield every date from *first* to *last*, inclusive."""
    current = first
    while current <= last:
        yield current
        current += dt.timedelta(days=1)


def _parse_instant(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


@attrs.frozen
class _Events:
    """What differs between opens and clicks."""

    name: str
    table: Table
    shape: Shape
    listing: Callable[..., Paginator[Any]]
    history: Callable[..., Paginator[Any]]


@attrs.define
class _Scan:
    """What a newest-first read found."""

    rows: list[Row] = attrs.field(factory=list)
    newest: str | None = None
    oldest: dt.datetime | None = None
    done: bool = False
    capped: bool = False


class PostmarkPlan:
    """The streams of one Postmark server."""

    provider = "postmark"
    streams: tuple[str, ...] = ("messages", "opens", "clicks", "stats")

    def __init__(
        self,
        api: PostmarkAPI,
        *,
        message_streams: tuple[str, ...] | None = None,
        today: dt.date | None = None,
        history_concurrency: int = HISTORY_CONCURRENCY,
    ) -> None:
        self.api = api
        #: Messages whose opens or clicks are read at once past the ceiling (the
        #: session's limits cap the requests in flight as well).
        self.history_concurrency = history_concurrency
        self._message_streams = message_streams
        self._events = {
            "opens": _Events("opens", POSTMARK_OPENS, POSTMARK_OPEN, api.opens, api.open_history),
            "clicks": _Events(
                "clicks", POSTMARK_CLICKS, POSTMARK_CLICK, api.clicks, api.click_history
            ),
        }
        # The last day a run reads; the current one in the provider's calendar unless set.
        self._today: dt.date | None = today

    def statistics(self) -> tuple[int, int]:
        """Return the requests and retries the API's client sent so far."""
        stats = self.api._client.statistics()  # noqa: SLF001 - same package
        return stats.requests, stats.retries

    def tables(self, stream: str) -> tuple[Table, ...]:
        """Return the tables *stream* writes."""
        return {
            "messages": (POSTMARK_MESSAGES,),
            "opens": (POSTMARK_OPENS,),
            "clicks": (POSTMARK_CLICKS,),
            "stats": (POSTMARK_STATS,),
        }[stream]

    def state_prefix(self, stream: str) -> str:
        """Return the prefix of *stream*'s state keys."""
        return f"{stream}:" if stream != "stats" else "stats"

    @property
    def today(self) -> dt.date:
        """Return the last day of this run (fixed at its first use)."""
        if self._today is None:
            self._today = eastern_today()
        return self._today

    def retained_from(self) -> dt.date:
        """Return the first day the server still keeps messages, opens and clicks of."""
        return self.today - dt.timedelta(days=self.api.retention_days)

    async def message_streams(self) -> tuple[str, ...]:
        """Return the server's outbound and broadcast streams (inbound ones are skipped)."""
        if self._message_streams is None:
            listed = await self.api.message_streams()
            self._message_streams = tuple(
                s.id for s in listed if str(s.message_stream_type).lower() != "inbound"
            )
        return self._message_streams

    def _start(self, ctx: Context, stream: str, through: str | None) -> dt.date:
        """Return the first day to read, reporting what retention makes unreachable."""
        kept = self.retained_from()
        if through is None:
            start = ctx.since if ctx.since is not None else kept
            unread = start
        else:
            finished = dt.date.fromisoformat(through)
            start = finished - dt.timedelta(days=ctx.lookback_days)
            if ctx.since is not None:
                start = max(start, ctx.since)
            # The lookback days before the last one finished were read whole by an
            # earlier run: past retention they cannot be read again, but they are not
            # missing. The last one may have been read while it was still going on.
            unread = max(start, finished)
        if start < kept:
            reason = f"older than the server's {self.api.retention_days}-day retention"
            ctx.gap(stream, unread, kept - dt.timedelta(days=1), reason)
            start = kept
        return min(start, self.today)

    async def writes(self, stream: str, ctx: Context) -> AsyncIterator[Write]:
        """Yield the writes of *stream*."""
        if stream == "messages":
            for name in await self.message_streams():
                async for write in self._messages(ctx, name):
                    yield write
        elif stream == "stats":
            async for write in self._stats(ctx):
                yield write
        else:
            events = self._events[stream]
            for name in await self.message_streams():
                async for write in self._event_writes(ctx, events, name):
                    yield write

    # -- messages --------------------------------------------------------------------------

    async def _messages(self, ctx: Context, message_stream: str) -> AsyncIterator[Write]:
        key = f"messages:{message_stream}"
        state = ctx.state.get(key) or {}
        through = state.get("through")
        start = self._start(ctx, f"messages ({message_stream})", through)
        # Re-read lookback days do not move the checkpoint back: a run stopped among
        # them resumes from where the last one finished, not a lookback further back.
        done = dt.date.min if through is None else dt.date.fromisoformat(through)
        row = POSTMARK_MESSAGE.row
        account = ctx.account
        for when in days(start, self.today):
            rows: list[Row] = []
            stream = self.api.outbound_messages(
                message_stream=message_stream, from_date=when, to_date=when
            )
            async for message in stream:
                rows.append((account, *row(message)))
                if len(rows) >= CHUNK_ROWS:
                    yield Write(POSTMARK_MESSAGES, rows)
                    rows = []
            yield Write(
                POSTMARK_MESSAGES,
                rows,
                state=(key, {"through": max(when, done).isoformat()}),
                unit=f"{message_stream} {when}",
            )

    # -- opens and clicks ------------------------------------------------------------------

    async def _event_writes(  # noqa: C901 - resume, first run, later run
        self, ctx: Context, events: _Events, message_stream: str
    ) -> AsyncIterator[Write]:
        """Read the newest-first list down to the cursor; past the ceiling, per message.

        The list gives every record newer than the oldest one it reaches (``oldest``).
        When the ceiling stops it first, the rest can only be older than ``oldest``, so
        it belongs to messages sent on or before that day: those are read one by one,
        one unit per day of sending. The cursor stored is the newest record when the
        run began, so what arrives while it runs is read by the next one.
        """
        key = f"{events.name}:{message_stream}"
        state = ctx.state.get(key) or {}
        label = f"{events.name} ({message_stream})"
        history = state.get("history")
        if history is not None:
            # A run stopped inside the per-message part: go on from the day after the
            # last one it finished, with the cursor it started from.
            first = dt.date.fromisoformat(history["through"]) + dt.timedelta(days=1)
            last = dt.date.fromisoformat(history["until"])
            resumed = self._history(
                ctx, events, message_stream, first=first, last=last, state=state
            )
            async for write in resumed:
                yield write
            return
        cursor: str | None = state.get("cursor")
        threshold = None if cursor is None else _parse_instant(cursor) - OVERLAP
        if "cursor" in state:
            history_from = self.retained_from()
            if threshold is not None:
                last_read = threshold.astimezone(EASTERN).date()
                if last_read < history_from:
                    reason = f"older than the server's {self.api.retention_days}-day retention"
                    ctx.gap(label, last_read, history_from - dt.timedelta(days=1), reason)
        else:
            history_from = self._start(ctx, label, None)
            if ctx.since is not None:
                # A first run starts where it is told to: earlier events are left out,
                # as the per-message part leaves out messages sent before that day.
                threshold = dt.datetime.combine(history_from, dt.time(), EASTERN)
        found = _Scan()
        async for write in self._scan(ctx, events, message_stream, threshold, found):
            yield write
        if found.newest is not None:
            cursor = found.newest
        if not found.capped:
            unit = f"{message_stream} newest-first list"
            yield Write(events.table, found.rows, state=(key, {"cursor": cursor}), unit=unit)
            return
        if found.rows:
            yield Write(events.table, found.rows)
        until = self.today if found.oldest is None else found.oldest.astimezone(EASTERN).date()
        history = self._history(
            ctx, events, message_stream, first=history_from, last=until, state={"cursor": cursor}
        )
        async for write in history:
            yield write

    async def _scan(
        self,
        ctx: Context,
        events: _Events,
        message_stream: str,
        threshold: dt.datetime | None,
        found: _Scan,
    ) -> AsyncIterator[Write]:
        """Read the list newest first down to *threshold*, into *found*; yield full chunks.

        The rows of the last, partial chunk stay in ``found.rows`` for the caller to
        write with the new state. ``found.capped`` tells that the ceiling stopped it.
        """
        row = events.shape.row
        account = ctx.account
        try:
            async with events.listing(message_stream=message_stream).pages() as pages:
                async for page in pages:
                    for record in page.items:
                        if threshold is not None and record.received_at < threshold:
                            found.done = True
                            break
                        if found.newest is None:
                            found.newest = record.received_at.isoformat()
                        found.oldest = record.received_at
                        found.rows.append((account, *row(record)))
                    if len(found.rows) >= CHUNK_ROWS:
                        yield Write(events.table, found.rows)
                        found.rows = []
                    if found.done:
                        break
        except ResultWindowError:
            found.capped = True

    async def _history(
        self,
        ctx: Context,
        events: _Events,
        message_stream: str,
        *,
        first: dt.date,
        last: dt.date,
        state: dict[str, Any],
    ) -> AsyncIterator[Write]:
        """Read the events of the messages sent each day from *first* to *last*."""
        key = f"{events.name}:{message_stream}"
        row = events.shape.row
        account = ctx.account
        done = {"cursor": state.get("cursor")}
        if first > last:
            yield Write(None, state=(key, done), unit=f"{message_stream} {last}")
            return
        for when in days(first, last):
            rows: list[Row] = []
            stream = events.history(
                message_stream=message_stream,
                from_date=when,
                to_date=when,
                concurrency=self.history_concurrency,
            )
            async for record in stream:
                rows.append((account, *row(record)))
                if len(rows) >= CHUNK_ROWS:
                    yield Write(events.table, rows)
                    rows = []
            mark = dict(done)
            if when < last:
                mark["history"] = {"through": when.isoformat(), "until": last.isoformat()}
            yield Write(events.table, rows, state=(key, mark), unit=f"{message_stream} {when}")

    # -- stats -----------------------------------------------------------------------------

    async def _stats(self, ctx: Context) -> AsyncIterator[Write]:
        state = ctx.state.get("stats") or {}
        through = state.get("through")
        if through is None:
            start = ctx.since if ctx.since is not None else self.retained_from()
        else:
            start = dt.date.fromisoformat(through) - dt.timedelta(days=ctx.lookback_days)
            if ctx.since is not None:
                start = max(start, ctx.since)
        start = min(start, self.today)
        names = list(STATS_SERIES)
        for index, series in enumerate(names):
            method = getattr(self.api, STATS_SERIES[series])
            counts = await method(from_date=start, to_date=self.today)
            rows = stats_rows(ctx.account, series, counts)
            last = index == len(names) - 1
            yield Write(
                POSTMARK_STATS,
                rows,
                mode="replace",
                scope={
                    "series": series,
                    "message_stream": "",
                    "tag": "",
                    "date": (day(start), day(self.today)),
                },
                state=("stats", {"through": self.today.isoformat()}) if last else None,
                unit=f"{start} to {self.today}",
            )


def stats_rows(
    account: str, series: str, counts: Any, stream: str = "", tag: str = ""
) -> list[Row]:
    """Return the long-form rows of one stats result (a ``…Counts`` model)."""
    rows: list[Row] = []
    for entry in counts.days:
        when = entry.date.isoformat()
        if isinstance(counts, DynamicCounts):
            pairs = sorted(entry.counts.items())
        else:
            pairs = [
                (f.name, getattr(entry, f.name))
                for f in attrs.fields(type(entry))
                if f.name not in ("date", "extra")
            ]
            pairs += sorted((k, v) for k, v in entry.extra.items() if isinstance(v, int))
        rows.extend((account, series, stream, tag, when, metric, value) for metric, value in pairs)
    return rows
