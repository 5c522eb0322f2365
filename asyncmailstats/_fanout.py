"""``fan_out()``: a bounded concurrent map over an iterable or an async iterable.

Items are pulled lazily: at most ``concurrency`` items are being worked on or waiting
to be consumed at any time, so a stream of millions of ids is never materialised.

Cancellation comes in two kinds. The fan-out's own shutdown (the consumer cancelled,
``aclose()``, leaving the loop) cancels every worker and reports nothing for them. Any
other cancellation of a worker - ``fn`` raised ``CancelledError`` because something it
awaited was cancelled, or someone called ``.cancel()`` on the worker task - is that item's
failure: it becomes the item's :class:`Outcome` and the other items go on.

``Task.cancelling()`` cannot tell the two kinds apart (both go through ``Task.cancel()``),
so the fan-out sets a ``closed`` flag before it cancels anything, and a worker's outcome is
built, from the finished task, only while that flag is clear. The consumer never awaits a
worker task (awaiting a task ties the two tasks' cancellations together): it waits on a
private future that finished workers, the feeder and shutdown resolve, so a
``CancelledError`` inside ``__anext__`` can only be the consumer's own.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections import deque
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from typing import Any, Final, Generic, Self, TypeVar, cast, overload

import attrs

from ._client import ProviderClient
from ._closing import AsyncClosing
from ._validate import check_bool, check_int

I = TypeVar("I")  # noqa: E741 - the conventional name of an input item type
T = TypeVar("T")

_log = logging.getLogger("asyncmailstats.limits")

#: Items worked on at once when ``concurrency`` is not given.
DEFAULT_CONCURRENCY: Final = 64


@attrs.frozen(slots=True)
class Outcome(Generic[I, T]):
    """The result of applying a function to one item: a value or an error.

    Fan-outs yield its two subclasses, :class:`Success` and :class:`Failure`, typed as
    ``Success[I, T] | Failure[I, T]``: checking ``outcome.error is None`` (or
    ``isinstance(outcome, Success)``) narrows ``outcome.value`` to ``T`` for type
    checkers.

    Attributes:
        item: The input item.
        value: The function's result (``None`` when it failed).
        error: The exception the function raised, or ``None``. A call cancelled by
            something other than the fan-out (``fn`` awaited a future cancelled elsewhere,
            or its task was cancelled from outside) holds its ``asyncio.CancelledError``,
            as ``asyncio.gather(..., return_exceptions=True)`` would.
    """

    item: I
    value: T | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """Whether the function succeeded."""
        return self.error is None

    def unwrap(self) -> T:
        """Return the value, or raise the error."""
        if self.error is not None:
            raise self.error
        return cast("T", self.value)


@attrs.frozen(slots=True)
class Success(Outcome[I, T]):
    """An item whose function returned: ``value`` is its result, ``error`` is ``None``."""

    value: T
    error: None = None

    def unwrap(self) -> T:
        """Return the value."""
        return self.value


@attrs.frozen(slots=True)
class Failure(Outcome[I, T]):
    """An item whose function raised: ``error`` is the exception, ``value`` is ``None``."""

    value: None = None
    error: BaseException = attrs.field(kw_only=True)

    def unwrap(self) -> T:
        """Raise the error."""
        raise self.error


def retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a finished task's exception as seen, so asyncio never logs it as lost."""
    if not task.cancelled():
        task.exception()


class _Slot(Generic[I, T]):
    """One item's place in line: filled when its worker finishes.

    ``fatal`` holds a ``BaseException`` that is not an ``Exception`` (``SystemExit``, say):
    it means "stop", so it is raised to the consumer instead of becoming an outcome.
    """

    __slots__ = ("done", "fatal", "item", "outcome")

    def __init__(self, item: I) -> None:
        self.item = item
        self.done = False
        self.outcome: Success[I, T] | Failure[I, T] | None = None
        self.fatal: BaseException | None = None


