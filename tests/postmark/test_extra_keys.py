"""Keys Postmark sends that a model does not declare are kept in ``extra``, never dropped.

The production converter keeps them (raw JSON values, by wire name) through the generated
fast functions and through the generic cattrs hooks alike; the strict converter of the
tests refuses them, so a test notices when the API grows. Records without such keys share
one empty mapping.
"""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from asyncmailstats import _convert as base
from asyncmailstats._convert import structure
from asyncmailstats._extra import NO_EXTRA, FrozenDict
from asyncmailstats._http import Response
from asyncmailstats.exceptions import DecodeError
from asyncmailstats.postmark import _convert as pm
from asyncmailstats.postmark import _wire, models
from asyncmailstats.postmark.models import (
    BounceCounts,
    Click,
    DynamicCounts,
    Open,
    OpenPlatformCounts,
    OutboundMessage,
    OutboundMessageDetails,
    OutboundOverview,
)
from asyncmailstats.testing import FakePostmark

FAST = pm.CONVERTER
GENERIC = pm.configure_converter(base.make_converter(strict=False), fast=False)
STRICT = pm.make_converter(strict=True)
CONVERTERS = {"fast": FAST, "generic": GENERIC}
SAMPLES = json.loads(
    (Path(__file__).parent.parent / "samples" / "postmark_recorded.json").read_text()
)
RECORD_MODELS = (Open, Click, OutboundMessage)
#: Values an unknown key might carry: the raw JSON is kept as it is.
NEW_VALUES: tuple[Any, ...] = (None, 0, "x", 1.5, True, [1, {"a": None}], {"Nested": {"b": 2}})


def extras(value: Any) -> Any:
    """Return every ``extra`` in *value*, recursively, as plain nested data."""
    if attrs.has(type(value)):
        return {
            f.name: dict(value.extra) if f.name == "extra" else extras(getattr(value, f.name))
            for f in attrs.fields(type(value))
        }
    if isinstance(value, tuple):
        return [extras(v) for v in value]
    return None


@pytest.fixture(scope="module")
def fake() -> FakePostmark:
    return FakePostmark(messages=300, seed=5)


def wire_records(fake: FakePostmark, cls: type) -> list[dict[str, Any]]:
    view = {Open: fake.opens, Click: fake.clicks, OutboundMessage: fake.messages}[cls]
    return [copy.deepcopy(r) for r in view[:60]]


def with_unknown_keys(record: dict[str, Any], n: int) -> dict[str, Any]:
    """Return *record* with unknown keys at its top and in its nested objects."""
    data = copy.deepcopy(record)
    data["NewField"] = NEW_VALUES[n % len(NEW_VALUES)]
    for key in ("Geo", "Client", "OS"):
        if isinstance(data.get(key), dict):
            data[key] = {**data[key], f"{key}Extra": NEW_VALUES[(n + 1) % len(NEW_VALUES)]}
    for recipient in data.get("To") or []:
        recipient["Kind"] = "primary"
    return data


@pytest.mark.parametrize("name", sorted(CONVERTERS))
@pytest.mark.parametrize("cls", RECORD_MODELS, ids=lambda c: c.__name__)
def test_unknown_keys_land_in_extra_at_every_level(fake: FakePostmark, cls: type, name: str):
    """A record's unknown keys, and its nested objects', are kept with their raw values."""
    converter = CONVERTERS[name]
    for n, record in enumerate(wire_records(fake, cls)):
        data = with_unknown_keys(record, n)
        item = structure(converter, data, cls)
        assert item.extra == {"NewField": data["NewField"]}
        assert type(item.extra) is FrozenDict
        for key, field in (("Geo", "geo"), ("Client", "client"), ("OS", "os")):
            if isinstance(data.get(key), dict):
                assert getattr(item, field).extra == {f"{key}Extra": data[key][f"{key}Extra"]}
        for recipient in getattr(item, "to", ()):
            assert recipient.extra == {"Kind": "primary"}
        # Apart from extra, the object is the one the record gives without those keys.
        assert item == structure(converter, record, cls)


@pytest.mark.parametrize("cls", RECORD_MODELS, ids=lambda c: c.__name__)
def test_fast_and_generic_keep_the_same_extra(fake: FakePostmark, cls: type):
    """The generated functions and the cattrs hooks give the same extra, level by level."""
    fast, generic = FAST.get_structure_hook(cls), GENERIC.get_structure_hook(cls)
    for n, record in enumerate(wire_records(fake, cls)):
        data = with_unknown_keys(record, n)
        assert extras(fast(data, cls)) == extras(generic(data, cls))


