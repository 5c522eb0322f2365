"""Query checking and row building for the fake EmailConsul server's endpoints.

Each helper takes the query as a mapping of strings and raises ``_BadRequestError``
(answered with HTTP 400) for anything the fake refuses.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from ._emailconsul_data import DELIVERY_STATUSES

_PAGING: Final = ("offset", "limit")
_LINK_FILTERS: Final = ("campaign_id", "subscriber_id", "profile_id")
_PIXEL_FILTERS: Final = ("campaign_id", "subscriber_id")
_PAGE_DEFAULT: Final = 100
_PAGE_MAX: Final = 1000

_FIELD_GROUPS: Final = ("campaign_id", "subscriber_id", "device", "country", "ip", "browser")
_LINK_GROUPS: Final = {
    **{name: (name,) for name in (*_FIELD_GROUPS, "custom_link_title")},
    "params": ("params_name", "params_value"),
}
_PIXEL_GROUPS: Final = {"campaign_id": ("campaign_id",), "subscriber_id": ("subscriber_id",)}


class _BadRequestError(Exception):
    """A request parameter the fake refuses (answered with HTTP 400)."""


_PERIOD_SHAPE: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def _single(
    query: Mapping[str, str], getall: Callable[[str], list[str]], allowed: Iterable[str]
) -> dict[str, str]:
    known = set(allowed)
    for name in query:
        if name not in known:
            raise _BadRequestError(f"unknown parameter {name!r}")
        if len(getall(name)) > 1:
            raise _BadRequestError(f"parameter {name!r} given more than once")
    return dict(query)


def _instant(query: Mapping[str, str], name: str) -> datetime:
    raw = query.get(name)
    if raw is None:
        raise _BadRequestError(f"{name} is required")
    if _PERIOD_SHAPE.fullmatch(raw) is None:
        raise _BadRequestError(f"{name} must look like 2021-07-06T00:00:00.000Z")
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise _BadRequestError(f"{name} is not a valid date-time") from None


def _period(query: Mapping[str, str]) -> tuple[datetime, datetime]:
    start, end = _instant(query, "period_from"), _instant(query, "period_to")
    if start > end:
        raise _BadRequestError("period_from must not be after period_to")
    return start, end


def _int(
    query: Mapping[str, str], name: str, default: int, minimum: int, maximum: int | None = None
) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not raw.isascii():
        raise _BadRequestError(f"{name} must be a non-negative integer")
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        raise _BadRequestError(f"{name} must be between {minimum} and {maximum}")
    return value


def _sorted(
    rows: list[dict[str, Any]], query: Mapping[str, str], fields: Iterable[str], default: str
) -> list[dict[str, Any]]:
    raw = query.get("sort", default)
    descending = raw.startswith("-")
    name = raw[1:] if descending else raw
    if name not in set(fields):
        raise _BadRequestError(f"cannot sort by {raw!r}")
    # Rows arrive ordered by their group; a stable sort keeps that order among ties.
    return sorted(rows, key=lambda row: row[name], reverse=descending)


def _group(
    query: Mapping[str, str], groups: Mapping[str, tuple[str, ...]], default: str | None
) -> tuple[str, ...]:
    name = query.get("group", default)
    if name is None:
        return ()
    if name not in groups:
        raise _BadRequestError(f"unknown group {name!r}")
    return groups[name]


def _select(items: Iterable[Any], query: Mapping[str, str], filters: Iterable[str]) -> list[Any]:
    """Return the items inside the query's period that match its equality filters."""
    start, end = _period(query)
    wanted = [(name, query[name]) for name in filters if name in query]
    return [
        item
        for item in items
        if start <= item.timestamp <= end and all(getattr(item, n) == v for n, v in wanted)
    ]


def _series(items: Iterable[Any], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    counts = Counter((item.timestamp.date(), *(getattr(item, f) for f in fields)) for item in items)
    return [
        {"date": key[0].isoformat(), "count": n, **dict(zip(fields, key[1:], strict=True))}
        for key, n in sorted(counts.items())
    ]


def _statuses(raw: str) -> set[str]:
    try:
        words = json.loads(raw) if raw.startswith("[") else raw.split(",")
    except ValueError:
        words = None
    if not isinstance(words, list) or not words or not all(isinstance(w, str) for w in words):
        raise _BadRequestError(
            "status must be a status word, comma-separated words or a JSON array"
        )
    unknown = set(words) - set(DELIVERY_STATUSES)
    if unknown:
        raise _BadRequestError(f"unknown status {min(unknown)!r}")
    return set(words)
