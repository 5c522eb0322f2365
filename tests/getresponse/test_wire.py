"""Pure request building, argument checks and result decoding for GetResponse."""

# GetResponse timestamps carry no offset: the models hold naive datetimes on purpose.
# ruff: noqa: DTZ001

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from asyncmailstats._http import Response, SecretBody, reveal_body
from asyncmailstats.exceptions import DecodeError, NotFoundError
from asyncmailstats.getresponse import (
    Grouping,
    Link,
    Message,
    MessageStatsSeries,
    MessageType,
    PeriodStats,
    TimeRange,
)
from asyncmailstats.getresponse import _wire as gr_wire
from asyncmailstats.getresponse._convert import make_converter
from asyncmailstats.getresponse._jsonrpc import encode_batch, encode_call
from asyncmailstats.getresponse._wire import (
    Batch,
    BatchPacker,
    call_request,
    check_grouping,
    check_id,
    check_ids,
    decode_stats_batch,
    link_list,
    links_conditions,
    message_list,
    messages_conditions,
    period_start,
    stats_series,
    text_condition,
    time_condition,
)
from asyncmailstats.getresponse.models import COUNTER_NAMES

KEY = "fedcba9876543210fedcba9876543210"
STRICT = make_converter(strict=True)

# The documented examples (PROVIDERS.md §3.4, §3.5), as the API sends them.
STATS_EXAMPLE = {
    "2010-01-01": {
        "sent": 1024,
        "opened": 512,
        "unique_opened": 256,
        "clicked": 128,
        "unique_clicked": 64,
        "goals": 8,
        "unique_goals": 4,
        "forwarded": 2,
        "unsubscribes": 1,
        "bounces_user_unknown": 8,
        "bounces_user_recycled": 1,
        "bounces_mailbox_full": 2,
        "bounces_block_content": 0,
        "bounces_block_timeout": 0,
        "bounces_block_other": 1,
        "bounces_other_soft": 16,
        "bounces_other_hard": 2,
        "complaints_handled": 1,
        "complaints_unhandled": 0,
    }
}
MESSAGES_EXAMPLE = {
    "a1B2c": {
        "campaign": "n4gDm",
        "type": "newsletter",
        "subject": "Welcome",
        "name": None,
        "flags": ["clicktrack", "openrate"],
        "send_on": "2014-06-01 10:00:00",
        "content_types": ["plain", "html"],
        "created_on": "2014-05-30 12:00:00",
    }
}
AUTORESPONDER = {
    "campaign": "n4gDm",
    "type": "autoresponder",
    "subject": "Day 3",
    "name": "day-3",
    "flags": ["openrate"],
    "content_types": ["html"],
    "created_on": "2014-05-30 12:00:00",
    "status": "active",
    "autoresponder_name": "Onboarding",
    "based_on": "action",
    "day_of_cycle": 3,
    "action": {"event": "click", "recurrent": "no"},
    "days_of_week": ["Mon", "Tue"],
    "delay_hours": 4,
    "time_travel": "yes",
}


def params_of(body: bytes) -> list[Any]:
    params: list[Any] = json.loads(body)["params"]
    return params


# -- requests -----------------------------------------------------------------------------


def test_call_request_is_a_post_to_the_base_url_labelled_by_method() -> None:
    """A call is POSTed to the base URL itself, labelled without id or key."""
    request = call_request("get_links", KEY, {"url": {"EQUALS": "x"}}, call_id=4)
    assert (request.method, request.path, request.params) == ("POST", "", ())
    assert request.endpoint == "POST get_links"
    assert json.loads(reveal_body(request.body) or b"")["id"] == 4
    assert params_of(reveal_body(request.body) or b"") == [KEY, {"url": {"EQUALS": "x"}}]
    assert KEY not in repr(request)


def test_call_request_with_no_conditions_sends_only_the_key() -> None:
    """An empty condition set sends params [API_KEY]."""
    request = call_request("get_messages", KEY, {}, call_id=1)
    assert params_of(reveal_body(request.body) or b"") == [KEY]


