"""fan_out() with a failing item: every other item still comes back, in order when asked."""

from __future__ import annotations

import asyncio
import types

import pytest

from asyncmailstats import Outcome, fan_out

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

ITEMS = list(range(10))
FAILING = 3


async def test_failure_and_reverse_finishing_keep_input_order(kit: types.SimpleNamespace) -> None:
    """Items finish last-to-first and one fails; ordered=True still yields 0..9 in order."""
    release = {n: asyncio.Event() for n in ITEMS}
    started: list[int] = []
    finished: list[int] = []

    async def work(n: int) -> int:
        started.append(n)
        await release[n].wait()
        finished.append(n)
        if n == FAILING:
            raise ValueError(f"item {n} failed")
        return n * n

    async def consume() -> list[Outcome[int, int]]:
        return [o async for o in fan_out(work, ITEMS, concurrency=len(ITEMS), ordered=True)]

    consumer = asyncio.create_task(consume())
    await kit.until(lambda: len(started) == len(ITEMS))
    for n in reversed(ITEMS):
        release[n].set()
        await kit.until(lambda n=n: n in finished)
    outcomes = await consumer

    assert finished == list(reversed(ITEMS))
    assert [o.item for o in outcomes] == ITEMS
    failed = outcomes[FAILING]
    assert isinstance(failed.error, ValueError)
    assert failed.value is None
    assert [(o.item, o.value) for o in outcomes if o.error is None] == [
        (n, n * n) for n in ITEMS if n != FAILING
    ]
