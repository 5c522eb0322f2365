"""Query parsing and filtering for the fake Postmark server's searches.

Query keys are normalised once; dates become tick bounds found by bisection in the
newest-first lists, other filters become record tests, and filtered selections are
cached by query. Requests Postmark would refuse raise ``_Reject``.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ._postmark_data import (
    _CLICK_PROFILES,
    _GEOS,
    _KINDS,
    _OPEN_PROFILES,
    _SENDERS,
    EASTERN,
    STREAMS,
    R,
    _Click,
    _Message,
    _midnight,
    _neg_ticks,
    _Open,
    _State,
    _to_ticks,
)

MAX_COUNT: Final = 500
OFFSET_CEILING: Final = 10_000


class _Reject(Exception):  # noqa: N818 - an answer, not a failure of the fake
    """A request Postmark would refuse with HTTP *status* and an ``ErrorCode``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _parse_day(name: str, value: str, code: int) -> dt.date:
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _Reject(422, code, f"The '{name}' parameter must be a date (YYYY-MM-DD).") from None


def _parse_bound(name: str, value: str, *, upper: bool) -> int:
    """Return the tick a ``fromdate``/``todate`` covers (inclusive), read as Eastern time."""
    if len(value) == 10:
        day = _parse_day(name, value, 700)
        return _midnight(day + dt.timedelta(days=1)) - 1 if upper else _midnight(day)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is not None:
        msg = f"The '{name}' parameter must be an Eastern date or date-time without offset."
        raise _Reject(422, 700, msg)
    return _to_ticks(moment.replace(tzinfo=EASTERN))


def _page_args(query: Mapping[str, str]) -> tuple[int, int]:
    values = []
    for name in ("count", "offset"):
        text = query.get(name)
        if text is None:
            raise _Reject(422, 700, f"The '{name}' parameter is required.")
        try:
            values.append(int(text))
        except ValueError:
            raise _Reject(422, 700, f"The '{name}' parameter must be an integer.") from None
    count, offset = values
    if not 1 <= count <= MAX_COUNT:
        raise _Reject(422, 700, f"The 'count' parameter must be between 1 and {MAX_COUNT}.")
    if offset < 0:
        raise _Reject(422, 700, "The 'offset' parameter must not be negative.")
    if count + offset > OFFSET_CEILING:
        msg = f"The sum of 'count' and 'offset' cannot exceed {OFFSET_CEILING}."
        raise _Reject(422, 700, msg)
    return count, offset


class _Searching(_State):
    """Find messages by ID and run the message, opens and clicks searches."""

    def _lookup(self, message_id: str) -> _Message:
        try:
            return self._by_id[message_id]
        except KeyError:
            raise KeyError(f"no message {message_id!r}") from None

    def _message(self, message_id: str) -> _Message:
        message = self._by_id.get(message_id)
        if message is None:
            raise _Reject(422, 701, "This message was not found.")
        return message

    def _wrap(
        self,
        search: Callable[[dict[str, str]], tuple[Sequence[Any], int, int]],
        params: Mapping[str, str] | None,
    ) -> tuple[Sequence[Any], int, int]:
        try:
            return search(_normalise((params or {}).items()))
        except _Reject as exc:
            raise ValueError(exc.message) from None

    def _selection(
        self,
        key: tuple[Any, ...],
        base: Sequence[R],
        query: Mapping[str, str],
        tests: list[Callable[[R], bool]],
    ) -> tuple[Sequence[R], int, int]:
        lo, hi = _bounds(base, query)
        if not tests:
            return base, lo, hi
        key = (*key, lo, hi)
        found = self._cache.get(key)
        if found is None:
            found = [r for r in base[lo:hi] if all(test(r) for test in tests)]
            if len(self._cache) >= 64:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = found
        return found, 0, len(found)

    def _search_messages(self, query: Mapping[str, str]) -> tuple[Sequence[_Message], int, int]:
        stream = _stream(query)
        tests: list[Callable[[_Message], bool]] = []
        if (recipient := query.get("recipient")) is not None:
            who = self._pool_index.get(recipient.lower(), -1)
            tests.append(lambda m: who in m.to or who in m.cc or who in m.bcc)
        kinds = set(range(len(_KINDS)))
        if (sender := query.get("fromemail")) is not None:
            kinds &= {k for k, kind in enumerate(_KINDS) if _SENDERS[kind[2]][1] == sender.lower()}
        if (tag := query.get("tag")) is not None:
            kinds &= {k for k, kind in enumerate(_KINDS) if (kind[0] or "").lower() == tag.lower()}
        if (subject := query.get("subject")) is not None:
            kinds &= {k for k, kind in enumerate(_KINDS) if subject.lower() in kind[1].lower()}
        if len(kinds) < len(_KINDS):
            tests.append(lambda m: m.kind in kinds)
        if (status := query.get("status")) is not None:
            wanted = _STATUS_FILTER.get(status.lower())
            if wanted is None:
                raise _Reject(422, 700, "The 'status' parameter must be queued, sent or processed.")
            tests.append(lambda m: m.status in wanted)
        tests.extend(
            _metadata_test(name[9:], value)
            for name, value in query.items()
            if name.startswith("metadata_")
        )
        key = ("messages", stream, *sorted(i for i in query.items() if i[0] not in _NOT_FILTERS))
        return self._selection(key, self._messages[stream], query, tests)

    def _search_events(
        self, kind: str, query: Mapping[str, str]
    ) -> tuple[Sequence[_Open | _Click], int, int]:
        stream = _stream(query)
        profiles_pool: Sequence[tuple[Any, ...]] = (
            _OPEN_PROFILES if kind == "opens" else _CLICK_PROFILES
        )
        tests: list[Callable[[_Open | _Click], bool]] = []
        if (recipient := query.get("recipient")) is not None:
            who = self._pool_index.get(recipient.lower(), -1)
            tests.append(lambda r: r.rcpt == who)
        if (tag := query.get("tag")) is not None:
            kinds = {k for k, each in enumerate(_KINDS) if (each[0] or "").lower() == tag.lower()}
            tests.append(lambda r: r.msg.kind in kinds)
        profiles = _matching(profiles_pool, query, _PROFILE_FIELDS)
        if profiles is not None:
            tests.append(lambda r: r.profile in profiles)
        geos = _matching(_GEOS, query, _GEO_FIELDS)
        if geos is not None:
            tests.append(lambda r: r.geo in geos)
        base: Sequence[Any] = (self._opens if kind == "opens" else self._clicks)[stream]
        key = (kind, stream, *sorted(i for i in query.items() if i[0] not in _NOT_FILTERS))
        return self._selection(key, base, query, tests)


