"""Requests and results of the GetResponse methods this library reads, without any I/O.

Argument checks happen here too, so the API methods can validate everything before the
first request: conditions are built from validated values only, with the uppercase
operators GetResponse requires.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final

import attrs
import cattrs

from .._convert import structure
from .._fanout import Failure, Success
from .._http import Request, Response, SecretBody
from .._text import check_encodable
from .._validate import check_str
from ..exceptions import DecodeError, excerpt
from ._convert import CONVERTER
from ._jsonrpc import (
    MAX_REQUEST_BYTES,
    ApiKey,
    batch_size_bytes,
    decode_batch,
    decode_reply,
    encode_batch,
    encode_call,
)
from .models import Grouping, Link, Message, MessageStatsSeries, MessageType, PeriodStats, TimeRange

#: One message's stats, or the error that stopped them.
StatsOutcome = Success[str, MessageStatsSeries] | Failure[str, MessageStatsSeries]

#: The request path, relative to the base URL: the endpoint is the base URL itself.
RPC_PATH: Final = ""
GET_MESSAGE_STATS: Final = "get_message_stats"
GET_MESSAGES: Final = "get_messages"
GET_LINKS: Final = "get_links"

#: The text operators, which GetResponse only understands in uppercase.
TEXT_OPERATORS: Final = frozenset({"EQUALS", "NOT_EQUALS", "CONTAINS", "NOT_CONTAINS", "MATCHES"})
#: The time operators and the :class:`TimeRange` field each one fills.
TIME_OPERATORS: Final[Mapping[str, str]] = {"FROM": "from_", "TO": "to", "AT": "at"}

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# How each grouping writes its period keys, and what completes a key into a timestamp.
_PERIOD_FORMS: Final[Mapping[Grouping, tuple[re.Pattern[str], str]]] = {
    Grouping.HOURLY: (re.compile(r"\d{4}-\d{2}-\d{2} \d{2}"), ":00"),
    Grouping.DAILY: (_DAY, ""),
    Grouping.MONTHLY: (re.compile(r"\d{4}-\d{2}"), "-01"),
    Grouping.YEARLY: (re.compile(r"\d{4}"), "-01-01"),
}


def endpoint(method: str, *, batch: bool = False) -> str:
    """Return the endpoint label of a call (or a batch of calls) of *method*."""
    return f"POST {method} (batch)" if batch else f"POST {method}"


# -- arguments -------------------------------------------------------------------------


def check_id(value: object, name: str) -> str:
    """Return *value* if it is a non-empty string, else raise TypeError/ValueError."""
    return check_encodable(name, check_str(name, value))


def check_ids(value: object, name: str) -> list[str]:
    """Return a non-empty iterable of IDs as a list (a bare string is refused)."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        msg = f"{name} must be an iterable of ID strings, got {type(value).__name__}"
        raise TypeError(msg)
    ids = [check_id(item, f"each of {name}") for item in value]
    if not ids:
        msg = f"{name} must name at least one ID"
        raise ValueError(msg)
    return ids


def check_grouping(value: object) -> Grouping:
    """Return *value* as a :class:`Grouping` (its member or its lowercase string)."""
    if not isinstance(value, str):
        msg = f"grouping must be a Grouping or str, got {type(value).__name__}"
        raise TypeError(msg)
    try:
        return Grouping(value)
    except ValueError:
        known = ", ".join(g.value for g in Grouping)
        msg = f"grouping must be one of {known}; got {value!r}"
        raise ValueError(msg) from None


def _day(value: object, name: str) -> date:
    if isinstance(value, str):
        if not _DAY.fullmatch(value):
            msg = f"{name} must be a date or 'YYYY-MM-DD', got {value!r}"
            raise ValueError(msg)
        return date.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    msg = f"{name} must be a date or 'YYYY-MM-DD', got {type(value).__name__}"
    raise TypeError(msg)


