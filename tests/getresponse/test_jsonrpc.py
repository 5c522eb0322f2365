"""The JSON-RPC envelope, tested with bytes alone: encoding, replies, batches, error mapping."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncmailstats._http import Response
from asyncmailstats.exceptions import (
    APIError,
    AuthenticationError,
    DecodeError,
    InvalidRequestError,
    JSONRPCError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from asyncmailstats.getresponse._jsonrpc import (
    MAX_REQUEST_BYTES,
    batch_size_bytes,
    decode_batch,
    decode_reply,
    encode_batch,
    encode_call,
    error_class,
)

KEY = "0123456789abcdef0123456789abcdef"
EP = "POST get_message_stats"


def reply(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status, headers or {"content-type": "application/json"}, json.dumps(obj).encode()
    )


# -- encoding ----------------------------------------------------------------------------


def test_call_puts_the_key_first_then_the_conditions() -> None:
    """A call is JSON-RPC 2.0 with params [API_KEY, {conditions}] and the given id."""
    body = encode_call("get_message_stats", KEY, {"message": "a1B2c"}, call_id=7)
    assert json.loads(body.reveal()) == {
        "jsonrpc": "2.0",
        "method": "get_message_stats",
        "params": [KEY, {"message": "a1B2c"}],
        "id": 7,
    }


def test_call_without_conditions_sends_the_key_alone() -> None:
    """No conditions means params is [API_KEY], not [API_KEY, {}]."""
    body = encode_call("get_messages", KEY, None, call_id=1)
    assert json.loads(body.reveal())["params"] == [KEY]


def test_call_keeps_non_ascii_text_as_utf8() -> None:
    """Conditions with non-ASCII text are sent as UTF-8, not escaped, and stay readable."""
    body = encode_call("get_messages", KEY, {"subject": {"EQUALS": "Grüße"}}, call_id=1)
    assert "Grüße".encode() in body.reveal()
    assert json.loads(body.reveal())["params"][1]["subject"] == {"EQUALS": "Grüße"}


def test_batch_is_an_array_of_calls_and_its_size_is_predicted() -> None:
    """A batch body is the JSON array of its calls; batch_size_bytes predicts its length."""
    calls = [
        encode_call("get_message_stats", KEY, {"message": m}, call_id=i)
        for i, m in enumerate("abc")
    ]
    body = encode_batch(calls)
    assert [c["params"][1]["message"] for c in json.loads(body.reveal())] == ["a", "b", "c"]
    assert len(body) == len(body.reveal()) == batch_size_bytes(len(c) for c in calls)
    assert batch_size_bytes([]) == len(b"[]") == 2
    with pytest.raises(ValueError, match="at least one call"):
        encode_batch([])


def test_a_body_holds_the_key_apart_until_revealed() -> None:
    """Neither the body's parts nor its repr hold the key, in any piece of 8 characters."""
    body = encode_batch(
        [encode_call("get_message_stats", KEY, {"message": m}, call_id=1) for m in "ab"]
    )
    pieces = {KEY[i : i + 8] for i in range(len(KEY) - 7)}
    seen = b"".join(body.parts).decode() + repr(body) + repr(body.secret)
    assert not [p for p in pieces if p in seen]
    assert body.reveal().count(KEY.encode()) == 2
    assert len(body.parts) == 3


def test_a_batch_refuses_calls_with_different_keys() -> None:
    """Calls made with two keys cannot share one body."""
    calls = [encode_call("get_messages", key, None, call_id=1) for key in (KEY, KEY[::-1])]
    with pytest.raises(ValueError, match="same API key"):
        encode_batch(calls)
    assert MAX_REQUEST_BYTES == 1_048_576


# -- single replies ------------------------------------------------------------------------


def test_reply_2_0_gives_its_result() -> None:
    """A 2.0 reply with a matching id yields its result."""
    result = {"2010-01-01": {"sent": 1024}}
    assert (
        decode_reply(reply({"jsonrpc": "2.0", "result": result, "id": 1}), call_id=1, endpoint=EP)
        == result
    )


def test_reply_1_0_without_jsonrpc_member_is_accepted() -> None:
    """A 1.0-style reply (no "jsonrpc", "error": null beside the result) yields its result."""
    body = {"result": {"a": 1}, "error": None, "id": 3}
    assert decode_reply(reply(body), call_id=3, endpoint=EP) == {"a": 1}


