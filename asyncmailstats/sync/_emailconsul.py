"""The EmailConsul plan: link stats per UTC day for each requested grouping.

One unit per grouping and day, oldest first; each replaces the rows of its day and
grouping, so a day whose counts changed (or lost a group) is exact after it is re-read.
A later run re-reads the trailing ``lookback_days``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Final

from ..emailconsul._wire import check_group
from ..emailconsul.models import LinkGroup
from ._postmark import days
from ._runner import Context
from ._store import Write
from ._tables import EMAILCONSUL_LINK_STATS, LINK_GROUP_COLUMNS, Row, Table, link_stat_row

if TYPE_CHECKING:
    from ..emailconsul import EmailConsulAPI

#: The groupings synced when none are asked for.
DEFAULT_GROUPS: Final = (LinkGroup.CAMPAIGN_ID, LinkGroup.COUNTRY)
#: How far back a first run starts when no ``since`` is given.
DEFAULT_SINCE_DAYS: Final = 45
_LAST_MILLISECOND: Final = dt.timedelta(days=1, milliseconds=-1)


class EmailConsulPlan:
    """The streams of one EmailConsul account."""

    provider = "emailconsul"
    streams: tuple[str, ...] = ("link-stats",)

    def __init__(
        self,
        api: EmailConsulAPI,
        *,
        groups: Iterable[LinkGroup | str],
        today: dt.date | None = None,
    ) -> None:
        if isinstance(groups, str):
            groups = [groups]
        chosen: list[LinkGroup] = []
        for group in groups:
            checked = check_group(group)
            if checked is None:
                msg = "groups must name link-stats groupings"
                raise ValueError(msg)
            chosen.append(checked)
        if not chosen:
            msg = "groups must name at least one grouping"
            raise ValueError(msg)
        self.api = api
        self.groups = tuple(dict.fromkeys(chosen))
        # The last day a run reads; the current UTC day unless set.
        self._today: dt.date | None = today

    def statistics(self) -> tuple[int, int]:
        """Return the requests and retries the API's client sent so far."""
        stats = self.api._client.statistics()  # noqa: SLF001 - same package
        return stats.requests, stats.retries

    def tables(self, stream: str) -> tuple[Table, ...]:
        """Return the tables *stream* writes."""
        del stream
        return (EMAILCONSUL_LINK_STATS,)

    def state_prefix(self, stream: str) -> str:
        """Return the prefix of *stream*'s state keys."""
        return f"{stream}:"

    @property
    def today(self) -> dt.date:
        """Return the last UTC day of this run (fixed at its first use)."""
        if self._today is None:
            self._today = dt.datetime.now(dt.UTC).date()
        return self._today

    async def writes(self, stream: str, ctx: Context) -> AsyncIterator[Write]:
        """Yield the writes of the link-stats stream, grouping by grouping."""
        for group in self.groups:
            key = f"{stream}:{group.value}"
            through = (ctx.state.get(key) or {}).get("through")
            # Re-read days do not move the checkpoint back (see the Postmark plan).
            done = dt.date.min if through is None else dt.date.fromisoformat(through)
            if through is None:
                start = ctx.since or self.today - dt.timedelta(days=DEFAULT_SINCE_DAYS)
            else:
                start = dt.date.fromisoformat(through) - dt.timedelta(days=ctx.lookback_days)
                if ctx.since is not None:
                    start = max(start, ctx.since)
            for when in days(min(start, self.today), self.today):
                rows = await self._day(ctx.account, group, when)
                yield Write(
                    EMAILCONSUL_LINK_STATS,
                    rows,
                    mode="replace",
                    scope={"day": when.isoformat(), "group_by": group.value},
                    state=(key, {"through": max(when, done).isoformat()}),
                    unit=f"{group.value} {when}",
                )

    async def _day(self, account: str, group: LinkGroup, when: dt.date) -> list[Row]:
        begin = dt.datetime.combine(when, dt.time(), dt.UTC)
        # Sorted by the group's own field, so that paging re-aligns if rows change.
        sort = None if group is LinkGroup.PARAMS else group.value
        stream = self.api.link_stats(
            period_from=begin, period_to=begin + _LAST_MILLISECOND, group=group, sort=sort
        )
        merged: dict[tuple[str, ...], Row] = {}
        count_at = 3 + len(LINK_GROUP_COLUMNS)
        async for stat in stream:
            row = link_stat_row(account, when, group, stat)
            key = row[:count_at]
            if key in merged:
                # A group value sent as null and as "" are stored alike: add them up.
                before = merged[key]
                row = (*key, before[count_at] + row[count_at], before[count_at + 1])
            merged[key] = row
        return list(merged.values())
