"""The fake Postmark server's ``/stats/outbound`` endpoints: daily counts and overview.

Counts are aggregated once per dataset into tables keyed by stream, tag, Eastern day
and key; each request filters and sums them. Records that arrive later are tallied into
the built tables one by one, so arrivals never make the server aggregate again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from ._postmark_data import (
    _CLICK_PROFILES,
    _OPEN_PROFILES,
    TICKS,
    _Click,
    _dumps,
    _eastern_day,
    _Message,
    _Open,
    _State,
)
from ._postmark_query import _parse_day, _Reject, _stream

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


class _Statistics(_State):
    """Aggregate the dataset into Postmark's daily stats and the overview."""

    def _stats_tables(self) -> dict[str, dict[tuple[str, str | None, int, str], int]]:
        """Return the counts, aggregating the whole dataset the first time."""
        if self._stats is None:
            self._stats = {name: {} for name in (*STATS_KEYS, "")}
            for m in self._all:
                self._tally_message(m)
        return self._stats

    def _add(self, series: str, m: _Message, ticks: int, key: str, amount: int = 1) -> None:
        assert self._stats is not None  # noqa: S101 - tallies run on a built table only
        # Eastern midnight is always a whole UTC hour, so the day is fixed per hour.
        hour = ticks // (3600 * TICKS)
        day = self._stat_days.get(hour)
        if day is None:
            day = self._stat_days[hour] = _eastern_day(ticks).toordinal()
        table = self._stats[series]
        slot = (m.stream, m.tag, day, key)
        table[slot] = table.get(slot, 0) + amount

    def _tally_message(self, m: _Message) -> None:
        """Count *m*: its sends, tracking, events, opens and clicks."""
        if m.status == "Queued":
            return
        add = self._add
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
            self._tally_open(o)
        for c in m.clicks:
            self._tally_click(c)

    def _tally_open(self, o: _Open) -> None:
        add, m = self._add, o.msg
        profile = _OPEN_PROFILES[o.profile]
        add("opens", m, o.ticks, "Opens", 1 + o.repeats)
        add("opens", m, o.ticks, "Unique")
        add("opens/platforms", m, o.ticks, profile[6])
        add("opens/readtimes", m, o.ticks, _read_bucket(o.read))
        if profile[2] != "unknown":
            add("opens/emailclients", m, o.ticks, profile[2])
            add("", m, o.ticks, "WithClientRecorded")

    def _tally_click(self, c: _Click) -> None:
        add, m = self._add, c.msg
        profile = _CLICK_PROFILES[c.profile]
        add("clicks", m, c.ticks, "Clicks", 1 + c.repeats)
        add("clicks", m, c.ticks, "Unique")
        add("clicks/platforms", m, c.ticks, profile[6])
        add("clicks/location", m, c.ticks, c.location)
        if profile[9]:
            add("clicks/browserfamilies", m, c.ticks, profile[9])

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
        result: dict[int, dict[str, int]] = {}
        for (s, t, day, key), amount in self._stats_tables()[series].items():
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


def _read_bucket(seconds: int) -> str:
    if seconds < 0:
        return "unknown"
    return "20s+" if seconds >= 20 else f"{seconds}s"
