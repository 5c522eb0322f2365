"""How ``export`` reads option values: dates, date-times, whole numbers, ``KEY=VALUE``.

Each reader raises :class:`argparse.ArgumentTypeError`, so a refused value is a one-line
usage error naming the option (see :mod:`._parser`), before any request is sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Final

from ._parser import value_error

#: Years every provider can express; dates outside are refused before any request.
MIN_YEAR: Final = 1900
MAX_YEAR: Final = 9998

_DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_WHOLE: Final = re.compile(r"[+-]?\d{1,12}")


def _check_year(text: str, value: date) -> None:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        msg = f"{text}: year {value.year} is outside {MIN_YEAR}..{MAX_YEAR}"
        raise value_error(msg)


def parse_day(text: str) -> date:
    """Read ``YYYY-MM-DD``."""
    try:
        if not _DAY.fullmatch(text):
            raise ValueError(text)
        value = date.fromisoformat(text)
    except ValueError:
        msg = f"{text} is not a date (YYYY-MM-DD)"
        raise value_error(msg) from None
    _check_year(text, value)
    return value


def parse_when(text: str) -> date | datetime:
    """Read ``YYYY-MM-DD`` as a date, anything longer as an ISO-8601 date-time with offset."""
    if len(text) <= len("YYYY-MM-DD"):
        return parse_day(text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        msg = f"{text} is not a date (YYYY-MM-DD) or an ISO-8601 date-time"
        raise value_error(msg) from None
    if value.tzinfo is None:
        msg = f"{text} has no UTC offset: add Z or +HH:MM (or give a date)"
        raise value_error(msg)
    _check_year(text, value)
    return value


def parse_aware(text: str) -> datetime:
    """Read an ISO-8601 date-time with offset; a bare date means midnight UTC."""
    value = parse_when(text)
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """Return a reader of a whole number from *low* to *high* (no upper bound if ``None``)."""

    def read(text: str) -> int:
        if not _WHOLE.fullmatch(text.strip()):
            msg = f"{text} is not a whole number"
            raise value_error(msg)
        value = int(text)
        if value < low:
            msg = f"{value} is below the least value, {low}"
            raise value_error(msg)
        if high is not None and value > high:
            msg = f"{value} is above the greatest value, {high}"
            raise value_error(msg)
        return value

    read.__name__ = "whole number"
    return read


def key_value(text: str) -> tuple[str, str]:
    """Read ``KEY=VALUE``."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        msg = f"{text} is not KEY=VALUE"
        raise value_error(msg)
    return key, value


def check_order(first: object, last: object) -> bool:
    """Tell whether *first* is not after *last* (a date against a date-time: by day)."""
    if isinstance(first, datetime) and isinstance(last, datetime):
        return first <= last
    if isinstance(first, date) and isinstance(last, date):
        a = first.date() if isinstance(first, datetime) else first
        b = last.date() if isinstance(last, datetime) else last
        return a <= b
    return True


__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "check_order",
    "key_value",
    "parse_aware",
    "parse_day",
    "parse_when",
    "whole",
]
