"""The generated structure functions give exactly what the generic cattrs hooks give.

The production Postmark converter reads records through straight-line functions with the
generic hooks behind them. These tests run both over recorded replies, over seeded fake
data and over thousands of seeded distortions of it, and compare results (value and type
of every field, recursively, ``extra`` included although equality leaves it out) and
errors (type and message).
"""

from __future__ import annotations

import copy
import json
import linecache
import pickle
import random
import sys
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from asyncmailstats import _convert as base
from asyncmailstats import _fastpath as fastpath
from asyncmailstats._convert import structure
from asyncmailstats._fastpath import make_fast_structure_fn
from asyncmailstats._http import Response
from asyncmailstats.exceptions import DecodeError
from asyncmailstats.postmark import _convert as pm
from asyncmailstats.postmark import _wire
from asyncmailstats.postmark.models import (
    Click,
    ClientInfo,
    Geo,
    MessageStatus,
    Open,
    OSInfo,
    OutboundMessage,
    OutboundMessageDetails,
    Platform,
)
from asyncmailstats.testing import FakePostmark

FAST = pm.CONVERTER
GENERIC = pm.configure_converter(base.make_converter(strict=False), fast=False)
STRICT = pm.make_converter(strict=True)
SAMPLES = json.loads(
    (Path(__file__).parent.parent / "samples" / "postmark_recorded.json").read_text()
)
RECORD_MODELS = (Open, Click, OutboundMessage)


def typed(value: Any) -> Any:
    """Return *value* as nested tuples naming the exact type of every part.

    Every attrs field is in it, ``extra`` too (which ``==`` does not compare).
    """
    cls = type(value)
    if attrs.has(cls):
        return (cls, tuple((f.name, typed(getattr(value, f.name))) for f in attrs.fields(cls)))
    if isinstance(value, tuple):
        return (cls, tuple(typed(v) for v in value))
    if isinstance(value, Mapping):
        return (cls, tuple((typed(k), typed(v)) for k, v in value.items()))
    if isinstance(value, datetime):
        return (cls, repr(value))
    return (cls, value)


def outcome(hook: Callable[[Any, Any], Any], data: Any, cls: type) -> Any:
    """Return what a hook makes of *data*: its typed result, or its error's type and text."""
    try:
        return ("ok", typed(hook(data, cls)))
    except Exception as exc:
        return ("error", type(exc), str(exc))


def decoded(converter: Any, data: Any, cls: type) -> Any:
    """Return what :func:`structure` makes of *data*: its typed result or its error text."""
    try:
        return ("ok", typed(structure(converter, data, cls)))
    except DecodeError as exc:
        return ("error", str(exc))


def hooks_for(cls: type) -> tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]:
    return FAST.get_structure_hook(cls), GENERIC.get_structure_hook(cls)


@pytest.fixture(scope="module")
def fake() -> FakePostmark:
    return FakePostmark(messages=600, seed=11)


def records(fake: FakePostmark, cls: type) -> list[dict[str, Any]]:
    view = {Open: fake.opens, Click: fake.clicks, OutboundMessage: fake.messages}[cls]
    return [copy.deepcopy(r) for r in view[:400]]


def test_production_converter_uses_generated_functions():
    """The production hooks are the generated ones; the strict converter keeps cattrs'."""
    for cls in (*RECORD_MODELS, ClientInfo, OSInfo, Geo):
        fast, generic = hooks_for(cls)
        assert fast.__name__ == f"structure_{cls.__name__}"
        assert fast is not generic
        assert "fast structure" not in STRICT.get_structure_hook(cls).__code__.co_filename


@pytest.mark.parametrize("cls", RECORD_MODELS, ids=lambda c: c.__name__)
def test_fake_records_equal_generic_and_strict(fake: FakePostmark, cls: type):
    """Every seeded fake record gives the same typed object fast, generically and strictly."""
    fast, generic = hooks_for(cls)
    strict = STRICT.get_structure_hook(cls)
    data = records(fake, cls)
    assert data
    for record in data:
        expected = outcome(strict, record, cls)
        assert expected[0] == "ok"
        assert outcome(fast, record, cls) == expected
        assert outcome(generic, record, cls) == expected


