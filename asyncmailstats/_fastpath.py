"""Generated straight-line structure functions for records that come by the page.

:func:`make_fast_structure_fn` writes one function per attrs class that reads the
common case itself (exact scalar types, ISO dates, open-enum members, nested records
inline) and hands anything else, whole, to the generic cattrs hook: results and errors
stay those of the generic hook, only faster. Keys a class does not declare are kept in
its ``extra`` here too, as the generic hook keeps them; the usual record, without any,
pays one ``len`` for it. Used by the production converters only; the strict converters
keep the generic hooks. The pieces the code is made of are in :mod:`._fastpath_parts`.
"""

from __future__ import annotations

import linecache
import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, TypeVar

import attrs
import cattrs

from ._extra import NO_EXTRA, extra_attribute, extra_of
from ._fastpath_parts import (
    _EXACT_HOOKS,
    _PARSED_HOOKS,
    _Code,
    _indent,
    _read_field,
    _slot_setters,
    _split_optional,
    _swap_builder,
    _tuple_lines,
    tuple_hook,
)

__all__ = ["make_fast_structure_fn", "tuple_hook"]

T = TypeVar("T")

#: The cache key of a record with unknown keys: never in a cache, so it is never shared.
_UNKNOWN: Final = object()


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
        # ``extra`` is not read from a key: it holds the keys the others do not read.
        self.extra = extra_attribute(cls)
        self.fields = [
            (a, renames.get(a.name, a.name), hooks.get(a.name))
            for a in attrs.fields(cls)
            if a is not self.extra
        ]
        self.known = frozenset(wire for _, wire, _ in self.fields)
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
            read, rest = _read_field(
                code, ns, index, attribute, wire=wire, kind=kind, convert=convert
            )
            reads.append(read)
            after += rest
        names = [f"{ns}v{i}" for i in range(len(self.fields))]
        if self.intern_limit > 0 and self.key_first:
            return self._interned_key_first(
                code, ns, src=src, dst=dst, names=names, reads=reads, after=after
            )
        extra = f"{ns}extra"
        construct = self._construct(code, ns, dst, names, extra)
        out = self._gather(code, ns, src, names, reads) + after
        if self.intern_limit <= 0:
            return out + construct
        cache = code.bind(f"{ns}cache", self.cache)
        limit = code.bind(f"{ns}limit", self.intern_limit)
        interned = [
            f"{ns}key = ({', '.join(names)},)",
            f"{dst} = {cache}.get({ns}key)",
            f"if {dst} is None:",
            f"    if len({cache}) >= {limit}: {cache}.clear()",
            *_indent(construct),
            f"    {cache}[{ns}key] = {dst}",
        ]
        if self.extra is None:
            return out + interned
        # A record with unknown keys is not shared: its extra is its own.
        return [*out, f"if {extra} is NO_EXTRA:", *_indent(interned), "else:", *_indent(construct)]

    def _key_getter(self, code: _Code, ns: str) -> str:
        """Bind, and return the name of, the ``itemgetter`` reading every wire key."""
        return code.bind(f"{ns}IG", operator.itemgetter(*(wire for _, wire, _ in self.fields)))

    def _gather(
        self, code: _Code, ns: str, src: str, names: list[str], reads: list[str]
    ) -> list[str]:
        """Return the lines reading every key of *src* into its variable (and ``extra``).

        When every key is there -- the usual case -- one ``itemgetter`` call reads them
        all; otherwise the keys are read one by one with their defaults. Without
        ``extra`` the class ignores unknown keys, and a ``KeyError`` picks the second
        way. With it, the record's length picks: as many keys as the class declares is
        the first way (a ``KeyError`` then means an unknown key stands in for a declared
        one), more is the second way with the unknown keys kept, fewer the second way
        with an exact check for them. The usual record costs one ``len`` more, and a
        record lacking keys no exception.
        """
        one_by_one = [f"{ns}get = {src}.get"] + [
            f"{name} = {read}" for name, read in zip(names, reads, strict=True)
        ]
        every_key = [f"{', '.join(names)} = {self._key_getter(code, ns)}({src})"]
        if self.extra is None:
            if len(names) < 2:
                return one_by_one
            return ["try:", *_indent(every_key), "except KeyError:", *_indent(one_by_one)]
        extra, count = f"{ns}extra", len(self.known)
        known = code.bind(f"{ns}KNOWN", self.known)
        keep = f"{code.bind('EXTRA', extra_of)}({src}, {known})"
        kept = f"{extra} = {keep}"
        checked = f"{extra} = NO_EXTRA if {known}.issuperset({src}) else {keep}"
        if len(names) < 2:
            return [*one_by_one, checked]
        return [
            f"if len({src}) == {count}:",
            "    try:",
            *_indent(_indent([*every_key, f"{extra} = NO_EXTRA"])),
            "    except KeyError:",
            *_indent(_indent([*one_by_one, kept])),
            f"elif len({src}) > {count}:",
            *_indent([*one_by_one, kept]),
            "else:",
            *_indent([*one_by_one, checked]),
        ]

    def _interned_key_first(
        self,
        code: _Code,
        ns: str,
        *,
        src: str,
        dst: str,
        names: list[str],
        reads: list[str],
        after: list[str],
    ) -> list[str]:
        """Return lines that look the raw values up among the instances already built.

        For a record of strings only: a JSON value equal to a string is that string, so
        values equal to a key already in the cache passed the checks then, and the shared
        instance is returned without checking them again. With ``extra``, a record with
        unknown keys looks up ``UNKNOWN``, which is never cached, and is built on its own;
        an empty object (Postmark's ``Geo: {}``) reads as every key missing, at once.
        """
        cache = code.bind(f"{ns}cache", self.cache)
        limit = code.bind(f"{ns}limit", self.intern_limit)
        getter = self._key_getter(code, ns)
        every_key = (
            f"{ns}key = ({getter}({src}),)" if len(names) == 1 else f"{ns}key = {getter}({src})"
        )
        some = [f"{ns}get = {src}.get", f"{ns}key = ({', '.join(reads)},)"]
        cached = [
            f"{', '.join(names)}, = {ns}key",
            *after,
            f"if len({cache}) >= {limit}: {cache}.clear()",
            *self._construct(code, ns, dst, names, "NO_EXTRA"),
            f"{cache}[{ns}key] = {dst}",
        ]
        if self.extra is None:
            return [
                "try:",
                f"    {every_key}",
                "except KeyError:",
                *_indent(some),
                f"{dst} = {cache}.get({ns}key)",
                f"if {dst} is None:",
                *_indent(cached),
            ]
        count = len(self.known)
        known = code.bind(f"{ns}KNOWN", self.known)
        unknown = code.bind("UNKNOWN", _UNKNOWN)
        # Read before the lookup: *dst* may be the very name of *src*.
        own = [
            f"{ns}get = {src}.get",
            f"{', '.join(names)}, = ({', '.join(reads)},)",
            f"{ns}extra = {code.bind('EXTRA', extra_of)}({src}, {known})",
            f"{ns}key = {unknown}",
        ]
        return [
            f"if len({src}) == {count}:",
            "    try:",
            f"        {every_key}",
            "    except KeyError:",
            *_indent(_indent(own)),
            f"elif not {src}: {ns}key = {code.bind(f'{ns}NOTHING', (None,) * len(names))}",
            f"elif len({src}) < {count} and {known}.issuperset({src}):",
            *_indent(some),
            "else:",
            *_indent(own),
            f"{dst} = {cache}.get({ns}key)",
            f"if {dst} is None:",
            f"    if {ns}key is {unknown}:",
            *_indent(_indent([*after, *self._construct(code, ns, dst, names, f"{ns}extra")])),
            "    else:",
            *_indent(_indent(cached)),
        ]

    def _construct(self, code: _Code, ns: str, dst: str, names: list[str], extra: str) -> list[str]:
        """Return the lines building *dst* from the variables *names* (and *extra*)."""
        cls = code.bind(f"{ns}cls", self.cls)
        values = dict(zip((a.name for a, _, _ in self.fields), names, strict=True))
        if self.extra is not None:
            code.bind("NO_EXTRA", NO_EXTRA)
            values[self.extra.name] = extra
        if self.builder is not None:
            # Stores into a twin class without a __setattr__ of its own are plain slot
            # stores; the finished object then becomes an instance of the frozen class.
            builder = code.bind(f"{ns}B", self.builder)
            return [
                f"{dst} = new({builder})",
                *(f"{dst}.{field} = {value}" for field, value in values.items()),
                f"{dst}.__class__ = {cls}",
            ]
        if self.setters is not None:
            fields = [a.name for a in attrs.fields(self.cls)]
            return [
                f"{dst} = new({cls})",
                *(
                    f"{code.bind(f'{ns}S{i}', setter)}({dst}, {values[field]})"
                    for i, (setter, field) in enumerate(zip(self.setters, fields, strict=True))
                ),
            ]
        aliases = {a.name: a.alias for a in attrs.fields(self.cls)}
        arguments = ", ".join(f"{aliases[field]}={value}" for field, value in values.items())
        return [f"{dst} = {cls}({arguments})"]

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
            return "call", _tuple_lines(code, ns, index, item)
        call = code.bind(f"H{at}", hook)
        return "call", [f"{v} = {call}({v}, {code.bind(f'T{at}', attribute.type)})"]


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
    not declare go to its ``extra`` field, read-only, in wire order (``NO_EXTRA`` when
    there are none), as :func:`._extra.record_hook` puts them; a class without one
    ignores them: this is for lenient converters only.

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
