"""Which JSON parser the library uses: orjson when a safe release is installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from asyncmailstats._convert import ORJSON_MIN_VERSION, _version_tuple

ROOT = Path(__file__).parents[2]

PROBE = "import asyncmailstats._convert as c; print(c.JSON_PARSER)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.9.15", (3, 9, 15)),
        ("3.10.0rc1", (3, 10, 0)),
        ("3.13", (3, 13)),
        ("junk", (0,)),
    ],
)
def test_version_text_becomes_a_tuple(text: str, expected: tuple[int, ...]) -> None:
    """Release strings compare as numbers, ignoring pre-release suffixes."""
    assert _version_tuple(text) == expected


def test_the_first_safe_release_is_3_9_15() -> None:
    """3.9.14 is below the minimum and 3.9.15 meets it."""
    assert _version_tuple("3.9.14") < ORJSON_MIN_VERSION <= _version_tuple("3.9.15")


@pytest.mark.parametrize(("version", "parser"), [("3.8.3", "json"), ("3.10.1", "orjson")])
def test_an_old_orjson_is_not_used(tmp_path: Path, version: str, parser: str) -> None:
    """A stand-in orjson module of *version* is used only when it is a safe release."""
    (tmp_path / "orjson.py").write_text(
        f"__version__ = {version!r}\n"
        "import json\n"
        "JSONDecodeError = json.JSONDecodeError\n"
        "loads = json.loads\n"
        "dumps = lambda v: json.dumps(v).encode()\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.strip() == parser
