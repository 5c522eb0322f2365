"""Generated straight-line structure functions for records that come by the page.

:func:`make_fast_structure_fn` writes one function per attrs class that reads the
common case itself (exact scalar types, ISO dates, open-enum members, nested records
inline) and hands anything else, whole, to the generic cattrs hook: results and errors
stay those of the generic hook, only faster. Used by the production converters only;
the strict converters keep the generic hooks.
"""

from __future__ import annotations

import inspect
import linecache
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Final, TypeVar

import attrs
import cattrs

from ._convert import (
    _structure_bool,
    _structure_date,
    _structure_datetime,
    _structure_float,
    _structure_int,
    _structure_str,
)

T = TypeVar("T")

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


class _RecordCode:
    """Writes the lines that read one record of an attrs class into an instance.

    The lines raise ``F`` (:class:`_Fallback`) for anything but the common case, so the
    function around them can hand the record to the generic hook. A parent record's
    code embeds the code of its nested records instead of calling their functions.
    """

    def __init__(
        self,
        converter: cattrs.Converter,
        cls: Any,
        renames: Mapping[str, str],
        hooks: Mapping[str, Callable[[Any, Any], Any]],
        intern_limit: int,
    ) -> None:
        attrs.resolve_types(cls)
        self.converter = converter
        self.cls = cls
        self.fields = [
            (a, renames.get(a.name, a.name), hooks.get(a.name)) for a in attrs.fields(cls)
        ]
        self.setters = _slot_setters(cls)
        self.supported = all(
            a.init and not (isinstance(a.default, attrs.Factory) and a.default.takes_self)  # type: ignore[arg-type]
            for a, _, _ in self.fields
        )
        # Interning needs every value checked by exact type: equal keys, identical values.
        plain = all(
            hook is None
            and _split_optional(a.type)[0] in (str, int, bool)
            and converter.get_structure_hook(_split_optional(a.type)[0])
            is _EXACT_HOOKS[_split_optional(a.type)[0]]
            for a, _, hook in self.fields
        )
        self.intern_limit = intern_limit if plain else 0
        self.cache: dict[tuple[Any, ...], Any] = {}

    def lines(self, code: _Code, ns: str, src: str, dst: str) -> list[str]:
        """Return the lines reading the dict named *src* into an instance named *dst*."""
        out = [f"{ns}get = {src}.get"]
        for index, (attribute, wire, hook) in enumerate(self.fields):
            kind, convert = self._convert(code, ns, index, attribute, hook)
            out += self._read(code, ns, index, attribute, wire=wire, kind=kind, convert=convert)
        construct = [
            f"{dst} = {code.bind(f'{ns}cls', self.cls)}("
            + ", ".join(f"{a.alias}={ns}v{i}" for i, (a, _, _) in enumerate(self.fields))
            + ")"
        ]
        if self.setters is not None:
            construct = [f"{dst} = new({code.bind(f'{ns}cls', self.cls)})"]
            construct += [
                f"{code.bind(f'{ns}S{i}', setter)}({dst}, {ns}v{i})"
                for i, setter in enumerate(self.setters)
            ]
        if self.intern_limit <= 0:
            return out + construct
        cache = code.bind(f"{ns}cache", self.cache)
        limit = code.bind(f"{ns}limit", self.intern_limit)
        values = ", ".join(f"{ns}v{i}" for i in range(len(self.fields)))
        return [
            *out,
            f"{ns}key = ({values},)",
            f"{dst} = {cache}.get({ns}key)",
            f"if {dst} is None:",
            f"    if len({cache}) >= {limit}: {cache}.clear()",
            *_indent(construct),
            f"    {cache}[{ns}key] = {dst}",
        ]

    def _convert(  # noqa: PLR0911 - one return per kind of field
        self, code: _Code, ns: str, index: int, attribute: attrs.Attribute[Any], hook: Any
    ) -> tuple[str, list[str]]:
        """Return the kind of the field and the lines turning ``v<index>`` into its value.

        Every kind but ``"call"`` takes ``None`` to ``None`` for an optional field and
        rejects it otherwise, so a missing key and a ``null`` can be read alike.
        """
        v, at = f"{ns}v{index}", f"{ns}{index}"
        base, optional = _split_optional(attribute.type)
        none_ok = f"{v} is not None and " if optional else ""
        base_hook = self.converter.get_structure_hook(base) if hook is None else None
        if base in _EXACT_HOOKS and base_hook is _EXACT_HOOKS[base]:
            check = f"type({v}) is not {code.bind(f'T{at}', base)}"
            # Most values have the type: test it before testing for None.
            return "exact", [
                f"if {check} and {v} is not None: raise F" if optional else f"if {check}: raise F"
            ]
        if base in _PARSED_HOOKS and base_hook is _PARSED_HOOKS[base]:
            parse = (
                f"datetime_fromisoformat({v})"
                if base is datetime
                else f"date_fromisoformat({v}[:10])"
            )
            return "parsed", [
                f"if type({v}) is str: {v} = {parse}",
                f"elif {none_ok}type({v}) is not {code.bind(f'T{at}', base)}: raise F",
            ]
        members = getattr(base_hook, "open_enum_members", None)
        if members is not None:
            # A declared value by dict lookup; anything else through the enum's hook.
            call = f"{code.bind(f'H{at}', base_hook)}({v}, {code.bind(f'T{at}', base)})"
            lookup = [
                f"{ns}e = {code.bind(f'M{at}', members)}.get({v})",
                f"{v} = {call} if {ns}e is None else {ns}e",
            ]
            if optional:
                return "enum", [f"if {v} is not None:", *_indent(lookup)]
            return "enum", lookup
        if base_hook is not None and optional:
            # What the converter's optional hook does, without the extra call.
            record = getattr(base_hook, "fast_record_code", None)
            if record is not None:
                nested = record.lines(code, f"{ns}n{index}_", v, v)
                body = [f"if type({v}) is not dict: raise F", *nested]
                return "nested", [f"if {v} is not None:", *_indent(body)]
            call = code.bind(f"H{at}", base_hook)
            return "nested", [f"if {v} is not None: {v} = {call}({v}, {code.bind(f'T{at}', base)})"]
        if hook is None:
            hook = self.converter.get_structure_hook(attribute.type)
        call = code.bind(f"H{at}", hook)
        return "call", [f"{v} = {call}({v}, {code.bind(f'T{at}', attribute.type)})"]

    def _read(
        self,
        code: _Code,
        ns: str,
        index: int,
        attribute: attrs.Attribute[Any],
        *,
        wire: str,
        kind: str,
        convert: list[str],
    ) -> list[str]:
        """Return the lines reading the field's key into its variable and converting it."""
        v, at, get, key = f"{ns}v{index}", f"{ns}{index}", f"{ns}get", repr(wire)
        base, optional = _split_optional(attribute.type)
        default: Any = attribute.default
        if default is attrs.NOTHING and kind != "call" and not optional:
            # A missing key reads as None, which these kinds reject for such a field.
            return [f"{v} = {get}({key})", *convert]
        if default is attrs.NOTHING:
            return [f"{v} = {get}({key}, M_)", f"if {v} is M_: raise F", *convert]
        if kind != "call" and default is None and optional:
            # A missing key reads as None, which these kinds take to the default None.
            return [f"{v} = {get}({key})", *convert]
        if kind == "exact" and type(default) is base:
            # The default passes the exact-type check unchanged.
            return [f"{v} = {get}({key}, {code.bind(f'D{at}', default)})", *convert]
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            missing = f"{code.bind(f'D{at}', default.factory)}()"
        else:
            missing = code.bind(f"D{at}", default)
        return [
            f"{v} = {get}({key}, M_)",
            f"if {v} is M_: {v} = {missing}",
            "else:",
            *_indent(convert),
        ]


