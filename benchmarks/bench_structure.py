"""Structuring: records per second from response bytes to objects, in one process.

The bytes are real pages from the fakes' datasets (500 opens, 500 clicks, 500 outbound
messages; one GetResponse hourly ``get_message_stats`` reply). asyncmailstats runs its
production decoders (``postmark._wire.OPENS.decode`` and its siblings on a ``Response``;
for GetResponse ``decode_result`` then ``stats_series``, what ``message_stats()`` does).
The floor is parsing alone (``json.loads`` / ``orjson.loads``). The official SDK does
what its list methods do: ``response.json()`` (``json.loads``) then ``Model(**record)`` per record.
postmarker wraps each dict in an attribute bag without validation.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from typing import Any

import orjson
from _harness import Table, call_times
from postmark.models.outbound.schemas import ClickEvent, Message, OpenEvent
from postmarker.models.base import Model as PostmarkerModel

from asyncmailstats._http import Response
from asyncmailstats.getresponse import Grouping
from asyncmailstats.getresponse._wire import decode_result, stats_series
from asyncmailstats.postmark import _wire
from asyncmailstats.testing import FakeGetResponse, FakePostmark

PAGE = 500
AMS = "asyncmailstats decode"
ORJSON = "orjson.loads only"
SDK = "official SDK json + pydantic"
_JSON = {"content-type": "application/json; charset=utf-8"}


def postmark_pages(seed: int = 7) -> dict[str, bytes]:
    """Return one page of 500 opens, clicks and messages as Postmark sends them."""
    fake = FakePostmark(messages=4000, seed=seed)
    pages = {}
    for key, view in (("Opens", fake.opens), ("Clicks", fake.clicks), ("Messages", fake.messages)):
        records = view[:PAGE]
        if len(records) < PAGE:
            msg = f"the fake has only {len(records)} {key.lower()}"
            raise RuntimeError(msg)
        pages[key] = orjson.dumps({"TotalCount": len(view), key: records})
    return pages


def stats_reply(seed: int = 7) -> tuple[bytes, str, int]:
    """Return the hourly ``get_message_stats`` reply with the most periods in the fake."""
    fake = FakeGetResponse(messages=60, seed=seed)
    message_id = max(fake.messages, key=lambda m: len(fake.hourly_stats[m]))
    result = fake.stats(message_id, "hourly")
    body = orjson.dumps({"jsonrpc": "2.0", "result": result, "id": 1})
    return body, message_id, len(result)


def contenders() -> dict[str, dict[str, tuple[Callable[[], int], str]]]:
    """Return ``model -> contender -> (fn returning records done, client kind)``."""
    pages = postmark_pages()
    out: dict[str, dict[str, tuple[Callable[[], int], str]]] = {}
    postmark = (
        ("Open", "Opens", _wire.OPENS.decode, OpenEvent),
        ("Click", "Clicks", _wire.CLICKS.decode, ClickEvent),
        ("OutboundMessage", "Messages", _wire.MESSAGES.decode, Message),
    )
    for model, key, decode, sdk_model in postmark:
        body = pages[key]
        response = Response(200, _JSON, body)

        def ams(decode: Any = decode, response: Response = response) -> int:
            items, _ = decode(response)
            return len(items)

        def sdk(body: bytes = body, key: str = key, sdk_model: Any = sdk_model) -> int:
            return len([sdk_model(**d) for d in json.loads(body)[key]])

        def bag(body: bytes = body, key: str = key) -> int:
            return len([PostmarkerModel(manager=None, **d) for d in json.loads(body)[key]])

        out[model] = {
            AMS: (ams, "asyncmailstats"),
            ORJSON: (_parse(orjson.loads, body, key), "orjson"),
            "json.loads only": (_parse(json.loads, body, key), "json"),
            SDK: (sdk, "sdk"),
            "postmarker json + attribute bag": (bag, "postmarker"),
        }
    body, message_id, _ = stats_reply()
    response = Response(200, _JSON, body)

    def ams_stats() -> int:
        result = decode_result(response, method="get_message_stats", call_id=1)
        series = stats_series(result, message_id=message_id, grouping=Grouping.HOURLY)
        return len(series.periods)

    out["PeriodStats"] = {
        AMS: (ams_stats, "asyncmailstats"),
        ORJSON: (_parse(orjson.loads, body, "result"), "orjson"),
        "json.loads only": (_parse(json.loads, body, "result"), "json"),
    }
    return out


def _parse(loads: Callable[[bytes], Any], body: bytes, key: str) -> Callable[[], int]:
    def parse() -> int:
        return len(loads(body)[key])

    return parse


def measure(rounds: int, *, min_seconds: float = 0.2) -> dict[str, dict[str, dict[str, float]]]:
    """Return ``model -> contender -> {"best", "median"}`` records/s (contenders alternate)."""
    table = contenders()
    rates: dict[str, dict[str, dict[str, float]]] = {}
    for model, entries in table.items():
        for fn, _ in entries.values():  # warm-up
            fn()
        names = list(entries)
        durations: dict[str, list[float]] = {name: [] for name in names}
        records: dict[str, int] = {}
        for index in range(rounds):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                records[name], times = call_times(entries[name][0], min_seconds=min_seconds)
                durations[name] += times
        rates[model] = {
            name: {
                "best": records[name] / min(durations[name]),
                "median": records[name] / statistics.median(durations[name]),
                "calls": len(durations[name]),
                "records_per_call": records[name],
            }
            for name in names
        }
    return rates


def structure_table(rates: dict[str, dict[str, dict[str, float]]]) -> Table:
    """Tabulate records per second per model and contender."""
    table = Table(
        "Structuring: records/s from response bytes (one process, no network)",
        [
            "model",
            "contender",
            "best rec/s",
            "median rec/s",
            "us/record",
            "this / SDK (rec/s)",
            "time / orjson",
        ],
    )
    for model, entries in rates.items():
        sdk = entries.get(SDK, {}).get("median")
        fastest = entries[ORJSON]["median"]
        for name, rate in entries.items():
            median = rate["median"]
            table.add(
                model,
                name,
                round(rate["best"]),
                round(median),
                round(1e6 / median, 2),
                f"{median / sdk:.2f}x" if sdk else None,
                f"{fastest / median:.2f}x",
            )
    table.notes += [
        (
            "rates are from process CPU time per call (robust to other processes on the "
            "machine); best = fastest call, median = median call; ratios use the medians"
        ),
        (
            "the reference for structuring is orjson.loads to dicts: 'time / orjson' is this "
            "contender's time per record over orjson's"
        ),
        "PeriodStats is GetResponse's: the official Postmark SDK has no model for it",
    ]
    return table
