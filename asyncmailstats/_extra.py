"""The ``extra`` field: the wire keys a model does not declare, kept with their values.

Providers add fields over time. Every wire model therefore ends with ``extra``
(:func:`extra_field`), a read-only mapping of the keys it does not know to their JSON
values as parsed, keyed by their wire names. Records without such keys -- nearly all of
them -- share one empty mapping, :data:`NO_EXTRA`, so no dict is allocated per record.
The production converters fill the field; the strict converters of the tests refuse
those keys instead, so a test notices when an API grows. :func:`record_hook` builds the
generic cattrs hook that does either; the generated fast functions (``_fastpath``) fill
``extra`` the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, NoReturn, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

T = TypeVar("T")


class FrozenDict(dict[str, Any]):
    """A dict that refuses changes: the wire keys a model keeps in its ``extra`` field.

    A ``dict`` underneath, so it reads as fast as one and ``json.dumps`` writes it as is;
    unlike :class:`types.MappingProxyType` it pickles and deep-copies, so the models
    holding one do too.
    """

    __slots__ = ()

    def _refuse(self, *_: Any, **__: Any) -> NoReturn:
        msg = f"{type(self).__name__} is read-only"
        raise TypeError(msg)

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[Callable[[dict[str, Any]], Mapping[str, Any]], tuple[Any]]:
        return frozen_dict, (dict(self),)

    def __copy__(self) -> FrozenDict:
        return self


#: The ``extra`` of every record without unknown keys: one shared, empty, read-only mapping.
NO_EXTRA: Final[Mapping[str, Any]] = FrozenDict()

#: The metadata key that marks a model's ``extra`` field.
EXTRA_METADATA: Final = "asyncmailstats.extra"


def frozen_dict(items: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return *items* as a read-only mapping; empty ones are the shared :data:`NO_EXTRA`."""
    return FrozenDict(items) if items else NO_EXTRA


def extra_field() -> Any:
    """Return the ``extra`` field a wire model declares last.

    Keyword-only, :data:`NO_EXTRA` by default, and left out of equality, hashing and
    ordering, so two records that differ only in keys the model does not know compare
    equal. The converters recognise it by its metadata.
    """
    return attrs.field(default=NO_EXTRA, eq=False, kw_only=True, metadata={EXTRA_METADATA: True})


def extra_attribute(cls: type) -> attrs.Attribute[Any] | None:
    """Return the ``extra`` field of attrs class *cls*, or ``None`` if it has none."""
    attribute: attrs.Attribute[Any]
    for attribute in attrs.fields(cls):
        if attribute.metadata.get(EXTRA_METADATA):
            return attribute
    return None


def extra_of(data: Mapping[str, Any], known: frozenset[str]) -> Mapping[str, Any]:
    """Return the items of *data* whose keys are not in *known*, read-only, in wire order."""
    return frozen_dict({key: value for key, value in data.items() if key not in known})


def wire_names(cls: type, renames: Mapping[str, str]) -> frozenset[str]:
    """Return the wire keys attrs class *cls* reads (its ``extra`` field reads none)."""
    return frozenset(
        renames.get(a.name, a.name) for a in attrs.fields(cls) if not a.metadata.get(EXTRA_METADATA)
    )


def record_hook(
    converter: cattrs.Converter,
    cls: type[T],
    renames: Mapping[str, str] | None = None,
    hooks: Mapping[str, Callable[[Any, Any], Any]] | None = None,
) -> Callable[[Any, Any], T]:
    """Return the generic structure hook of attrs class *cls*, with its ``extra`` field.

    cattrs' generated hook reads field ``f`` from ``renames[f]`` (default: its own name)
    with ``hooks[f]`` (default: the converter's hook for its type) and never reads
    ``extra`` from the wire. A strict converter's hook refuses every other key, ``"extra"``
    included; a lenient one keeps them in ``extra`` (the rare record that has some is
    built, then rebuilt with them).
    """
    renames = renames or {}
    hooks = hooks or {}
    extra = extra_attribute(cls)
    overrides: dict[str, Any] = {
        name: override(rename=renames.get(name), struct_hook=hooks.get(name))
        for name in {*renames, *hooks}
    }
    if extra is not None:
        overrides[extra.name] = override(omit=True)
    hook: Callable[[Any, Any], T] = make_dict_structure_fn(
        cls,
        converter,
        _cattrs_forbid_extra_keys=converter.forbid_extra_keys,
        **overrides,
    )
    if extra is None or converter.forbid_extra_keys:
        return hook
    known = wire_names(cls, renames)
    name = extra.name

    def structure_keeping_extra(value: Any, t: Any) -> T:
        record = hook(value, t)
        if not isinstance(value, Mapping) or known.issuperset(value):
            return record
        return attrs.evolve(record, **{name: extra_of(value, known)})  # type: ignore[misc]

    return structure_keeping_extra


def has_extra_field(t: Any) -> bool:
    """Return whether *t* is an attrs class with an ``extra`` field (for a hook factory)."""
    return isinstance(t, type) and attrs.has(t) and extra_attribute(t) is not None