def time_range(value: object, name: str) -> TimeRange:
    """Return a :class:`TimeRange`, or one read from a mapping like ``{"FROM": "2024-01-01"}``.

    The mapping's keys are the operators ``FROM``, ``TO`` and ``AT``, in uppercase as
    GetResponse requires; its values are dates or ``YYYY-MM-DD`` strings.
    """
    if isinstance(value, TimeRange):
        return value
    if not isinstance(value, Mapping):
        msg = f"{name} must be a TimeRange or a mapping of time operators"
        raise TypeError(msg)
    bounds: dict[str, date] = {}
    for operator, bound in value.items():
        field = TIME_OPERATORS.get(operator) if isinstance(operator, str) else None
        if field is None:
            hint = " (operators are uppercase)" if str(operator).upper() in TIME_OPERATORS else ""
            msg = f"{name}: unknown time operator {operator!r}{hint}; use FROM, TO or AT"
            raise ValueError(msg)
        bounds[field] = _day(bound, f"{name}[{operator!r}]")
    return TimeRange(**bounds)


def time_condition(value: object, name: str) -> dict[str, str]:
    """Return the wire form of a time condition, e.g. ``{"FROM": "2024-01-01"}``."""
    checked = time_range(value, name)
    return {
        operator: getattr(checked, field).isoformat()
        for operator, field in TIME_OPERATORS.items()
        if getattr(checked, field) is not None
    }


def text_condition(value: object, name: str) -> dict[str, str]:
    """Return the wire form of a text condition: a string means ``EQUALS``."""
    if isinstance(value, str):
        return {"EQUALS": check_encodable(name, value)}
    if not isinstance(value, Mapping):
        msg = f"{name} must be a str or a mapping of text operators, got {type(value).__name__}"
        raise TypeError(msg)
    if not value:
        msg = f"{name} needs at least one operator"
        raise ValueError(msg)
    condition: dict[str, str] = {}
    for operator, text in value.items():
        if operator not in TEXT_OPERATORS:
            upper = str(operator).upper()
            hint = " (operators are uppercase)" if upper in TEXT_OPERATORS else ""
            known = ", ".join(sorted(TEXT_OPERATORS))
            msg = f"{name}: unknown text operator {operator!r}{hint}; use one of {known}"
            raise ValueError(msg)
        if not isinstance(text, str):
            msg = f"{name}[{operator!r}] must be a str, got {type(text).__name__}"
            raise TypeError(msg)
        condition[operator] = check_encodable(f"{name}[{operator!r}]", text)
    return condition


def stats_conditions(
    message_id: str, *, grouping: Grouping, created_on: Mapping[str, str] | None
) -> dict[str, Any]:
    """Return the conditions of ``get_message_stats`` from checked values."""
    conditions: dict[str, Any] = {"message": message_id, "grouping": grouping.value}
    if created_on is not None:
        conditions["created_on"] = created_on
    return conditions


def messages_conditions(
    *,
    campaigns: object = None,
    type: object = None,  # noqa: A002 - GetResponse's name for the condition
    subject: object = None,
    name: object = None,
    created_on: object = None,
    send_on: object = None,
) -> dict[str, Any]:
    """Check the arguments of ``get_messages`` and return its conditions."""
    conditions: dict[str, Any] = {}
    if campaigns is not None:
        conditions["campaigns"] = check_ids(campaigns, "campaigns")
    if type is not None:
        if not isinstance(type, str):
            msg = f"type must be a MessageType or str, got {type.__class__.__name__}"
            raise TypeError(msg)
        known_types = [t.value for t in MessageType]
        if type not in known_types:
            known = ", ".join(known_types)
            msg = f"type must be one of {known}; got {type!r}"
            raise ValueError(msg)
        conditions["type"] = str(type)
    if subject is not None:
        conditions["subject"] = text_condition(subject, "subject")
    if name is not None:
        conditions["name"] = text_condition(name, "name")
    if created_on is not None:
        conditions["created_on"] = time_condition(created_on, "created_on")
    if send_on is not None:
        conditions["send_on"] = time_condition(send_on, "send_on")
    return conditions


