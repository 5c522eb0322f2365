"""The pieces the generated structure functions are made of.

The signal that hands a record to the generic hook, the scalar hooks whose common case
is inlined, the namespace the generated code runs in, the two ways of storing a record's
fields without calling attrs' ``__init__`` (slot descriptors, or a mutable twin class
that becomes the model), the lines reading one key, and the list-to-tuple hook with the
lines doing its work inline. :mod:`._fastpath` writes the rest of the code.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Final

import attrs

from ._convert import (
    _structure_bool,
    _structure_date,
    _structure_datetime,
    _structure_float,
    _structure_int,
    _structure_str,
)

_MISSING: Final = object()


class _Fallback(Exception):  # noqa: N818 - a signal, not an error anyone sees
    """Raised inside a fast structure function: hand the record to the generic hook."""


#: The scalar hooks whose common case a fast structure function inlines: the value
#: already has the exact type and the hook would return it unchanged.
_EXACT_HOOKS: Final[dict[type, Callable[[Any, type], Any]]] = {
    str: _structure_str,
    int: _structure_int,
    bool: _structure_bool,
    float: _structure_float,
}
_PARSED_HOOKS: Final[dict[type, Callable[[Any, type], Any]]] = {
    datetime: _structure_datetime,
    date: _structure_date,
}


def _split_optional(t: Any) -> tuple[Any, bool]:
    """Return ``(X, True)`` for ``X | None`` and ``(t, False)`` for anything else."""
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        args = typing.get_args(t)
        if len(args) == 2 and type(None) in args:
            return next(a for a in args if a is not type(None)), True
    return t, False


def _slot_setters(cls: Any) -> list[Callable[[Any, Any], None]] | None:
    """Return each field's slot setter when ``cls(...)`` does nothing but store its arguments.

    Storing through the slot descriptors then builds the very same object without the
    keyword-argument call. That holds for a slotted attrs class whose fields have no
    validator or converter and are all set by ``__init__``, which has no pre/post-init
    hook and no slot besides its fields (and ``__weakref__``), and whose ``__init__``
    stores each argument as it is, which is checked by building one instance from
    distinct sentinels (a class with an ``__init__`` or ``__setattr__`` of its own that
    changes or refuses them fails the check). Only public attrs API and Python's slot
    descriptors are used. For any other class this returns ``None``.
    """
    descriptors = _field_slots(cls)
    if descriptors is None:
        return None
    fields = attrs.fields(cls)
    sentinels = {field.alias: _Sentinel() for field in fields}
    try:
        probe = cls(**sentinels)
    except Exception:  # noqa: BLE001 - an __init__ that refuses sentinels is not plain
        return None
    stored = (d.__get__(probe) for d in descriptors)
    if type(probe) is not cls or any(
        value is not sentinels[f.alias] for value, f in zip(stored, fields, strict=True)
    ):
        return None
    return [d.__set__ for d in descriptors]


def _field_slots(cls: Any) -> list[Any] | None:
    """Return the slot descriptors of an attrs class's plain fields, in field order, or ``None``.

    ``None`` unless every field is set by ``__init__`` without validator or converter,
    there is no pre/post-init hook, and the slots are the fields (and ``__weakref__``).
    """
    if not attrs.has(cls) or any(
        hasattr(cls, hook) for hook in ("__attrs_pre_init__", "__attrs_post_init__")
    ):
        return None
    fields = attrs.fields(cls)
    if any(f.validator is not None or f.converter is not None or not f.init for f in fields):
        return None
    slots: set[str] = set()
    for klass in cls.__mro__[:-1]:
        declared = vars(klass).get("__slots__")
        if declared is None:
            return None
        slots.update([declared] if isinstance(declared, str) else declared)
    if slots - {"__weakref__"} != {field.name for field in fields}:
        return None
    descriptors = [inspect.getattr_static(cls, field.name) for field in fields]
    if not all(isinstance(d, types.MemberDescriptorType) for d in descriptors):
        return None
    return descriptors


class _Sentinel:
    """A value no ``__init__`` would store unchanged unless it stores what it is given."""

    __slots__ = ()


def _swap_builder(cls: Any) -> type | None:
    """Return a mutable twin of slotted *cls* whose instances can become *cls* instances.

    The twin derives from the same base as *cls* and adds the same slots, with the plain
    ``object.__setattr__`` and ``__delattr__`` (a frozen base's refusal does not apply
    to it), so storing into it is a plain slot store, and assigning ``__class__`` turns
    the finished object into an instance of *cls*, the very object attrs' ``__init__``
    would have built.
    CPython allows that only between identical layouts (on Python 3.11, not with a
    ``__weakref__`` slot); when it refuses, this returns ``None`` and the fields are
    stored through the slot descriptors instead (a test checks which way every model
    takes).
    """
    if len(cls.__bases__) != 1:
        return None
    declared = vars(cls).get("__slots__", ())
    namespace = {
        "__slots__": (declared,) if isinstance(declared, str) else tuple(declared),
        "__setattr__": object.__setattr__,
        # One type slot serves both: with a frozen base's __delattr__ left in place,
        # every store would still go through Python-level dispatch.
        "__delattr__": object.__delattr__,
        "__module__": __name__,
    }
    twin = type(f"{cls.__name__}Builder", cls.__bases__, namespace)
    blank: Any = object.__new__(twin)
    try:
        blank.__class__ = cls
    except TypeError:
        return None
    return twin


class _Code:
    """The objects the names in a generated function stand for."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {
            "F": _Fallback,
            "M_": _MISSING,
            "new": object.__new__,
            "datetime_fromisoformat": datetime.fromisoformat,
            "date_fromisoformat": date.fromisoformat,
        }

    def bind(self, name: str, value: Any) -> str:
        self.names[name] = value
        return name


