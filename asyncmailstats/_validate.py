"""Argument checks shared by the public methods: each raises before any request is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs


def check_int(
    name: str, value: object, minimum: int, maximum: int | None = None, *, kind: str = "an int"
) -> int:
    """Return *value* if it is an int (not a bool) from *minimum* to *maximum*.

    Raises:
        TypeError: *value* is not an int (the message says it must be *kind*).
        ValueError: *value* is below *minimum*, or above *maximum* when one is given.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be {kind}, got {type(value).__name__}"
        raise TypeError(msg)
    if maximum is None:
        if value < minimum:
            msg = f"{name} must be at least {minimum}, got {value}"
            raise ValueError(msg)
    elif not minimum <= value <= maximum:
        msg = f"{name} must be between {minimum} and {maximum}, got {value}"
        raise ValueError(msg)
    return value


def check_str(name: str, value: object) -> str:
    """Return *value* if it is a string with something besides white space.

    Raises:
        TypeError: *value* is not a ``str``.
        ValueError: *value* is empty or only white space.
    """
    if not isinstance(value, str):
        msg = f"{name} must be a str, got {type(value).__name__}"
        raise TypeError(msg)
    if not value.strip():
        msg = f"{name} must not be empty"
        raise ValueError(msg)
    return value


def check_bool(name: str, value: object) -> bool:
    """Return *value* if it is a bool; raise ``TypeError`` otherwise."""
    if not isinstance(value, bool):
        msg = f"{name} must be a bool, got {type(value).__name__}"
        raise TypeError(msg)
    return value


def int_validator(minimum: int) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    """Return an attrs validator running :func:`check_int` on the field, named as the field."""

    def validate(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_int(attribute.name, value, minimum)

    return validate
