"""The fakes refuse bad arguments when they are made, and keep the fault plan they are given."""

from __future__ import annotations

import re
from typing import Any

import pytest

from asyncmailstats.testing import FakePostmark, FaultPlan
from asyncmailstats.testing._server import FakeServer


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"latency": True}, TypeError, "latency must be a number, got bool"),
        ({"latency": "0.1"}, TypeError, "latency must be a number, got str"),
        ({"latency": -0.5}, ValueError, "latency must not be negative, got -0.5"),
        ({"faults": {"reset": 0.1}}, TypeError, "faults must be a FaultPlan or None, got dict"),
    ],
)
def test_a_fake_refuses_bad_latency_and_faults(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Every fake takes ``latency`` and ``faults``; a wrong one fails before it serves."""
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        FakeServer(**options)
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        FakePostmark(messages=1, **options)


def test_faults_are_replaced_only_by_a_plan_or_none() -> None:
    """``set_faults`` takes a new plan, or ``None``; ``faults`` is the plan in force."""
    plan = FaultPlan(server_error=0.5, seed=7)
    fake = FakeServer(faults=plan)
    assert fake.faults is plan
    with pytest.raises(TypeError, match=r"^faults must be a FaultPlan or None, got str$"):
        fake.set_faults("reset")  # type: ignore[arg-type]
    assert fake.faults is plan
    fake.set_faults(None)
    assert fake.faults is None
    other = FaultPlan(reset=0.1)
    fake.set_faults(other)
    assert fake.faults is other


@pytest.mark.parametrize("port", [-1, 65536, 80.0, True])
async def test_start_refuses_a_port_outside_0_to_65535(port: Any) -> None:
    """A bad port is refused before anything listens; the fake can still start."""
    fake = FakeServer()
    with pytest.raises(ValueError, match=r"^port must be an int from 0 to 65535, got "):
        await fake.start(port)
    assert not fake.running
    async with fake:
        assert fake.running
        assert fake.url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"stall_seconds": -1}, ValueError, "stall_seconds must not be negative, got -1"),
        ({"retry_after": -0.5}, ValueError, "retry_after must not be negative, got -0.5"),
        ({"max_rate": "5"}, TypeError, "max_rate must be a number or None, got str"),
        ({"max_concurrency": True}, TypeError, "max_concurrency must be a number or None"),
    ],
)
def test_a_fault_plan_refuses_negative_waits_and_non_number_limits(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Waits cannot be negative; the limits are numbers or ``None``."""
    with pytest.raises(error, match=f"^{re.escape(message)}"):
        FaultPlan(**options)


def test_a_postmark_fake_needs_a_token_string() -> None:
    """The token the fake checks on every request must be a non-empty string."""
    for token in ("", 12):
        with pytest.raises(TypeError, match=r"^token must be a non-empty string$"):
            FakePostmark(messages=1, token=token)  # type: ignore[arg-type]
