"""The sync runner: units of work from a provider's plan, each written with its checkpoint.

A plan turns a stream into :class:`~asyncmailstats.sync._store.Write` objects; the runner
hands each to the store, which applies its rows and (at the end of a unit) the stream's
new state in one transaction. Writes go to the store's thread while the plan keeps
fetching: at most :data:`WRITES_IN_FLIGHT` are queued, so memory stays bounded however
long the stream is.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, Final, Protocol

import attrs

from .._validate import check_str
from ._store import Counts, Store, SyncError, Write
from ._tables import Table

#: Writes handed to the store and not yet committed, at most.
WRITES_IN_FLIGHT: Final = 2
#: The most rows one write carries; a longer unit is split, its state in the last one.
CHUNK_ROWS: Final = 5000
#: The default number of trailing days re-read on every run.
DEFAULT_LOOKBACK_DAYS: Final = 7
MAX_LOOKBACK_DAYS: Final = 3650
#: Unicode categories an account label may not hold: controls (C0, DEL, C1), format
#: characters (bidi overrides), surrogates (not encodable) and line separators.
_UNPRINTABLE: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_STORE_METHODS: Final = ("open", "lock", "unlock", "load_state", "write", "reset", "aclose")


@attrs.frozen
class Gap:
    """A stretch a run could not fill: it lies past the provider's retention."""

    stream: str
    first: dt.date
    last: dt.date
    reason: str

    def __str__(self) -> str:
        return f"{self.stream}: {self.first} to {self.last} not synced ({self.reason})"


@attrs.define
class TableReport:
    """What a run changed in one table."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0


@attrs.define
class SyncReport:
    """What one run did.

    Attributes:
        provider: ``postmark``, ``emailconsul`` or ``getresponse``.
        account: The account label the rows carry.
        streams: The streams synced, in order.
        tables: Rows inserted, updated and deleted, per table.
        requests: HTTP attempts sent (retries included).
        retries: Attempts that failed and were tried again.
        units: Units of work committed.
        gaps: Stretches past the provider's retention that no run can fill.
        seconds: Wall-clock time of the run.
        full_refresh: Whether the tables were rebuilt.
    """

    provider: str
    account: str
    streams: tuple[str, ...] = ()
    tables: dict[str, TableReport] = attrs.field(factory=dict)
    requests: int = 0
    retries: int = 0
    units: int = 0
    gaps: list[Gap] = attrs.field(factory=list)
    seconds: float = 0.0
    full_refresh: bool = False

    def add(self, table: str, counts: Counts) -> None:
        """Count one write's changes."""
        entry = self.tables.setdefault(table, TableReport())
        entry.inserted += counts.inserted
        entry.updated += counts.updated
        entry.deleted += counts.deleted

    @property
    def changed(self) -> int:
        """Return the rows inserted, updated or deleted, over every table."""
        return sum(t.inserted + t.updated + t.deleted for t in self.tables.values())


@attrs.define
class Context:
    """What a plan reads while it makes its writes."""

    account: str
    since: dt.date | None
    lookback_days: int
    full_refresh: bool
    state: dict[str, Any]
    report: SyncReport
    progress: Callable[[str, str], None] | None = None

    def gap(self, stream: str, first: dt.date, last: dt.date, reason: str) -> None:
        """Record a stretch this run cannot fill."""
        if first <= last:
            self.report.gaps.append(Gap(stream, first, last, reason))


class Plan(Protocol):
    """How one provider's streams become writes."""

    provider: str
    streams: tuple[str, ...]

    def tables(self, stream: str) -> tuple[Table, ...]:
        """Return the tables *stream* writes."""
        ...

    def state_prefix(self, stream: str) -> str:
        """Return the prefix of the state keys of *stream*."""
        ...

    def writes(self, stream: str, ctx: Context) -> AsyncIterator[Write]:
        """Yield the writes of *stream*, oldest unit first."""
        ...

    def statistics(self) -> tuple[int, int]:
        """Return the requests and retries sent so far."""
        ...


