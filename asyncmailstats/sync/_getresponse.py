"""The GetResponse plan: messages, and their daily stats.

``messages`` reads the messages created since the first day (one call) and upserts them.
``message-stats`` reads the daily stats of those messages in JSON-RPC batches; each
message's rows are replaced whole. A later run reads again the messages created in the
trailing ``lookback_days`` (their stats still change) and any newer ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final

from ..exceptions import NotFoundError
from ..getresponse.models import Grouping, Message, MessageType, TimeRange
from ._runner import Context
from ._store import Write
from ._tables import (
    GETRESPONSE_MESSAGE,
    GETRESPONSE_MESSAGE_STATS,
    GETRESPONSE_MESSAGES,
    GETRESPONSE_PERIOD,
    Row,
    Table,
)

if TYPE_CHECKING:
    from ..getresponse import GetResponseAPI


#: The listings that together cover every message: the default one (newsletters and
#: autoresponders), then the types it leaves out.
_LISTED_APART: Final = (None, MessageType.AB_TEST, MessageType.DRAFT)


class GetResponsePlan:
    """The streams of one GetResponse account."""

    provider = "getresponse"
    streams: tuple[str, ...] = ("messages", "message-stats")

    def __init__(self, api: GetResponseAPI, *, today: dt.date | None = None) -> None:
        self.api = api
        # The last day a run reads; the current UTC day unless set.
        self._today: dt.date | None = today
        self._listed: dict[dt.date | None, list[Message]] = {}

    def statistics(self) -> tuple[int, int]:
        """Return the requests and retries the API's client sent so far."""
        stats = self.api._client.statistics()  # noqa: SLF001 - same package
        return stats.requests, stats.retries

    def tables(self, stream: str) -> tuple[Table, ...]:
        """Return the tables *stream* writes."""
        return (GETRESPONSE_MESSAGES,) if stream == "messages" else (GETRESPONSE_MESSAGE_STATS,)

    def state_prefix(self, stream: str) -> str:
        """Return the prefix of *stream*'s state keys."""
        return stream

    @property
    def today(self) -> dt.date:
        """Return the last day of this run (fixed at its first use)."""
        if self._today is None:
            self._today = dt.datetime.now(dt.UTC).date()
        return self._today

    def _start(self, ctx: Context, stream: str) -> dt.date | None:
        through = (ctx.state.get(stream) or {}).get("through")
        if through is None:
            return ctx.since
        start = dt.date.fromisoformat(through) - dt.timedelta(days=ctx.lookback_days)
        return start if ctx.since is None else max(start, ctx.since)

    async def _messages_from(self, start: dt.date | None) -> list[Message]:
        """Return every message created since *start*, of every type.

        Without a type GetResponse lists newsletters and autoresponders only: A/B tests
        and drafts are asked for apart. Both streams of a run share one listing.
        """
        if start not in self._listed:
            condition = None if start is None else TimeRange(from_=start)
            found: dict[str, Message] = {}
            for kind in _LISTED_APART:
                for message in await self.api.messages(created_on=condition, type=kind):
                    found.setdefault(message.id, message)
            self._listed[start] = list(found.values())
        return self._listed[start]

    async def writes(self, stream: str, ctx: Context) -> AsyncIterator[Write]:
        """Yield the writes of *stream*."""
        start = self._start(ctx, stream)
        messages = await self._messages_from(start)
        state = (stream, {"through": self.today.isoformat()})
        label = f"created since {start}" if start else "every message"
        if stream == "messages":
            row = GETRESPONSE_MESSAGE.row
            rows = [(ctx.account, *row(m)) for m in messages]
            yield Write(GETRESPONSE_MESSAGES, rows, state=state, unit=label)
            return
        ids = [m.id for m in messages]
        period_row = GETRESPONSE_PERIOD.row
        outcomes = self.api.message_stats_many(ids, grouping=Grouping.DAILY)
        async for outcome in outcomes:
            if outcome.error is not None:
                if isinstance(outcome.error, NotFoundError):
                    continue  # deleted since it was listed
                raise outcome.error
            series: Any = outcome.value
            stat_rows: list[Row] = [
                (ctx.account, series.message_id, series.grouping.value, p.period, *period_row(p))
                for p in series.periods
            ]
            yield Write(
                GETRESPONSE_MESSAGE_STATS,
                stat_rows,
                mode="replace",
                scope={"message_id": series.message_id, "grouping": series.grouping.value},
            )
        yield Write(None, state=state, unit=label)
