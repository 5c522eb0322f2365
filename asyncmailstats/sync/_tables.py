"""The tables a sync writes: their columns, natural keys, and rows made from models.

Every table starts with ``account`` and ends with ``extra`` (fields the models do not
know yet, as JSON) and ``_synced_at`` (UTC, when the row last changed). Nested objects
become ``parent_child`` columns; lists and mappings are JSON text; datetimes are ISO 8601
text (UTC when they carry a zone), dates ``YYYY-MM-DD``, booleans 0/1.

The row function of each model is generated once (one attribute read per column), so
that storing a record costs about as much as decoding it.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Union

import attrs

from ..emailconsul.models import LinkGroup, LinkStat
from ..getresponse.models import Message, PeriodStats
from ..postmark.models import Click, Open, OutboundMessage

#: A row as the store writes it: values in the table's column order, minus the
#: trailing ``_synced_at``, which the store adds.
Row = tuple[Any, ...]

_SQL_TYPES: Final[Mapping[type, str]] = {
    bool: "INTEGER",
    int: "INTEGER",
    float: "REAL",
    str: "TEXT",
    dt.datetime: "TEXT",
    dt.date: "TEXT",
}


@attrs.frozen
class Column:
    """One column: its name and its SQL type."""

    name: str
    sql_type: str


@attrs.frozen
class Table:
    """A table: its name, its columns in order, and the columns of its natural key."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Return the column names, in order."""
        return tuple(c.name for c in self.columns)

    @property
    def data_columns(self) -> tuple[str, ...]:
        """Return the columns that are neither key nor ``_synced_at``."""
        return tuple(n for n in self.names if n not in self.key and n != SYNCED_AT)


SYNCED_AT: Final = "_synced_at"


def dump_json(value: Any) -> str:
    """Return *value* as compact JSON with sorted keys (dates and enums as text)."""
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_plain
    )


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return {
            f.name.rstrip("_"): getattr(value, f.name)
            for f in fields
            if not (f.name == "extra" and not value.extra)
        }
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | list | set | frozenset):
        return list(value)
    msg = f"cannot store a {type(value).__name__} as JSON"
    raise TypeError(msg)


def instant(value: dt.datetime | None) -> str | None:
    """Return an instant as ISO 8601 text: in UTC when aware, as it is when naive."""
    if value is None:
        return None
    if value.utcoffset() is None:
        return value.isoformat()
    return value.astimezone(dt.UTC).isoformat()


def day(value: dt.date | None) -> str | None:
    """Return a date as ``YYYY-MM-DD``."""
    return None if value is None else value.isoformat()


def _strip_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _sql_type(tp: Any) -> str:
    tp = _strip_optional(tp)
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return "INTEGER" if issubclass(tp, int) and not issubclass(tp, str) else "TEXT"
        for base, name in _SQL_TYPES.items():
            if issubclass(tp, base):
                return name
    return "TEXT"  # JSON


def _value_expr(expr: str, tp: Any) -> str:
    """Return Python source that turns *expr* (of type *tp*) into a storable value."""
    tp = _strip_optional(tp)
    if isinstance(tp, type):
        if issubclass(tp, bool):
            return f"(None if {expr} is None else int({expr}))"
        if issubclass(tp, enum.Enum):
            return f"(None if {expr} is None else {expr}.value)"
        if issubclass(tp, dt.datetime):
            return f"_instant({expr})"
        if issubclass(tp, dt.date):
            return f"_day({expr})"
        if issubclass(tp, int | float | str):
            return expr
    return f"(None if {expr} is None else _json({expr}))"


@attrs.frozen
class Shape:
    """How a model becomes the data columns of a row: names, types, and the function."""

    columns: tuple[Column, ...]
    row: Callable[[Any], Row]


def model_shape(cls: type, *, skip: Sequence[str] = ()) -> Shape:
    """Return the flat columns of model *cls* and a generated function making the row.

    Nested attrs models become ``parent_child`` columns (``None`` when the parent is);
    the nested models' unknown fields go into the top-level ``extra`` under the
    parent's name. ``extra`` is the last column.
    """
    hints = typing.get_type_hints(cls)
    columns: list[Column] = []
    exprs: list[str] = []
    nested_extras: list[tuple[str, str]] = []
    lines: list[str] = []
    for field in attrs.fields(cls):
        name = field.name
        if name == "extra" or name in skip:
            continue
        column = name.rstrip("_")
        tp = _strip_optional(hints[name])
        if isinstance(tp, type) and attrs.has(tp):
            local = f"v_{name}"
            lines.append(f"    {local} = r.{name}")
            inner_hints = typing.get_type_hints(tp)
            for inner in attrs.fields(tp):
                if inner.name == "extra":
                    nested_extras.append((column, local))
                    continue
                inner_tp = inner_hints[inner.name]
                columns.append(Column(f"{column}_{inner.name.rstrip('_')}", _sql_type(inner_tp)))
                value = _value_expr(f"{local}.{inner.name}", inner_tp)
                exprs.append(f"(None if {local} is None else {value})")
            continue
        columns.append(Column(column, _sql_type(tp)))
        exprs.append(_value_expr(f"r.{name}", tp))
    columns.append(Column("extra", "TEXT"))
    if nested_extras:
        parts = ", ".join(f"({n!r}, {v})" for n, v in nested_extras)
        exprs.append(f"_extras(r.extra, ({parts},))")
    else:
        exprs.append("(_json(r.extra) if r.extra else None)")
    body = "\n".join(lines)
    source = f"def row(r):\n{body}\n    return ({', '.join(exprs)},)\n"
    namespace: dict[str, Any] = {
        "_instant": instant,
        "_day": day,
        "_json": dump_json,
        "_extras": _merge_extras,
    }
    exec(compile(source, f"<row of {cls.__name__}>", "exec"), namespace)  # noqa: S102
    return Shape(tuple(columns), namespace["row"])


