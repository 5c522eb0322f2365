"""The converter base: timestamps, dates, strict scalars, open enums, extra keys, errors."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from asyncmailstats._convert import (
    OpenStrEnum,
    loads,
    make_converter,
    parse_datetime,
    structure,
)
from asyncmailstats._extra import record_hook
from asyncmailstats.exceptions import DecodeError


class Colour(OpenStrEnum):
    RED = "Red"
    GREEN = "Green"


@attrs.frozen
class Event:
    message_id: str
    received_at: dt.datetime
    day: dt.date
    count: int
    ratio: float
    tracked: bool
    colour: Colour
    note: str | None = None


WIRE_NAMES = {"message_id": "MessageID", "received_at": "ReceivedAt", "count": "Count"}


def wire_event(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "MessageID": "m-1",
        "ReceivedAt": "2017-02-25T13:59:44.0453616-05:00",
        "day": "2017-02-25",
        "Count": 3,
        "ratio": 0.5,
        "tracked": True,
        "colour": "Red",
    }
    data.update(changes)
    return data


def converter(*, strict: bool = False):
    conv = make_converter(strict=strict)
    conv.register_structure_hook(Event, record_hook(conv, Event, WIRE_NAMES))
    return conv


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2017-02-25T13:59:44.0453616-05:00",
            dt.datetime(2017, 2, 25, 13, 59, 44, 45361, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        ),
        (
            "2017-02-25T13:59:44.0000000-05:00",
            dt.datetime(2017, 2, 25, 13, 59, 44, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        ),
        ("2024-06-01T08:00:00Z", dt.datetime(2024, 6, 1, 8, tzinfo=dt.UTC)),
        ("2024-06-01T08:00:00.123Z", dt.datetime(2024, 6, 1, 8, 0, 0, 123000, tzinfo=dt.UTC)),
        (
            "2024-06-01T08:00:00+02:00",
            dt.datetime(2024, 6, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        ),
    ],
)
def test_aware_timestamps_are_parsed(text, expected) -> None:
    """ISO-8601 timestamps with 0-7 fractional digits and Z or an offset keep their zone."""
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


def test_model_decodes_with_wire_names() -> None:
    """A renamed model reads wire names, aware datetimes, dates and an enum."""
    event = structure(converter(), wire_event(), Event, endpoint="GET /e")
    assert event == Event(
        message_id="m-1",
        received_at=dt.datetime(2017, 2, 25, 18, 59, 44, 45361, tzinfo=dt.UTC),  # the same instant
        day=dt.date(2017, 2, 25),
        count=3,
        ratio=0.5,
        tracked=True,
        colour=Colour.RED,
    )
    assert event.received_at.utcoffset() == dt.timedelta(hours=-5)
    assert event.colour is Colour.RED


def test_dates_accept_a_timestamp_prefix() -> None:
    """A date field given a full timestamp keeps its date part."""
    event = structure(converter(), wire_event(day="2020-01-31T00:00:00"), Event)
    assert event.day == dt.date(2020, 1, 31)


def test_open_enum_keeps_unknown_values() -> None:
    """An unknown enum value decodes to a pseudo-member equal to its text."""
    event = structure(converter(), wire_event(colour="Ultraviolet"), Event)
    assert event.colour == "Ultraviolet"
    assert event.colour.value == "Ultraviolet"
    assert isinstance(event.colour, Colour)
    assert not event.colour.known
    assert Colour.RED.known
    assert Colour("Green") is Colour.GREEN


def test_open_enum_rejects_non_strings() -> None:
    """A number where an enum string belongs is a DecodeError."""
    with pytest.raises(DecodeError):
        structure(converter(), wire_event(colour=3), Event)


def test_strict_converter_forbids_extra_keys() -> None:
    """The strict converter refuses a key the model does not declare."""
    with pytest.raises(DecodeError, match="Surprise"):
        structure(converter(strict=True), wire_event(Surprise=1), Event)


def test_lenient_converter_ignores_extra_keys() -> None:
    """The production converter ignores keys it does not know."""
    event = structure(converter(), wire_event(Surprise=1), Event)
    assert event.message_id == "m-1"


def test_strict_converter_accepts_exact_data() -> None:
    """Strictness is about extra keys only: exact data decodes."""
    assert structure(converter(strict=True), wire_event(), Event).count == 3


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"Count": True}, "integer"),
        ({"Count": 2.5}, "integer"),
        ({"Count": None}, None),
        ({"MessageID": 7}, "string"),
        ({"tracked": "maybe"}, "boolean"),
        ({"tracked": 1}, "boolean"),
        ({"ratio": False}, "number"),
        ({"ReceivedAt": "yesterday"}, None),
        ({"ReceivedAt": 1_700_000_000}, "ISO-8601"),
        ({"day": "2020-13-01"}, None),
    ],
)
def test_scalars_are_strict(changes, fragment) -> None:
    """Wrong scalar types (bool for int, fractional counts, numbers for text) fail to decode."""
    with pytest.raises(DecodeError, match=fragment):
        structure(converter(), wire_event(**changes), Event, endpoint="GET /e")


def test_lenient_scalars_that_are_accepted() -> None:
    """Integral floats, numeric strings and "true"/"false" are read as their values."""
    event = structure(converter(), wire_event(Count=4.0, ratio="0.25", tracked="false"), Event)
    assert (event.count, event.ratio, event.tracked) == (4, 0.25, False)
    assert type(event.count) is int


def test_missing_required_field_is_a_decode_error() -> None:
    """A body without a required key raises DecodeError naming the model and endpoint."""
    data = wire_event()
    del data["MessageID"]
    with pytest.raises(DecodeError) as caught:
        structure(converter(), data, Event, endpoint="GET /e")
    assert "Event" in str(caught.value)
    assert caught.value.endpoint == "GET /e"
    assert "GET /e" in str(caught.value)


@pytest.mark.parametrize("shape", [[1, 2], "text", 42, None])
def test_wrong_shape_is_a_decode_error(shape) -> None:
    """A list, string, number or null where an object belongs raises DecodeError."""
    with pytest.raises(DecodeError) as caught:
        structure(converter(), shape, Event, endpoint="GET /e")
    assert caught.value.excerpt is not None


def test_decode_error_keeps_a_short_excerpt() -> None:
    """The excerpt of a huge bad body is cut to a bounded size."""
    with pytest.raises(DecodeError) as caught:
        structure(converter(), ["x" * 10_000], Event)
    assert caught.value.excerpt is not None
    assert len(caught.value.excerpt) <= 501


@pytest.mark.parametrize(
    "body",
    [b"<html>oops</html>", b"", b"{", b'{"a": 1', b"\xff\xfe", b"nul", "{'single': 1}"],
)
def test_loads_non_json_is_a_decode_error(body) -> None:
    """Anything that is not JSON raises DecodeError with the endpoint and an excerpt."""
    with pytest.raises(DecodeError) as caught:
        loads(body, endpoint="GET /x")
    assert caught.value.endpoint == "GET /x"
    assert "not valid JSON" in str(caught.value)


def test_deep_nesting_never_escapes_as_recursion_error() -> None:
    """A pathologically nested body parses or raises DecodeError; never RecursionError."""
    body = b"[" * 100_000 + b"]" * 100_000
    try:
        data = loads(body, endpoint="GET /x")
    except DecodeError:
        return
    with pytest.raises(DecodeError):
        structure(converter(), {**wire_event(), "MessageID": data}, Event)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"a": [1, 2.5, "x", null, true]}', {"a": [1, 2.5, "x", None, True]}),
        ('{"naïve": "é"}', {"naïve": "é"}),
        (b"[]", []),
    ],
)
def test_loads_valid_json(body, expected) -> None:
    """Valid JSON, from bytes or text, parses to plain Python values."""
    assert loads(body) == expected


def test_each_converter_is_independent() -> None:
    """Hooks registered on one converter do not leak into another (no global converter)."""
    first = converter()
    second = make_converter()
    assert structure(first, wire_event(), Event).message_id == "m-1"
    with pytest.raises(DecodeError):
        structure(second, wire_event(), Event)  # no rename hook: MessageID is unknown