def test_messages_conditions_use_uppercase_operators_and_wire_names() -> None:
    """Every get_messages condition is sent under its wire name with uppercase operators."""
    conditions = messages_conditions(
        campaigns=("c1", "c2"),
        type=MessageType.AUTORESPONDER,
        subject="Welcome",
        name={"CONTAINS": "%spring%", "NOT_EQUALS": "draft"},
        created_on=TimeRange(from_=date(2024, 1, 1), to=date(2024, 1, 31)),
        send_on={"AT": "2024-02-29"},
    )
    assert conditions == {
        "campaigns": ["c1", "c2"],
        "type": "autoresponder",
        "subject": {"EQUALS": "Welcome"},
        "name": {"CONTAINS": "%spring%", "NOT_EQUALS": "draft"},
        "created_on": {"FROM": "2024-01-01", "TO": "2024-01-31"},
        "send_on": {"AT": "2024-02-29"},
    }
    assert messages_conditions() == {}


def test_links_conditions() -> None:
    """get_links takes message IDs and a text condition on the URL."""
    assert links_conditions(messages=["m1"], url={"MATCHES": "^https://"}) == {
        "messages": ["m1"],
        "url": {"MATCHES": "^https://"},
    }


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (TimeRange(from_=date(2024, 1, 1)), {"FROM": "2024-01-01"}),
        (TimeRange(to=date(2024, 1, 1)), {"TO": "2024-01-01"}),
        (TimeRange(at=date(2024, 1, 1)), {"AT": "2024-01-01"}),
        (
            {"FROM": date(2024, 1, 1), "TO": "2024-03-01"},
            {"FROM": "2024-01-01", "TO": "2024-03-01"},
        ),
    ],
)
def test_time_conditions_serialise_to_uppercase_operators(value: Any, wire: dict[str, str]) -> None:
    """TimeRange and operator mappings become {"FROM"/"TO"/"AT": "YYYY-MM-DD"}."""
    assert time_condition(value, "created_on") == wire


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"from": "2024-01-01"}, ValueError),
        ({"From": "2024-01-01"}, ValueError),
        ({"SINCE": "2024-01-01"}, ValueError),
        ({}, ValueError),
        ({"FROM": "2024-02-01", "TO": "2024-01-01"}, ValueError),
        ({"AT": "2024-01-01", "TO": "2024-01-02"}, ValueError),
        ({"FROM": "01/02/2024"}, ValueError),
        ({"FROM": "2024-02-30"}, ValueError),
        ({"FROM": datetime(2024, 1, 1, 12)}, TypeError),
        ({"FROM": 20240101}, TypeError),
        ("2024-01-01", TypeError),
        (date(2024, 1, 1), TypeError),
    ],
)
def test_bad_time_conditions_are_refused(value: Any, error: type[Exception]) -> None:
    """Lowercase or unknown operators, bad dates, datetimes and wrong types are refused."""
    with pytest.raises(error):
        time_condition(value, "created_on")


def test_lowercase_operator_error_says_operators_are_uppercase() -> None:
    """The error for a lowercase operator tells the user to write it in uppercase."""
    with pytest.raises(ValueError, match="uppercase"):
        text_condition({"contains": "x"}, "subject")
    with pytest.raises(ValueError, match="uppercase"):
        time_condition({"at": "2024-01-01"}, "send_on")


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"contains": "x"}, ValueError),
        ({"LIKE": "x"}, ValueError),
        ({}, ValueError),
        ({"EQUALS": 3}, TypeError),
        (3, TypeError),
        (["EQUALS", "x"], TypeError),
    ],
)
def test_bad_text_conditions_are_refused(value: Any, error: type[Exception]) -> None:
    """Text conditions take only uppercase known operators with string values."""
    with pytest.raises(error):
        text_condition(value, "subject")


@pytest.mark.parametrize(
    "operator", ["EQUALS", "NOT_EQUALS", "CONTAINS", "NOT_CONTAINS", "MATCHES"]
)
def test_each_text_operator_is_accepted(operator: str) -> None:
    """All five documented text operators pass through unchanged."""
    assert text_condition({operator: "v"}, "url") == {operator: "v"}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"campaigns": "c1"}, TypeError),
        ({"campaigns": []}, ValueError),
        ({"campaigns": ["c1", ""]}, ValueError),
        ({"campaigns": [1]}, TypeError),
        ({"type": "newsletters"}, ValueError),
        ({"type": 1}, TypeError),
        ({"subject": {"equals": "x"}}, ValueError),
        ({"send_on": {"to": "2024-01-01"}}, ValueError),
    ],
)
def test_bad_messages_arguments_are_refused(kwargs: dict[str, Any], error: type[Exception]) -> None:
    """Bad get_messages arguments raise TypeError/ValueError."""
    with pytest.raises(error):
        messages_conditions(**kwargs)