class _Work(Generic[I, T]):
    """What the feeder, the workers and the consumer share.

    The tasks reference this object, never the :class:`FanOut` that owns it, so a
    consumer that drops its ``FanOut`` (a ``break``) lets it be collected, and its
    finaliser cancels the work.
    """

    __slots__ = (
        "closed",
        "fn",
        "input_done",
        "input_error",
        "ordered",
        "outstanding",
        "ready",
        "slots",
        "waiter",
        "workers",
    )

    def __init__(
        self, fn: Callable[[I], Awaitable[T] | T], *, concurrency: int, ordered: bool
    ) -> None:
        self.fn = fn
        self.ordered = ordered
        self.slots = asyncio.Semaphore(concurrency)
        # Ordered: every started item's slot, in input order. Unordered: finished slots.
        self.ready: deque[_Slot[I, T]] = deque()
        self.workers: set[asyncio.Task[T]] = set()
        self.outstanding = 0  # items started and not yet handed to the consumer
        self.input_done = False
        self.input_error: BaseException | None = None
        self.closed = False  # set before the fan-out cancels its own tasks
        self.waiter: asyncio.Future[None] | None = None  # what the consumer awaits

    def wake(self) -> None:
        """Let a waiting consumer look again."""
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take(self) -> _Slot[I, T] | None:
        """Return the next slot to hand out, or ``None`` if none is finished yet."""
        if self.ready and self.ready[0].done:
            return self.ready.popleft()
        return None

    async def feed(self, items: Iterable[I] | AsyncIterable[I]) -> None:
        """Start a worker per item, waiting for a free slot before pulling the next."""
        error: BaseException | None = None
        try:
            if isinstance(items, AsyncIterable):
                async for item in items:
                    await self.start(item)
            else:
                for item in items:
                    await self.start(item)
        except asyncio.CancelledError as exc:
            if self.closed:
                raise
            # The input awaited something cancelled, or this task was cancelled from
            # outside: the input ended with an error, which the consumer gets in turn.
            error = exc
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            error = exc
        self.input_done = True
        self.input_error = error
        self.wake()

    async def start(self, item: I) -> None:
        """Take a slot and start *item*'s worker."""
        await self.slots.acquire()
        if self.closed:  # the input swallowed the shutdown's cancellation
            raise asyncio.CancelledError
        slot: _Slot[I, T] = _Slot(item)
        self.outstanding += 1
        task = asyncio.get_running_loop().create_task(self.run(item))
        self.workers.add(task)
        task.add_done_callback(functools.partial(self.finished, slot))
        if self.ordered:
            self.ready.append(slot)

    async def run(self, item: I) -> T:
        """Apply the function to *item* (a coroutine function or a plain one)."""
        result = self.fn(item)
        if inspect.isawaitable(result):
            result = await result
        return cast("T", result)

    def finished(self, slot: _Slot[I, T], task: asyncio.Task[T]) -> None:
        """Turn a finished worker into its item's outcome, unless the fan-out is closed.

        Reading the outcome from the task, rather than inside :meth:`run`, covers a
        worker cancelled before its first step, which never enters :meth:`run`'s body.
        """
        self.workers.discard(task)
        if self.closed:  # cancelled by the shutdown, or finished too late to matter
            retrieve(task)
            return
        if task.cancelled():
            try:
                task.result()
            except asyncio.CancelledError as cancelled:
                slot.outcome = Failure(slot.item, error=cancelled)
        elif (error := task.exception()) is None:
            slot.outcome = Success(slot.item, task.result())
        elif isinstance(error, Exception):
            slot.outcome = Failure(slot.item, error=error)
        else:
            slot.fatal = error
        slot.done = True
        if not self.ordered:
            self.ready.append(slot)
        self.wake()