def chunks(rows: Sequence[Any], size: int = CHUNK_ROWS) -> Iterable[Sequence[Any]]:
    """Yield *rows* in slices of at most *size* (one empty slice for no rows)."""
    if not rows:
        yield rows
        return
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def check_account(account: object) -> str:
    """Check an account label: a non-empty string of printable characters."""
    label = check_str("account", account)
    if any(unicodedata.category(ch) in _UNPRINTABLE for ch in label):
        msg = "account must not contain control characters (line breaks, NUL, tabs, DEL, ...)"
        raise ValueError(msg)
    return label


def check_streams(plan: Plan, streams: Iterable[str] | str | None) -> tuple[str, ...]:
    """Check the streams asked for; return them in plan order (all of them for ``None``)."""
    if streams is None:
        return plan.streams
    if isinstance(streams, str):
        streams = [s for s in streams.split(",") if s]
    elif not isinstance(streams, Iterable):
        msg = f"streams must be stream names, not {type(streams).__name__}"
        raise TypeError(msg)
    chosen = list(streams)
    wrong = [s for s in chosen if not isinstance(s, str)]
    if wrong:
        msg = f"streams must be stream names, not {type(wrong[0]).__name__}"
        raise TypeError(msg)
    unknown = [s for s in chosen if s not in plan.streams]
    if unknown or not chosen:
        known = ", ".join(plan.streams)
        what = f"unknown stream {unknown[0]!r}" if unknown else "no stream given"
        msg = f"{what} for {plan.provider}; choose from {known}"
        raise ValueError(msg)
    return tuple(s for s in plan.streams if s in chosen)


def check_options(
    plan: Plan,
    *,
    streams: Iterable[str] | str | None,
    since: dt.date | None,
    lookback_days: int,
    account: str,
    full_refresh: bool = False,
    progress: Callable[[str, str], None] | None = None,
) -> tuple[str, ...]:
    """Check a run's options before anything is sent; return the streams, in plan order.

    Raises:
        TypeError: An option has the wrong type.
        ValueError: An option is out of range, or names an unknown stream.
    """
    check_account(account)
    if type(lookback_days) is not int:
        msg = f"lookback_days must be an int, not {type(lookback_days).__name__}"
        raise TypeError(msg)
    if not 0 <= lookback_days <= MAX_LOOKBACK_DAYS:
        msg = f"lookback_days must be between 0 and {MAX_LOOKBACK_DAYS}, not {lookback_days}"
        raise ValueError(msg)
    if since is not None:
        if isinstance(since, dt.datetime) or not isinstance(since, dt.date):
            msg = f"since must be a date, not {type(since).__name__}"
            raise TypeError(msg)
        if not dt.date(1900, 1, 1) <= since <= dt.date(9998, 12, 31):
            msg = f"since must be between 1900-01-01 and 9998-12-31, not {since}"
            raise ValueError(msg)
    if type(full_refresh) is not bool:
        msg = f"full_refresh must be a bool, not {type(full_refresh).__name__}"
        raise TypeError(msg)
    if progress is not None and not callable(progress):
        msg = f"progress must be callable, not {type(progress).__name__}"
        raise TypeError(msg)
    return check_streams(plan, streams)


def check_store(store: object) -> None:
    """Check that *store* has the methods of a :class:`Store`."""
    missing = [name for name in _STORE_METHODS if not callable(getattr(store, name, None))]
    if missing:
        msg = f"store must be a Store such as SQLiteStore, not {type(store).__name__}"
        raise TypeError(msg)