def test_ids_and_groupings_are_checked() -> None:
    """IDs must be non-empty strings; groupings must be one of the four lowercase values."""
    assert check_id("a1B2c", "message_id") == "a1B2c"
    assert check_ids(iter(["a", "b"]), "messages") == ["a", "b"]
    with pytest.raises(ValueError, match="empty"):
        check_id("  ", "message_id")
    with pytest.raises(TypeError):
        check_id(None, "message_id")
    assert check_grouping("monthly") is Grouping.MONTHLY
    assert check_grouping(Grouping.HOURLY) is Grouping.HOURLY
    with pytest.raises(ValueError, match="weekly"):
        check_grouping("weekly")
    with pytest.raises(ValueError):
        check_grouping("DAILY")
    with pytest.raises(TypeError):
        check_grouping(1)


# -- batches ---------------------------------------------------------------------------------


def stats_call(message_id: str, call_id: int) -> SecretBody:
    return encode_call("get_message_stats", KEY, {"message": message_id}, call_id=call_id)


def test_packer_closes_a_batch_when_it_is_full() -> None:
    """Batches hold at most max_calls calls; the remainder comes out on flush."""
    packer = BatchPacker(max_calls=3)
    batches: list[Batch] = []
    for n in range(7):
        batches += packer.add(f"m{n}", n, stats_call(f"m{n}", n))
    batches += packer.flush()
    assert [b.message_ids for b in batches] == [("m0", "m1", "m2"), ("m3", "m4", "m5"), ("m6",)]
    assert [b.call_ids for b in batches] == [(0, 1, 2), (3, 4, 5), (6,)]
    assert [c["id"] for c in json.loads(batches[1].body.reveal())] == [3, 4, 5]
    assert packer.flush() == []


def test_packer_keeps_each_body_under_the_byte_limit() -> None:
    """A batch closes early when the next call would make its body exceed max_bytes."""
    call = stats_call("x" * 50, 1)
    limit = 2 + 3 * len(call) + 2  # room for three calls and their commas
    packer = BatchPacker(max_calls=100, max_bytes=limit)
    batches: list[Batch] = []
    for n in range(10):
        batches += packer.add(f"m{n}", n, call)
    batches += packer.flush()
    assert [len(b.message_ids) for b in batches] == [3, 3, 3, 1]
    assert all(len(b.body.reveal()) == len(b.body) <= limit for b in batches)
    assert len(json.loads(batches[0].body.reveal())) == 3


def test_packer_refuses_a_call_larger_than_a_request() -> None:
    """A single call that cannot fit in any request raises ValueError."""
    with pytest.raises(ValueError, match="exceeds"):
        BatchPacker(max_calls=5, max_bytes=50).add("m", 1, stats_call("m" * 100, 1))


def test_batch_request_is_labelled_and_hides_its_body() -> None:
    """A batch is POSTed to the base URL with a batch label; its repr shows no key."""
    batch = Batch(("m",), (1,), encode_batch([stats_call("m", 1)]))
    request = batch.request()
    assert (request.method, request.path, request.endpoint) == (
        "POST",
        "",
        "POST get_message_stats (batch)",
    )
    assert KEY not in repr(batch)
    assert KEY not in repr(request)


def test_batch_decoding_gives_each_id_its_outcome_in_batch_order() -> None:
    """Each ID of a batch gets its series, its NotFoundError, or a DecodeError for a bad result."""
    batch = Batch(("a", "b", "c"), (10, 11, 12), b"[]")
    body = [
        {"jsonrpc": "2.0", "id": 12, "result": {"2010-01": {"sent": "lots"}}},
        {"jsonrpc": "2.0", "id": 11, "error": {"code": -1, "message": "Missing message"}},
        {"jsonrpc": "2.0", "id": 10, "result": {"2010-01": {"sent": 5}}},
    ]
    outcomes = decode_stats_batch(
        Response(200, {}, json.dumps(body).encode()), batch=batch, grouping=Grouping.MONTHLY
    )
    assert [o.item for o in outcomes] == ["a", "b", "c"]
    assert outcomes[0].value == MessageStatsSeries(
        message_id="a",
        grouping=Grouping.MONTHLY,
        periods=(PeriodStats(period="2010-01", start=datetime(2010, 1, 1), sent=5),),
    )
    assert isinstance(outcomes[1].error, NotFoundError)
    assert isinstance(outcomes[2].error, DecodeError)


