"""The ``extra`` field: a read-only mapping, a shared empty default, both hooks filling it."""

from __future__ import annotations

import ast
import copy
import inspect
import json
import pickle
from collections.abc import Mapping
from typing import Any

import attrs
import pytest

from asyncmailstats import _convert as base
from asyncmailstats._convert import structure
from asyncmailstats._extra import NO_EXTRA, FrozenDict, extra_field, frozen_dict, record_hook
from asyncmailstats._fastpath import make_fast_structure_fn
from asyncmailstats.emailconsul import models as ec_models
from asyncmailstats.exceptions import DecodeError
from asyncmailstats.getresponse import models as gr_models
from asyncmailstats.postmark import _stats_models as pm_stats_models
from asyncmailstats.postmark import models as pm_models


def test_frozen_dict_refuses_every_change() -> None:
    """Item assignment, deletion and every mutating method raise TypeError."""
    data = FrozenDict({"a": 1})
    changes = (
        lambda: data.__setitem__("b", 2),
        lambda: data.__delitem__("a"),
        lambda: data.__ior__({"b": 2}),
        data.clear,
        lambda: data.pop("a"),
        data.popitem,
        lambda: data.setdefault("b", 2),
        lambda: data.update(b=2),
    )
    for change in changes:
        with pytest.raises(TypeError, match="read-only"):
            change()
    assert data == {"a": 1}


def test_frozen_dict_pickles_copies_and_writes_as_json() -> None:
    """It round-trips through pickle and deepcopy, and json.dumps writes it as an object."""
    data = FrozenDict({"a": [1, {"b": None}]})
    for again in (pickle.loads(pickle.dumps(data)), copy.deepcopy(data)):  # noqa: S301
        assert type(again) is FrozenDict
        assert again == data
    assert copy.deepcopy(data)["a"] is not data["a"]
    assert copy.copy(data) is data
    assert json.loads(json.dumps(data)) == {"a": [1, {"b": None}]}
    assert repr(data) == "{'a': [1, {'b': None}]}"


def test_empty_mappings_are_the_shared_no_extra() -> None:
    """An empty extra is always the one shared instance, also after pickle or deepcopy."""
    assert frozen_dict({}) is NO_EXTRA
    assert pickle.loads(pickle.dumps(NO_EXTRA)) is NO_EXTRA  # noqa: S301
    assert copy.deepcopy(NO_EXTRA) is NO_EXTRA
    assert frozen_dict({"a": 1}) == {"a": 1}


@attrs.frozen(kw_only=True, weakref_slot=False)
class Row:
    row_id: str
    count: int = 0
    note: str | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class WithWeakref:
    row_id: str
    count: int = 0
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class Checked:
    count: int = attrs.field(validator=attrs.validators.ge(0))
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Single:
    name: str | None = None
    extra: Mapping[str, Any] = extra_field()


RENAMES = {"row_id": "RowID", "count": "Count"}


def hooks(cls: type, renames: Mapping[str, str] | None = None, **fast: Any) -> dict[str, Any]:
    """Return the strict, generic and fast hooks of *cls*."""
    lenient = base.make_converter(strict=False)
    generic = record_hook(lenient, cls, renames)
    return {
        "strict": record_hook(base.make_converter(strict=True), cls, renames),
        "generic": generic,
        "fast": make_fast_structure_fn(lenient, cls, generic, renames=renames, **fast),
    }


def test_record_hook_keeps_unknown_keys_and_strict_refuses_them() -> None:
    """Lenient hooks keep unknown keys (a key named "extra" too); the strict one refuses."""
    row = hooks(Row, RENAMES)
    data = {"RowID": "r", "Count": 2, "row_id": "x", "extra": {"y": 1}}
    for name in ("generic", "fast"):
        built = row[name](data, Row)
        assert (built.row_id, built.count) == ("r", 2)
        assert built.extra == {"row_id": "x", "extra": {"y": 1}}
    with pytest.raises(Exception, match="row_id"):
        row["strict"](data, Row)
    assert row["strict"]({"RowID": "r"}, Row).extra is NO_EXTRA


def outcome(hook: Any, data: Any, cls: type) -> Any:
    """Return the record *hook* builds with its extra (and whether it is shared), or the error."""
    try:
        built = hook(data, cls)
    except Exception as exc:  # the comparison is the point
        return (type(exc), str(exc))
    return (built, dict(built.extra), built.extra is NO_EXTRA)