@pytest.mark.parametrize("cls", RECORD_MODELS, ids=lambda c: c.__name__)
def test_strict_converter_refuses_unknown_keys_at_every_level(fake: FakePostmark, cls: type):
    """The strict converter names an unknown key at the top or in a nested object."""
    record = wire_records(fake, cls)[0]
    with pytest.raises(DecodeError, match="NewField"):
        structure(STRICT, {**record, "NewField": 1}, cls)
    nested = "To" if cls is OutboundMessage else "Client"
    data = with_unknown_keys(record, 0)
    del data["NewField"]
    assert data[nested]
    with pytest.raises(DecodeError, match="Extra fields"):
        structure(STRICT, data, cls)


def test_a_wire_key_named_extra_is_an_unknown_key(fake: FakePostmark):
    """A key literally called "extra" is kept like any other, never read as the field."""
    record = {**wire_records(fake, Open)[0], "extra": {"x": 1}}
    for converter in CONVERTERS.values():
        assert structure(converter, record, Open).extra == {"extra": {"x": 1}}
    with pytest.raises(DecodeError, match="extra"):
        structure(STRICT, record, Open)


@pytest.mark.parametrize("name", sorted(CONVERTERS))
@pytest.mark.parametrize("cls", RECORD_MODELS, ids=lambda c: c.__name__)
def test_records_without_unknown_keys_share_the_empty_extra(
    fake: FakePostmark, cls: type, name: str
):
    """Without unknown keys, extra is the one shared empty mapping, nested records' too."""
    for record in wire_records(fake, cls):
        item = structure(CONVERTERS[name], record, cls)
        assert item.extra is NO_EXTRA
        for part in (getattr(item, f, None) for f in ("geo", "client", "os")):
            assert part is None or part.extra is NO_EXTRA
        assert all(r.extra is NO_EXTRA for r in getattr(item, "to", ()))


@pytest.mark.parametrize("cls", RECORD_MODELS, ids=lambda c: c.__name__)
def test_fast_functions_keep_unknown_keys_themselves(
    fake: FakePostmark, cls: type, watch_fallback: Callable[[Any], list[Any]]
):
    """Records with unknown keys, at any level, never reach the generic hook either."""
    hook = FAST.get_structure_hook(cls)
    declined = watch_fallback(hook)
    records = wire_records(fake, cls)
    optional = "Subject" if cls is OutboundMessage else "UserAgent"
    for n, record in enumerate(records):
        hook(record, cls)
        assert hook(with_unknown_keys(record, n), cls).extra
        # An unknown key in place of a declared one: as many keys as the model declares.
        swapped = {**record, "NewField": n}
        del swapped[optional]
        assert hook(swapped, cls).extra == {"NewField": n}
    assert declined == []


def test_extra_is_left_out_of_equality_and_hashing(fake: FakePostmark):
    """Two records that differ only in unknown keys are equal and hash alike."""
    record = wire_records(fake, Click)[0]
    plain = structure(FAST, record, Click)
    odd = structure(FAST, {**record, "NewField": [1]}, Click)
    assert odd == plain
    assert hash(odd) == hash(plain)
    assert odd.extra != plain.extra


@pytest.mark.parametrize("cls", RECORD_MODELS, ids=lambda c: c.__name__)
def test_records_with_extra_pickle_copy_and_stay_read_only(fake: FakePostmark, cls: type):
    """extra survives pickle, copy and deepcopy, and refuses changes."""
    for n, record in enumerate(wire_records(fake, cls)[:10]):
        item = structure(FAST, with_unknown_keys(record, n), cls)
        for again in (
            pickle.loads(pickle.dumps(item)),  # noqa: S301 - our own bytes
            copy.copy(item),
            copy.deepcopy(item),
        ):
            assert again == item
            assert extras(again) == extras(item)
        with pytest.raises(TypeError, match="read-only"):
            item.extra["NewField"] = 2  # type: ignore[index]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            item.extra = {}  # type: ignore[misc]
    plain = structure(FAST, wire_records(fake, cls)[0], cls)
    assert pickle.loads(pickle.dumps(plain)).extra is NO_EXTRA  # noqa: S301 - our own bytes
    assert copy.deepcopy(plain).extra is NO_EXTRA


