"""What each sync table must hold, computed from a fake server's own data.

Each function turns a fake's truth (its public records) into the rows a table must
hold, as a multiset. Which records belong in a table is decided here, from the fake's
data and the table's contract; only the shape of a row (the column functions of
``_tables``) is shared with the library. The checks compare multisets and report what
is missing or extra briefly, without dumping tables of thousands of rows.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from asyncmailstats.getresponse._convert import CONVERTER as GR_CONVERTER
from asyncmailstats.getresponse.models import COUNTER_NAMES, Message, PeriodStats
from asyncmailstats.postmark._args import EASTERN
from asyncmailstats.postmark._convert import CONVERTER as PM_CONVERTER
from asyncmailstats.postmark.models import Click, Open, OutboundMessage
from asyncmailstats.sync import TABLES, SyncReport, read_rows
from asyncmailstats.sync._tables import (
    GETRESPONSE_MESSAGE,
    GETRESPONSE_PERIOD,
    LINK_GROUP_COLUMNS,
    POSTMARK_CLICK,
    POSTMARK_MESSAGE,
    POSTMARK_OPEN,
    Row,
)
from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark

Rows = collections.Counter[Row]

ACCOUNT: Final = "default"

# -- Postmark ------------------------------------------------------------------------------

#: Each stats series: its path below ``/stats/outbound`` and, for a series with fixed
#: keys, wire key -> metric name (``None``: the keys are data and are the metrics).
POSTMARK_SERIES: Final[Mapping[str, tuple[str, Mapping[str, str] | None]]] = {
    "sent-counts": ("sends", {"Sent": "sent"}),
    "bounce-counts": (
        "bounces",
        {
            "HardBounce": "hard_bounce",
            "SoftBounce": "soft_bounce",
            "SMTPApiError": "smtp_api_error",
            "Transient": "transient",
        },
    ),
    "spam-complaints": ("spam", {"SpamComplaint": "spam_complaint"}),
    "tracked-counts": ("tracked", {"Tracked": "tracked"}),
    "open-counts": ("opens", {"Opens": "opens", "Unique": "unique"}),
    "open-platforms": (
        "opens/platforms",
        {"Desktop": "desktop", "WebMail": "web_mail", "Mobile": "mobile", "Unknown": "unknown"},
    ),
    "email-clients": ("opens/emailclients", None),
    "read-times": ("opens/readtimes", None),
    "click-counts": ("clicks", {"Clicks": "clicks", "Unique": "unique"}),
    "browser-families": ("clicks/browserfamilies", None),
    "click-platforms": (
        "clicks/platforms",
        {"Desktop": "desktop", "Mobile": "mobile", "Unknown": "unknown"},
    ),
    "click-locations": ("clicks/location", {"HTML": "html", "Text": "text"}),
}


def eastern_day(moment: dt.datetime) -> dt.date:
    """Return the US-Eastern calendar day of an aware instant."""
    return moment.astimezone(EASTERN).date()


def postmark_messages(
    fake: FakePostmark, first: dt.date | None = None, last: dt.date | None = None
) -> Rows:
    """Return the ``postmark_messages`` rows: every message sent from *first* to *last*."""
    rows: Rows = collections.Counter()
    for wire in fake.messages.snapshot():
        message = PM_CONVERTER.structure(wire, OutboundMessage)
        sent = eastern_day(message.received_at)
        if (first is None or first <= sent) and (last is None or sent <= last):
            rows[(ACCOUNT, *POSTMARK_MESSAGE.row(message))] += 1
    return rows


def postmark_opens(fake: FakePostmark) -> Rows:
    """Return the ``postmark_opens`` rows: every open the server recorded."""
    return collections.Counter(
        (ACCOUNT, *POSTMARK_OPEN.row(PM_CONVERTER.structure(wire, Open)))
        for wire in fake.opens.snapshot()
    )


def postmark_clicks(fake: FakePostmark) -> Rows:
    """Return the ``postmark_clicks`` rows: every click the server recorded."""
    return collections.Counter(
        (ACCOUNT, *POSTMARK_CLICK.row(PM_CONVERTER.structure(wire, Click)))
        for wire in fake.clicks.snapshot()
    )


def postmark_stats(fake: FakePostmark, first: dt.date, last: dt.date) -> Rows:
    """Return the ``postmark_stats`` rows of every series, long form, *first* to *last*.

    A day the server leaves out of a series has no rows; a listed day of a series with
    fixed keys has one row per key (0 where the server left the key out); a series
    whose keys are data has one row per key the day lists.
    """
    rows: Rows = collections.Counter()
    query = {"fromdate": first.isoformat(), "todate": last.isoformat()}
    for series, (path, metrics) in POSTMARK_SERIES.items():
        for entry in fake.stats(path, query)["Days"]:
            when = entry["Date"]
            assert first.isoformat() <= when <= last.isoformat()
            if metrics is None:
                pairs = [(key, value) for key, value in entry.items() if key != "Date"]
            else:
                pairs = [(name, entry.get(key, 0)) for key, name in metrics.items()]
            for metric, value in pairs:
                rows[(ACCOUNT, series, "", "", when, metric, value)] += 1
    return rows


def postmark_truth(
    fake: FakePostmark, first: dt.date, last: dt.date, *, stats: bool = True
) -> dict[str, Rows]:
    """Return every Postmark table's rows for a sync of *first* to *last*."""
    tables = {
        "postmark_messages": postmark_messages(fake, first, last),
        "postmark_opens": postmark_opens(fake),
        "postmark_clicks": postmark_clicks(fake),
    }
    if stats:
        tables["postmark_stats"] = postmark_stats(fake, first, last)
    return tables


