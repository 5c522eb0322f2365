"""Hostile responses: every provider decoder either decodes or raises one of our errors.

Each decoder — the pure functions that turn a :class:`Response` into models — is fed
arbitrary JSON, arbitrary bytes, real or hand-made valid bodies with parts replaced by
arbitrary JSON, and all of these under every kind of HTTP status and odd headers. Whatever
arrives, a decoder returns a value of the type it promises (only for a success status)
or raises an :class:`APIError` or a :class:`DecodeError`: never a ``KeyError``, a
``TypeError``, a ``RecursionError`` or anything else a caller could not catch as a
:class:`MailStatsError`.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncmailstats import APIError, DecodeError, RateLimitError
from asyncmailstats._http import Response
from asyncmailstats.emailconsul import _wire as ec
from asyncmailstats.emailconsul.models import (
    DeliveryDay,
    LinkStat,
    LinkTimeseriesPoint,
    PixelTimeseriesPoint,
)
from asyncmailstats.getresponse import _jsonrpc as rpc
from asyncmailstats.getresponse import _wire as gr
from asyncmailstats.getresponse.models import (
    Grouping,
    Link,
    Message,
    MessageStatsSeries,
    PeriodStats,
)
from asyncmailstats.postmark import _wire as pm
from asyncmailstats.postmark.models import (
    Click,
    MessageStream,
    Open,
    OutboundMessage,
    OutboundMessageDetails,
)

SAMPLES = Path(__file__).parents[1] / "samples" / "postmark_recorded.json"

#: Modest and reproducible: the same examples on every run, a few seconds in all.
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------- the decoders

Check = Callable[[Any], None]


def _all(items: Sequence[Any], cls: type) -> bool:
    return all(isinstance(item, cls) for item in items)


def page_of(cls: type) -> Check:
    def check(result: Any) -> None:
        items, total = result
        assert _all(items, cls)
        assert isinstance(total, int)
        assert not isinstance(total, bool)

    return check


def list_of(cls: type) -> Check:
    def check(result: Any) -> None:
        assert isinstance(result, list)
        assert _all(result, cls)

    return check


def tuple_of(cls: type) -> Check:
    def check(result: Any) -> None:
        assert isinstance(result, tuple)
        assert _all(result, cls)

    return check


def instance_of(cls: type) -> Check:
    def check(result: Any) -> None:
        assert isinstance(result, cls)

    return check


def _raise_postmark_error(response: Response) -> None:
    pm.raise_for_status(response, endpoint="GET /x")


def _result(method: str, convert: Callable[..., Any], **kwargs: Any) -> Callable[..., Any]:
    """Decode a single GetResponse call the way ``GetResponseAPI`` does: reply, then model."""

    def decode(response: Response) -> Any:
        result = gr.decode_result(response, method=method, call_id=1, secrets=("k3y",))
        return convert(result, **kwargs)

    return decode


BATCH = gr.Batch(message_ids=("m1", "m2"), call_ids=(1, 2), body=b"[]")


def _check_batch(result: Any) -> None:
    assert [o.item for o in result] == ["m1", "m2"]
    for outcome in result:
        assert (outcome.value is None) != (outcome.error is None)
        if outcome.error is not None:
            assert isinstance(outcome.error, APIError | DecodeError)
        else:
            assert isinstance(outcome.value, MessageStatsSeries)


def _check_replies(result: Any) -> None:
    assert set(result) == {1, 2}
    for reply in result.values():
        assert reply.error is None or isinstance(reply.error, APIError | DecodeError)


#: name -> (decoder, what a success must look like, the success statuses).
DECODERS: dict[str, tuple[Callable[[Response], Any], Check, range]] = {
    "postmark.decode_messages": (pm.MESSAGES.decode, page_of(OutboundMessage), range(200, 300)),
    "postmark.decode_opens": (pm.OPENS.decode, page_of(Open), range(200, 300)),
    "postmark.decode_clicks": (pm.CLICKS.decode, page_of(Click), range(200, 300)),
    "postmark.decode_details": (
        pm.decode_details,
        instance_of(OutboundMessageDetails),
        range(200, 300),
    ),
    "postmark.decode_dump": (pm.decode_dump, instance_of(str), range(200, 300)),
    "postmark.decode_message_streams": (
        functools.partial(pm.decode_message_streams, endpoint="GET /message-streams"),
        tuple_of(MessageStream),
        range(200, 300),
    ),
    "postmark.raise_for_status": (_raise_postmark_error, instance_of(type(None)), range(200, 300)),
    **{
        f"postmark.decode_stats[{name}]": (
            functools.partial(pm.decode_stats, cls=model, endpoint=f"GET {path}"),
            instance_of(model),
            range(200, 300),
        )
        for name, (path, model) in pm.STATS.items()
    },
    "emailconsul.decode_link_stats": (ec.decode_link_stats, page_of(LinkStat), range(200, 300)),
    "emailconsul.decode_link_timeseries": (
        ec.decode_link_timeseries,
        list_of(LinkTimeseriesPoint),
        range(200, 300),
    ),
    "emailconsul.decode_pixel_timeseries": (
        ec.decode_pixel_timeseries,
        list_of(PixelTimeseriesPoint),
        range(200, 300),
    ),
    "emailconsul.decode_delivery_timeseries": (
        ec.decode_delivery_timeseries,
        page_of(DeliveryDay),
        range(200, 300),
    ),
    "getresponse.decode_result[stats_series]": (
        _result(gr.GET_MESSAGE_STATS, gr.stats_series, message_id="m", grouping=Grouping.DAILY),
        instance_of(MessageStatsSeries),
        range(200, 201),
    ),
    "getresponse.decode_result[message_list]": (
        _result(gr.GET_MESSAGES, gr.message_list),
        list_of(Message),
        range(200, 201),
    ),
    "getresponse.decode_result[link_list]": (
        _result(gr.GET_LINKS, gr.link_list),
        list_of(Link),
        range(200, 201),
    ),
    "getresponse.decode_stats_batch": (
        functools.partial(
            gr.decode_stats_batch, batch=BATCH, grouping=Grouping.HOURLY, secrets=("k3y",)
        ),
        _check_batch,
        range(200, 201),
    ),
    "getresponse.decode_reply": (
        functools.partial(rpc.decode_reply, call_id=1, endpoint="POST x", secrets=("k3y",)),
        instance_of(object),
        range(200, 201),
    ),
    "getresponse.decode_batch": (
        functools.partial(rpc.decode_batch, call_ids=(1, 2), endpoint="POST x"),
        _check_replies,
        range(200, 201),
    ),
}


def _decoder_names(module: ModuleType, prefix: str) -> set[str]:
    return {
        f"{prefix}.{name}"
        for name, obj in vars(module).items()
        if name.startswith("decode_") and inspect.isfunction(obj)
    }


def test_every_decoder_is_covered() -> None:
    """Each ``decode_*`` function of the provider modules is exercised here."""
    found = (
        _decoder_names(pm, "postmark")
        | _decoder_names(ec, "emailconsul")
        | _decoder_names(gr, "getresponse")
        | _decoder_names(rpc, "getresponse")
    )
    covered = {name.split("[")[0] for name in DECODERS}
    assert found - covered == set()


# --------------------------------------------------------------------------- the inputs

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

STATUSES = st.sampled_from([200, 200, 200, 201, 204, 400, 401, 403, 404, 413, 422, 429, 500, 503])
STATUSES |= st.integers(min_value=100, max_value=599)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "content-type": st.sampled_from(["application/json", "text/html", "", "x/y; q=1"]),
        "retry-after": st.text(max_size=20) | st.sampled_from(["1", "-1", "nan", "1e400"]),
        "x-pm-apierrorcode": st.text(max_size=6),
    },
)


def _postmark_bases() -> dict[str, list[Any]]:
    by_decoder: dict[str, list[Any]] = {}
    stats_paths = {path: name for name, (path, _) in pm.STATS.items()}
    for sample in json.loads(SAMPLES.read_text(encoding="utf-8")):
        path = sample["path"].lower()
        if path in stats_paths:
            name = f"postmark.decode_stats[{stats_paths[path]}]"
        elif path.endswith("/details"):
            name = "postmark.decode_details"
        elif path.endswith("/dump"):
            name = "postmark.decode_dump"
        elif "/opens" in path:
            name = "postmark.decode_opens"
        elif "/clicks" in path:
            name = "postmark.decode_clicks"
        else:
            name = "postmark.decode_messages"
        by_decoder.setdefault(name, []).append(sample["body"])
    return by_decoder


def _counters(**values: int) -> dict[str, int]:
    names = [f.name for f in PeriodStats.__attrs_attrs__][2:-1]  # not period, start, extra
    return {name: values.get(name, 1) for name in names}


_MESSAGE = {
    "campaign": "c1",
    "type": "newsletter",
    "subject": "Hello",
    "name": None,
    "content_types": ["plain", "html"],
    "flags": ["openrate"],
    "created_on": "2024-01-01 10:00:00",
    "send_on": "2024-01-02 10:00:00",
}

#: Valid bodies to mutate, per decoder (Postmark's are real recorded replies).
BASES: dict[str, list[Any]] = {
    **_postmark_bases(),
    # Postmark's documented example (no recorded reply of this endpoint is kept).
    "postmark.decode_message_streams": [
        {
            "MessageStreams": [
                {
                    "ID": "broadcasts",
                    "ServerID": 123456,
                    "Name": "Broadcast Stream",
                    "Description": None,
                    "MessageStreamType": "Broadcasts",
                    "CreatedAt": "2020-07-01T00:00:00-04:00",
                    "UpdatedAt": None,
                    "ArchivedAt": None,
                    "ExpectedPurgeDate": None,
                    "SubscriptionManagementConfiguration": {"UnsubscribeHandlingType": "None"},
                }
            ],
            "TotalCount": 1,
        }
    ],
    "emailconsul.decode_link_stats": [
        {
            "data": [{"count": 3, "ip": "10.0.0.1"}, {"count": 1, "params_name": "utm"}],
            "meta": {"count": 2, "offset": 0, "limit": 100},
        }
    ],
    "emailconsul.decode_link_timeseries": [
        {"data": [{"date": "2024-01-01", "count": 2, "device": "iPhone"}]}
    ],
    "emailconsul.decode_pixel_timeseries": [
        {"data": [{"date": "2024-01-01", "count": 2, "campaign_id": "c1"}]}
    ],
    "emailconsul.decode_delivery_timeseries": [
        {"data": [{"date": "2024-01-01", "total_count": 3, "delivered": 2}], "meta": {"count": 1}}
    ],
    "getresponse.decode_result[stats_series]": [
        {"jsonrpc": "2.0", "id": 1, "result": {"2024-01-01": _counters(), "2024-01-02": {}}}
    ],
    "getresponse.decode_result[message_list]": [
        {"jsonrpc": "2.0", "id": 1, "result": {"a1": _MESSAGE}},
        {"id": 1, "result": [], "error": None},
    ],
    "getresponse.decode_result[link_list]": [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "result": {"L1": {"message": "a1", "name": "n", "url": "https://e.x", "clicks": 3}},
        }
    ],
    "getresponse.decode_stats_batch": [
        [
            {"jsonrpc": "2.0", "id": 2, "result": {"2024-01-01 10": _counters(sent=5)}},
            {"jsonrpc": "2.0", "id": 1, "error": {"code": -1, "message": "Missing message"}},
        ]
    ],
    "getresponse.decode_reply": [
        {"jsonrpc": "2.0", "id": 1, "error": {"code": -1, "message": "k3y was refused"}}
    ],
    "getresponse.decode_batch": [
        [{"jsonrpc": "2.0", "id": "1", "result": 1}, {"jsonrpc": "2.0", "id": 2, "result": 2}]
    ],
}


def _slots(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) pair inside *doc*, depth first."""
    found: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        keys = list(node) if isinstance(node, dict) else range(len(node))
        for key in keys:
            found.append((node, key))
            if isinstance(node[key], dict | list):
                stack.append(node[key])
    return found


