"""GetResponse results keep what the models do not declare: ``ab_test``, and unknown keys.

``get_messages`` documents an ``ab_test`` field on messages of type ``ab_test`` without
giving its shape (PROVIDERS.md §3.4), so :class:`Message` keeps it as the JSON value it
is. Any other key a result carries lands in the model's ``extra`` in production and
fails the strict converter of the tests.
"""

# GetResponse timestamps carry no offset: the models hold naive datetimes on purpose.
# ruff: noqa: DTZ001

from __future__ import annotations

import copy
import json
import pickle
from datetime import datetime
from typing import Any

import attrs
import pytest

from asyncmailstats import _convert as base
from asyncmailstats._extra import NO_EXTRA, FrozenDict
from asyncmailstats._http import Response
from asyncmailstats.exceptions import DecodeError
from asyncmailstats.getresponse import Grouping, Link, Message, MessageType, PeriodStats
from asyncmailstats.getresponse import _convert as gr_convert
from asyncmailstats.getresponse._wire import (
    GET_MESSAGES,
    decode_result,
    link_list,
    message_list,
    stats_series,
)
from asyncmailstats.getresponse.models import MessageStatsSeries, StatsTotals, TimeRange

STRICT = gr_convert.make_converter(strict=True)
PRODUCTION = gr_convert.CONVERTER
GENERIC = gr_convert.configure_converter(base.make_converter(strict=False), fast=False)

#: The documented get_messages reply (PROVIDERS.md §3.4) with an A/B test message added;
#: the docs name ``ab_test`` but show no value, so this one is made up.
AB_TEST = {"variants": ["a1B2d", "a1B2e"], "winner": None, "criteria": "openrate"}
RECORDED_REPLY = {
    "jsonrpc": "2.0",
    "id": 1,
    "result": {
        "a1B2c": {
            "campaign": "n4gDm",
            "type": "newsletter",
            "subject": "Welcome",
            "name": None,
            "flags": ["clicktrack", "openrate"],
            "send_on": "2014-06-01 10:00:00",
            "content_types": ["plain", "html"],
            "created_on": "2014-05-30 12:00:00",
        },
        "a1B2f": {
            "campaign": "n4gDm",
            "type": "ab_test",
            "subject": "Welcome (A/B)",
            "name": "welcome test",
            "flags": ["clicktrack", "openrate"],
            "content_types": ["plain", "html"],
            "created_on": "2014-05-30 12:30:00",
            "ab_test": AB_TEST,
        },
    },
}


def recorded_messages(converter: Any) -> list[Message]:
    """Decode the recorded-style reply the way ``GetResponseAPI.messages()`` does."""
    response = Response(200, {}, json.dumps(RECORDED_REPLY).encode())
    result = decode_result(response, method=GET_MESSAGES, call_id=1)
    return message_list(result, converter=converter)


@pytest.mark.parametrize("converter", [STRICT, PRODUCTION], ids=["strict", "production"])
def test_recorded_ab_test_message_keeps_ab_test(converter: Any) -> None:
    """The A/B test message keeps its ab_test value; the newsletter has None."""
    newsletter, ab = recorded_messages(converter)
    assert newsletter.ab_test is None
    assert ab.type is MessageType.AB_TEST
    assert ab.ab_test == AB_TEST
    assert type(ab.ab_test) is FrozenDict
    assert ab.created_on == datetime(2014, 5, 30, 12, 30)
    assert (newsletter.extra, ab.extra) == (NO_EXTRA, NO_EXTRA)


def test_ab_test_is_read_only_and_any_json_value() -> None:
    """An object becomes a read-only mapping, a list a tuple; other values stay as they are."""
    base_fields = RECORDED_REPLY["result"]["a1B2f"]
    (ab,) = message_list({"m": base_fields})
    with pytest.raises(TypeError, match="read-only"):
        ab.ab_test["winner"] = "a1B2d"
    for value, expected in (([1, "b"], (1, "b")), ("x7", "x7"), (3, 3), (None, None)):
        (message,) = message_list({"m": {**base_fields, "ab_test": value}}, converter=STRICT)
        assert message.ab_test == expected
        assert type(message.ab_test) is type(expected)


def test_messages_with_ab_test_pickle_copy_and_hash() -> None:
    """A message holding ab_test (and action) pickles, deep-copies and hashes."""
    _, ab = recorded_messages(PRODUCTION)
    for again in (pickle.loads(pickle.dumps(ab)), copy.deepcopy(ab), copy.copy(ab)):  # noqa: S301
        assert again == ab
        assert again.ab_test == AB_TEST
    assert hash(ab) == hash(attrs.evolve(ab, ab_test={"other": 1}))


def test_unknown_message_keys_are_kept_in_production_and_refused_by_strict() -> None:
    """A key Message does not declare is kept in extra; the strict converter names it."""
    fields = {**RECORDED_REPLY["result"]["a1B2c"], "preheader": "Hi", "stats": {"sent": 3}}
    for converter in (PRODUCTION, GENERIC):
        (message,) = message_list({"a1B2c": fields}, converter=converter)
        assert message.extra == {"preheader": "Hi", "stats": {"sent": 3}}
        assert message.subject == "Welcome"
    with pytest.raises(DecodeError, match="preheader"):
        message_list({"a1B2c": fields}, converter=STRICT)


def test_unknown_link_keys_are_kept_in_production_and_refused_by_strict() -> None:
    """get_links entries keep an unknown key in extra; the strict converter refuses it."""
    entry = {"message": "a1B2c", "name": "Shop", "url": "https://e.com/s", "clicks": 2}
    (link,) = link_list({"L1": {**entry, "unique_clicks": 1}})
    assert (link.clicks, link.extra) == (2, {"unique_clicks": 1})
    (plain,) = link_list({"L1": entry})
    assert plain.extra is NO_EXTRA
    assert plain == link
    with pytest.raises(DecodeError, match="unique_clicks"):
        link_list({"L1": {**entry, "unique_clicks": 1}}, converter=STRICT)


@pytest.mark.parametrize("converter", [PRODUCTION, GENERIC], ids=["fast", "generic"])
def test_unknown_period_counters_are_kept_by_fast_and_generic_hooks(converter: Any) -> None:
    """A counter GetResponse adds is kept in the period's extra, fast or generic alike."""
    result = {
        "2024-01-02": {"sent": 2, "shared": 4, "spam_score": 0.5},
        "2024-01-01": {"sent": 1},
    }
    series = stats_series(result, message_id="m", grouping=Grouping.DAILY, converter=converter)
    first, second = series.periods
    assert first.extra is NO_EXTRA
    assert (second.sent, dict(second.extra)) == (2, {"shared": 4, "spam_score": 0.5})
    assert series.totals().sent == 3


def test_models_end_with_extra_except_those_not_read_from_an_object() -> None:
    """Message, Link and PeriodStats end with extra; computed models and conditions do not."""
    for cls in (Message, Link, PeriodStats):
        last = attrs.fields(cls)[-1]
        assert (last.name, last.kw_only, last.eq, last.default) == ("extra", True, False, NO_EXTRA)
    for cls in (MessageStatsSeries, StatsTotals, TimeRange):
        assert "extra" not in attrs.fields_dict(cls)
