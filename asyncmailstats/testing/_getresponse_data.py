"""The fake GetResponse server's dataset: seeded messages, hourly stats and links.

``_generate`` draws the plain records :class:`~asyncmailstats.testing.FakeGetResponse`
exposes as its truth: message ID → the fields ``get_messages`` returns, message ID →
``"YYYY-MM-DD HH"`` → the 19 counters, and link ID → the fields ``get_links`` returns.
Timestamps are written as GetResponse writes them, without an offset.
"""

from __future__ import annotations

import random
import string
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Final

#: The counters of a ``get_message_stats`` period, in the API's order.
STATS_KEYS: Final = (
    "sent",
    "opened",
    "unique_opened",
    "clicked",
    "unique_clicked",
    "goals",
    "unique_goals",
    "forwarded",
    "unsubscribes",
    "bounces_user_unknown",
    "bounces_user_recycled",
    "bounces_mailbox_full",
    "bounces_block_content",
    "bounces_block_timeout",
    "bounces_block_other",
    "bounces_other_soft",
    "bounces_other_hard",
    "complaints_handled",
    "complaints_unhandled",
)
#: How long each grouping's period key is (a prefix of the hourly key).
GROUPING_KEY_LENGTH: Final = {"hourly": 13, "daily": 10, "monthly": 7, "yearly": 4}

_TIMESTAMP: Final = "%Y-%m-%d %H:%M:%S"
_TYPES: Final = ("newsletter", "autoresponder", "ab_test", "draft")
_FLAGS: Final = (
    ("clicktrack", 0.7),
    ("openrate", 0.8),
    ("subscription_reminder", 0.2),
    ("google_analytics", 0.3),
)
_SUBJECTS: Final = ("Welcome aboard", "Spring sale", "Your weekly digest", "New features", "Hello")
_BOUNCES: Final = STATS_KEYS[9:17]


def _ident(rng: random.Random, taken: set[str], size: int = 5) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        ident = "".join(rng.choices(alphabet, k=size))
        if ident not in taken:
            taken.add(ident)
            return ident


def _activity(rng: random.Random, start: datetime, now: datetime) -> dict[str, dict[str, int]]:
    """Return sparse hourly stats of a message sent at *start*, up to *now*."""
    hours: dict[datetime, Counter[str]] = {}

    def bump(offset_hours: int, **counts: int) -> None:
        hour = start.replace(minute=0, second=0) + timedelta(hours=offset_hours)
        hours.setdefault(hour, Counter()).update(counts)

    audience = rng.randrange(20, 3000)
    sending_hours = rng.randrange(1, 4)
    for n in range(sending_hours):
        bump(n, sent=audience // sending_hours + (n < audience % sending_hours))
        bump(n, **{rng.choice(_BOUNCES): rng.randrange(0, 4)})
    for _ in range(rng.randrange(2, 30)):  # opens and clicks trickle in for two weeks
        later = min(int(rng.expovariate(1 / 30)), 14 * 24)
        opened = rng.randrange(1, 40)
        clicked = rng.randrange(0, opened // 2 + 1)
        bump(
            later,
            opened=opened,
            unique_opened=rng.randrange(0, opened + 1),
            clicked=clicked,
            unique_clicked=rng.randrange(0, clicked + 1),
        )
    for name in ("goals", "unique_goals", "forwarded", "unsubscribes", "complaints_handled"):
        if rng.random() < 0.3:
            bump(rng.randrange(0, 7 * 24), **{name: rng.randrange(1, 5)})
    return {
        hour.strftime("%Y-%m-%d %H"): {key: counts[key] for key in STATS_KEYS}
        for hour, counts in sorted(hours.items())
        if hour <= now and any(counts.values())
    }


def _generate(
    rng: random.Random, now: datetime, count: int
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, dict[str, int]]], dict[str, Any]]:
    taken: set[str] = set()
    campaigns = [_ident(rng, taken) for _ in range(max(1, count // 40))]
    messages: dict[str, dict[str, Any]] = {}
    hourly: dict[str, dict[str, dict[str, int]]] = {}
    links: dict[str, dict[str, Any]] = {}
    for n in range(count):
        message_id = _ident(rng, taken)
        kind = rng.choices(_TYPES, weights=(60, 25, 5, 10))[0]
        created = (now - timedelta(seconds=rng.randrange(3600, 200 * 86400))).replace(microsecond=0)
        record: dict[str, Any] = {
            "campaign": rng.choice(campaigns),
            "type": kind,
            "subject": f"{rng.choice(_SUBJECTS)} #{n}",
            "name": None if rng.random() < 0.2 else f"{kind} {n}",
            "content_types": ["plain", "html"] if rng.random() < 0.7 else ["html"],
            "flags": [flag for flag, p in _FLAGS if rng.random() < p],
            "created_on": created.strftime(_TIMESTAMP),
        }
        start = created
        if kind == "newsletter":
            start = created + timedelta(seconds=rng.randrange(0, 3 * 86400))
            record["send_on"] = start.strftime(_TIMESTAMP)
        elif kind == "autoresponder":
            record.update(
                status=rng.choice(("active", "inactive")),
                autoresponder_name=f"Cycle {n}",
                based_on="time",
                day_of_cycle=rng.randrange(0, 30),
                at_hour=rng.randrange(0, 24),
                time_travel=rng.choice(("yes", "no")),
            )
        messages[message_id] = record
        hourly[message_id] = {} if kind == "draft" else _activity(rng, start, now)
        if "clicktrack" in record["flags"]:
            clicks = sum(period["clicked"] for period in hourly[message_id].values())
            shares = sorted(rng.randrange(0, clicks + 1) for _ in range(rng.randrange(0, 4)))
            for k, (low, high) in enumerate(zip([0, *shares], [*shares, clicks], strict=True)):
                links[_ident(rng, taken, 6)] = {
                    "message": message_id,
                    "name": f"Link {k + 1}",
                    "url": f"https://shop.example.com/{message_id.lower()}/{k + 1}",
                    "clicks": high - low,
                }
    return messages, hourly, links
