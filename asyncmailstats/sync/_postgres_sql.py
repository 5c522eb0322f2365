"""The SQL of the writes of a :class:`~asyncmailstats.sync.PostgresStore`, made once per table.

A write's rows reach the merge either copied into a temporary table or as one array per
column; both forms of the merge, and the pieces of the delete of a ``replace``, are here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import attrs

from ._postgres_schema import pg_type, quote
from ._tables import SYNCED_AT, Column, Table

__all__ = ["INCOMING", "Statements", "deleted", "statements", "unnest"]

#: The temporary table a write's rows are copied into (dropped at commit).
INCOMING: Final = "_ams_incoming"


@attrs.frozen
class Statements:
    """The SQL of one table's writes, and where a row's values sit."""

    create: str
    columns: tuple[str, ...]
    #: The merge of the rows copied into the temporary table.
    merge_copied: str
    #: The merge of the rows given as one array per column ($1, $2, …).
    merge_arrays: str
    key_index: tuple[int, ...]
    key_columns: tuple[Column, ...]
    bool_index: tuple[int, ...]


def unnest(columns: Sequence[Column], first: int) -> str:
    """Return ``unnest($first::type[], …) AS i(name, …)``: a row per array element."""
    arrays = ", ".join(f"${first + i}::{pg_type(c)}[]" for i, c in enumerate(columns))
    return f"unnest({arrays}) AS i({', '.join(quote(c.name) for c in columns)})"


def statements(schema: str, table: Table) -> Statements:
    target = f"{quote(schema)}.{quote(table.name)}"
    columns = [c for c in table.columns if c.name != SYNCED_AT]
    names = [c.name for c in columns]
    create = (
        f"CREATE TEMPORARY TABLE {INCOMING} ("
        + ", ".join(f"{quote(c.name)} {pg_type(c)}" for c in columns)
        + ") ON COMMIT DROP"
    )
    listed = ", ".join(quote(n) for n in names)
    key = ", ".join(quote(k) for k in table.key)
    data = table.data_columns
    if data:
        sets = ", ".join(f"{quote(n)} = EXCLUDED.{quote(n)}" for n in (*data, SYNCED_AT))
        old = ", ".join(f"t.{quote(n)}" for n in data)
        new = ", ".join(f"EXCLUDED.{quote(n)}" for n in data)
        action = f"DO UPDATE SET {sets} WHERE ROW({old}) IS DISTINCT FROM ROW({new})"
    else:
        action = "DO NOTHING"

    # Names come from the fixed table definitions, never from input. xmax is 0 in a
    # row this statement inserted, and this transaction's ID in a row it updated.
    def merge(source: str) -> str:
        return (
            f"WITH merged AS (INSERT INTO {target} AS t ({listed}, {quote(SYNCED_AT)}) "  # noqa: S608
            f"SELECT {listed}, now() FROM {source} "
            f"ON CONFLICT ({key}) {action} RETURNING (t.xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) "
            "FROM merged"
        )

    return Statements(
        create=create,
        columns=tuple(names),
        merge_copied=merge(f"{INCOMING} AS i"),
        merge_arrays=merge(unnest(columns, 1)),
        key_index=tuple(names.index(k) for k in table.key),
        key_columns=tuple(columns[names.index(k)] for k in table.key),
        bool_index=tuple(i for i, c in enumerate(columns) if pg_type(c) == "BOOLEAN"),
    )


def deleted(status: str) -> int:
    """Return the row count of a ``DELETE n`` command status."""
    return int(status.rsplit(" ", 1)[-1])
