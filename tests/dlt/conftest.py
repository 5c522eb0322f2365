"""dlt's files go under each test's directory, and its telemetry stays off."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def dlt_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point dlt's data and project directories into *tmp_path*; turn telemetry off."""
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt-data"))
    monkeypatch.setenv("DLT_PROJECT_DIR", str(tmp_path / "dlt-project"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    return tmp_path
