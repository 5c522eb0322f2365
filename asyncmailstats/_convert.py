"""The converter base every provider's ``_convert`` module builds on.

Each provider makes its own converter through :func:`make_converter` and registers
rename hooks for its models; the global cattrs converter is never used. Production
converters ignore unknown keys (providers add fields over time); the strict variant,
used by the test suite against recorded samples, forbids them so a model that misses a
real field is noticed.

Wire keys a model does not declare are not dropped: every wire model ends with an
``extra`` field that the production converters fill with them (see :mod:`._extra`); the
strict converters refuse them instead.

For records that come by the page, ``_fastpath.make_fast_structure_fn`` puts a
generated straight-line function in front of the generic hook.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import cattrs

from ._extra import has_extra_field, record_hook
from .exceptions import DecodeError, excerpt

T = TypeVar("T")
E = TypeVar("E", bound="OpenStrEnum")


#: The first orjson release that refuses deeply nested JSON instead of overflowing the C
#: stack (CVE-2024-27454); an older one installed beside us is not used.
ORJSON_MIN_VERSION = (3, 9, 15)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for part in text.split(".")[:3]:
        digits = re.match(r"\d+", part)
        parts.append(int(digits.group()) if digits else 0)
    return tuple(parts)


#: Which parser :func:`loads` uses: ``"orjson"`` or ``"json"``.
JSON_PARSER = "json"
_loads: Callable[[bytes | str], Any] = json.loads
_JSONErrors: tuple[type[Exception], ...] = (ValueError, UnicodeDecodeError)
try:  # orjson is an optional speed-up: same results, faster parsing.
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised only without orjson
    pass
else:  # pragma: no cover - exercised only with orjson
    if _version_tuple(getattr(_orjson, "__version__", "0")) >= ORJSON_MIN_VERSION:
        JSON_PARSER = "orjson"
        _loads = _orjson.loads
        _JSONErrors = (_orjson.JSONDecodeError, ValueError)


class OpenStrEnum(enum.StrEnum):
    """A string enum that keeps values it does not know instead of failing.

    ``MessageStatus("Sent") is MessageStatus.SENT``; ``MessageStatus("Archived")`` is a
    pseudo-member whose ``value`` is ``"Archived"`` and which equals that string, so a
    provider adding a value never breaks decoding.
    """

    @classmethod
    def _missing_(cls, value: object) -> OpenStrEnum | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @property
    def known(self) -> bool:
        """Return whether this value is one of the enum's declared members."""
        return self._name_ in type(self).__members__


def parse_datetime(value: Any) -> datetime:
    """Parse an ISO-8601 timestamp (0-7 fractional digits, ``Z`` or an offset)."""
    if type(value) is str:
        return datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        msg = f"expected an ISO-8601 string, got {type(value).__name__}"
        raise TypeError(msg)
    return datetime.fromisoformat(value)


def parse_date(value: Any) -> date:
    """Parse a ``YYYY-MM-DD`` date."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        msg = f"expected a YYYY-MM-DD string, got {type(value).__name__}"
        raise TypeError(msg)
    return date.fromisoformat(value[:10])


def _structure_datetime(value: Any, _: type) -> datetime:
    return parse_datetime(value)


def _structure_date(value: Any, _: type) -> date:
    return parse_date(value)


def _structure_int(value: Any, cls: type) -> int:
    if type(value) is int and cls is int:
        return value
    # bool is an int subclass; a float with a fraction is not a count.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        msg = f"expected an integer, got {type(value).__name__}"
        raise TypeError(msg)
    if isinstance(value, float) and not value.is_integer():
        msg = f"expected an integer, got {value!r}"
        raise ValueError(msg)
    return int(value) if cls is int else cls(int(value))


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        msg = f"expected a number, got {type(value).__name__}"
        raise TypeError(msg)
    return float(value)


def _structure_str(value: Any, cls: type) -> str:
    if type(value) is str and cls is str:
        return value
    if not isinstance(value, str):
        msg = f"expected a string, got {type(value).__name__}"
        raise TypeError(msg)
    # The hook for ``str`` also receives str subclasses such as string enums.
    if cls is not str:
        return cls(value)  # type: ignore[no-any-return]
    return value


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    msg = f"expected a boolean, got {type(value).__name__}"
    raise TypeError(msg)


def make_converter(*, strict: bool = False) -> cattrs.Converter:
    """Return a fresh converter with the hooks every provider shares.

    Args:
        strict: Forbid keys a model does not declare (for tests against recorded data).
    """
    converter = cattrs.Converter(forbid_extra_keys=strict, detailed_validation=False)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_structure_hook(date, _structure_date)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, OpenStrEnum),
        _structure_open_enum,
    )
    # A model without a hook of its own still keeps (or refuses) the keys it does not know.
    converter.register_structure_hook_factory(
        has_extra_field, lambda cls: record_hook(converter, cls)
    )
    return converter


def _structure_open_enum(value: Any, cls: type[E]) -> E:
    if not isinstance(value, str):
        msg = f"expected a string for {cls.__name__}, got {type(value).__name__}"
        raise TypeError(msg)
    return cls(value)


def open_enum_hook(cls: type[E]) -> Callable[[Any, Any], E]:
    """Return a structure hook for *cls* that finds declared members by dict lookup.

    It gives what the generic enum hook gives (a member, or a pseudo-member for an
    unknown string) and the same errors, several times faster for declared values.
    """
    members: dict[str, E] = {member.value: member for member in cls}

    def structure_enum(value: Any, _: Any) -> E:
        member = members.get(value) if type(value) is str else None
        if member is not None:
            return member
        return _structure_open_enum(value, cls)

    structure_enum.open_enum_members = members  # type: ignore[attr-defined]
    return structure_enum


def loads(body: bytes | str, *, endpoint: str | None = None) -> Any:
    """Parse a JSON body, raising :class:`DecodeError` for anything that is not JSON."""
    try:
        data = _loads(body)
    except _JSONErrors as exc:
        msg = f"response body is not valid JSON: {exc}"
        raise DecodeError(msg, endpoint=endpoint, body=body) from None
    except RecursionError:
        msg = "response body nests too deeply"
        raise DecodeError(msg, endpoint=endpoint, body=body) from None
    return data


def structure(
    converter: cattrs.Converter, data: Any, cls: type[T], *, endpoint: str | None = None
) -> T:
    """Structure *data* as *cls*, turning every failure into :class:`DecodeError`."""
    try:
        return converter.structure(data, cls)
    except (
        cattrs.BaseValidationError,
        cattrs.errors.CattrsError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
    ) as exc:
        name = getattr(cls, "__name__", str(cls))
        msg = f"response does not fit {name}: {type(exc).__name__}: {exc}"
        raise DecodeError(msg, endpoint=endpoint, body=excerpt(data, marker="")) from None
    except RecursionError:
        msg = "response nests too deeply"
        raise DecodeError(msg, endpoint=endpoint) from None
