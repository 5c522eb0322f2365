"""Each stream of a sync plan as a dlt resource that runs the plan itself.

A resource is an async generator: dlt runs it on the event loop of its extract step,
so a pipeline works from plain synchronous code. The generator opens its own
:class:`~asyncmailstats.Session` there, builds the provider's plan, and hands each
:class:`~asyncmailstats.sync.Write` of its stream to dlt as a list of records. The
plan's checkpoints live in the resource's dlt state, per account: read before the first
request, and moved on by a write only once dlt has taken that write's records. dlt
commits the state with the records it extracted, in the same load package, so a run
that fails keeps neither and the next one starts from the last loaded state.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

import attrs
import dlt

from .. import Session
from ..sync import SyncReport
from ..sync._runner import Context, Plan, check_options
from ._columns import Record, TableShape, table_shape

if TYPE_CHECKING:
    from dlt.common.schema.typing import TWriteDispositionConfig
    from dlt.extract.resource import DltResource

_log = logging.getLogger("asyncmailstats")

#: The key of a resource's dlt state under which each account's checkpoints are kept.
ACCOUNTS: Final = "accounts"


@attrs.frozen
class Run:
    """What every resource of one source needs to run its stream.

    Attributes:
        plan: Builds the provider's plan on an open session.
        session: Makes the (unopened) session a resource runs in.
        account: The label every row carries and the state is kept under.
        since: Where a first run starts.
        lookback_days: Trailing days a later run reads again.
    """

    plan: Callable[[Session], Plan]
    session: Callable[[], Session]
    account: str
    since: dt.date | None
    lookback_days: int


def checked_resources(run: Run, streams: Iterable[str] | str | None) -> list[DltResource]:
    """Check the options against a plan built offline; return a resource per stream.

    Every stream has a resource (named after its table); those not in *streams* are
    deselected. Nothing is sent: the session the check builds its plan on is never
    opened.

    Raises:
        TypeError, ValueError: An option is wrong (see :func:`asyncmailstats.sync.run`).
    """
    plan = run.plan(run.session())
    chosen = check_options(
        plan, streams=streams, since=run.since, lookback_days=run.lookback_days, account=run.account
    )
    resources: list[DltResource] = []
    for stream in plan.streams:
        tables = plan.tables(stream)
        if len(tables) != 1:
            msg = f"stream {stream!r} writes {len(tables)} tables; a resource loads one"
            raise ValueError(msg)
        shape = table_shape(tables[0])
        disposition: TWriteDispositionConfig = "merge"
        scoped: dict[str, Any] = {}
        if shape.scope:
            disposition = {"disposition": "merge", "strategy": "delete-insert"}
            scoped["merge_key"] = list(shape.merge_key)
        resources.append(
            dlt.resource(
                _stream_records(run, stream, shape),
                name=shape.table.name,
                primary_key=list(shape.primary_key),
                write_disposition=disposition,
                columns=shape.columns(),
                # A value of another type fails the load instead of landing in a
                # variant column; columns stay free to evolve with the tables.
                schema_contract={"data_type": "freeze"},
                selected=stream in chosen,
                **scoped,
            )
        )
    return resources


def _stream_records(
    run: Run, stream: str, shape: TableShape
) -> Callable[[], AsyncIterator[list[Record]]]:
    """Return the async generator function of *stream*'s resource."""
    name = shape.table.name

    async def records() -> AsyncIterator[list[Record]]:
        # Named explicitly: dlt cannot always tell the resource of code on its loop.
        accounts = dlt.current.resource_state(name).setdefault(ACCOUNTS, {})
        saved: dict[str, Any] = accounts.setdefault(run.account, {})
        async with run.session() as session:
            plan = run.plan(session)
            report = SyncReport(plan.provider, run.account, (stream,))
            state = copy.deepcopy(saved)
            ctx = Context(
                account=run.account,
                since=run.since,
                lookback_days=run.lookback_days,
                full_refresh=False,
                state=state,
                report=report,
            )
            writes = plan.writes(stream, ctx)
            try:
                async for write in writes:
                    if write.table is not None:
                        if write.table.name != name:
                            msg = f"stream {stream!r} wrote to {write.table.name}, not {name}"
                            raise ValueError(msg)
                        synced_at = dt.datetime.now(dt.UTC)
                        batch = shape.records(write, run.account, synced_at)
                        if batch:
                            yield batch
                    if write.state is not None:
                        # dlt holds the write's records now: the unit is done.
                        key, value = write.state
                        saved[key] = copy.deepcopy(value)
            finally:
                aclose = getattr(writes, "aclose", None)
                if aclose is not None:
                    await aclose()
            for gap in report.gaps:
                _log.warning("%s: %s", name, gap)

    records.__name__ = records.__qualname__ = name
    return records
