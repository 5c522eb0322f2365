"""Records to JSON Lines, JSON or CSV, written atomically to a file or to stdout.

Field names are the models' names without the trailing underscore Python needs
(``from_`` is written ``from``), the same in JSON and CSV. In CSV, nested objects are
flattened into ``parent.child`` columns, lists and mappings are JSON text, booleans are
``true``/``false`` and ``None`` is an empty cell. With ``utc=True`` every date-time is
written in UTC (``+00:00``); a naive one (GetResponse's) is taken to be UTC already.
Keys a provider sent that a model does not know (``extra``) are written in JSON only,
when there are some: a CSV header is fixed by its first row.

CSV string cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
are prefixed with ``'`` so that spreadsheets show them as text instead of running them
as formulas (OWASP's advice against CSV injection); ``csv_raw=True`` writes them as
they are. Numbers are never changed.
"""

from __future__ import annotations

import csv
import enum
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, Final, TextIO, get_args, get_origin

import attrs

from ..postmark.models import DynamicDay
from ._target import AtomicOutput

__all__ = [
    "FORMATS",
    "AtomicOutput",
    "DynamicRow",
    "Keyed",
    "RecordWriter",
    "csv_columns",
    "iter_rows",
    "to_plain",
]

FORMATS: Final = ("jsonl", "json", "csv")

#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP).
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """Prefix a string cell that a spreadsheet would run as a formula with ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@attrs.frozen
class DynamicRow:
    """One key of one day of a series whose keys are data (the long form)."""

    date: date
    key: str
    count: int


class Keyed:
    """A record written after leading fields of its own (a period after its message ID)."""

    __slots__ = ("keys", "record")

    def __init__(self, keys: Mapping[str, Any], record: Any) -> None:
        self.keys = dict(keys)
        self.record = record


def field_name(name: str) -> str:
    """Return the written name of a model field: ``from_`` -> ``from``."""
    return name.removesuffix("_") if name.endswith("_") and name != "_" else name


def _instant(value: datetime, utc: bool) -> datetime:
    if not utc:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_plain(value: Any, *, utc: bool = False) -> Any:  # noqa: PLR0911 - one per kind
    """Turn a model (or anything inside one) into JSON-ready data with snake_case keys."""
    if isinstance(value, Keyed):
        return {
            **{k: to_plain(v, utc=utc) for k, v in value.keys.items()},
            **to_plain(value.record, utc=utc),
        }
    if attrs.has(type(value)):
        return {
            field_name(field.name): to_plain(getattr(value, field.name), utc=utc)
            for field in attrs.fields(type(value))
            # Keys a model does not know: written when there are some, left out when not.
            if field.name != "extra" or getattr(value, field.name)
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return _instant(value, utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_plain(v, utc=utc) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [to_plain(v, utc=utc) for v in value]
    return value


def _is_attrs_type(tp: Any) -> bool:
    return isinstance(tp, type) and attrs.has(tp)


def _attrs_member(tp: Any) -> type | None:
    """Return the attrs class in ``X`` or ``X | None``, if any."""
    if _is_attrs_type(tp):
        return tp  # type: ignore[no-any-return]
    if get_origin(tp) is not None or type(tp).__name__ == "UnionType":
        members = [a for a in get_args(tp) if a is not type(None)]
        if len(members) == 1 and _is_attrs_type(members[0]):
            return members[0]  # type: ignore[no-any-return]
    return None


def csv_columns(cls: type) -> list[str]:
    """Return the flattened column names of attrs class *cls* (``client.name`` …).

    The names are the JSON field names (``from``, not ``from_``); ``extra`` has none.
    """
    columns: list[str] = []
    for field in attrs.fields(attrs.resolve_types(cls)):
        if field.name == "extra":
            continue  # keys the model does not know vary by row: JSON writes them
        nested = _attrs_member(field.type)
        if nested is not None:
            columns.extend(f"{field_name(field.name)}.{sub}" for sub in csv_columns(nested))
        else:
            columns.append(field_name(field.name))
    return columns


def record_columns(record: Any) -> list[str] | None:
    """Return the CSV columns of *record*'s type, or ``None`` for a plain mapping."""
    if isinstance(record, Keyed):
        inner = record_columns(record.record) or []
        return [*record.keys, *inner]
    if attrs.has(type(record)):
        return csv_columns(type(record))
    return None


def csv_cell(value: Any) -> Any:
    """Return how *value* is written in a CSV cell (booleans as ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and not key.endswith(
            ("metadata", "details", "counts", "extra")
        ):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list | Mapping):
            flat[name] = json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            flat[name] = value
    return flat


class RecordWriter:
    """Writes records in one format to a text stream."""

    def __init__(
        self, stream: TextIO, fmt: str, *, csv_raw: bool = False, utc: bool = False
    ) -> None:
        if fmt not in FORMATS:
            msg = f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}"
            raise ValueError(msg)
        self._stream = stream
        self._format = fmt
        self._csv: csv.DictWriter[str] | None = None
        self._csv_quoted: csv.DictWriter[str] | None = None
        self._csv_raw = csv_raw
        self._utc = utc
        self._count = 0

    def write(self, record: Any) -> None:
        """Write one record."""
        data = to_plain(record, utc=self._utc)
        if self._format == "jsonl":
            self._stream.write(json.dumps(data, ensure_ascii=False) + "\n")
        elif self._format == "json":
            self._stream.write("[\n" if self._count == 0 else ",\n")
            self._stream.write(json.dumps(data, ensure_ascii=False))
        else:
            if self._csv is None:
                columns = record_columns(record)
                if columns is None:
                    columns = list(_flatten(data)) if isinstance(data, Mapping) else []
                options: dict[str, Any] = {
                    "fieldnames": columns,
                    "extrasaction": "ignore",
                    "lineterminator": "\n",
                }
                self._csv = csv.DictWriter(self._stream, **options)
                # Minimal quoting only quotes a cell holding a character of the line
                # terminator: a lone CR would go out bare and split the row in readers
                # that take CR as a line end. Rows with one are written fully quoted.
                self._csv_quoted = csv.DictWriter(self._stream, quoting=csv.QUOTE_ALL, **options)
                self._csv.writeheader()
            row = _flatten(data) if isinstance(data, Mapping) else {}
            row = {key: csv_cell(value) for key, value in row.items()}
            if not self._csv_raw:
                row = {key: neutralise_cell(value) for key, value in row.items()}
            if self._csv_quoted is not None and any(
                isinstance(value, str) and "\r" in value for value in row.values()
            ):
                self._csv_quoted.writerow(row)
            else:
                self._csv.writerow(row)
        self._count += 1

    def finish(self) -> None:
        """Close the document (JSON needs its closing bracket)."""
        if self._format == "json":
            self._stream.write("[]\n" if self._count == 0 else "\n]\n")


def iter_rows(record: Any) -> Iterator[Any]:
    """Yield the row records of a composite result.

    A day series yields its days; a day whose keys are data (e-mail clients, read
    times, browsers) yields one :class:`DynamicRow` per key (the long form).
    """
    for name in ("periods", "days"):
        rows = getattr(record, name, None)
        if isinstance(rows, tuple):
            for row in rows:
                if isinstance(row, DynamicDay):
                    for key, count in row.counts.items():
                        yield DynamicRow(date=row.date, key=key, count=count)
                else:
                    yield row
            return
    yield record