@pytest.mark.parametrize(
    ("cls", "fast"),
    [
        (Row, {}),
        (WithWeakref, {}),
        (Checked, {}),
        (Single, {}),
        (Single, {"intern_limit": 4}),
    ],
    ids=["twin class", "slot setters", "init (validator)", "one field", "interned"],
)
def test_every_way_of_building_agrees_with_the_generic_hook(
    cls: type, fast: dict[str, Any]
) -> None:
    """Each kind of generated function gives the generic hook's record and extra."""
    renames = RENAMES if cls in (Row, WithWeakref) else None
    made = hooks(cls, renames, **fast)
    first = {"Checked": {"count": 1}, "Single": {"name": "n"}}.get(cls.__name__, {"RowID": "r"})
    cases = [first, {}, {**first, "new": 1}, {"new": [1]}, {**first, "extra": None}]
    for data in cases:
        assert outcome(made["fast"], data, cls) == outcome(made["generic"], data, cls), data


def test_interned_records_with_unknown_keys_are_never_shared() -> None:
    """An interned record with unknown keys is built anew; the plain one stays cached."""
    made = hooks(Single, intern_limit=4)
    plain = made["fast"]({"name": "n"}, Single)
    assert made["fast"]({"name": "n"}, Single) is plain
    odd = made["fast"]({"name": "n", "new": 1}, Single)
    assert odd is not plain
    assert odd.extra == {"new": 1}
    assert made["fast"]({}, Single) is made["fast"]({}, Single)
    assert made["fast"]({"name": "n"}, Single) is plain


@attrs.frozen(kw_only=True, weakref_slot=False)
class Counted:
    n: int | None = None
    label: str = ""
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True, weakref_slot=False)
class Named:
    name: str | None = None


def test_interned_records_of_any_kind_agree_with_the_generic_hook() -> None:
    """Interned records are shared only without unknown keys; a class without extra ignores them."""
    counted = hooks(Counted, intern_limit=4)
    for data in ({"n": 1}, {"n": 1, "new": 2}, {"label": "x", "n": None}, {"n": "1"}):
        assert outcome(counted["fast"], data, Counted) == outcome(counted["generic"], data, Counted)
    assert counted["fast"]({"n": 1}, Counted) is counted["fast"]({"n": 1}, Counted)
    assert counted["fast"]({"n": 1, "new": 2}, Counted).extra == {"new": 2}
    converter = base.make_converter()
    named = make_fast_structure_fn(
        converter, Named, converter.get_structure_hook(Named), intern_limit=4
    )
    assert named({"name": "n", "new": 1}, Named) is named({"name": "n"}, Named)
    assert named({}, Named) == Named()


def test_models_ignore_extra_in_equality_and_hashing() -> None:
    """Records that differ only in extra are equal and hash alike."""
    assert Row(row_id="r", extra={"a": 1}) == Row(row_id="r")
    assert hash(Row(row_id="r", extra={"a": 1})) == hash(Row(row_id="r"))
    assert Row(row_id="r").extra is NO_EXTRA


def test_converters_fill_extra_for_models_without_hooks_of_their_own() -> None:
    """A converter's default hook for a model with extra keeps or refuses unknown keys."""
    data = {"RowID": "r", "row_id": "x"}
    assert structure(base.make_converter(), data, Row).extra == {"RowID": "r"}
    with pytest.raises(DecodeError, match="RowID"):
        structure(base.make_converter(strict=True), data, Row)


MODEL_MODULES = (pm_models, pm_stats_models, gr_models, ec_models)
#: Models not read from one wire object with fixed keys.
WITHOUT_EXTRA = {"DynamicDay", "DynamicCounts", "MessageStatsSeries", "StatsTotals", "TimeRange"}


@pytest.mark.parametrize("module", MODEL_MODULES, ids=lambda m: m.__name__)
def test_every_wire_model_ends_with_a_documented_extra(module: Any) -> None:
    """Each model read from a wire object ends with extra, which has an attribute docstring."""
    tree = ast.parse(inspect.getsource(module))
    for node in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        cls = getattr(module, node.name)
        if not attrs.has(cls):
            continue
        if node.name in WITHOUT_EXTRA or node.name.startswith("_"):
            # A private base holds fields its models share; each model declares extra.
            assert "extra" not in attrs.fields_dict(cls)
            continue
        last = attrs.fields(cls)[-1]
        assert (last.name, last.kw_only, last.eq, last.default) == ("extra", True, False, NO_EXTRA)
        body = node.body
        (index,) = [
            i
            for i, stmt in enumerate(body)
            if isinstance(stmt, ast.AnnAssign) and ast.unparse(stmt.target) == "extra"
        ]
        docstring = body[index + 1]
        assert isinstance(docstring, ast.Expr), node.name
        assert isinstance(docstring.value, ast.Constant), node.name
        assert "declare" in docstring.value.value, node.name
