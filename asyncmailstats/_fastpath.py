"""Generated straight-line structure functions for records that come by the page.

:func:`make_fast_structure_fn` writes one function per attrs class that reads the
common case itself (exact scalar types, ISO dates, open-enum members, nested records
inline) and hands anything else, whole, to the generic cattrs hook: results and errors
stay those of the generic hook, only faster. Used by the production converters only;
the strict converters keep the generic hooks. The pieces the code is made of are in
:mod:`._fastpath_parts`.
"""

from __future__ import annotations

import linecache
import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs
import cattrs

from ._fastpath_parts import (
    _EXACT_HOOKS,
    _PARSED_HOOKS,
    _Code,
    _indent,
    _slot_setters,
    _split_optional,
    _swap_builder,
)

T = TypeVar("T")


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
        # Strings only, each required or None by default: a missing key and a null read
        # alike, and a cached key stands for values that passed the checks.
        self.key_first = all(
            _split_optional(a.type)[0] is str
            and (
                (a.default is None and _split_optional(a.type)[1])
                or (a.default is attrs.NOTHING and not _split_optional(a.type)[1])
            )
            for a, _, _ in self.fields
        )
        self.builder = _swap_builder(cls) if self.setters is not None else None

    def lines(self, code: _Code, ns: str, src: str, dst: str) -> list[str]:
        """Return the lines reading the dict named *src* into an instance named *dst*."""
        reads: list[str] = []
        after: list[str] = []
        for index, (attribute, wire, hook) in enumerate(self.fields):
            kind, convert = self._convert(code, ns, index, attribute, hook)
            read, rest = self._read(
                code, ns, index, attribute, wire=wire, kind=kind, convert=convert
            )
            reads.append(read)
            after += rest
        names = [f"{ns}v{i}" for i in range(len(self.fields))]
        construct = self._construct(code, ns, dst, names)
        if self.intern_limit > 0 and self.key_first:
            return self._interned_key_first(
                code, ns, src=src, dst=dst, reads=reads, after=after, construct=construct
            )
        out = self._gather(code, ns, src, names, reads) + after
        if self.intern_limit <= 0:
            return out + construct
        cache = code.bind(f"{ns}cache", self.cache)
        limit = code.bind(f"{ns}limit", self.intern_limit)
        return [
            *out,
            f"{ns}key = ({', '.join(names)},)",
            f"{dst} = {cache}.get({ns}key)",
            f"if {dst} is None:",
            f"    if len({cache}) >= {limit}: {cache}.clear()",
            *_indent(construct),
            f"    {cache}[{ns}key] = {dst}",
        ]

    def _key_getter(self, code: _Code, ns: str) -> str:
        """Bind, and return the name of, the ``itemgetter`` reading every wire key."""
        return code.bind(f"{ns}IG", operator.itemgetter(*(wire for _, wire, _ in self.fields)))

    def _gather(
        self, code: _Code, ns: str, src: str, names: list[str], reads: list[str]
    ) -> list[str]:
        """Return the lines reading every key of *src* into its variable.

        When every key is there -- the usual case -- one ``itemgetter`` call reads them
        all; a missing key makes it raise ``KeyError``, and the keys are then read one by
        one with their defaults.
        """
        one_by_one = [f"{ns}get = {src}.get"] + [
            f"{name} = {read}" for name, read in zip(names, reads, strict=True)
        ]
        if len(names) < 2:
            return one_by_one
        getter = self._key_getter(code, ns)
        return [
            "try:",
            f"    {', '.join(names)} = {getter}({src})",
            "except KeyError:",
            *_indent(one_by_one),
        ]

    def _interned_key_first(
        self,
        code: _Code,
        ns: str,
        *,
        src: str,
        dst: str,
        reads: list[str],
        after: list[str],
        construct: list[str],
    ) -> list[str]:
        """Return lines that look the raw values up among the instances already built.

        For a record of strings only: a JSON value equal to a string is that string, so
        values equal to a key already in the cache passed the checks then, and the shared
        instance is returned without checking them again.
        """
        cache = code.bind(f"{ns}cache", self.cache)
        limit = code.bind(f"{ns}limit", self.intern_limit)
        getter = self._key_getter(code, ns)
        names = [f"{ns}v{i}" for i in range(len(self.fields))]
        return [
            "try:",
            f"    {ns}key = ({getter}({src}),)"
            if len(names) == 1
            else f"    {ns}key = {getter}({src})",
            "except KeyError:",
            f"    {ns}get = {src}.get",
            f"    {ns}key = ({', '.join(reads)},)",
            f"{dst} = {cache}.get({ns}key)",
            f"if {dst} is None:",
            f"    {', '.join(names)}, = {ns}key",
            *_indent(after),
            f"    if len({cache}) >= {limit}: {cache}.clear()",
            *_indent(construct),
            f"    {cache}[{ns}key] = {dst}",
        ]

    def _construct(self, code: _Code, ns: str, dst: str, names: list[str]) -> list[str]:
        """Return the lines building the instance *dst* from the variables *names*."""
        cls = code.bind(f"{ns}cls", self.cls)
        if self.builder is not None:
            # Stores into a twin class without a __setattr__ of its own are plain slot
            # stores; the finished object then becomes an instance of the frozen class.
            builder = code.bind(f"{ns}B", self.builder)
            return [
                f"{dst} = new({builder})",
                *(
                    f"{dst}.{a.name} = {name}"
                    for (a, _, _), name in zip(self.fields, names, strict=True)
                ),
                f"{dst}.__class__ = {cls}",
            ]
        if self.setters is not None:
            return [
                f"{dst} = new({cls})",
                *(
                    f"{code.bind(f'{ns}S{i}', setter)}({dst}, {name})"
                    for i, (setter, name) in enumerate(zip(self.setters, names, strict=True))
                ),
            ]
        return [
            f"{dst} = {cls}("
            + ", ".join(
                f"{a.alias}={name}" for (a, _, _), name in zip(self.fields, names, strict=True)
            )
            + ")"
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
        item = getattr(hook, "tuple_item", None)
        if item is not None:
            return "call", self._tuple_lines(code, ns, index, item)
        call = code.bind(f"H{at}", hook)
        return "call", [f"{v} = {call}({v}, {code.bind(f'T{at}', attribute.type)})"]

    def _tuple_lines(
        self, code: _Code, ns: str, index: int, item: tuple[Any, Callable[[Any, Any], Any]]
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
