"""The fake Postmark server's ``/stats/outbound`` endpoints: daily counts and overview.

Counts are aggregated once per dataset into :class:`StatsTables`, keyed by stream, tag,
Eastern day and key; each request filters and sums them (:func:`stats_body`). Records
that arrive later are tallied into built tables one by one, so arrivals never make the
server aggregate again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from ._postmark_data import (
    CLICK_PROFILES,
    OPEN_PROFILES,
    TICKS,
    ClickRecord,
    MessageRecord,
    OpenRecord,
    dumps,
    eastern_day,
)
from ._postmark_query import Reject, parse_day, stream_of

if TYPE_CHECKING:
    from ._postmark_dataset import PostmarkDataset

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

Slot = tuple[str, str | None, int, str]  # stream, tag, Eastern day ordinal, key


class StatsTables:
    """Counts per series (a ``STATS_KEYS`` path, or ``""`` for the overview's extras)."""

    __slots__ = ("days", "series")

    def __init__(self, messages: Iterable[MessageRecord] = ()) -> None:
        self.series: dict[str, dict[Slot, int]] = {name: {} for name in (*STATS_KEYS, "")}
        self.days: dict[int, int] = {}  # UTC hour -> Eastern day ordinal
        for m in messages:
            self.tally_message(m)

    def _add(self, series: str, m: MessageRecord, ticks: int, key: str, amount: int = 1) -> None:
        # Eastern midnight is always a whole UTC hour, so the day is fixed per hour.
        hour = ticks // (3600 * TICKS)
        day = self.days.get(hour)
        if day is None:
            day = self.days[hour] = eastern_day(ticks).toordinal()
        table = self.series[series]
        slot = (m.stream, m.tag, day, key)
        table[slot] = table.get(slot, 0) + amount

    def tally_message(self, m: MessageRecord) -> None:
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
            self.tally_open(o)
        for c in m.clicks:
            self.tally_click(c)

    def tally_open(self, o: OpenRecord) -> None:
        """Count one open (with its repeats) under its message's stream, tag and day."""
        add, m = self._add, o.msg
        profile = OPEN_PROFILES[o.profile]
        add("opens", m, o.ticks, "Opens", 1 + o.repeats)
        add("opens", m, o.ticks, "Unique")
        add("opens/platforms", m, o.ticks, profile[6])
        add("opens/readtimes", m, o.ticks, _read_bucket(o.read))
        if profile[2] != "unknown":
            add("opens/emailclients", m, o.ticks, profile[2])
            add("", m, o.ticks, "WithClientRecorded")

    def tally_click(self, c: ClickRecord) -> None:
        """Count one click (with its repeats) under its message's stream, tag and day."""
        add, m = self._add, c.msg
        profile = CLICK_PROFILES[c.profile]
        add("clicks", m, c.ticks, "Clicks", 1 + c.repeats)
        add("clicks", m, c.ticks, "Unique")
        add("clicks/platforms", m, c.ticks, profile[6])
        add("clicks/location", m, c.ticks, c.location)
        if profile[9]:
            add("clicks/browserfamilies", m, c.ticks, profile[9])


def stats_tables(data: PostmarkDataset) -> StatsTables:
    """Return the dataset's counts, aggregating the whole dataset the first time."""
    if data.stats is None:
        data.stats = StatsTables(data.all)
    return data.stats


def per_day(
    data: PostmarkDataset, series: str, query: Mapping[str, str]
) -> dict[int, dict[str, int]]:
    """Sum *series* per Eastern day ordinal over the stream, tag and days *query* asks for."""
    stream = query.get("messagestream")
    if stream is not None:
        stream_of(query)
    tag = query.get("tag")
    first = last = None
    if (text := query.get("fromdate")) is not None:
        first = parse_day("fromdate", text, 900).toordinal()
    if (text := query.get("todate")) is not None:
        last = parse_day("todate", text, 900).toordinal()
    if first is not None and last is not None and first > last:
        raise Reject(422, 1502, "FromDate must be before ToDate.")
    result: dict[int, dict[str, int]] = {}
    for (s, t, day, key), amount in stats_tables(data).series[series].items():
        if stream is not None and s != stream:
            continue
        if tag is not None and (t or "").lower() != tag.lower():
            continue
        if (first is not None and day < first) or (last is not None and day > last):
            continue
        row = result.setdefault(day, {})
        row[key] = row.get(key, 0) + amount
    return result


def stats_body(data: PostmarkDataset, name: str, query: Mapping[str, str]) -> bytes | None:
    """Render ``/stats/outbound/<name>`` for *query*; ``None`` for an unknown endpoint."""
    if name == "":
        return dumps(overview(data, query))
    if name not in STATS_KEYS:
        return None
    days_counted = per_day(data, name, query)
    fixed = STATS_KEYS[name]
    totals: dict[str, int] = {}
    days = []
    for day in sorted(days_counted):
        row = days_counted[day]
        keys = fixed if fixed is not None else sorted(row)
        days.append(
            {"Date": dt.date.fromordinal(day).isoformat()} | {k: row[k] for k in keys if row.get(k)}
        )
        for key, amount in row.items():
            totals[key] = totals.get(key, 0) + amount
    keys = fixed if fixed is not None else sorted(totals)
    return dumps({"Days": days} | {k: totals[k] for k in keys if totals.get(k)})


def overview(data: PostmarkDataset, query: Mapping[str, str]) -> dict[str, Any]:
    """Return what ``/stats/outbound`` answers for *query*."""

    def total(series: str) -> dict[str, int]:
        summed: dict[str, int] = dict.fromkeys(STATS_KEYS.get(series) or (), 0)
        for row in per_day(data, series, query).values():
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