def make_fast_structure_fn(
    converter: cattrs.Converter,
    cls: type[T],
    fallback: Callable[[Any, Any], T],
    *,
    renames: Mapping[str, str] | None = None,
    hooks: Mapping[str, Callable[[Any, Any], Any]] | None = None,
    intern_limit: int = 0,
) -> Callable[[Any, Any], T]:
    """Return a straight-line structure function for attrs class *cls*, *fallback* behind it.

    The function reads each key once with ``dict.get`` and takes a value as it is when it
    has the type the wire normally carries: an exact ``str``/``int``/``bool``/``float``, an
    ISO-8601 string for a timestamp or date, a declared member of an open enum, ``None``
    for an optional field. Anything else -- a missing required key, a numeric string, an
    unknown enum value, a wrong type, a failed parse, a record that is not a ``dict`` --
    hands the whole record to *fallback* (the generic hook), which returns what it always
    returned or raises the error it always raised. Nested records with a fast function of
    their own are read inline; other fields (tuples, mappings) call the converter's hook
    for their type, or the one in *hooks*, as the generic hook does. Keys the class does
    not declare are never read: this is for lenient converters only.

    Args:
        converter: The converter whose hooks the fields use.
        cls: The attrs class to build.
        fallback: The generic hook, called for every record the fast path declines.
        renames: Wire name per field name (default: the field's own name).
        hooks: Structure hook per field name, used instead of the converter's.
        intern_limit: When positive and every field is a plain ``str``/``int``/``bool``,
            return one shared instance per distinct tuple of values, keeping at most this
            many (the cache empties when full). Safe because the classes are frozen and
            the values are of exact types, so equal keys mean identical objects.
    """
    record = _RecordCode(converter, cls, renames or {}, hooks or {}, intern_limit)
    if not record.supported:
        return fallback
    code = _Code()
    code.bind("fallback", fallback)
    body = "\n".join(f"            {line}" for line in record.lines(code, "", "o", "built"))
    name = f"structure_{cls.__name__}"
    source = (
        f"def {name}(o, t):\n"
        "    if type(o) is dict:\n"
        "        try:\n"
        f"{body}\n"
        "            return built\n"
        "        except Exception:\n"
        "            pass\n"
        "    return fallback(o, t)\n"
    )
    filename = f"<asyncmailstats fast structure {cls.__module__}.{cls.__qualname__}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    # The source is built from attribute names and repr()'d wire names only.
    exec(compile(source, filename, "exec"), code.names)  # noqa: S102
    function: Callable[[Any, Any], T] = code.names[name]
    function.fast_record_code = record  # type: ignore[attr-defined]
    return function
