"""Records to JSON Lines, JSON or CSV, written atomically to a file or to stdout.

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
from datetime import date, datetime
from typing import Any, Final, TextIO, get_args, get_origin

import attrs

from ._target import AtomicOutput

__all__ = ["FORMATS", "AtomicOutput", "RecordWriter", "csv_columns", "iter_rows", "to_plain"]

FORMATS: Final = ("jsonl", "json", "csv")

#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP).
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """Prefix a string cell that a spreadsheet would run as a formula with ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_plain(value: Any) -> Any:
    """Turn a model (or anything inside one) into JSON-ready data with snake_case keys."""
    if attrs.has(type(value)):
        return {
            field.name: to_plain(getattr(value, field.name))
            for field in attrs.fields(type(value))
            # Keys a model does not know: written when there are some, left out when not.
            if field.name != "extra" or getattr(value, field.name)
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [to_plain(v) for v in value]
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
    """Return the flattened column names of attrs class *cls* (``client.name`` …)."""
    columns: list[str] = []
    for field in attrs.fields(attrs.resolve_types(cls)):
        nested = _attrs_member(field.type)
        if nested is not None:
            columns.extend(f"{field.name}.{sub}" for sub in csv_columns(nested))
        else:
            columns.append(field.name)
    return columns


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

    def __init__(self, stream: TextIO, fmt: str, *, csv_raw: bool = False) -> None:
        if fmt not in FORMATS:
            msg = f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}"
            raise ValueError(msg)
        self._stream = stream
        self._format = fmt
        self._csv: csv.DictWriter[str] | None = None
        self._csv_quoted: csv.DictWriter[str] | None = None
        self._csv_raw = csv_raw
        self._count = 0

    def write(self, record: Any) -> None:
        """Write one record."""
        data = to_plain(record)
        if self._format == "jsonl":
            self._stream.write(json.dumps(data, ensure_ascii=False) + "\n")
        elif self._format == "json":
            self._stream.write("[\n" if self._count == 0 else ",\n")
            self._stream.write(json.dumps(data, ensure_ascii=False))
        else:
            if self._csv is None:
                columns = csv_columns(type(record)) if attrs.has(type(record)) else list(data)
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
    """Yield the row records of a composite result (a day series yields its days)."""
    for name in ("periods", "days"):
        rows = getattr(record, name, None)
        if isinstance(rows, tuple):
            yield from rows
            return
    yield record
