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
    """Return each field's slot setter when ``cls.__init__`` does nothing but store them.

    attrs writes such an ``__init__`` for a slotted class whose fields have no validator
    or converter and which has no pre/post-init hook, no cached hash and no
    ``__setattr__`` of its own (frozen classes store through ``object.__setattr__``).
    Storing through the slot descriptors then builds the very same object without the
    keyword-argument call; for any other class this returns ``None``.
    """
    init = getattr(cls.__init__, "__code__", None)
    if (
        init is None
        or not init.co_filename.startswith("<attrs generated")
        or cls.__new__ is not object.__new__
        or any(hasattr(cls, hook) for hook in ("__attrs_pre_init__", "__attrs_post_init__"))
        # attrs' __init__ stores through object.__setattr__ only under these two.
        or (
            cls.__setattr__ is not object.__setattr__
            and getattr(cls.__setattr__, "__module__", None) != "attr._make"
        )
    ):
        return None
    fields = attrs.fields(cls)
    slots: set[str] = set()
    for klass in cls.__mro__[:-1]:
        declared = vars(klass).get("__slots__")
        if declared is None:
            return None
        slots.update([declared] if isinstance(declared, str) else declared)
    if slots - {"__weakref__"} != {field.name for field in fields}:
        return None
    setters: list[Callable[[Any, Any], None]] = []
    for field in fields:
        if field.validator is not None or field.converter is not None or not field.init:
            return None
        descriptor = inspect.getattr_static(cls, field.name)
        if not isinstance(descriptor, types.MemberDescriptorType):
            return None
        setters.append(descriptor.__set__)
    return setters


def _swap_builder(cls: Any) -> type | None:
    """Return a mutable twin of slotted *cls* whose instances can become *cls* instances.

    The twin declares the same slots and nothing else, so storing into it is a plain slot
    store, and assigning ``__class__`` turns the finished object into an instance of
    *cls*, the very object attrs' ``__init__`` would have built. CPython allows that only
    between identical layouts (for one, not with a ``__weakref__`` slot after the
    fields); when it refuses, this returns ``None``.
    """
    slots: list[str] = []
    for klass in reversed(cls.__mro__[:-1]):
        declared = vars(klass).get("__slots__", ())
        slots += [declared] if isinstance(declared, str) else list(declared)
    twin = type(f"{cls.__name__}Builder", (), {"__slots__": tuple(slots), "__module__": __name__})
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