def test_extra_is_the_last_keyword_only_field_of_every_model():
    """Every Postmark record model ends with extra: keyword-only, not compared, shared default."""
    classes = [getattr(models, name) for name in models.__all__]
    with_extra = [
        c for c in classes if attrs.has(c) and c not in (DynamicCounts, models.DynamicDay)
    ]
    assert len(with_extra) == 29
    for cls in with_extra:
        last = attrs.fields(cls)[-1]
        assert (last.name, last.kw_only, last.eq, last.hash) == ("extra", True, False, None)
        assert last.default is NO_EXTRA
    assert "extra" not in attrs.fields_dict(DynamicCounts)
    assert "extra" not in attrs.fields_dict(models.DynamicDay)


# --------------------------------------------------------------------------- stats


BOUNCES = {
    "Days": [
        {"Date": "2024-01-01", "HardBounce": 3, "Blocked": 2},
        {"Date": "2024-01-02", "SoftBounce": 1},
    ],
    "HardBounce": 3,
    "SoftBounce": 1,
    "Blocked": 2,
    "Note": {"partial": True},
}


@pytest.mark.parametrize("name", sorted(CONVERTERS))
def test_stats_day_and_totals_keep_unknown_keys(name: str):
    """A key Postmark adds to a stats day and to the totals is kept in each one's extra."""
    body = Response(200, {}, json.dumps(BOUNCES).encode())
    series = _wire.decode_stats(body, BounceCounts, endpoint="e", converter=CONVERTERS[name])
    first, second = series.days
    assert (first.hard_bounce, first.extra) == (3, {"Blocked": 2})
    assert (second.soft_bounce, second.extra) == (1, {})
    assert second.extra is NO_EXTRA
    assert (series.hard_bounce, series.soft_bounce) == (3, 1)
    assert series.extra == {"Blocked": 2, "Note": {"partial": True}}


def test_stats_with_unknown_keys_are_refused_by_strict():
    """The strict converter refuses an unknown key in a day and in the totals."""
    day_only = {**BOUNCES, "Days": BOUNCES["Days"][:1]}
    del day_only["Blocked"], day_only["Note"]
    totals_only = {**BOUNCES, "Days": []}
    for data, key in ((day_only, "Blocked"), (totals_only, "Note")):
        with pytest.raises(DecodeError, match=key):
            structure(STRICT, data, BounceCounts)


@pytest.mark.parametrize("model", [OutboundOverview, OpenPlatformCounts])
def test_overview_and_other_series_keep_unknown_keys(model: type):
    """The overview and every fixed-key series keep keys they do not declare."""
    data = {"NewRate": 0.5} if model is OutboundOverview else {"Days": [], "Tablet": 4}
    expected = {k: v for k, v in data.items() if k != "Days"}
    for converter in CONVERTERS.values():
        assert dict(structure(converter, data, model).extra) == expected


def test_dynamic_series_have_no_unknown_keys():
    """email_clients-style series keep every key as a count: nothing is left for extra."""
    data = {"Days": [{"Date": "2024-01-01", "Gmail": 2, "NewClient": 1}], "Gmail": 2, "New": 1}
    series = structure(FAST, data, DynamicCounts)
    assert series.totals == {"Gmail": 2, "New": 1}
    assert series.days[0].counts == {"Gmail": 2, "NewClient": 1}
    assert not hasattr(series, "extra")


# --------------------------------------------------------------------------- recorded


def test_recorded_samples_have_no_unknown_keys():
    """Every recorded 200 decodes through the production converter with nothing left over."""
    stats = dict(_wire.STATS.values())
    checked = 0
    for sample in (s for s in SAMPLES if s["status"] == 200):
        body, path = sample["body"], sample["path"]
        if path in stats:
            items: list[Any] = [structure(FAST, body, stats[path])]
        elif path.endswith("/details"):
            items = [structure(FAST, body, OutboundMessageDetails)]
        elif key := next((k for k in ("Opens", "Clicks", "Messages") if k in body), None):
            cls = {"Opens": Open, "Clicks": Click, "Messages": OutboundMessage}[key]
            items = [structure(FAST, r, cls) for r in body[key]]
        else:
            continue
        for item in items:
            assert not _any_extra(item), path
            checked += 1
    assert checked > 10


def _any_extra(value: Any) -> bool:
    if attrs.has(type(value)):
        return bool(getattr(value, "extra", None)) or any(
            _any_extra(getattr(value, f.name)) for f in attrs.fields(type(value))
        )
    if isinstance(value, tuple):
        return any(_any_extra(v) for v in value)
    return False
