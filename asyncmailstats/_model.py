"""What the models of several classes share: fields written once in a private base.

A model that inherits fields from such a base (the counters a day and its totals both
carry) passes :func:`inherited_before_extra` as its ``field_transformer``: attrs puts
inherited fields first, this puts them after the model's own fields but before its last
one, ``extra``, so the field order -- which is also the order of the columns the command
writes -- is the one the model would have if it declared every field itself.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["inherited_before_extra"]


def inherited_before_extra(
    cls: type, fields: list[attrs.Attribute[Any]]
) -> list[attrs.Attribute[Any]]:
    """Return *fields* with the inherited ones moved after the own ones, before ``extra``."""
    bases = {a.name for base in cls.__mro__[1:] if attrs.has(base) for a in attrs.fields(base)}
    inherited = [f for f in fields if f.name in bases]
    own = [f for f in fields if f.name not in bases]
    if own and own[-1].name == "extra":
        return [*own[:-1], *inherited, own[-1]]
    return [*own, *inherited]