class FanOut(AsyncClosing, Generic[I, T]):
    """Async iterator of :class:`Outcome`; see :func:`fan_out`.

    Like an async generator, it refuses a second ``__anext__`` while one is running
    (``RuntimeError``). ``aclose()`` may come from another task: a consumer waiting
    meanwhile gets ``StopAsyncIteration``.
    """

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
        self._running = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Success[I, T] | Failure[I, T]:
        if self._running:
            msg = "anext(): fan-out is already running"
            raise RuntimeError(msg)
        self._running = True
        try:
            return await self._next()
        except GeneratorExit:
            # This coroutine is being closed (its task was destroyed): no awaiting now.
            self._cancel()
            raise
        except BaseException:
            # The end, an input error, or the consumer cancelled: stop everything, and let
            # no task outlive this call (a second cancel only cuts the wait short).
            await self._shutdown()
            raise
        finally:
            self._running = False

    async def _next(self) -> Success[I, T] | Failure[I, T]:
        work = self._work
        if self._feeder is None and not work.closed:
            self._feeder = asyncio.ensure_future(work.feed(self._items))
            self._feeder.add_done_callback(retrieve)
        while True:
            if work.closed:
                raise StopAsyncIteration
            slot = work.take()
            if slot is not None:
                work.outstanding -= 1
                work.slots.release()
                if slot.fatal is not None:
                    raise slot.fatal
                return cast("Success[I, T] | Failure[I, T]", slot.outcome)
            if work.input_done and work.outstanding == 0:
                # An input error waits until the items pulled before it are out.
                error, work.input_error = work.input_error, None
                if error is not None:
                    raise error
                raise StopAsyncIteration
            work.waiter = asyncio.get_running_loop().create_future()
            try:
                await work.waiter
            finally:
                work.waiter = None

    def _cancel(self) -> list[asyncio.Task[Any]]:
        """Close the fan-out and cancel its tasks (once); return those still running.

        Only the first call cancels: a second ``cancel()`` would interrupt the clean-up
        a worker runs for the first one.
        """
        work = self._work
        tasks: list[asyncio.Task[Any]] = list(work.workers)
        if self._feeder is not None:
            tasks.append(self._feeder)
        pending = [task for task in tasks if not task.done()]
        if not work.closed:
            work.closed = True  # first: a worker finishing from now on is not reported
            work.wake()
            for task in pending:
                task.cancel()
        return pending

    async def _shutdown(self) -> None:
        """Cancel every task of the fan-out and wait until each has stopped."""
        pending = self._cancel()
        if pending:
            # wait(), unlike gather(), neither cancels the tasks again nor raises for them;
            # the done callbacks retrieve their exceptions.
            await asyncio.wait(pending)

    async def aclose(self) -> None:
        """Cancel every item still being worked on, stop pulling items, and wait."""
        await self._shutdown()

    def __del__(self) -> None:
        if getattr(self, "_work", None) is not None:
            self._cancel()


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
            Requests still go through each provider's limiter, so a method of a
            provider API runs at most ``Limits.max_concurrency`` requests at once
            (16 by default) whatever this says; when *fn* is such a method and this is
            higher, a warning is logged once per provider client.
        ordered: Yield outcomes in input order instead of as they finish.

    Returns:
        An async iterator of outcomes, also an async context manager. One failing item
        never stops the rest, nor does a call cancelled by anything but the fan-out: its
        outcome holds the ``CancelledError``. An error while pulling items is raised
        after the outcomes before it. Cancelling the consumer cancels the work and waits
        for it to stop; leaving early cancels it.

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
    explicit = concurrency is not None
    concurrency = DEFAULT_CONCURRENCY if concurrency is None else concurrency
    check_int("concurrency", concurrency, 1, kind="an int or None")
    check_bool("ordered", ordered)
    if explicit:
        _warn_if_limited(fn, concurrency)
    return FanOut(fn, items, concurrency=concurrency, ordered=ordered)


def _provider_client(fn: Callable[..., Any]) -> ProviderClient | None:
    """Return the provider client behind a method of a provider API, if *fn* is one."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    owner = getattr(fn, "__self__", None)
    client = getattr(owner, "_client", None)
    return client if isinstance(client, ProviderClient) else None


def _warn_if_limited(fn: Callable[..., Any], concurrency: int) -> None:
    """Log once per provider client when a fan-out asks for more than its limit allows."""
    client = _provider_client(fn)
    if client is None:
        return
    limit = client.limiter.limits.max_concurrency
    if concurrency <= limit or client.warned_fan_out:
        return
    client.warned_fan_out = True
    _log.warning(
        "fan_out(concurrency=%d) calls %s, whose limit is %d requests in flight: at most "
        "%d run at once. Raise Limits(max_concurrency=...) of the session or of the "
        "client to run more.",
        concurrency,
        client.provider,
        limit,
        limit,
    )