def links_conditions(*, messages: object = None, url: object = None) -> dict[str, Any]:
    """Check the arguments of ``get_links`` and return its conditions."""
    conditions: dict[str, Any] = {}
    if messages is not None:
        conditions["messages"] = check_ids(messages, "messages")
    if url is not None:
        conditions["url"] = text_condition(url, "url")
    return conditions


# -- requests --------------------------------------------------------------------------


def call_request(
    method: str, api_key: ApiKey | str, conditions: Mapping[str, Any] | None, *, call_id: int
) -> Request:
    """Return the request of one call; empty *conditions* send ``[API_KEY]`` alone."""
    body = encode_call(method, api_key, conditions or None, call_id=call_id)
    return Request("POST", RPC_PATH, body=body, endpoint=endpoint(method))


@attrs.frozen
class Batch:
    """Encoded ``get_message_stats`` calls sent together as one JSON-RPC batch."""

    message_ids: tuple[str, ...]
    call_ids: tuple[int, ...]
    body: SecretBody = attrs.field(repr=False)

    def request(self) -> Request:
        """Return the HTTP request that sends this batch."""
        label = endpoint(GET_MESSAGE_STATS, batch=True)
        return Request("POST", RPC_PATH, body=self.body, endpoint=label)


class BatchPacker:
    """Group encoded calls into batches of at most *max_calls* calls and *max_bytes* bytes."""

    def __init__(self, *, max_calls: int, max_bytes: int = MAX_REQUEST_BYTES) -> None:
        self._max_calls = max_calls
        self._max_bytes = max_bytes
        self._calls: list[SecretBody] = []
        self._message_ids: list[str] = []
        self._call_ids: list[int] = []
        self._size = batch_size_bytes(())

    def add(self, message_id: str, call_id: int, call: SecretBody) -> list[Batch]:
        """Add one call; return the batches that became full (none, or one).

        Raises:
            ValueError: The call alone is larger than a request may be.
        """
        if batch_size_bytes((len(call),)) > self._max_bytes:
            msg = f"a call for message {message_id[:40]!r}… exceeds {self._max_bytes} bytes"
            raise ValueError(msg)
        full: list[Batch] = []
        if self._calls and self._size + 1 + len(call) > self._max_bytes:
            full.extend(self.flush())
        self._size += len(call) + (1 if self._calls else 0)
        self._calls.append(call)
        self._message_ids.append(message_id)
        self._call_ids.append(call_id)
        if len(self._calls) >= self._max_calls:
            full.extend(self.flush())
        return full

    def flush(self) -> list[Batch]:
        """Return the calls gathered so far as a batch (none if there are none)."""
        if not self._calls:
            return []
        batch = Batch(tuple(self._message_ids), tuple(self._call_ids), encode_batch(self._calls))
        self._calls, self._message_ids, self._call_ids = [], [], []
        self._size = batch_size_bytes(())
        return [batch]


# -- results ---------------------------------------------------------------------------


def _keyed(result: Any, what: str, label: str) -> Mapping[str, Any]:
    # PHP encodes an empty associative array as [], so an empty result may be a list.
    if type(result) is dict:
        return result
    if isinstance(result, list) and not result:
        return {}
    if not isinstance(result, Mapping):
        msg = f"{what} result is not an object keyed by ID but {type(result).__name__}"
        raise DecodeError(msg, endpoint=label, body=excerpt(result, 200, marker=""))
    return result


def _fields(value: Any, key: str, label: str) -> Mapping[str, Any]:
    if type(value) is not dict and not isinstance(value, Mapping):
        msg = f"the entry for {key!r} is not an object but {type(value).__name__}"
        raise DecodeError(msg, endpoint=label)
    return value


#: How many period starts each grouping remembers (the memory empties when full).
STARTS_LIMIT: Final = 2048


