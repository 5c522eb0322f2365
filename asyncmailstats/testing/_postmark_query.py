"""Query parsing and searching for the fake Postmark server.

Query keys are normalised once (:func:`normalise`); dates become tick bounds found by
bisection in the newest-first lists, other filters become record tests, and filtered
selections are cached on the dataset by query. A search returns ``(records, lo, hi)``:
the matches are ``records[lo:hi]``, newest first, without copying an unfiltered list.
Requests Postmark would refuse raise :class:`Reject`.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from ._postmark_data import (
    CLICK_PROFILES,
    EASTERN,
    GEOS,
    KINDS,
    OPEN_PROFILES,
    SENDERS,
    STREAMS,
    ClickRecord,
    MessageRecord,
    OpenRecord,
    R,
    midnight,
    neg_ticks,
    to_ticks,
)

if TYPE_CHECKING:
    from ._postmark_dataset import PostmarkDataset

MAX_COUNT: Final = 500
OFFSET_CEILING: Final = 10_000
#: Query keys that page or bound a search rather than filter it.
NOT_FILTERS: Final = frozenset({"count", "offset", "fromdate", "todate"})

F = TypeVar("F")
#: What a search returns: the matches are ``records[lo:hi]``.
Found = tuple[Sequence[F], int, int]


class Reject(Exception):  # noqa: N818 - an answer, not a failure of the fake
    """A request Postmark would refuse with HTTP *status* and an ``ErrorCode``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# -- parsing -------------------------------------------------------------------------------