def test_fake_details_equal_generic(fake: FakePostmark):
    """Message details (events, bodies) decode alike through both converters."""
    for message_id in fake.message_ids()[:100]:
        data = fake.details(message_id)
        got = typed(structure(FAST, data, OutboundMessageDetails))
        assert got == typed(structure(GENERIC, data, OutboundMessageDetails))


@pytest.mark.parametrize("name", sorted(_wire.STATS))
def test_fake_stats_equal_generic(fake: FakePostmark, name: str):
    """Every day series of the fake decodes alike through both converters."""
    path, model = _wire.STATS[name]
    data = fake.stats(path.removeprefix("/stats/outbound"))
    assert typed(structure(FAST, data, model)) == typed(structure(STRICT, data, model))


@pytest.mark.parametrize(
    "sample",
    [s for s in SAMPLES if s["status"] == 200],
    ids=lambda s: f"{s['status']} {s['path']}",
)
def test_recorded_replies_equal_strict(sample: dict[str, Any]):
    """Each recorded reply decodes to the same objects fast as through the strict converter."""
    body = sample["body"]
    path = sample["path"]
    stats = dict(_wire.STATS.values())
    if path in stats:
        model = stats[path]
        assert typed(structure(FAST, body, model)) == typed(structure(STRICT, body, model))
    elif path.endswith("/details"):
        fast = structure(FAST, body, OutboundMessageDetails)
        assert typed(fast) == typed(structure(STRICT, body, OutboundMessageDetails))
    elif "Opens" in body or "Messages" in body or "Clicks" in body:
        response = Response(200, {}, json.dumps(body).encode())
        decode = {
            "Opens": _wire.OPENS.decode,
            "Clicks": _wire.CLICKS.decode,
            "Messages": _wire.MESSAGES.decode,
        }[next(k for k in ("Opens", "Clicks", "Messages") if k in body)]
        fast_items, fast_total = decode(response)
        strict_items, strict_total = decode(response, converter=STRICT)
        assert fast_total == strict_total
        assert [typed(i) for i in fast_items] == [typed(i) for i in strict_items]


# Values a provider (or an attacker) might put anywhere.
ODD_VALUES: tuple[Any, ...] = (
    None,
    0,
    1,
    -3,
    True,
    False,
    1.5,
    2.0,
    "",
    "12",
    "true",
    "false",
    "x",
    "Mobile",
    "Sent",
    "HtmlOnly",
    "Text",
    "Archived",
    "2024-01-01",
    "2024-01-01T10:00:00Z",
    "2024-02-30T10:00:00Z",
    "2017-02-26T11:45:56.1234567-05:00",
    "not a date",
    [],
    ["a"],
    [{"Email": "a@x", "Name": None}],
    [{"Name": 3}],
    [{"Email": 3}],
    {},
    {"Name": "x"},
    {"Name": 1},
    {"k": "v"},
    {"k": 1},
)
DELETE = object()