def _indent(lines: list[str]) -> list[str]:
    return [f"    {line}" for line in lines]


def tuple_hook(
    item_type: Any, item: Callable[[Any, Any], Any]
) -> Callable[[Any, Any], tuple[Any, ...]]:
    """Return a hook reading a JSON list (or ``null``, as ``()``) as a tuple of *item_type*.

    A fast structure function reads such a field inline, with the same results.
    """

    def structure_tuple(value: Any, _: Any) -> tuple[Any, ...]:
        if type(value) is list:
            return tuple([item(v, item_type) for v in value]) if value else ()
        if value is None:
            return ()
        msg = f"expected a list, got {type(value).__name__}"
        raise TypeError(msg)

    structure_tuple.tuple_item = (item_type, item)  # type: ignore[attr-defined]
    return structure_tuple


def _tuple_lines(
    code: _Code, ns: str, index: int, item: tuple[Any, Callable[[Any, Any], Any]]
) -> list[str]:
    """Return what a list-to-tuple hook (see :func:`tuple_hook`) does, inline.

    Exact strings are taken as they are; other items go through the item hook.
    """
    v, at = f"{ns}v{index}", f"{ns}{index}"
    item_type, item_hook = item
    if item_type is str and item_hook is _EXACT_HOOKS[str]:
        build = [
            f"for {ns}x in {v}:",
            f"    if type({ns}x) is not str: raise F",
            f"{v} = tuple({v})",
        ]
    else:
        call = code.bind(f"I{at}", item_hook)
        kind = code.bind(f"IT{at}", item_type)
        build = [f"{v} = tuple([{call}({ns}x, {kind}) for {ns}x in {v}])"]
    return [
        f"if type({v}) is list:",
        f"    if {v}:",
        *_indent(_indent(build)),
        "    else:",
        f"        {v} = ()",
        f"elif {v} is None: {v} = ()",
        "else: raise F",
    ]


def _read_field(
    code: _Code,
    ns: str,
    index: int,
    attribute: attrs.Attribute[Any],
    *,
    wire: str,
    kind: str,
    convert: list[str],
) -> tuple[str, list[str]]:
    """Return the expression reading the field's key, and the lines converting it.

    The expression is the one used when a key may be missing (``get`` standing for
    the record's ``dict.get``); when every key is there, the lines see the values
    themselves and the tests for a missing key are false.
    """
    v, at, get, key = f"{ns}v{index}", f"{ns}{index}", f"{ns}get", repr(wire)
    base, optional = _split_optional(attribute.type)
    default: Any = attribute.default
    if default is attrs.NOTHING and kind != "call" and not optional:
        # A missing key reads as None, which these kinds reject for such a field.
        return f"{get}({key})", convert
    if default is attrs.NOTHING:
        return f"{get}({key}, M_)", [f"if {v} is M_: raise F", *convert]
    if kind != "call" and default is None and optional:
        # A missing key reads as None, which these kinds take to the default None.
        return f"{get}({key})", convert
    if kind == "exact" and type(default) is base:
        # The default passes the exact-type check unchanged.
        return f"{get}({key}, {code.bind(f'D{at}', default)})", convert
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        missing = f"{code.bind(f'D{at}', default.factory)}()"
    else:
        missing = code.bind(f"D{at}", default)
    return f"{get}({key}, M_)", [
        f"if {v} is M_: {v} = {missing}",
        "else:",
        *_indent(convert),
    ]