_STATUS_FILTER: Final = {
    "queued": frozenset({"Queued"}),
    "sent": frozenset({"Sent", "Processed"}),
    "processed": frozenset({"Sent", "Processed"}),
}
_NOT_FILTERS: Final = frozenset({"count", "offset", "fromdate", "todate"})
_PROFILE_FIELDS: Final = {
    "client_name": 0,
    "client_company": 1,
    "client_family": 2,
    "os_name": 3,
    "os_company": 4,
    "os_family": 5,
    "platform": 6,
}
_GEO_FIELDS: Final = {"country": 1, "region": 3, "city": 4}


def _normalise(pairs: Any) -> dict[str, str]:
    """Lower-case query keys (the last value wins), keeping the case of metadata keys."""
    query: dict[str, str] = {}
    for key, value in pairs:
        lowered = key.lower()
        query["metadata_" + key[9:] if lowered.startswith("metadata_") else lowered] = value
    return query


def _metadata_test(key: str, value: str) -> Callable[[_Message], bool]:
    return lambda m: m.metadata is not None and m.metadata.get(key) == value


def _stream(query: Mapping[str, str]) -> str:
    stream = query.get("messagestream", "outbound")
    if stream not in STREAMS:
        raise _Reject(422, 1226, "The message stream for the provided 'ID' was not found.")
    return stream


def _bounds(base: Sequence[Any], query: Mapping[str, str]) -> tuple[int, int]:
    """Return the slice of newest-first *base* within ``fromdate``..``todate``."""
    lo, hi = 0, len(base)
    if (text := query.get("todate")) is not None:
        lo = bisect.bisect_left(base, -_parse_bound("todate", text, upper=True), key=_neg_ticks)
    if (text := query.get("fromdate")) is not None:
        hi = bisect.bisect_right(base, -_parse_bound("fromdate", text, upper=False), key=_neg_ticks)
    return lo, max(lo, hi)


def _page(
    name: str,
    found: tuple[Sequence[Any], int, int],
    paging: tuple[int, int],
    render: Callable[[Any], bytes],
) -> bytes:
    """Render one page of the records ``seq[lo:hi]`` as ``{"TotalCount": …, name: […]}``."""
    seq, lo, hi = found
    count, offset = paging
    start = lo + offset
    items = b",".join(render(r) for r in seq[start : min(hi, start + count)])
    return b'{"TotalCount":%d,"%s":[%s]}' % (hi - lo, name.encode(), items)


def _matching(
    pool: Sequence[tuple[str, ...]], query: Mapping[str, str], fields: Mapping[str, int]
) -> set[int] | None:
    """Return the indices of *pool* rows matching every column filter, or ``None``."""
    found: set[int] | None = None
    for name, column in fields.items():
        wanted = query.get(name)
        if wanted is not None:
            hits = {i for i, row in enumerate(pool) if row[column].lower() == wanted.lower()}
            found = hits if found is None else found & hits
    return found