def _paths(record: dict[str, Any], prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Return the path of every value in *record*, nested objects and lists included."""
    out: list[tuple[Any, ...]] = []
    items = record.items() if isinstance(record, dict) else enumerate(record)
    for key, value in items:
        out.append((*prefix, key))
        if isinstance(value, dict | list):
            out.extend(_paths(value, (*prefix, key)))
    return out


def _objects(data: Any) -> list[dict[str, Any]]:
    """Return *data* and every object nested in it (through objects and lists)."""
    found: list[dict[str, Any]] = []
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            found.append(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def has_extra(value: Any) -> bool:
    """Return whether *value* or any record nested in it kept an unknown key."""
    if attrs.has(type(value)):
        return bool(getattr(value, "extra", None)) or any(
            has_extra(getattr(value, f.name)) for f in attrs.fields(type(value))
        )
    if isinstance(value, tuple):
        return any(has_extra(v) for v in value)
    return False


def distort(record: dict[str, Any], rng: random.Random) -> Any:
    """Return a copy of *record* with one to three values replaced, removed or added."""
    data = copy.deepcopy(record)
    for _ in range(rng.randint(1, 3)):
        paths = _paths(data)
        if rng.random() < 0.1:
            # A key no model declares, in the record or in an object nested in it.
            target = rng.choice(_objects(data))
            key = rng.choice(["Extra", "extra", "Name ", "MessageId"])
            target[key] = copy.deepcopy(rng.choice(ODD_VALUES))
            continue
        if not paths or rng.random() < 0.1:
            data[rng.choice(["Extra", "Geo", "Client", "To", "Status", "MessageID"])] = (
                copy.deepcopy(rng.choice(ODD_VALUES))
            )
            continue
        path = rng.choice(paths)
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        new = rng.choice((DELETE, *ODD_VALUES))
        if new is DELETE and isinstance(parent, dict):
            del parent[path[-1]]
        elif new is not DELETE:
            parent[path[-1]] = copy.deepcopy(new)
    if rng.random() < 0.02:
        return rng.choice([[], "x", None, 3, [data]])
    return data


@pytest.mark.parametrize("cls", RECORD_MODELS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_distorted_records_give_the_same_result_or_error(fake: FakePostmark, cls: type, seed: int):
    """Thousands of seeded distortions: fast and generic agree on the value or the error."""
    rng = random.Random(f"{cls.__name__}-{seed}")
    fast, generic = hooks_for(cls)
    data = records(fake, cls)
    kinds = set()
    for _ in range(1500):
        record = distort(rng.choice(data), rng)
        expected = outcome(generic, record, cls)
        kinds.add(expected[0])
        assert outcome(fast, record, cls) == expected, record
        # Through the shared helper the DecodeError text is the same too.
        assert decoded(FAST, record, cls) == decoded(GENERIC, record, cls)
        if expected[0] == "ok" and has_extra(generic(record, cls)):
            kinds.add("extra")
    assert kinds == {"ok", "error", "extra"}


@pytest.mark.parametrize("cls", [ClientInfo, OSInfo, Geo], ids=lambda c: c.__name__)
def test_distorted_nested_objects_agree(fake: FakePostmark, cls: type):
    """Interned nested objects: fast and generic agree on every distortion."""
    key = {ClientInfo: "Client", OSInfo: "OS", Geo: "Geo"}[cls]
    rng = random.Random(f"nested-{cls.__name__}")
    fast, generic = hooks_for(cls)
    nested = [r[key] for r in records(fake, Open) if isinstance(r.get(key), dict)]
    kept = 0
    for _ in range(2000):
        record = distort(rng.choice(nested), rng) if rng.random() < 0.7 else rng.choice(nested)
        assert outcome(fast, record, cls) == outcome(generic, record, cls), record
        kept += outcome(generic, record, cls)[0] == "ok" and has_extra(generic(record, cls))
    assert kept > 0


def test_decode_page_errors_are_unchanged(fake: FakePostmark):
    """A page with one bad record raises the same DecodeError as the generic converter."""
    page = records(fake, Open)[:20]
    page[7] = {**page[7], "ReceivedAt": "yesterday"}
    body = json.dumps({"TotalCount": 20, "Opens": page}).encode()
    with pytest.raises(DecodeError) as fast:
        _wire.OPENS.decode(Response(200, {}, body))
    with pytest.raises(DecodeError) as generic:
        _wire.OPENS.decode(Response(200, {}, body), converter=GENERIC)
    assert str(fast.value) == str(generic.value)
    assert "ReceivedAt" in str(fast.value) or "yesterday" in str(fast.value)


def test_unknown_keys_are_kept_by_production_and_refused_by_strict(fake: FakePostmark):
    """The production converter keeps an undeclared key in extra; the strict one refuses it."""
    record = {**records(fake, Open)[0], "Surprise": 1}
    assert typed(structure(FAST, record, Open)) == typed(structure(GENERIC, record, Open))
    assert structure(FAST, record, Open).extra == {"Surprise": 1}
    with pytest.raises(DecodeError, match="Surprise"):
        structure(STRICT, record, Open)


def test_known_enum_values_are_the_members():
    """The fast path hands out the enum members themselves; unknown values stay open."""
    data = {"MessageID": "m", "ReceivedAt": "2024-01-01T10:00:00Z", "Status": "Sent"}
    assert structure(FAST, data, OutboundMessage).status is MessageStatus.SENT
    odd = structure(FAST, {**data, "Status": "Held"}, OutboundMessage).status
    assert type(odd) is MessageStatus
    assert odd == "Held"
    assert not odd.known


# --------------------------------------------------------------------------- interning


def test_equal_nested_values_share_one_instance(fake: FakePostmark):
    """Opens with equal Client/OS/Geo objects get the very same (frozen) instance."""
    opens = [structure(FAST, r, Open) for r in records(fake, Open)]
    by_value: dict[Any, Any] = {}
    for item in opens:
        for part in (item.client, item.os, item.geo):
            if part is not None:
                assert by_value.setdefault(part, part) is part
    assert len(by_value) < len(opens)


def test_interned_objects_never_stand_for_other_values():
    """A cached instance is only returned for values equal in content and exact type."""
    hook = FAST.get_structure_hook(ClientInfo)
    first = hook({"Name": "1", "Company": None}, ClientInfo)
    assert hook({"Name": "1"}, ClientInfo) is first
    assert hook({"Name": "1", "Family": "f"}, ClientInfo) == ClientInfo(name="1", family="f")
    generic = GENERIC.get_structure_hook(ClientInfo)
    for odd in ({"Name": 1}, {"Name": True}, {"Name": ["1"]}, {"Name": {"1": 1}}, "1", ["1"]):
        assert outcome(hook, odd, ClientInfo) == outcome(generic, odd, ClientInfo)
        assert outcome(hook, odd, ClientInfo)[0] == "error"


def test_intern_cache_is_bounded():
    """Past the limit the cache empties, and every object built is still right."""
    hook = FAST.get_structure_hook(OSInfo)
    cache = hook.__globals__["cache"]
    for index in range(pm.INTERN_LIMIT * 2 + 5):
        name = f"os-{index}"
        assert hook({"Name": name}, OSInfo) == OSInfo(name=name)
        assert len(cache) <= pm.INTERN_LIMIT
    assert hook({"Name": "os-3"}, OSInfo) == OSInfo(name="os-3")


@attrs.frozen(kw_only=True)
class _Counts:
    n: int | None = None
    flag: bool | None = None
    label: str = ""


def test_interning_tells_bools_from_ints():
    """``1`` and ``True`` hash alike, but the exact-type checks keep them apart."""
    converter = base.make_converter()
    generic = converter.get_structure_hook(_Counts)
    hook = make_fast_structure_fn(converter, _Counts, generic, intern_limit=8)
    first = hook({"n": 1, "flag": True}, _Counts)
    assert (type(first.n), type(first.flag)) == (int, bool)
    for data in ({"n": True, "flag": 1}, {"n": 1.0, "flag": True}, {"n": "1", "flag": "true"}):
        assert outcome(hook, data, _Counts) == outcome(generic, data, _Counts)
    assert hook({"n": 1, "flag": True}, _Counts) is first


# --------------------------------------------------------------------------- construction


@attrs.frozen
class _Checked:
    count: int = attrs.field(validator=attrs.validators.ge(0))
    name: str = attrs.field(default="", converter=str.strip)


@attrs.frozen
class _PostInit:
    count: int = 0

    def __attrs_post_init__(self) -> None:
        if self.count > 10:
            raise ValueError("too many")


@attrs.define
class _Plain:
    count: int = 0


@attrs.define(init=False)
class _OwnInit:
    count: int = 0

    def __init__(self, count: int = 0) -> None:
        self.count = count * 2


@attrs.define(on_setattr=attrs.setters.NO_OP)
class _OwnSetattr:
    count: int = 0

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value + 1)


def test_slot_stores_only_where_init_does_nothing_else():
    """Fields are stored directly only for classes whose __init__ merely stores them."""
    assert fastpath._slot_setters(Open) is not None
    assert fastpath._slot_setters(OutboundMessageDetails) is not None
    assert fastpath._slot_setters(_Plain) is not None
    for cls in (_Checked, _PostInit, _OwnInit, _OwnSetattr):
        assert fastpath._slot_setters(cls) is None
    assert fastpath._slot_setters(attrs.define(slots=False)(type("_Dict", (), {}))) is None


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (_Checked, {"count": -1}),
        (_Checked, {"count": 2, "name": "  padded "}),
        (_PostInit, {"count": 11}),
        (_PostInit, {"count": 3}),
        (_Plain, {"count": 3}),
        (_OwnInit, {"count": 3}),
        (_OwnSetattr, {"count": 3}),
    ],
)
def test_validators_converters_and_hooks_still_run(cls: type, data: dict[str, Any]):
    """Validators, converters and post-init hooks run on the fast path as before."""
    converter = base.make_converter()
    generic = converter.get_structure_hook(cls)
    hook = make_fast_structure_fn(converter, cls, generic)
    assert outcome(hook, data, cls) == outcome(generic, data, cls)


@attrs.frozen(kw_only=True)
class _Names:
    names: tuple[str, ...] = ()


def _shout(value: Any, _: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value.upper()


@pytest.mark.parametrize("item", [base._structure_str, _shout], ids=["exact", "own hook"])
def test_list_fields_read_inline_agree_with_their_hook(item: Callable[[Any, Any], Any]):
    """A list-to-tuple field read inline gives what its hook gives, item hook included."""
    converter = base.make_converter()
    names_hook = fastpath.tuple_hook(str, item)

    def expected(data: Any, cls: Any) -> _Names:
        return _Names() if "names" not in data else _Names(names=names_hook(data["names"], cls))

    declined: list[Any] = []

    def fallback(data: Any, cls: Any) -> _Names:
        declined.append(data)
        return expected(data, cls)

    hook = make_fast_structure_fn(converter, _Names, fallback, hooks={"names": names_hook})
    source = "".join(linecache.getlines(hook.__code__.co_filename))
    # Exact strings are checked in a loop; any other item hook is called per item.
    assert ("if type(x) is not str" in source) == (item is base._structure_str)
    for data in ({"names": ["a", "b"]}, {"names": []}, {"names": None}, {}):
        assert outcome(hook, data, _Names) == outcome(expected, data, _Names)
    assert declined == []  # the common cases never reach the fallback
    for data in ({"names": ["a", 1]}, {"names": "ab"}):
        assert outcome(hook, data, _Names) == outcome(expected, data, _Names)
        assert outcome(hook, data, _Names)[0] == "error"
    assert declined == [{"names": ["a", 1]}, {"names": ["a", 1]}, {"names": "ab"}, {"names": "ab"}]


def test_twin_classes_only_for_identical_layouts():
    """Records are built in a mutable twin only when CPython lets it become the model."""
    for cls in (Open, Click, OutboundMessage, Geo, ClientInfo):
        twin = fastpath._swap_builder(cls)
        assert twin is not None
        assert twin.__slots__ == tuple(f.name for f in attrs.fields(cls))
    # Python 3.11 refuses __class__ assignment between classes with a __weakref__ slot
    # (3.12 and later allow it): stores then go through the slot descriptors instead.
    # Either way the objects are genuine instances, weak references included.
    with_weakref = attrs.frozen(type("_WithWeakref", (), {"__annotations__": {"n": int}}))
    if sys.version_info < (3, 12):
        assert fastpath._swap_builder(with_weakref) is None
    converter = base.make_converter()
    hook = make_fast_structure_fn(
        converter, with_weakref, converter.get_structure_hook(with_weakref)
    )
    built = hook({"n": 3}, with_weakref)
    assert built == with_weakref(n=3)  # type: ignore[call-arg]
    assert type(built) is with_weakref
    assert weakref.ref(built)() is built


def test_objects_from_the_twin_are_ordinary_records(fake: FakePostmark):
    """A record built in the twin class pickles, copies, hashes and refuses changes."""
    for record in records(fake, Open)[:50]:
        built = structure(FAST, record, Open)
        assert type(built) is Open
        assert pickle.loads(pickle.dumps(built)) == built  # noqa: S301 - our own bytes
        assert copy.copy(built) == built
        assert hash(built) == hash(attrs.evolve(built))
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            built.recipient = "changed"  # type: ignore[misc]


def test_directly_stored_objects_match_constructed_ones(fake: FakePostmark):
    """An object built through the slots equals, hashes and prints like one from __init__."""
    for record in records(fake, OutboundMessage)[:50]:
        built = structure(FAST, record, OutboundMessage)
        again = OutboundMessage(
            **{f.name: getattr(built, f.name) for f in attrs.fields(OutboundMessage)}
        )
        assert built == again
        assert repr(built) == repr(again)
        assert attrs.evolve(built) == built
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            built.subject = "changed"  # type: ignore[misc]


def test_platform_and_dates_read_as_before():
    """Seven fractional digits and ``Z`` parse as the generic hook parses them."""
    data = {
        "MessageID": "m",
        "Recipient": "r@x",
        "Platform": "WebMail",
        "ReceivedAt": "2017-02-26T11:45:56.1234567-05:00",
    }
    fast, generic = hooks_for(Open)
    for stamp in ("2017-02-26T11:45:56.1234567-05:00", "2024-01-01T10:00:00Z", "2024-01-01"):
        item = {**data, "ReceivedAt": stamp}
        assert outcome(fast, item, Open) == outcome(generic, item, Open)
    assert structure(FAST, data, Open).platform is Platform.WEBMAIL


@pytest.mark.parametrize("cls", [Open, Click], ids=lambda c: c.__name__)
def test_common_records_never_reach_the_generic_hook(fake: FakePostmark, cls: type):
    """Fake records, nulls and unknown enum values are all read without the fallback."""
    declined: list[Any] = []
    generic = GENERIC.get_structure_hook(cls)

    def fallback(data: Any, t: Any) -> Any:
        declined.append(data)
        return generic(data, t)

    hook = make_fast_structure_fn(FAST, cls, fallback, renames=dict(pm._RENAMES)[cls])
    data = records(fake, cls)
    variants = [{**r, "Platform": "Tablet", "Geo": None, "Tag": None} for r in data[:50]]
    for record in data + variants:
        assert typed(hook(record, cls)) == typed(generic(record, cls))
    assert declined == []
    with pytest.raises(TypeError):
        hook({**data[0], "Platform": 3}, cls)
    assert len(declined) == 1


@pytest.mark.parametrize("cls", RECORD_MODELS, ids=lambda c: c.__name__)
def test_production_hooks_read_fake_pages_without_fallback(
    fake: FakePostmark, cls: type, watch_fallback: Callable[[Any], list[Any]]
):
    """The production functions read every fake record themselves (no generic rebuild)."""
    hook = FAST.get_structure_hook(cls)
    declined = watch_fallback(hook)
    for record in records(fake, cls):
        hook(record, cls)
    assert declined == []
