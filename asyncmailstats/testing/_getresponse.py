"""A fake GetResponse API 1.5 (JSON-RPC) over a seeded synthetic dataset.

The dataset is plain and public so tests can compute the answer they expect on their
own: :attr:`FakeGetResponse.messages` (message ID → the fields ``get_messages`` returns),
:attr:`FakeGetResponse.hourly_stats` (message ID → ``"YYYY-MM-DD HH"`` → the 19
counters) and :attr:`FakeGetResponse.links`; the same truth as the library's models
comes from :meth:`~FakeGetResponse.message_models`, :meth:`~FakeGetResponse.link_models`
and :meth:`~FakeGetResponse.stats_models`. Timestamps are written as GetResponse writes
them, without an offset; they are UTC. Where the real API's behaviour is undocumented
the fake makes a choice and states it:

* every grouping of ``get_message_stats`` is summed from the hourly data, and a period
  is listed only when one of its counters is positive;
* an empty result is ``[]``, as PHP encodes an empty associative array;
* replies to a batch come in a shuffled (seeded) order, which JSON-RPC allows;
* ``CONTAINS``/``NOT_CONTAINS`` match the whole text as an SQL ``LIKE`` pattern
  (``%`` any text, ``_`` one character), case-insensitively, as do ``EQUALS`` and
  ``NOT_EQUALS`` literally; ``MATCHES`` is a regular-expression search; a ``null`` name
  matches no text condition;
* ``created_on`` of ``get_message_stats`` is checked for syntax but filters nothing;
* unknown conditions, lowercase operators and malformed values are ``Invalid params``
  (code -32602); a body over 1 MiB gets HTTP 413.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Final

from aiohttp import web

from ..getresponse._wire import link_list, message_list, stats_series
from ..getresponse.models import Grouping, Link, Message, MessageStatsSeries
from ._faults import utc_now
from ._getresponse_data import _TYPES, GROUPING_KEY_LENGTH, STATS_KEYS, _generate
from ._server import FakeServer, FaultPlan

_DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_TEXT_OPERATORS: Final = frozenset({"EQUALS", "NOT_EQUALS", "CONTAINS", "NOT_CONTAINS", "MATCHES"})
_TIME_OPERATORS: Final = frozenset({"FROM", "TO", "AT"})


class _RPCError(Exception):
    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def _invalid(data: str) -> _RPCError:
    return _RPCError(-32602, "Invalid params", data)


def _text_test(condition: object, what: str) -> Callable[[str | None], bool]:
    """Check a text condition and return the test it makes of a value."""
    if isinstance(condition, str):
        condition = {"EQUALS": condition}
    if not isinstance(condition, dict) or not condition:
        raise _invalid(f"{what} must be a text condition")
    checks: list[tuple[bool, Callable[[str], object]]] = []
    for operator, text in condition.items():
        if operator not in _TEXT_OPERATORS or not isinstance(text, str):
            raise _invalid(f"{what}: bad text operator {operator!r}")
        if operator == "MATCHES":
            source, flags = text, 0
        elif operator.endswith("EQUALS"):
            source, flags = re.escape(text), re.IGNORECASE
        else:  # an SQL LIKE pattern
            source = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in text)
            flags = re.IGNORECASE | re.DOTALL
        try:
            pattern = re.compile(source, flags)
        except re.error:
            raise _invalid(f"{what}: bad pattern {text!r}") from None
        find = pattern.search if operator == "MATCHES" else pattern.fullmatch
        checks.append((operator.startswith("NOT_"), find))

    def test(value: str | None) -> bool:
        if value is None:
            return False
        return all((find(value) is None) == negated for negated, find in checks)

    return test


def _time_test(condition: object, what: str) -> Callable[[str | None], bool]:
    """Check a time condition and return the test it makes of a timestamp."""
    if not isinstance(condition, dict) or not condition:
        raise _invalid(f"{what} must be a time condition")
    bounds: dict[str, date] = {}
    for operator, text in condition.items():
        if operator not in _TIME_OPERATORS or not isinstance(text, str) or not _DAY.fullmatch(text):
            raise _invalid(f"{what}: bad time operator {operator!r}")
        try:
            bounds[operator] = date.fromisoformat(text)
        except ValueError:
            raise _invalid(f"{what}: bad date {text!r}") from None
    # Operators combine with AND: AT is both a lower and an upper bound.
    low = max(bounds.get("FROM", date.min), bounds.get("AT", date.min))
    high = min(bounds.get("TO", date.max), bounds.get("AT", date.max))
    return lambda value: value is not None and low <= date.fromisoformat(value[:10]) <= high


def _id_list(conditions: Mapping[str, Any], key: str) -> set[str] | None:
    value = conditions.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(f"{key} must be an array of IDs")
    return set(value)


def _check_keys(conditions: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(conditions) - allowed
    if unknown:
        raise _invalid(f"unknown condition {min(unknown)!r}")


def _keyed(result: dict[str, Any]) -> dict[str, Any] | list[Any]:
    return result or []  # PHP writes an empty associative array as []


class FakeGetResponse(FakeServer):
    """A fake GetResponse API 1.5 JSON-RPC endpoint serving seeded messages and stats.

    It answers POST requests carrying JSON-RPC 2.0 calls, batches and 1.0-style calls
    (no ``"jsonrpc"`` member, answered in kind) for ``get_message_stats``,
    ``get_messages`` and ``get_links``. A call without ``id`` is a notification: when a
    request holds nothing else the answer is HTTP 204.

    Args:
        messages: How many messages to generate.
        seed: Seed of the dataset (and of the API key when none is given).
        latency: Seconds each request waits before it is answered.
        faults: Faults to inject; none when ``None``.
        api_key: The key clients must send; generated from *seed* when ``None``.
        now: The aware instant the dataset ends at; the current time (whole seconds)
            when ``None``. Wire timestamps are written as GetResponse writes them,
            ``YYYY-MM-DD HH:MM:SS`` without an offset, in UTC.
        shuffle_batches: Answer batches in a shuffled order.

    Example::

        async with FakeGetResponse(messages=500, seed=1) as fake:
            gr = session.getresponse(api_key=fake.api_key, base_url=fake.url)
    """

    def __init__(
        self,
        *,
        messages: int = 200,
        seed: int = 0,
        latency: float = 0.0,
        faults: FaultPlan | None = None,
        api_key: str | None = None,
        now: datetime | None = None,
        shuffle_batches: bool = True,
    ) -> None:
        if isinstance(messages, bool) or not isinstance(messages, int):
            raise TypeError("messages must be an int")
        if messages < 0:
            raise ValueError("messages must not be negative")
        utc = utc_now(now)
        super().__init__(latency=latency, faults=faults)
        self.now: datetime = utc.replace(microsecond=0)
        """The end of the period the dataset covers (aware, UTC)."""
        #: The key clients must send as the first JSON-RPC parameter.
        self.api_key = (
            api_key
            if api_key is not None
            else f"{random.Random(f'key-{seed}').getrandbits(128):032x}"
        )
        self.messages: dict[str, dict[str, Any]]
        """Message ID → the fields ``get_messages`` returns for it."""
        self.hourly_stats: dict[str, dict[str, dict[str, int]]]
        """Message ID → ``"YYYY-MM-DD HH"`` → the 19 counters (hours with activity only)."""
        self.links: dict[str, dict[str, Any]]
        """Link ID → the fields ``get_links`` returns for it."""
        # GetResponse writes its timestamps without an offset; they are UTC wall time.
        self.messages, self.hourly_stats, self.links = _generate(
            random.Random(seed), self.now.replace(tzinfo=None), messages
        )
        #: HTTP requests that reached the JSON-RPC handler.
        self.http_requests = 0
        #: JSON-RPC calls received, by method name.
        self.rpc_calls: Counter[str] = Counter()
        self._shuffle = random.Random(seed) if shuffle_batches else None
        self._methods: dict[str, Callable[[dict[str, Any]], Any]] = {
            "get_message_stats": self._message_stats,
            "get_messages": self._get_messages,
            "get_links": self._get_links,
        }

    def __repr__(self) -> str:
        return f"<FakeGetResponse {len(self.messages)} messages>"

    def routes(self) -> list[web.RouteDef]:
        """Return the one JSON-RPC endpoint."""
        return [web.post("/", self._handle)]

    def stats(self, message_id: str, grouping: str = "daily") -> dict[str, dict[str, int]]:
        """Return what ``get_message_stats`` answers for a known message, as a dict."""
        size = GROUPING_KEY_LENGTH[grouping]
        periods: dict[str, Counter[str]] = {}
        for hour, counters in self.hourly_stats[message_id].items():
            periods.setdefault(hour[:size], Counter()).update(counters)
        return {key: {k: counts[k] for k in STATS_KEYS} for key, counts in periods.items()}

    def message_models(self) -> dict[str, Message]:
        """Return :attr:`messages` as the library's models, keyed by message ID.

        Every message is there, drafts and A/B tests included (``get_messages`` lists
        only newsletters and autoresponders unless asked for a type). Each is decoded
        with the converter the GetResponse client uses.
        """
        return {message.id: message for message in message_list(self.messages)}

    def link_models(self) -> dict[str, Link]:
        """Return :attr:`links` as the library's models, keyed by link ID."""
        return {link.id: link for link in link_list(self.links)}

    def stats_models(
        self, message_id: str, grouping: Grouping | str = Grouping.DAILY
    ) -> MessageStatsSeries:
        """Return :meth:`stats` as the library's model: what ``message_stats`` returns.

        Raises:
            KeyError: The fake has no message *message_id*.
            ValueError: *grouping* is not ``hourly``, ``daily``, ``monthly`` or ``yearly``.
        """
        chosen = Grouping(grouping)
        result = _keyed(self.stats(message_id, chosen.value))
        return stats_series(result, message_id=message_id, grouping=chosen)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.http_requests += 1
        # aiohttp's default client_max_size is GetResponse's 1 MiB: larger bodies never
        # get here, they are answered with HTTP 413 when read.
        body = await request.read()
        try:
            payload = json.loads(body)
        except ValueError:
            error = {"code": -32700, "message": "Parse error"}
            return web.json_response({"jsonrpc": "2.0", "error": error, "id": None})
        if isinstance(payload, list):
            if not payload:
                error = {"code": -32600, "message": "Invalid Request"}
                return web.json_response({"jsonrpc": "2.0", "error": error, "id": None})
            replies = [r for r in map(self._answer, payload) if r is not None]
            if self._shuffle is not None:
                self._shuffle.shuffle(replies)
        else:
            replies = [r for r in [self._answer(payload)] if r is not None]
        if not replies:
            return web.Response(status=204)
        return web.json_response(replies if isinstance(payload, list) else replies[0])

    def _answer(self, call: object) -> dict[str, Any] | None:
        if not isinstance(call, dict) or not isinstance(call.get("method"), str):
            invalid = {"code": -32600, "message": "Invalid Request"}
            return {"jsonrpc": "2.0", "error": invalid, "id": None}
        self.rpc_calls[call["method"]] += 1
        result: Any = None
        error: dict[str, Any] | None = None
        try:
            result = self._run(call["method"], call.get("params"))
        except _RPCError as exc:
            error = {"code": exc.code, "message": exc.message}
            if exc.data is not None:
                error["data"] = exc.data
        if "id" not in call:
            return None
        if call.get("jsonrpc") == "2.0":
            member = {"error": error} if error is not None else {"result": result}
            return {"jsonrpc": "2.0", **member, "id": call["id"]}
        return {"result": result, "error": error, "id": call["id"]}

    def _run(self, method: str, params: object) -> Any:
        if not isinstance(params, list) or not 1 <= len(params) <= 2:
            raise _invalid("Attribute params must be reference to array")
        if params[0] != self.api_key:
            raise _RPCError(-1, "API key verification failed")
        handler = self._methods.get(method)
        if handler is None:
            raise _RPCError(-32601, "Method not found")
        conditions = params[1] if len(params) == 2 else {}
        if not isinstance(conditions, dict):
            raise _invalid("Attribute params must be reference to hash")
        return handler(conditions)

    def _message_stats(self, conditions: dict[str, Any]) -> Any:
        _check_keys(conditions, {"message", "grouping", "created_on"})
        message_id = conditions.get("message")
        grouping = conditions.get("grouping", "daily")
        if not isinstance(message_id, str) or grouping not in GROUPING_KEY_LENGTH:
            raise _invalid("message must be an ID; grouping hourly, daily, monthly or yearly")
        if "created_on" in conditions:
            _time_test(conditions["created_on"], "created_on")
        if message_id not in self.messages:
            raise _RPCError(-1, "Missing message")
        return _keyed(self.stats(message_id, grouping))

    def _get_messages(self, conditions: dict[str, Any]) -> Any:
        allowed = {"campaigns", "type", "subject", "name", "created_on", "send_on"}
        _check_keys(conditions, allowed)
        campaigns = _id_list(conditions, "campaigns")
        kind = conditions.get("type")
        if kind is not None and kind not in _TYPES:
            raise _invalid("type must be newsletter, autoresponder, ab_test or draft")
        kinds = {kind} if kind is not None else {"newsletter", "autoresponder"}
        tests = [
            (key, make(conditions[key], key))
            for key, make in (
                ("subject", _text_test),
                ("name", _text_test),
                ("created_on", _time_test),
                ("send_on", _time_test),
            )
            if key in conditions
        ]
        return _keyed(
            {
                message_id: record
                for message_id, record in self.messages.items()
                if record["type"] in kinds
                and (campaigns is None or record["campaign"] in campaigns)
                and all(test(record.get(key)) for key, test in tests)
            }
        )

    def _get_links(self, conditions: dict[str, Any]) -> Any:
        _check_keys(conditions, {"messages", "url"})
        messages = _id_list(conditions, "messages")
        url = _text_test(conditions["url"], "url") if "url" in conditions else None
        return _keyed(
            {
                link_id: link
                for link_id, link in self.links.items()
                if (messages is None or link["message"] in messages)
                and (url is None or url(link["url"]))
            }
        )