def test_reply_id_echoed_as_string_matches() -> None:
    """A numeric id echoed back as a string still matches its call."""
    assert (
        decode_reply(reply({"jsonrpc": "2.0", "result": [], "id": "5"}), call_id=5, endpoint=EP)
        == []
    )


def test_reply_for_another_id_is_a_decode_error() -> None:
    """A result for a different id is not taken as ours."""
    with pytest.raises(DecodeError, match="id 2"):
        decode_reply(reply({"jsonrpc": "2.0", "result": {}, "id": 2}), call_id=1, endpoint=EP)


def test_null_result_is_a_result() -> None:
    """ "result": null is a valid (empty) result, not a missing one."""
    assert (
        decode_reply(reply({"jsonrpc": "2.0", "result": None, "id": 1}), call_id=1, endpoint=EP)
        is None
    )


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"jsonrpc": "2.0", "id": 1}, "neither result nor error"),
        ([1, 2], "not an object"),
        ("hello", "not an object"),
        ({"jsonrpc": "2.0", "result": 1, "id": True}, "invalid id"),
        ({"jsonrpc": "2.0", "result": 1}, "without an id"),
    ],
)
def test_malformed_replies_are_decode_errors(body: Any, match: str) -> None:
    """Bodies that are JSON but not a JSON-RPC reply raise DecodeError."""
    with pytest.raises(DecodeError, match=match):
        decode_reply(reply(body), call_id=1, endpoint=EP)


def test_non_json_body_is_a_decode_error_naming_the_endpoint() -> None:
    """An HTML page with status 200 raises DecodeError carrying the endpoint label."""
    with pytest.raises(DecodeError) as info:
        decode_reply(Response(200, {}, b"<html>oops</html>"), call_id=1, endpoint=EP)
    assert info.value.endpoint == EP
    assert info.value.excerpt == "<html>oops</html>"


def test_http_204_is_not_a_reply() -> None:
    """HTTP 204 answers a notification, so a call with an id gets a DecodeError."""
    with pytest.raises(DecodeError, match="204"):
        decode_reply(Response(204, {}, b""), call_id=1, endpoint=EP)


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message", "cls"),
    [
        (-1, "API key verification failed", AuthenticationError),
        (-1, "API client IP not allowed", PermissionDeniedError),
        (-1, "Missing message", NotFoundError),
        (-1, "Missing contact", NotFoundError),
        (-1, "Invalid params", InvalidRequestError),
        (-32602, "Invalid params", InvalidRequestError),
        (-32602, "Bad arguments", InvalidRequestError),
        (-1, "Daily limit of newsletters exceeded", JSONRPCError),
        (-32601, "Method not found", JSONRPCError),
        (-32700, "Parse error", JSONRPCError),
    ],
)
def test_error_objects_map_to_the_error_tree(code: int, message: str, cls: type[APIError]) -> None:
    """Each documented error text (and -32602) maps to its class; others are JSONRPCError."""
    body = {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": 1}
    with pytest.raises(APIError) as info:
        decode_reply(reply(body), call_id=1, endpoint=EP)
    error = info.value
    assert type(error) is cls
    assert (error.provider, error.status, error.code, error.message, error.endpoint) == (
        "getresponse",
        200,
        code,
        message,
        EP,
    )


def test_error_class_ignores_case_and_a_trailing_period() -> None:
    """Message texts are compared without case and without a final period."""
    assert error_class(-1, "api key verification failed.") is AuthenticationError
    assert error_class(None, "MISSING MESSAGE") is NotFoundError


def test_error_with_data_keeps_it_in_the_body_excerpt() -> None:
    """The error's data member is kept in the error's body excerpt."""
    error = {
        "code": -32602,
        "message": "Invalid params",
        "data": "Attribute params must be reference to hash",
    }
    with pytest.raises(InvalidRequestError) as info:
        decode_reply(reply({"jsonrpc": "2.0", "error": error, "id": 1}), call_id=1, endpoint=EP)
    assert info.value.body is not None
    assert "reference to hash" in info.value.body


def test_error_reply_with_null_id_is_still_raised() -> None:
    """A server that could not read the call answers with id null; the error still surfaces."""
    body = {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None}
    with pytest.raises(JSONRPCError, match="Parse error"):
        decode_reply(reply(body), call_id=1, endpoint=EP)


def test_error_1_0_style_as_a_bare_string() -> None:
    """A 1.0 server's error given as a bare string becomes a JSONRPCError with that text."""
    with pytest.raises(JSONRPCError) as info:
        decode_reply(reply({"result": None, "error": "boom", "id": 1}), call_id=1, endpoint=EP)
    assert info.value.message == "boom"
    assert info.value.code is None


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (413, InvalidRequestError),
        (422, InvalidRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (418, APIError),
    ],
)
def test_http_statuses_map_like_other_providers(status: int, cls: type[APIError]) -> None:
    """A non-200 status raises the class of that status, with the status on it."""
    with pytest.raises(APIError) as info:
        decode_reply(Response(status, {}, b"<html>nope</html>"), call_id=1, endpoint=EP)
    assert type(info.value) is cls
    assert info.value.status == status
    assert info.value.body == "<html>nope</html>"