def _start_reader(grouping: Grouping) -> Callable[[str], datetime]:
    """Return the function reading *grouping*'s period keys, remembering what it read.

    The messages of a campaign share their hours and days, so the series of a batch
    repeat the same keys; a start already read is returned without reading it again.
    """
    pattern, completion = _PERIOD_FORMS[grouping]
    known: dict[str, datetime] = {}

    def start_of(period: str) -> datetime:
        start = known.get(period)
        if start is not None:
            return start
        if type(period) is not str or not pattern.fullmatch(period):
            msg = f"period {period!r} is not a {grouping.value} period key"
            raise ValueError(msg)
        start = datetime.fromisoformat(period + completion)
        if len(known) >= STARTS_LIMIT:
            known.clear()
        known[period] = start
        return start

    start_of.known = known  # type: ignore[attr-defined]
    return start_of


_START_OF: Final[Mapping[Grouping, Callable[[str], datetime]]] = {
    grouping: _start_reader(grouping) for grouping in Grouping
}


def period_start(period: str, grouping: Grouping) -> datetime:
    """Return the naive start of a stats period key written the *grouping*'s way."""
    return _START_OF[grouping](period)


def stats_series(
    result: Any,
    *,
    message_id: str,
    grouping: Grouping,
    converter: cattrs.Converter = CONVERTER,
) -> MessageStatsSeries:
    """Return the series in a ``get_message_stats`` result, its periods oldest first."""
    label = endpoint(GET_MESSAGE_STATS)
    hook = converter.get_structure_hook(PeriodStats)
    start_of = _START_OF[grouping]
    periods = []
    for period, counters in _keyed(result, GET_MESSAGE_STATS, label).items():
        try:
            start = start_of(period)
        except ValueError as exc:
            raise DecodeError(str(exc), endpoint=label) from None
        data = {**_fields(counters, period, label), "period": period, "start": start}
        try:
            stats = hook(data, PeriodStats)
        except Exception:  # noqa: BLE001 - structured again below for the precise error
            stats = structure(converter, data, PeriodStats, endpoint=label)
        periods.append(stats)
    periods.sort(key=lambda p: p.start)
    return MessageStatsSeries(message_id=message_id, grouping=grouping, periods=tuple(periods))


def message_list(result: Any, *, converter: cattrs.Converter = CONVERTER) -> list[Message]:
    """Return the messages of a ``get_messages`` result, in the order given."""
    label = endpoint(GET_MESSAGES)
    return [
        structure(converter, {**_fields(fields, key, label), "id": key}, Message, endpoint=label)
        for key, fields in _keyed(result, GET_MESSAGES, label).items()
    ]


def link_list(result: Any, *, converter: cattrs.Converter = CONVERTER) -> list[Link]:
    """Return the links of a ``get_links`` result, in the order given."""
    label = endpoint(GET_LINKS)
    return [
        structure(converter, {**_fields(fields, key, label), "id": key}, Link, endpoint=label)
        for key, fields in _keyed(result, GET_LINKS, label).items()
    ]


def decode_result(
    response: Response, *, method: str, call_id: int, secrets: Collection[str] = ()
) -> Any:
    """Return the ``result`` of a single call of *method*, or raise its error."""
    return decode_reply(response, call_id=call_id, endpoint=endpoint(method), secrets=secrets)


def decode_stats_batch(
    response: Response,
    *,
    batch: Batch,
    grouping: Grouping,
    secrets: Collection[str] = (),
    converter: cattrs.Converter = CONVERTER,
) -> list[StatsOutcome]:
    """Return one outcome per call of *batch*, in the batch's order.

    A call's own error (``Missing message``, a result that does not fit) becomes its
    outcome's ``error``; an error about the whole reply is raised.
    """
    replies = decode_batch(
        response,
        call_ids=batch.call_ids,
        endpoint=endpoint(GET_MESSAGE_STATS, batch=True),
        secrets=secrets,
    )
    outcomes: list[StatsOutcome] = []
    for message_id, call_id in zip(batch.message_ids, batch.call_ids, strict=True):
        reply = replies[call_id]
        if reply.error is not None:
            outcomes.append(Failure(message_id, error=reply.error))
            continue
        try:
            series = stats_series(
                reply.result, message_id=message_id, grouping=grouping, converter=converter
            )
        except DecodeError as exc:
            outcomes.append(Failure(message_id, error=exc))
        else:
            outcomes.append(Success(message_id, series))
    return outcomes
