"""The sync tables as dlt sees them: column hints, and each write's rows as dlt records.

The tables are those of :mod:`asyncmailstats.sync`, column for column. Where the sync's
stores keep text or 0/1 for want of a better SQL type, dlt is told the real one: an
instant is a ``timestamp`` (with a zone, except GetResponse's, which carry none), a day
is a ``date``, a flag is a ``bool``. Lists and mappings stay JSON text, byte for byte the
text the other stores hold. Every column is declared, so dlt guesses nothing.

A ``replace`` write makes a scope (a stats day of a series, a message's stats) hold
exactly its rows. The tables such writes go to are merged with dlt's ``delete-insert``
strategy and a ``merge_key`` made of ``account`` and the scope's columns: a load deletes
every stored row of each scope cell it brings, then inserts the rows. A cell the write
covers but has no row for any more gets a tombstone instead (a row whose
:data:`DELETED` column, dlt's ``hard_delete`` column, is true): it deletes the cell's
rows and is never stored itself.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, Union

import attrs

from ..emailconsul.models import LinkStat
from ..getresponse.models import Message, PeriodStats
from ..postmark.models import Click, Open, OutboundMessage
from ..sync import Table, Write
from ..sync._tables import SYNCED_AT

if TYPE_CHECKING:
    from dlt.common.schema.typing import TColumnSchema, TTableSchemaColumns

#: The ``hard_delete`` column of the tables with replace scopes: true on a tombstone.
DELETED: Final = "_deleted"

#: The model each table's columns come from (``None``: the columns are the sync's own).
_MODELS: Final[Mapping[str, type | None]] = {
    "postmark_messages": OutboundMessage,
    "postmark_opens": Open,
    "postmark_clicks": Click,
    "postmark_stats": None,
    "emailconsul_link_stats": LinkStat,
    "getresponse_messages": Message,
    "getresponse_message_stats": PeriodStats,
}
#: Table columns named otherwise than the model's field.
_RENAMED: Final[Mapping[tuple[str, str], str]] = {("getresponse_messages", "message_id"): "id"}
#: Columns holding a ``YYYY-MM-DD`` day that no model field types.
_DAYS: Final = frozenset({("postmark_stats", "date"), ("emailconsul_link_stats", "day")})
#: The tables whose instants carry no zone: GetResponse's are the account's local time.
_NAIVE: Final = frozenset({"getresponse_messages", "getresponse_message_stats"})
#: The columns (after ``account``) of the scopes of each table that replace writes go to.
SCOPES: Final[Mapping[str, tuple[str, ...]]] = {
    "postmark_stats": ("series", "message_stream", "tag", "date"),
    "emailconsul_link_stats": ("day", "group_by"),
    "getresponse_message_stats": ("message_id", "grouping"),
}

DataType = Literal["text", "bigint", "double", "bool", "timestamp", "date"]
_SQL_TYPES: Final[Mapping[str, DataType]] = {
    "TEXT": "text",
    "INTEGER": "bigint",
    "REAL": "double",
    "BOOLEAN": "bool",
}
#: Model field class, the SQL type it is stored as, and the dlt type it is declared as.
_FINER: Final[tuple[tuple[type, DataType, DataType], ...]] = (
    (bool, "bigint", "bool"),
    (dt.datetime, "text", "timestamp"),
    (dt.date, "text", "date"),
)
#: What a tombstone holds in a key column outside its scope (any value: it is not stored).
_PLACEHOLDERS: Final[Mapping[str, Any]] = {"text": "", "bigint": 0, "double": 0.0, "bool": False}

Record = dict[str, Any]


def _bare(tp: Any) -> Any:
    """Return *tp* without ``| None``."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _field_types(cls: type) -> dict[str, Any]:
    """Return field name → type of attrs model *cls*, nested models as ``parent_child``.

    The names are those the sync's columns take (a trailing ``_`` dropped).
    """
    found: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        column = field.name.rstrip("_")
        tp = _bare(hints[field.name])
        if isinstance(tp, type) and attrs.has(tp):
            inner_hints = typing.get_type_hints(tp)
            for inner in attrs.fields(tp):
                found[f"{column}_{inner.name.rstrip('_')}"] = _bare(inner_hints[inner.name])
        else:
            found[column] = tp
    return found


def _data_type(table: Table, column: str, sql_type: str, fields: Mapping[str, Any]) -> DataType:
    """Return the dlt type of *column*: its SQL type's, or the finer one of its model field."""
    base = _SQL_TYPES[sql_type]
    if column == SYNCED_AT:
        return "timestamp"
    if (table.name, column) in _DAYS:
        return "date"
    tp = fields.get(_RENAMED.get((table.name, column), column))
    if not isinstance(tp, type) or issubclass(tp, enum.Enum):
        return base
    # The most specific class first: a bool is an int, a datetime a date.
    for cls, stored, finer in _FINER:
        if base == stored and issubclass(tp, cls):
            return finer
    return base


def _instant(naive: bool) -> Callable[[str], dt.datetime]:
    """Return the parser of a timestamp column's ISO text, refusing the other kind."""

    def parse(text: str) -> dt.datetime:
        value = dt.datetime.fromisoformat(text)
        if (value.utcoffset() is None) != naive:
            kind = "without" if naive else "with"
            msg = f"{text!r} is not an instant {kind} a time zone, as its column is"
            raise ValueError(msg)
        return value

    return parse


def _flag(value: int) -> bool:
    return bool(value)