def test_429_carries_retry_after_seconds() -> None:
    """A 429 with Retry-After sets retry_after on the RateLimitError."""
    with pytest.raises(RateLimitError) as info:
        decode_reply(Response(429, {"retry-after": "7"}, b""), call_id=1, endpoint=EP)
    assert info.value.retry_after == 7.0


def test_429_without_retry_after_leaves_it_unset() -> None:
    """A 429 without Retry-After leaves retry_after None."""
    with pytest.raises(RateLimitError) as info:
        decode_reply(Response(429, {}, b""), call_id=1, endpoint=EP)
    assert info.value.retry_after is None


def test_http_error_with_a_jsonrpc_error_body_takes_its_message_and_code() -> None:
    """A 500 whose body is a JSON-RPC error keeps the status class but the server's text."""
    body = {"jsonrpc": "2.0", "error": {"code": -32000, "message": "Server overloaded"}, "id": 1}
    with pytest.raises(ServerError) as info:
        decode_reply(reply(body, status=500), call_id=1, endpoint=EP)
    assert (info.value.message, info.value.code) == ("Server overloaded", -32000)


# -- secrets ----------------------------------------------------------------------------------


def test_secret_echoed_in_an_error_is_redacted() -> None:
    """A key echoed back in an error's message or data never reaches the exception."""
    error = {"code": -1, "message": f"API key {KEY} verification failed", "data": [KEY]}
    with pytest.raises(JSONRPCError) as info:
        decode_reply(
            reply({"jsonrpc": "2.0", "error": error, "id": 1}),
            call_id=1,
            endpoint=EP,
            secrets=(KEY,),
        )
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value.args)
    assert KEY not in (info.value.body or "")
    assert "<redacted>" in info.value.message


def test_secret_echoed_in_a_non_json_or_http_error_body_is_redacted() -> None:
    """Body excerpts of DecodeError and HTTP errors have the key replaced."""
    with pytest.raises(DecodeError) as decode_info:
        decode_reply(
            Response(200, {}, f"<p>{KEY}</p>".encode()), call_id=1, endpoint=EP, secrets=(KEY,)
        )
    assert KEY not in (decode_info.value.excerpt or "")
    with pytest.raises(ServerError) as http_info:
        decode_reply(
            Response(500, {}, f"key={KEY}".encode()), call_id=1, endpoint=EP, secrets=(KEY,)
        )
    assert KEY not in (http_info.value.body or "")


# -- batches -----------------------------------------------------------------------------------


def test_batch_replies_out_of_order_are_matched_by_id() -> None:
    """Replies in any order are matched to their calls by id, errors per call."""
    body = [
        {"jsonrpc": "2.0", "result": {"r": 3}, "id": 3},
        {"jsonrpc": "2.0", "error": {"code": -1, "message": "Missing message"}, "id": 2},
        {"result": {"r": 1}, "error": None, "id": 1},
    ]
    replies = decode_batch(reply(body), call_ids=[1, 2, 3], endpoint=EP)
    assert replies[1].result == {"r": 1}
    assert replies[3].result == {"r": 3}
    assert isinstance(replies[2].error, NotFoundError)
    assert replies[1].error is None
    assert replies[3].error is None


def test_batch_call_without_a_reply_gets_its_own_error() -> None:
    """A call the batch reply does not answer gets a DecodeError; the others succeed."""
    body = [{"jsonrpc": "2.0", "result": 1, "id": 1}, {"jsonrpc": "2.0", "result": 9, "id": 99}]
    replies = decode_batch(reply(body), call_ids=[1, 2], endpoint=EP)
    assert replies[1].result == 1
    assert isinstance(replies[2].error, DecodeError)
    assert "id 2" in str(replies[2].error)
    assert set(replies) == {1, 2}


