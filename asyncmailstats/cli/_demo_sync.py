"""The demo's sync section: a fake Postmark account kept in a SQLite file, twice.

A first run fills a temporary database up to yesterday; a query answers from it; the
fake then records new opens and clicks, and a second run reads only what is new or may
have changed (today's messages and stats, the new events, the trailing lookback) and
leaves the tables equal to the fake's truth.
"""

from __future__ import annotations

import collections
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from .. import sync
from .._session import Session
from ..testing import FakePostmark
from ._charts import bar_chart, table

#: Postmark counts days in US-Eastern time.
_EASTERN = ZoneInfo("America/New_York")


class Lines(Protocol):
    """Where the demo writes: section headings and lines."""

    def heading(self, text: str) -> None:
        """Start a section."""

    def line(self, text: str = "") -> None:
        """Write one line."""


def _report_rows(report: sync.SyncReport) -> list[list[object]]:
    return [[name, t.inserted, t.updated, t.deleted] for name, t in sorted(report.tables.items())]


def _multiset(rows: list[tuple[object, ...]]) -> collections.Counter[tuple[object, ...]]:
    return collections.Counter(tuple(str(v) for v in row) for row in rows)


def _truth_matches(db: Path, fake: FakePostmark) -> dict[str, bool]:
    """Compare the stored keys with the fake's records, as multisets."""
    with sqlite3.connect(db) as conn:
        stored: dict[str, list[tuple[object, ...]]] = {
            "messages": conn.execute("SELECT message_id FROM postmark_messages").fetchall(),
            "opens": conn.execute("SELECT message_id, recipient FROM postmark_opens").fetchall(),
            "clicks": conn.execute(
                "SELECT message_id, recipient, original_link FROM postmark_clicks"
            ).fetchall(),
        }
    conn.close()
    truth: dict[str, list[tuple[object, ...]]] = {
        "messages": [(m["MessageID"],) for m in fake.messages],
        "opens": [(o["MessageID"], o["Recipient"]) for o in fake.opens],
        "clicks": [(c["MessageID"], c["Recipient"], c["OriginalLink"]) for c in fake.clicks],
    }
    return {name: _multiset(stored[name]) == _multiset(truth[name]) for name in truth}


async def sync_section(
    out: Lines,
    session: Session,
    *,
    messages: int,
    seed: int,
    latency: float,
    progress: Callable[[str, str], None] | None = None,
) -> int:
    """Sync a fake Postmark account into a temporary SQLite file twice; return rows stored."""
    out.heading("Sync: a Postmark account kept in SQLite, exactly and incrementally")
    async with FakePostmark(
        messages=messages, seed=seed + 1, latency=latency, open_rate=0.7, click_rate=0.3
    ) as fake:
        pm = session.postmark(server_token=fake.token, base_url=fake.url)
        yesterday = fake.now.astimezone(_EASTERN).date() - timedelta(days=1)
        with tempfile.TemporaryDirectory(prefix="asyncmailstats-demo-") as tmp:
            db = Path(tmp) / "postmark.db"
            async with sync.SQLiteStore(db) as store:
                first = await sync.run(pm, store, until=yesterday, progress=progress)
                out.line(
                    f"first run, up to {yesterday}: {first.requests:,} requests, "
                    f"{first.units} units of work, {first.seconds:.2f} s"
                )
                out.line(table(["table", "inserted", "updated", "deleted"], _report_rows(first)))

                with sqlite3.connect(db) as conn:
                    families = conn.execute(
                        "SELECT COALESCE(client_family, '?'), COUNT(*) FROM postmark_opens "
                        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 6"
                    ).fetchall()
                conn.close()
                out.line("\nSELECT client_family, COUNT(*) FROM postmark_opens GROUP BY 1:")
                out.line(bar_chart([(str(f), int(n)) for f, n in families], width=36))

                new_opens = len(fake.add_opens(300)) + len(fake.add_opens(60, stream="broadcast"))
                new_clicks = len(fake.add_clicks(120))
                out.line(
                    f"\nthe account records {new_opens} new opens and {new_clicks} new clicks; "
                    "today's messages and stats are not stored yet"
                )
                second = await sync.run(pm, store, progress=progress)
            share = second.requests / max(1, first.requests)
            out.line(
                f"second run, up to today: {second.requests:,} requests "
                f"({share:.0%} of the first), {second.seconds:.2f} s"
            )
            out.line(table(["table", "inserted", "updated", "deleted"], _report_rows(second)))
            matches = _truth_matches(db, fake)
            verdict = ", ".join(
                f"{name} {'= truth' if same else 'MISMATCH'}" for name, same in matches.items()
            )
            out.line(f"stored tables vs the fake account: {verdict}")
            for gap in (*first.gaps, *second.gaps):
                out.line(f"gap: {gap}")
    return sum(t.inserted for r in (first, second) for t in r.tables.values())