@st.composite
def mutated(draw: st.DrawFn, bases: list[Any]) -> Any:
    """A valid body with up to three parts replaced by arbitrary JSON, or removed."""
    doc = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        slots = _slots(doc)
        if not slots:
            break
        container, key = slots[draw(st.integers(min_value=0, max_value=len(slots) - 1))]
        if isinstance(container, dict) and draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(json_values)
    return doc


def _encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


# --------------------------------------------------------------------------- the property


def check_decoder(name: str, response: Response) -> None:
    """Decode *response*: a value of the promised type, or one of our errors."""
    decode, check, successes = DECODERS[name]
    error: APIError | DecodeError | None = None
    try:
        result = decode(response)
    except (APIError, DecodeError) as exc:
        error = exc
    if error is None:
        assert response.status in successes
        check(result)
        return
    text = f"{error} {error!r}"  # both always render
    if name.startswith("getresponse"):
        # These decoders hold the API key: no text taken from a reply may show it.
        excerpt = error.body if isinstance(error, APIError) else error.excerpt
        assert "k3y" not in f"{text} {excerpt}"
    if isinstance(error, APIError):
        # A JSON-RPC error comes with HTTP 200; any other APIError is for a failure status.
        assert response.status not in successes or response.status == 200
        if response.status not in range(200, 300):
            assert error.status == response.status
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        assert math.isfinite(error.retry_after)
        assert error.retry_after >= 0


