"""What holds without a PostgreSQL server: the import without asyncpg, the lock keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from asyncmailstats.sync._postgres import display_dsn, lock_key

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_imports_without_asyncpg() -> None:
    """``import asyncmailstats.sync`` works without the extra; making a PostgresStore says
    which extra to install."""
    code = (
        "import sys; sys.modules['asyncpg'] = None\n"
        "import asyncmailstats.sync as s\n"
        "try:\n"
        "    s.PostgresStore('postgresql://localhost/x')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout == "PostgresStore needs asyncpg: install asyncmailstats[postgres]\n"


def test_lock_keys_are_64_bit_and_the_same_in_every_process() -> None:
    """The key of a schema and an account does not depend on the process (no hash seed)."""
    code = "from asyncmailstats.sync._postgres import lock_key; print(lock_key('public', 'a'))"
    keys = {
        subprocess.run(  # noqa: S603
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in (1, 2)
    }
    assert keys == {f"{lock_key('public', 'a')}\n"}
    assert -(2**63) <= lock_key("public", "a") < 2**63
    assert lock_key("public", "a") != lock_key("other", "a")
    assert lock_key("public", "a") != lock_key("public", "b")


def test_a_dsn_is_shown_without_its_password() -> None:
    """The password goes, in the user part or the query; the rest stays."""
    shown = {
        "postgresql://u:p%40ss@db.example:5433/stats?sslmode=require": (
            "postgresql://u@db.example:5433/stats?sslmode=require"
        ),
        "postgres://u@h/d?password=hunter2&application_name=x": (
            "postgres://u@h/d?application_name=x"
        ),
        "postgresql://h1:5432,h2:5432/d": "postgresql://h1:5432,h2:5432/d",
        "postgresql:///stats": "postgresql:///stats",
    }
    for dsn, expected in shown.items():
        assert display_dsn(dsn) == expected