# -- results ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "grouping", "start"),
    [
        ("2024-03-05 07", Grouping.HOURLY, datetime(2024, 3, 5, 7)),
        ("2024-03-05", Grouping.DAILY, datetime(2024, 3, 5)),
        ("2024-03", Grouping.MONTHLY, datetime(2024, 3, 1)),
        ("2024", Grouping.YEARLY, datetime(2024, 1, 1)),
    ],
)
def test_period_keys_give_naive_period_starts(
    period: str, grouping: Grouping, start: datetime
) -> None:
    """Each grouping's key form gives the naive start of its period."""
    assert period_start(period, grouping) == start


@pytest.mark.parametrize(
    ("period", "grouping"),
    [
        ("2024-03-05", Grouping.HOURLY),
        ("2024-03", Grouping.DAILY),
        ("2024-W10-1", Grouping.DAILY),
        ("24", Grouping.YEARLY),
    ],
)
def test_period_keys_of_another_form_are_refused(period: str, grouping: Grouping) -> None:
    """A key that does not have the grouping's form raises ValueError."""
    with pytest.raises(ValueError, match="period key"):
        period_start(period, grouping)


def test_period_starts_are_remembered_within_a_bound() -> None:
    """A key read before gives the same start object; the memory empties when full."""
    first = period_start("2031-05-06 07", Grouping.HOURLY)
    assert period_start("2031-05-06 07", Grouping.HOURLY) is first
    # The same text under another grouping is read, and refused, on its own.
    with pytest.raises(ValueError, match="period key"):
        period_start("2031-05-06 07", Grouping.DAILY)
    assert "2031-05-06 07" not in gr_wire._START_OF[Grouping.DAILY].known  # type: ignore[attr-defined]
    for day in range(gr_wire.STARTS_LIMIT + 10):
        key = (datetime(2000, 1, 1) + timedelta(days=day)).strftime("%Y-%m-%d")
        assert period_start(key, Grouping.DAILY) == datetime.fromisoformat(key)
        assert len(gr_wire._START_OF[Grouping.DAILY].known) <= gr_wire.STARTS_LIMIT  # type: ignore[attr-defined]


def test_documented_stats_example_decodes_strictly() -> None:
    """The documented get_message_stats result decodes with all 19 counters, no key left over."""
    series = stats_series(STATS_EXAMPLE, message_id="m", grouping=Grouping.DAILY, converter=STRICT)
    (period,) = series.periods
    assert period.start == datetime(2010, 1, 1)
    assert {name: getattr(period, name) for name in COUNTER_NAMES} == STATS_EXAMPLE["2010-01-01"]
    assert len(COUNTER_NAMES) == 19


def test_stats_periods_are_sorted_and_counters_default_to_zero() -> None:
    """Periods come out oldest first whatever the key order; absent counters are 0."""
    result = {"2024-01-03": {"opened": 2}, "2024-01-01": {"sent": 5}, "2023-12-31": {"clicked": 1}}
    series = stats_series(result, message_id="m", grouping=Grouping.DAILY)
    assert [p.period for p in series.periods] == ["2023-12-31", "2024-01-01", "2024-01-03"]
    assert series.periods[0].sent == 0
    assert series.periods[2].opened == 2
    assert series.totals().sent == 5
    assert series.totals().opened == 2


@pytest.mark.parametrize("empty", [[], {}])
def test_empty_stats_result_is_an_empty_series(empty: Any) -> None:
    """An empty result ({} or PHP's []) is a series without periods."""
    series = stats_series(empty, message_id="m", grouping=Grouping.DAILY)
    assert series.periods == ()
    assert series.totals().sent == 0