@pytest.mark.parametrize("name", DECODERS)
@SETTINGS
@given(body=json_values, status=STATUSES, headers=HEADERS)
def test_arbitrary_json(name: str, body: Any, status: int, headers: dict[str, str]) -> None:
    """Arbitrary JSON under any status decodes or raises APIError/DecodeError."""
    check_decoder(name, Response(status, headers, _encode(body)))


@pytest.mark.parametrize("name", DECODERS)
@SETTINGS
@given(body=st.binary(max_size=300), status=STATUSES, headers=HEADERS)
def test_arbitrary_bytes(name: str, body: bytes, status: int, headers: dict[str, str]) -> None:
    """Arbitrary bytes under any status decode or raise APIError/DecodeError."""
    check_decoder(name, Response(status, headers, body))


@pytest.mark.parametrize("name", [n for n in DECODERS if n in BASES])
@settings(SETTINGS, max_examples=60)
@given(data=st.data(), status=st.sampled_from([200, 200, 200, 422, 500]), headers=HEADERS)
def test_mutated_valid_bodies(
    name: str, data: st.DataObject, status: int, headers: dict[str, str]
) -> None:
    """Valid bodies with parts replaced by arbitrary JSON decode or raise our errors."""
    body = data.draw(mutated(BASES[name]))
    check_decoder(name, Response(status, headers, _encode(body)))


@pytest.mark.parametrize("name", [n for n in DECODERS if n in BASES])
def test_unmutated_bases_decode(name: str) -> None:
    """The valid bodies the mutations start from do decode (so mutations test something)."""
    decode, check, _ = DECODERS[name]
    for base in BASES[name]:
        if isinstance(base, dict) and "ErrorCode" in base and base["ErrorCode"]:
            continue
        try:
            check(decode(Response(200, {}, _encode(base))))
        except APIError:
            # Recorded error replies and JSON-RPC errors are meant to raise.
            assert name.startswith(("postmark", "getresponse.decode_reply"))