# -- EmailConsul ---------------------------------------------------------------------------

#: The columns each link-stats grouping fills.
LINK_GROUPS: Final[Mapping[str, tuple[str, ...]]] = {
    "campaign_id": ("campaign_id",),
    "subscriber_id": ("subscriber_id",),
    "device": ("device",),
    "country": ("country",),
    "ip": ("ip",),
    "browser": ("browser",),
    "custom_link_title": ("custom_link_title",),
    "params": ("params_name", "params_value"),
}


def link_stats(fake: FakeEmailConsul, first: dt.date, last: dt.date, groups: Iterable[str]) -> Rows:
    """Return the ``emailconsul_link_stats`` rows: clicks per UTC day and group value."""
    chosen = tuple(groups)
    counts: collections.Counter[tuple[Any, ...]] = collections.Counter()
    for log in fake.link_logs:
        when = log.timestamp.astimezone(dt.UTC).date()
        if not first <= when <= last:
            continue
        for group in chosen:
            filled = LINK_GROUPS[group]
            values = tuple(getattr(log, c) if c in filled else "" for c in LINK_GROUP_COLUMNS)
            counts[(ACCOUNT, when.isoformat(), group, *values)] += 1
    return collections.Counter({(*key, count, None): 1 for key, count in counts.items()})


# -- GetResponse ---------------------------------------------------------------------------


def getresponse_messages(fake: FakeGetResponse) -> Rows:
    """Return the ``getresponse_messages`` rows: every message, of every type."""
    return collections.Counter(
        (ACCOUNT, *GETRESPONSE_MESSAGE.row(GR_CONVERTER.structure({**f, "id": i}, Message)))
        for i, f in fake.messages.items()
    )


def getresponse_stats(fake: FakeGetResponse) -> Rows:
    """Return the ``getresponse_message_stats`` rows: each message's daily periods."""
    rows: Rows = collections.Counter()
    for message_id in fake.messages:
        for period, counters in fake.stats(message_id, "daily").items():
            start = dt.datetime.strptime(period, "%Y-%m-%d")  # noqa: DTZ007 - naive local
            values: dict[str, Any] = {name: counters[name] for name in COUNTER_NAMES}
            stats = PeriodStats(period=period, start=start, **values)
            rows[(ACCOUNT, message_id, "daily", period, *GETRESPONSE_PERIOD.row(stats))] += 1
    return rows


def getresponse_truth(fake: FakeGetResponse) -> dict[str, Rows]:
    """Return both GetResponse tables' rows."""
    return {
        "getresponse_messages": getresponse_messages(fake),
        "getresponse_message_stats": getresponse_stats(fake),
    }


# -- checks --------------------------------------------------------------------------------


def column(table: str, name: str) -> int:
    """Return the position of column *name* in the rows of *table*."""
    return TABLES[table].names.index(name)


def stored(db: Path, table: str) -> Rows:
    """Return the rows *table* holds for the default account, as a multiset."""
    return collections.Counter(read_rows(db, table, ACCOUNT))


def _sample(rows: Rows) -> str:
    shown = [repr(row)[:300] for row in list(rows)[:3]]
    return f"{sum(rows.values())} rows, e.g. {shown}"


def assert_table(db: Path, table: str, expected: Rows) -> None:
    """Check that *table* holds exactly the *expected* rows: none missing, none extra."""
    found = stored(db, table)
    missing, extra = expected - found, found - expected
    assert not missing, f"{table}: missing {_sample(missing)}"
    assert not extra, f"{table}: extra {_sample(extra)}"