@pytest.mark.parametrize(
    "result",
    [
        {"2024-01-01 10": {"sent": 1}},
        {"2024-01-01": [1, 2]},
        {"2024-01-01": {"sent": 1.5}},
        {"2024-01-01": {"sent": "get_message_stats_sent_0_integer"}},
        [1],
        "nothing",
    ],
)
def test_stats_results_that_do_not_fit_are_decode_errors(result: Any) -> None:
    """Wrong period forms, non-object periods and non-integer counters raise DecodeError."""
    with pytest.raises(DecodeError):
        stats_series(result, message_id="m", grouping=Grouping.DAILY)


def test_strict_converter_refuses_unknown_counters_and_lenient_keeps_them() -> None:
    """A counter the model lacks fails the strict converter and is kept in extra in production."""
    result = {"2024-01-01": {"sent": 1, "shared": 4}}
    with pytest.raises(DecodeError):
        stats_series(result, message_id="m", grouping=Grouping.DAILY, converter=STRICT)
    (period,) = stats_series(result, message_id="m", grouping=Grouping.DAILY).periods
    assert (period.sent, period.extra) == (1, {"shared": 4})


def test_documented_messages_example_decodes_strictly() -> None:
    """The documented get_messages result decodes into a Message keyed by its ID."""
    (message,) = message_list(MESSAGES_EXAMPLE, converter=STRICT)
    assert message == Message(
        id="a1B2c",
        campaign="n4gDm",
        type=MessageType.NEWSLETTER,
        subject="Welcome",
        created_on=datetime(2014, 5, 30, 12),
        name=None,
        content_types=("plain", "html"),
        flags=("clicktrack", "openrate"),
        send_on=datetime(2014, 6, 1, 10),
    )
    assert message.type is MessageType.NEWSLETTER
    assert message.click_tracked


def test_autoresponder_fields_decode() -> None:
    """Autoresponder-only fields decode; "yes"/"no" becomes a bool; action is read-only."""
    (message,) = message_list({"ar1": AUTORESPONDER}, converter=STRICT)
    assert message.type is MessageType.AUTORESPONDER
    assert (message.status, message.autoresponder_name, message.based_on) == (
        "active",
        "Onboarding",
        "action",
    )
    assert (message.day_of_cycle, message.delay_hours, message.at_hour) == (3, 4, None)
    assert message.time_travel is True
    assert message.days_of_week == ("Mon", "Tue")
    assert dict(message.action or {}) == {"event": "click", "recurrent": "no"}
    with pytest.raises(TypeError, match="read-only"):
        message.action["event"] = "open"  # type: ignore[index]
    assert not message.click_tracked


def test_unknown_message_type_is_kept() -> None:
    """A message type GetResponse adds later is kept as an unknown MessageType value."""
    (message,) = message_list({"x": {**MESSAGES_EXAMPLE["a1B2c"], "type": "rss"}})
    assert message.type == "rss"
    assert not message.type.known


def test_bad_time_travel_value_is_a_decode_error() -> None:
    """time_travel other than yes/no does not fit the model."""
    with pytest.raises(DecodeError):
        message_list({"ar1": {**AUTORESPONDER, "time_travel": "maybe"}})


def test_links_decode_keyed_by_id_in_order() -> None:
    """get_links results decode in the given order, with the key as the link ID."""
    result = {
        "L2": {"message": "a1B2c", "name": "Shop", "url": "https://e.com/s", "clicks": 12},
        "L1": {"message": "a1B2c", "name": "Read", "url": "https://e.com/r", "clicks": 0},
    }
    assert link_list(result, converter=STRICT) == [
        Link(id="L2", message="a1B2c", name="Shop", url="https://e.com/s", clicks=12),
        Link(id="L1", message="a1B2c", name="Read", url="https://e.com/r", clicks=0),
    ]
    assert link_list([]) == []


@pytest.mark.parametrize("result", [{"L1": "not an object"}, {"L1": {"message": "m"}}, ["L1"]])
def test_links_that_do_not_fit_are_decode_errors(result: Any) -> None:
    """A link entry that is not an object or lacks fields raises DecodeError."""
    with pytest.raises(DecodeError):
        link_list(result)


def test_time_travel_as_a_json_bool_and_type_as_a_number() -> None:
    """A JSON boolean time_travel is kept; a non-string type does not fit the model."""
    (message,) = message_list({"ar1": {**AUTORESPONDER, "time_travel": False}})
    assert message.time_travel is False
    with pytest.raises(DecodeError):
        message_list({"x": {**MESSAGES_EXAMPLE["a1B2c"], "type": 1}})