def _merge_extras(own: Mapping[str, Any], nested: tuple[tuple[str, Any], ...]) -> str | None:
    merged: dict[str, Any] = dict(own)
    for name, value in nested:
        if value is not None and value.extra:
            merged[name] = dict(value.extra)
    return dump_json(merged) if merged else None


def _table(name: str, prefix: Sequence[Column], shape: Shape, key: Sequence[str]) -> Table:
    columns = (Column("account", "TEXT"), *prefix, *shape.columns, Column(SYNCED_AT, "TEXT"))
    return Table(name, columns, ("account", *key))


# -- Postmark ------------------------------------------------------------------------------

POSTMARK_MESSAGE: Final = model_shape(OutboundMessage)
POSTMARK_OPEN: Final = model_shape(Open)
POSTMARK_CLICK: Final = model_shape(Click)

POSTMARK_MESSAGES: Final = _table("postmark_messages", (), POSTMARK_MESSAGE, ("message_id",))
POSTMARK_OPENS: Final = _table(
    "postmark_opens", (), POSTMARK_OPEN, ("message_id", "recipient", "received_at")
)
POSTMARK_CLICKS: Final = _table(
    "postmark_clicks",
    (),
    POSTMARK_CLICK,
    ("message_id", "recipient", "original_link", "received_at"),
)
POSTMARK_STATS: Final = Table(
    "postmark_stats",
    (
        Column("account", "TEXT"),
        Column("series", "TEXT"),
        Column("message_stream", "TEXT"),
        Column("tag", "TEXT"),
        Column("date", "TEXT"),
        Column("metric", "TEXT"),
        Column("value", "INTEGER"),
        Column(SYNCED_AT, "TEXT"),
    ),
    ("account", "series", "message_stream", "tag", "date", "metric"),
)

# -- EmailConsul ---------------------------------------------------------------------------

#: The columns that hold a link-stats row's group value ('' where a group does not set it).
LINK_GROUP_COLUMNS: Final = (
    "campaign_id",
    "subscriber_id",
    "device",
    "country",
    "ip",
    "browser",
    "custom_link_title",
    "params_name",
    "params_value",
)
EMAILCONSUL_LINK_STATS: Final = Table(
    "emailconsul_link_stats",
    (
        Column("account", "TEXT"),
        Column("day", "TEXT"),
        Column("group_by", "TEXT"),
        *(Column(name, "TEXT") for name in LINK_GROUP_COLUMNS),
        Column("count", "INTEGER"),
        Column("extra", "TEXT"),
        Column(SYNCED_AT, "TEXT"),
    ),
    ("account", "day", "group_by", *LINK_GROUP_COLUMNS),
)


def link_stat_row(account: str, when: dt.date, group: LinkGroup, stat: LinkStat) -> Row:
    """Return the ``emailconsul_link_stats`` row of one link-stats row of one UTC day."""
    values = tuple(getattr(stat, name) or "" for name in LINK_GROUP_COLUMNS)
    extra = dump_json(stat.extra) if stat.extra else None
    return (account, when.isoformat(), group.value, *values, stat.count, extra)


# -- GetResponse ---------------------------------------------------------------------------

GETRESPONSE_MESSAGE: Final = model_shape(Message)
GETRESPONSE_PERIOD: Final = model_shape(PeriodStats, skip=("period",))

GETRESPONSE_MESSAGES: Final = Table(
    "getresponse_messages",
    (
        Column("account", "TEXT"),
        # The model's ``id``, named as the other tables name a message's ID.
        *(
            Column("message_id", c.sql_type) if c.name == "id" else c
            for c in GETRESPONSE_MESSAGE.columns
        ),
        Column(SYNCED_AT, "TEXT"),
    ),
    ("account", "message_id"),
)
GETRESPONSE_MESSAGE_STATS: Final = Table(
    "getresponse_message_stats",
    (
        Column("account", "TEXT"),
        Column("message_id", "TEXT"),
        Column("grouping", "TEXT"),
        Column("period", "TEXT"),
        *GETRESPONSE_PERIOD.columns,
        Column(SYNCED_AT, "TEXT"),
    ),
    ("account", "message_id", "grouping", "period"),
)

#: Every table a sync may write, by name.
TABLES: Final[Mapping[str, Table]] = {
    t.name: t
    for t in (
        POSTMARK_MESSAGES,
        POSTMARK_OPENS,
        POSTMARK_CLICKS,
        POSTMARK_STATS,
        EMAILCONSUL_LINK_STATS,
        GETRESPONSE_MESSAGES,
        GETRESPONSE_MESSAGE_STATS,
    )
}