def test_batch_null_id_error_goes_to_the_unanswered_calls() -> None:
    """An error with id null (an unreadable call) is given to the calls left unanswered."""
    body = [
        {"jsonrpc": "2.0", "result": 1, "id": 1},
        {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": None},
    ]
    replies = decode_batch(reply(body), call_ids=[1, 2], endpoint=EP)
    assert replies[1].result == 1
    assert isinstance(replies[2].error, JSONRPCError)
    assert replies[2].error.code == -32600


def test_batch_duplicate_reply_keeps_the_first() -> None:
    """If a call is answered twice, the first answer counts."""
    body = [
        {"jsonrpc": "2.0", "result": "first", "id": 1},
        {"jsonrpc": "2.0", "result": "second", "id": 1},
    ]
    assert decode_batch(reply(body), call_ids=[1], endpoint=EP)[1].result == "first"


def test_batch_refused_as_a_whole_raises() -> None:
    """A single error object in reply to a batch is raised for the whole batch."""
    body = {
        "jsonrpc": "2.0",
        "error": {"code": -1, "message": "API key verification failed"},
        "id": None,
    }
    with pytest.raises(AuthenticationError):
        decode_batch(reply(body), call_ids=[1, 2], endpoint=EP)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"jsonrpc": "2.0", "result": {}, "id": 1}, "single result"),
        ("text", "not an array"),
    ],
)
def test_batch_reply_of_the_wrong_shape_raises(body: Any, match: str) -> None:
    """A batch answered by one result, or by something not an array, is a DecodeError."""
    with pytest.raises(DecodeError, match=match):
        decode_batch(reply(body), call_ids=[1], endpoint=EP)


def test_batch_http_error_raises_for_the_whole_batch() -> None:
    """An HTTP 503 for a batch raises ServerError rather than per-call errors."""
    with pytest.raises(ServerError):
        decode_batch(Response(503, {}, b""), call_ids=[1, 2], endpoint=EP)


@given(
    ids=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40, unique=True),
    seed=st.integers(min_value=0, max_value=2**32),
    failing=st.sets(st.integers(min_value=0, max_value=39)),
)
def test_batch_matching_holds_for_any_order(ids: list[int], seed: int, failing: set[int]) -> None:
    """Whatever the reply order, every call gets exactly its own result or error."""
    items: list[dict[str, Any]] = []
    for index, call_id in enumerate(ids):
        if index in failing:
            items.append(
                {
                    "jsonrpc": "2.0",
                    "error": {"code": -1, "message": f"Missing {call_id}"},
                    "id": call_id,
                }
            )
        else:
            items.append({"jsonrpc": "2.0", "result": call_id * 2, "id": call_id})
    random.Random(seed).shuffle(items)
    replies = decode_batch(reply(items), call_ids=ids, endpoint=EP)
    assert set(replies) == set(ids)
    for index, call_id in enumerate(ids):
        if index in failing:
            assert isinstance(replies[call_id].error, NotFoundError)
            assert replies[call_id].error.message == f"Missing {call_id}"  # type: ignore[union-attr]
        else:
            assert replies[call_id].result == call_id * 2


def test_single_call_answered_in_a_one_element_array_is_accepted() -> None:
    """A server that wraps a single reply in an array is still understood."""
    body = [{"jsonrpc": "2.0", "result": {"a": 1}, "id": 1}]
    assert decode_reply(reply(body), call_id=1, endpoint=EP) == {"a": 1}


def test_error_member_of_an_odd_type_still_raises() -> None:
    """An error member that is neither an object nor a string gives a generic JSONRPCError."""
    with pytest.raises(JSONRPCError, match="JSON-RPC error"):
        decode_reply(reply({"jsonrpc": "2.0", "error": 17, "id": 1}), call_id=1, endpoint=EP)


def test_unknown_5xx_status_is_a_server_error_named_by_number() -> None:
    """A status outside the HTTP registry still maps by class (5xx → ServerError)."""
    with pytest.raises(ServerError, match="HTTP 599"):
        decode_reply(Response(599, {}, b""), call_id=1, endpoint=EP)


def test_batch_malformed_item_explains_the_unanswered_calls() -> None:
    """A batch item that is not a reply becomes the error of the calls left unanswered."""
    body = [{"jsonrpc": "2.0", "result": 1, "id": 1}, "garbage"]
    replies = decode_batch(reply(body), call_ids=[1, 2], endpoint=EP)
    assert replies[1].result == 1
    assert isinstance(replies[2].error, DecodeError)
    assert "not an object" in str(replies[2].error)
