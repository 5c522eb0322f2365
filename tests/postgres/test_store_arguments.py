"""PostgresStore checks its arguments when it is made, before it connects to anything."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytest.importorskip("asyncpg")

from asyncmailstats.sync import PostgresStore
from asyncmailstats.sync._postgres_dsn import dsn_secrets

DSN = "postgresql://stats@db.example/mail"


@pytest.mark.parametrize(
    ("dsn", "options", "error", "message"),
    [
        (None, {}, TypeError, "dsn and schema must be strings"),
        (DSN, {"schema": 7}, TypeError, "dsn and schema must be strings"),
        ("", {}, ValueError, "dsn must be a postgresql:// URL, not empty"),
        (DSN, {"schema": ""}, ValueError, "schema must be a non-empty name without NUL"),
        (DSN, {"schema": "mail\x00x"}, ValueError, "schema must be a non-empty name without NUL"),
        (DSN, {"schema": "s" * 64}, ValueError, "schema must be at most 63 bytes long"),
        # PostgreSQL counts bytes: 32 two-byte letters are one byte too many.
        (DSN, {"schema": "é" * 32}, ValueError, "schema must be at most 63 bytes long"),
    ],
)
def test_bad_arguments_are_refused(
    dsn: Any, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=f"^{re.escape(message)}"):
        PostgresStore(dsn, **options)


def test_the_longest_schema_name_is_taken_whole() -> None:
    """63 bytes is what PostgreSQL keeps: such a name is kept as given, not cut."""
    name = "é" * 31 + "s"
    assert len(name.encode()) == 63
    assert PostgresStore(DSN, schema=name).schema == name


def test_a_key_value_dsn_is_never_shown() -> None:
    """A ``key=value`` DSN cannot be shown safely in part: the store names it generically
    and still knows its password, so that errors can hide it."""
    dsn = "host=db.example user=stats password=hunter2 dbname=mail"
    store = PostgresStore(dsn)
    assert store.url == "the PostgreSQL database"
    assert "hunter2" not in repr(store)
    assert dsn_secrets(dsn) == ("hunter2",)