@attrs.frozen
class TableShape:
    """One sync table for dlt: its column hints, keys, and how its rows become records.

    Attributes:
        table: The sync's table.
        types: Column → dlt data type, in the table's order.
        naive: Whether its instants carry no zone.
        scope: The scope columns of its replace writes (empty: upserts only).
    """

    table: Table
    types: Mapping[str, DataType]
    naive: bool
    scope: tuple[str, ...]
    _names: tuple[str, ...] = attrs.field(alias="names")
    _parsers: tuple[tuple[str, Callable[[Any], Any]], ...] = attrs.field(alias="parsers")

    @property
    def primary_key(self) -> tuple[str, ...]:
        """Return the table's natural key, ``account`` first."""
        return self.table.key

    @property
    def merge_key(self) -> tuple[str, ...]:
        """Return ``account`` and the scope columns (empty for an upsert-only table)."""
        return ("account", *self.scope) if self.scope else ()

    def columns(self) -> TTableSchemaColumns:
        """Return the dlt column hints: every column's type and whether it may be null."""
        key = set(self.table.key)
        hints: dict[str, TColumnSchema] = {}
        for name, data_type in self.types.items():
            column: TColumnSchema = {
                "name": name,
                "data_type": data_type,
                "nullable": name not in key and name != SYNCED_AT,
            }
            if data_type == "timestamp":
                column["timezone"] = name == SYNCED_AT or not self.naive
            hints[name] = column
        if self.scope:
            hints[DELETED] = {
                "name": DELETED,
                "data_type": "bool",
                "nullable": True,
                "hard_delete": True,
            }
        return hints

    def records(self, write: Write, account: str, synced_at: dt.datetime) -> list[Record]:
        """Return the dlt records of *write*'s rows, and its scope's tombstones.

        Raises:
            ValueError: The write does not fit the table: a replace write to a table
                without scopes (or the other way round), a scope of other columns, a
                row of another length, an instant of the wrong kind.
        """
        if (write.mode == "replace") != bool(self.scope):
            msg = f"a {write.mode} write to {self.table.name} cannot be loaded by dlt"
            raise ValueError(msg)
        records = [self._record(row, synced_at) for row in write.rows]
        if write.mode == "replace":
            records += self._tombstones(write, account, synced_at)
        return records

    def _record(self, row: Sequence[Any], synced_at: dt.datetime) -> Record:
        if len(row) != len(self._names):
            msg = f"a row of {self.table.name} has {len(row)} values, not {len(self._names)}"
            raise ValueError(msg)
        record = dict(zip(self._names, row, strict=True))
        for name, parse in self._parsers:
            value = record[name]
            if value is not None:
                record[name] = parse(value)
        record[SYNCED_AT] = synced_at
        return record

    def _tombstones(self, write: Write, account: str, synced_at: dt.datetime) -> list[Record]:
        """Return a tombstone for each cell of *write*'s scope that none of its rows is in."""
        scope = write.scope or {}
        if set(scope) != set(self.scope):
            msg = f"a scope of {self.table.name} must name {self.scope}, not {tuple(scope)}"
            raise ValueError(msg)
        at = [self._names.index(c) for c in self.merge_key]
        present = {tuple(row[i] for i in at) for row in write.rows}
        cells = itertools.product([account], *(self._values(c, scope[c]) for c in self.scope))
        tombstones: list[Record] = []
        for cell in cells:
            if cell in present:
                continue
            values = dict(zip(self.merge_key, cell, strict=True))
            row = [values[n] if n in values else self._filler(n) for n in self._names]
            record = self._record(row, synced_at)
            record[DELETED] = True
            tombstones.append(record)
        return tombstones

    def _filler(self, column: str) -> Any:
        """Return what a tombstone holds in *column* outside its scope: not null if a key."""
        return _PLACEHOLDERS[self.types[column]] if column in self.table.key else None

    def _values(self, column: str, value: Any) -> Iterator[Any]:
        """Yield the values a scope pair selects: one, or each day of an inclusive range."""
        if not isinstance(value, tuple):
            yield value
            return
        if self.types[column] != "date":
            msg = f"a range scope needs a day column, and {self.table.name}.{column} is not"
            raise ValueError(msg)
        first, last = (dt.date.fromisoformat(v) for v in value)
        for offset in range((last - first).days + 1):
            yield (first + dt.timedelta(days=offset)).isoformat()


def table_shape(table: Table) -> TableShape:
    """Return the dlt shape of the sync table *table*."""
    model = _MODELS.get(table.name)
    fields = _field_types(model) if model is not None else {}
    types_ = {c.name: _data_type(table, c.name, c.sql_type, fields) for c in table.columns}
    naive = table.name in _NAIVE
    names = table.names[:-1]
    parsers: list[tuple[str, Callable[[Any], Any]]] = []
    for name in names:
        data_type = types_[name]
        if data_type == "timestamp":
            parsers.append((name, _instant(naive)))
        elif data_type == "date":
            parsers.append((name, dt.date.fromisoformat))
        elif data_type == "bool":
            parsers.append((name, _flag))
    scope = SCOPES.get(table.name, ())
    outside = [k for k in table.key if k != "account" and k not in scope]
    if scope and any(types_[k] not in _PLACEHOLDERS for k in outside):
        msg = f"the key of {table.name} has a column a tombstone cannot fill"
        raise ValueError(msg)
    return TableShape(table, types_, naive, scope, names=names, parsers=tuple(parsers))
