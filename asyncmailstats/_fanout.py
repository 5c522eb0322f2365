"""``fan_out()``: a bounded concurrent map over an iterable or an async iterable.

Items are pulled lazily: at most ``concurrency`` items are being worked on or waiting
to be consumed at any time, so a stream of millions of ids is never materialised.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, Final, Generic, Self, TypeVar, cast, overload

import attrs

I = TypeVar("I")  # noqa: E741 - the conventional name of an input item type
T = TypeVar("T")

#: Items worked on at once when ``concurrency`` is not given.
DEFAULT_CONCURRENCY: Final = 64


@attrs.frozen(slots=True)
class Outcome(Generic[I, T]):
    """The result of applying a function to one item: a value or an error.

    Attributes:
        item: The input item.
        value: The function's result (``None`` when it failed).
        error: The exception the function raised, or ``None``.
    """

    item: I
    value: T | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """Whether the function succeeded."""
        return self.error is None

    def unwrap(self) -> T:
        """Return the value, or raise the error."""
        if self.error is not None:
            raise self.error
        return cast("T", self.value)


class _End:
    """Marks the end of the input (``error`` set if pulling an item failed)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def _retrieve(task: asyncio.Task[object]) -> None:
    if not task.cancelled():
        task.exception()


class _Work(Generic[I, T]):
    """What the feeder and the workers share.

    The tasks reference this object, never the :class:`FanOut` that owns it, so a
    consumer that drops its ``FanOut`` (a ``break``) lets it be collected, and its
    finaliser cancels the work.
    """

    __slots__ = ("fn", "ordered", "outstanding", "queue", "slots", "workers")

    def __init__(
        self, fn: Callable[[I], Awaitable[T] | T], *, concurrency: int, ordered: bool
    ) -> None:
        self.fn = fn
        self.ordered = ordered
        self.slots = asyncio.Semaphore(concurrency)
        # Unordered: finished outcomes. Ordered: worker tasks in input order.
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.workers: set[asyncio.Task[Outcome[I, T]]] = set()
        self.outstanding = 0

    async def feed(self, items: Iterable[I] | AsyncIterable[I]) -> None:
        try:
            if isinstance(items, AsyncIterable):
                async for item in items:
                    await self.start(item)
            else:
                for item in items:
                    await self.start(item)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self.queue.put_nowait(_End(exc))
        else:
            self.queue.put_nowait(_End())

    async def start(self, item: I) -> None:
        await self.slots.acquire()
        self.outstanding += 1
        task = asyncio.get_running_loop().create_task(self.run(item))
        self.workers.add(task)
        task.add_done_callback(self.finished)
        if self.ordered:
            self.queue.put_nowait(task)

    def finished(self, task: asyncio.Task[Outcome[I, T]]) -> None:
        self.workers.discard(task)
        _retrieve(task)

    async def run(self, item: I) -> Outcome[I, T]:
        try:
            result = self.fn(item)
            if inspect.isawaitable(result):
                result = await result
            outcome: Outcome[I, T] = Outcome(item, value=cast("T", result))
        except Exception as exc:  # noqa: BLE001 - one failing item never stops the rest
            outcome = Outcome(item, error=exc)
        if not self.ordered:
            self.queue.put_nowait(outcome)
        return outcome


class FanOut(Generic[I, T]):
    """Async iterator of :class:`Outcome`; see :func:`fan_out`."""

    def __init__(
        self,
        fn: Callable[[I], Awaitable[T] | T],
        items: Iterable[I] | AsyncIterable[I],
        *,
        concurrency: int,
        ordered: bool,
    ) -> None:
        self._work: _Work[I, T] = _Work(fn, concurrency=concurrency, ordered=ordered)
        self._items = items
        self._feeder: asyncio.Task[None] | None = None
        self._input_done = False
        self._input_error: BaseException | None = None
        self._closed = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Outcome[I, T]:
        if self._closed:
            raise StopAsyncIteration
        work = self._work
        if self._feeder is None:
            self._feeder = asyncio.ensure_future(work.feed(self._items))
            self._feeder.add_done_callback(_retrieve)
        try:
            while True:
                if self._input_done and work.outstanding == 0:
                    error, self._input_error = self._input_error, None
                    if error is not None:
                        raise error
                    raise StopAsyncIteration
                entry = await work.queue.get()
                if isinstance(entry, _End):
                    # An input error waits until the items pulled before it are out.
                    self._input_done = True
                    self._input_error = entry.error
                    continue
                if work.ordered:
                    outcome = await cast("asyncio.Task[Outcome[I, T]]", entry)
                else:
                    outcome = cast("Outcome[I, T]", entry)
                work.outstanding -= 1
                work.slots.release()
                return outcome
        except BaseException:
            self._cancel()
            raise

    def _cancel(self) -> list[asyncio.Task[object]]:
        self._closed = True
        tasks: list[asyncio.Task[object]] = list(self._work.workers)
        if self._feeder is not None:
            tasks.append(self._feeder)
        for task in tasks:
            task.cancel()
        return tasks

    async def aclose(self) -> None:
        """Cancel every item still being worked on, and stop pulling items."""
        tasks = self._cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self._cancel()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


@overload
def fan_out(
    fn: Callable[[I], Awaitable[T]],
    items: Iterable[I] | AsyncIterable[I],
    *,
    concurrency: int | None = None,
    ordered: bool = False,
) -> FanOut[I, T]: ...


@overload
def fan_out(
    fn: Callable[[I], T],
    items: Iterable[I] | AsyncIterable[I],
    *,
    concurrency: int | None = None,
    ordered: bool = False,
) -> FanOut[I, T]: ...


def fan_out(
    fn: Callable[[I], Any],
    items: Iterable[I] | AsyncIterable[I],
    *,
    concurrency: int | None = None,
    ordered: bool = False,
) -> FanOut[I, Any]:
    """Apply *fn* to every item with bounded concurrency, yielding an :class:`Outcome` each.

    Args:
        fn: A coroutine function (or any callable) taking one item.
        items: An iterable or async iterable (another stream, say), pulled lazily.
        concurrency: Items worked on at once (default :data:`DEFAULT_CONCURRENCY`).
            Requests still go through each provider's limiter.
        ordered: Yield outcomes in input order instead of as they finish.

    Returns:
        An async iterator of outcomes, also an async context manager. One failing item
        never stops the rest; an error while pulling items is raised after the
        outcomes before it; cancelling the consumer or leaving early cancels the work.

    Raises:
        TypeError: *fn* is not callable, *items* is not iterable, or an option has the
            wrong type.
        ValueError: *concurrency* is below 1.
    """
    if not callable(fn):
        msg = f"fn must be callable, got {type(fn).__name__}"
        raise TypeError(msg)
    if not isinstance(items, Iterable | AsyncIterable) or isinstance(items, str | bytes):
        msg = f"items must be an iterable or an async iterable, got {type(items).__name__}"
        raise TypeError(msg)
    if concurrency is None:
        concurrency = DEFAULT_CONCURRENCY
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        msg = f"concurrency must be an int or None, got {type(concurrency).__name__}"
        raise TypeError(msg)
    if concurrency < 1:
        msg = f"concurrency must be at least 1, got {concurrency}"
        raise ValueError(msg)
    if not isinstance(ordered, bool):
        msg = f"ordered must be a bool, got {type(ordered).__name__}"
        raise TypeError(msg)
    return FanOut(fn, items, concurrency=concurrency, ordered=ordered)