async def run_plan(
    plan: Plan,
    store: Store,
    *,
    streams: Iterable[str] | None = None,
    since: dt.date | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    full_refresh: bool = False,
    account: str = "default",
    progress: Callable[[str, str], None] | None = None,
) -> SyncReport:
    """Run *plan* into *store*; see :func:`asyncmailstats.sync.run`."""
    chosen = check_options(
        plan,
        streams=streams,
        since=since,
        lookback_days=lookback_days,
        account=account,
        full_refresh=full_refresh,
        progress=progress,
    )
    check_store(store)
    started = time.monotonic()
    report = SyncReport(plan.provider, account, chosen, full_refresh=full_refresh)
    requests0, retries0 = plan.statistics()
    await store.open()
    await _lock(store, account)
    # State keys are kept under the provider's name: two providers synced under one
    # account label into one database keep their checkpoints apart.
    namespace = state_namespace(plan)
    try:
        if full_refresh:
            tables = {t.name: t for s in chosen for t in plan.tables(s)}
            prefixes = [namespace + plan.state_prefix(s) for s in chosen]
            await store.reset(account, tables.values(), prefixes)
        stored = await store.load_state(account)
        state = {k[len(namespace) :]: v for k, v in stored.items() if k.startswith(namespace)}
        ctx = Context(account, since, lookback_days, full_refresh, state, report, progress)
        for stream in chosen:
            await _run_stream(plan, store, stream, ctx, namespace)
    finally:
        # Shielded: a cancellation arriving now must not leave the lock row behind.
        unlocking = asyncio.ensure_future(store.unlock(account))
        try:
            await asyncio.shield(unlocking)
        except asyncio.CancelledError:
            await asyncio.wait([unlocking])
            raise
        except SyncError:
            pass
        requests, retries = plan.statistics()
        report.requests = requests - requests0
        report.retries = retries - retries0
        report.seconds = time.monotonic() - started
    return report


async def _lock(store: Store, account: str) -> None:
    """Take *account*'s lock; when cancelled meanwhile, leave it not taken.

    The store may be taking the lock on another thread when the run is cancelled: the
    attempt is let finish, and a lock it took is released before the cancellation goes on.
    """
    locking = asyncio.ensure_future(store.lock(account))
    try:
        await asyncio.shield(locking)
    except asyncio.CancelledError:
        await asyncio.wait([locking])
        if not locking.cancelled() and locking.exception() is None:
            with contextlib.suppress(SyncError):
                await store.unlock(account)
        raise


def state_namespace(plan: Plan) -> str:
    """Return the prefix of every state key *plan* stores (``"postmark/"``)."""
    return f"{plan.provider}/"


async def _run_stream(  # noqa: C901
    plan: Plan, store: Store, stream: str, ctx: Context, namespace: str
) -> None:
    pending: list[asyncio.Task[tuple[Write, Counts]]] = []

    async def apply(write: Write) -> tuple[Write, Counts]:
        stored = write
        if write.state is not None:
            key, value = write.state
            stored = attrs.evolve(write, state=(namespace + key, value))
        return write, await store.write(ctx.account, stored)

    def settle(task: asyncio.Task[tuple[Write, Counts]]) -> None:
        write, counts = task.result()
        if write.table is not None:
            ctx.report.add(write.table.name, counts)
        if write.state is not None:
            ctx.report.units += 1
            if ctx.progress is not None and write.unit:
                ctx.progress(stream, write.unit)

    writes = plan.writes(stream, ctx)
    try:
        async for write in writes:
            # Writes are applied in order (the store has one writer thread); the plan
            # keeps fetching while up to WRITES_IN_FLIGHT of them are being committed.
            pending.append(asyncio.ensure_future(apply(write)))
            while len(pending) > WRITES_IN_FLIGHT or (pending and pending[0].done()):
                settle(await _first(pending))
        while pending:
            settle(await _first(pending))
    finally:
        aclose = getattr(writes, "aclose", None)
        if aclose is not None:
            await aclose()
        # Writes already handed to the store are whole units: let them finish (the
        # thread would commit them anyway) rather than leave them unaccounted.
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


async def _first(pending: list[asyncio.Task[tuple[Write, Counts]]]) -> asyncio.Task[Any]:
    task = pending[0]
    await asyncio.wait([task])
    pending.pop(0)
    return task