def assert_tables(db: Path, expected: Mapping[str, Rows]) -> None:
    """Check every table of *expected*."""
    for table, rows in expected.items():
        assert_table(db, table, rows)


def assert_unique_keys(db: Path, table: str) -> None:
    """Check that no natural key of *table* occurs twice."""
    known = TABLES[table]
    index = [known.names.index(k) for k in known.key]
    keys = collections.Counter(tuple(row[i] for i in index) for row in read_rows(db, table))
    twice = [key for key, n in keys.items() if n > 1]
    assert not twice, f"{table}: {len(twice)} keys stored twice, e.g. {twice[:3]}"


def assert_between(db: Path, table: str, before: Rows, after: Rows) -> None:
    """Check *table* during arrivals: every row of *before* once, nothing not in *after*."""
    assert_unique_keys(db, table)
    found = stored(db, table)
    missing, unknown = before - found, found - after
    assert not missing, f"{table}: missing what existed at the start: {_sample(missing)}"
    assert not unknown, f"{table}: rows the server never had: {_sample(unknown)}"


def assert_keys_between(db: Path, table: str, before: Rows, after: Rows) -> None:
    """Check *table* during changes: every key of *before* once, every row in *after*.

    For rows whose values may change while the run reads them (counts), where only
    the key of what existed at the start is sure to be stored.
    """
    assert_unique_keys(db, table)
    known = TABLES[table]
    index = [known.names.index(k) for k in known.key]
    found = stored(db, table)
    keys = {tuple(row[i] for i in index) for row in found}
    missing = [key for row in before if (key := tuple(row[i] for i in index)) not in keys]
    assert not missing, f"{table}: keys that existed at the start are missing: {missing[:3]}"
    unknown = found - after
    assert not unknown, f"{table}: rows the server never had: {_sample(unknown)}"


def assert_nothing_changed(report: SyncReport) -> None:
    """Check that a run inserted, updated and deleted no row in any table."""
    changed = {
        name: (t.inserted, t.updated, t.deleted)
        for name, t in report.tables.items()
        if t.inserted or t.updated or t.deleted
    }
    assert not changed, f"an idle run changed rows: {changed}"


def assert_cheap(second: SyncReport, first: SyncReport, share: float = 0.10) -> None:
    """Check that *second* sent at most *share* of the requests *first* sent."""
    assert second.requests <= share * first.requests, (
        f"the second run sent {second.requests} requests, the first {first.requests}"
    )


def assert_rows(table: str, found: Rows, expected: Rows) -> None:
    """Check that the rows *found* in *table* are exactly the *expected* ones."""
    missing, extra = expected - found, found - expected
    assert not missing, f"{table}: missing {_sample(missing)}"
    assert not extra, f"{table}: extra {_sample(extra)}"


def relabel(rows: Rows, account: str) -> Rows:
    """Return *rows* with *account* in place of the default account label."""
    relabelled: Rows = collections.Counter()
    for row, count in rows.items():
        relabelled[(account, *row[1:])] += count
    return relabelled


def assert_rows_unique(table: str, found: Rows) -> None:
    """Check that no natural key of *table* occurs twice among the rows *found*."""
    known = TABLES[table]
    index = [known.names.index(k) for k in known.key]
    keys: collections.Counter[tuple[Any, ...]] = collections.Counter()
    for row, n in found.items():
        keys[tuple(row[i] for i in index)] += n
    twice = [key for key, n in keys.items() if n > 1]
    assert not twice, f"{table}: {len(twice)} keys stored twice, e.g. {twice[:3]}"


def assert_rows_between(table: str, found: Rows, before: Rows, after: Rows) -> None:
    """As :func:`assert_between`, for the rows *found* in *table*."""
    assert_rows_unique(table, found)
    missing, unknown = before - found, found - after
    assert not missing, f"{table}: missing what existed at the start: {_sample(missing)}"
    assert not unknown, f"{table}: rows the server never had: {_sample(unknown)}"


def assert_row_keys_between(table: str, found: Rows, before: Rows, after: Rows) -> None:
    """As :func:`assert_keys_between`, for the rows *found* in *table*."""
    assert_rows_unique(table, found)
    known = TABLES[table]
    index = [known.names.index(k) for k in known.key]
    keys = {tuple(row[i] for i in index) for row in found}
    missing = [key for row in before if (key := tuple(row[i] for i in index)) not in keys]
    assert not missing, f"{table}: keys that existed at the start are missing: {missing[:3]}"
    unknown = found - after
    assert not unknown, f"{table}: rows the server never had: {_sample(unknown)}"