def normalise(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-case query keys (the last value wins), keeping the case of metadata keys."""
    query: dict[str, str] = {}
    for key, value in pairs:
        lowered = key.lower()
        query["metadata_" + key[9:] if lowered.startswith("metadata_") else lowered] = value
    return query


def parse_day(name: str, value: str, code: int) -> dt.date:
    """Read a ``YYYY-MM-DD`` parameter, refusing anything else with ErrorCode *code*."""
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Reject(422, code, f"The '{name}' parameter must be a date (YYYY-MM-DD).") from None


def _parse_bound(name: str, value: str, *, upper: bool) -> int:
    """Return the tick a ``fromdate``/``todate`` covers (inclusive), read as Eastern time."""
    if len(value) == 10:
        day = parse_day(name, value, 700)
        return midnight(day + dt.timedelta(days=1)) - 1 if upper else midnight(day)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is not None:
        msg = f"The '{name}' parameter must be an Eastern date or date-time without offset."
        raise Reject(422, 700, msg)
    return to_ticks(moment.replace(tzinfo=EASTERN))


def page_args(query: Mapping[str, str]) -> tuple[int, int]:
    """Return the ``(count, offset)`` of a list request, as Postmark checks them."""
    values = []
    for name in ("count", "offset"):
        text = query.get(name)
        if text is None:
            raise Reject(422, 700, f"The '{name}' parameter is required.")
        try:
            values.append(int(text))
        except ValueError:
            raise Reject(422, 700, f"The '{name}' parameter must be an integer.") from None
    count, offset = values
    if not 1 <= count <= MAX_COUNT:
        raise Reject(422, 700, f"The 'count' parameter must be between 1 and {MAX_COUNT}.")
    if offset < 0:
        raise Reject(422, 700, "The 'offset' parameter must not be negative.")
    if count + offset > OFFSET_CEILING:
        msg = f"The sum of 'count' and 'offset' cannot exceed {OFFSET_CEILING}."
        raise Reject(422, 700, msg)
    return count, offset


def stream_of(query: Mapping[str, str]) -> str:
    """Return the ``messagestream`` a query asks for (``outbound`` by default)."""
    stream = query.get("messagestream", "outbound")
    if stream not in STREAMS:
        raise Reject(422, 1226, "The message stream for the provided 'ID' was not found.")
    return stream


# -- searching -----------------------------------------------------------------------------


def message_or_reject(data: PostmarkDataset, message_id: str) -> MessageRecord:
    """Return the message with *message_id*, or refuse the request as Postmark does."""
    message = data.by_id.get(message_id)
    if message is None:
        raise Reject(422, 701, "This message was not found.")
    return message


def _bounds(base: Sequence[Any], query: Mapping[str, str]) -> tuple[int, int]:
    """Return the slice of newest-first *base* within ``fromdate``..``todate``."""
    lo, hi = 0, len(base)
    if (text := query.get("todate")) is not None:
        lo = bisect.bisect_left(base, -_parse_bound("todate", text, upper=True), key=neg_ticks)
    if (text := query.get("fromdate")) is not None:
        hi = bisect.bisect_right(base, -_parse_bound("fromdate", text, upper=False), key=neg_ticks)
    return lo, max(lo, hi)


def _select(
    data: PostmarkDataset,
    key: tuple[Any, ...],
    base: Sequence[R],
    query: Mapping[str, str],
    tests: list[Callable[[R], bool]],
) -> Found[R]:
    lo, hi = _bounds(base, query)
    if not tests:
        return base, lo, hi
    key = (*key, lo, hi)
    cache = data.selections
    found = cache.get(key)
    if found is None:
        found = [r for r in base[lo:hi] if all(test(r) for test in tests)]
        if len(cache) >= 64:
            cache.pop(next(iter(cache)))
        cache[key] = found
    return found, 0, len(found)


def _kinds_matching(query: Mapping[str, str]) -> set[int]:
    kinds = set(range(len(KINDS)))
    if (sender := query.get("fromemail")) is not None:
        kinds &= {k for k, kind in enumerate(KINDS) if SENDERS[kind[2]][1] == sender.lower()}
    if (tag := query.get("tag")) is not None:
        kinds &= {k for k, kind in enumerate(KINDS) if (kind[0] or "").lower() == tag.lower()}
    if (subject := query.get("subject")) is not None:
        kinds &= {k for k, kind in enumerate(KINDS) if subject.lower() in kind[1].lower()}
    return kinds


def search_messages(data: PostmarkDataset, query: Mapping[str, str]) -> Found[MessageRecord]:
    """Run the messages search (``/messages/outbound``) for a normalised *query*."""
    stream = stream_of(query)
    tests: list[Callable[[MessageRecord], bool]] = []
    if (recipient := query.get("recipient")) is not None:
        who = data.pool_index.get(recipient.lower(), -1)
        tests.append(lambda m: who in m.to or who in m.cc or who in m.bcc)
    kinds = _kinds_matching(query)
    if len(kinds) < len(KINDS):
        tests.append(lambda m: m.kind in kinds)
    if (status := query.get("status")) is not None:
        wanted = _STATUS_FILTER.get(status.lower())
        if wanted is None:
            raise Reject(422, 700, "The 'status' parameter must be queued, sent or processed.")
        tests.append(lambda m: m.status in wanted)
    tests.extend(
        _metadata_test(name[9:], value)
        for name, value in query.items()
        if name.startswith("metadata_")
    )
    key = ("messages", stream, *sorted(i for i in query.items() if i[0] not in NOT_FILTERS))
    return _select(data, key, data.messages[stream], query, tests)


def search_events(
    data: PostmarkDataset, kind: str, query: Mapping[str, str]
) -> Found[OpenRecord | ClickRecord]:
    """Run the opens or clicks search (*kind*: ``opens`` or ``clicks``) for *query*."""
    stream = stream_of(query)
    profiles_pool: Sequence[tuple[Any, ...]] = OPEN_PROFILES if kind == "opens" else CLICK_PROFILES
    tests: list[Callable[[OpenRecord | ClickRecord], bool]] = []
    if (recipient := query.get("recipient")) is not None:
        who = data.pool_index.get(recipient.lower(), -1)
        tests.append(lambda r: r.rcpt == who)
    if (tag := query.get("tag")) is not None:
        kinds = {k for k, each in enumerate(KINDS) if (each[0] or "").lower() == tag.lower()}
        tests.append(lambda r: r.msg.kind in kinds)
    profiles = _matching(profiles_pool, query, _PROFILE_FIELDS)
    if profiles is not None:
        tests.append(lambda r: r.profile in profiles)
    geos = _matching(GEOS, query, _GEO_FIELDS)
    if geos is not None:
        tests.append(lambda r: r.geo in geos)
    base: Sequence[Any] = (data.opens if kind == "opens" else data.clicks)[stream]
    key = (kind, stream, *sorted(i for i in query.items() if i[0] not in NOT_FILTERS))
    return _select(data, key, base, query, tests)


def unpaged(
    search: Callable[[dict[str, str]], Found[Any]], params: Mapping[str, str] | None
) -> Sequence[Any]:
    """Run *search* for *params* given from Python, unpaged: a refusal is a ``ValueError``."""
    try:
        seq, lo, hi = search(normalise((params or {}).items()))
    except Reject as exc:
        raise ValueError(exc.message) from None
    return seq[lo:hi]


def page(
    name: str, found: Found[Any], paging: tuple[int, int], render: Callable[[Any], bytes]
) -> bytes:
    """Render one page of the records ``seq[lo:hi]`` as ``{"TotalCount": …, name: […]}``."""
    seq, lo, hi = found
    count, offset = paging
    start = lo + offset
    items = b",".join(render(r) for r in seq[start : min(hi, start + count)])
    return b'{"TotalCount":%d,"%s":[%s]}' % (hi - lo, name.encode(), items)


_STATUS_FILTER: Final = {
    "queued": frozenset({"Queued"}),
    "sent": frozenset({"Sent", "Processed"}),
    "processed": frozenset({"Sent", "Processed"}),
}
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


def _metadata_test(key: str, value: str) -> Callable[[MessageRecord], bool]:
    return lambda m: m.metadata is not None and m.metadata.get(key) == value


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
