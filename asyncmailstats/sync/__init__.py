"""Keep an exact, incremental, crash-safe copy of an account's data in a database.

``await asyncmailstats.sync.run(api, store)`` reads what is new or may have changed since
the last run and merges it into the store, one unit of work (a stream and a day, a page
run, a batch of messages) per transaction together with its checkpoint::

    async with ams.Session() as session:
        api = session.postmark(server_token=token)
        report = await ams.sync.run(api, ams.sync.SQLiteStore("stats.db"))

``PostgresStore("postgresql://…")`` keeps them in PostgreSQL instead (the ``postgres``
extra, asyncpg, imported only when such a store is made).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from ..emailconsul import EmailConsulAPI
from ..emailconsul.models import LinkGroup
from ..getresponse import GetResponseAPI
from ..postmark import PostmarkAPI
from ._emailconsul import DEFAULT_GROUPS, EmailConsulPlan
from ._getresponse import GetResponsePlan
from ._postgres import PostgresStore
from ._postmark import PostmarkPlan, eastern_today
from ._runner import DEFAULT_LOOKBACK_DAYS, Gap, Plan, SyncReport, TableReport, run_plan
from ._store import SQLiteStore, Store, SyncError, SyncLockedError, Write, read_rows
from ._tables import TABLES, Column, Table

__all__ = [
    "DEFAULT_LOOKBACK_DAYS",
    "TABLES",
    "Column",
    "Gap",
    "PostgresStore",
    "SQLiteStore",
    "Store",
    "SyncError",
    "SyncLockedError",
    "SyncReport",
    "Table",
    "TableReport",
    "Write",
    "plan_for",
    "read_rows",
    "run",
]


def plan_for(
    api: Any,
    *,
    message_streams: Iterable[str] | None = None,
    groups: Iterable[LinkGroup | str] | None = None,
    until: dt.date | None = None,
) -> Plan:
    """Return the plan of *api*'s provider.

    Args:
        api: A :class:`~asyncmailstats.postmark.PostmarkAPI`,
            :class:`~asyncmailstats.emailconsul.EmailConsulAPI` or
            :class:`~asyncmailstats.getresponse.GetResponseAPI`.
        message_streams: Postmark only: the message streams to read; by default every
            outbound and broadcast stream the server lists.
        groups: EmailConsul only: the link-stats groupings; by default ``campaign_id``
            and ``country``.
        until: The last day a run reads, in the provider's calendar (US-Eastern days
            for Postmark, UTC days for the others); by default the current day.

    Raises:
        TypeError: *api* is none of those, or an option does not apply to it.
        ValueError: A stream name is empty or a group unknown.
    """
    if until is not None and (isinstance(until, dt.datetime) or not isinstance(until, dt.date)):
        msg = f"until must be a date, not {type(until).__name__}"
        raise TypeError(msg)
    if until is not None and not dt.date(1900, 1, 1) <= until <= dt.date(9998, 12, 31):
        msg = f"until must be between 1900-01-01 and 9998-12-31, not {until}"
        raise ValueError(msg)
    if until is not None and until > _today_of(api):
        # The checkpoint would claim days that have not happened yet: the next run
        # would start past them and never read them.
        msg = f"until ({until}) is after today ({_today_of(api)}) in the provider's calendar"
        raise ValueError(msg)
    if isinstance(api, PostmarkAPI):
        if groups is not None:
            msg = "groups applies to EmailConsul only"
            raise TypeError(msg)
        names = _names("message_streams", message_streams)
        return PostmarkPlan(api, message_streams=names, today=until)
    if message_streams is not None and not isinstance(api, PostmarkAPI):
        msg = "message_streams applies to Postmark only"
        raise TypeError(msg)
    if isinstance(api, EmailConsulAPI):
        chosen = DEFAULT_GROUPS if groups is None else groups
        return EmailConsulPlan(api, groups=chosen, today=until)
    if groups is not None:
        msg = "groups applies to EmailConsul only"
        raise TypeError(msg)
    if isinstance(api, GetResponseAPI):
        return GetResponsePlan(api, today=until)
    msg = (
        f"cannot sync a {type(api).__name__}: pass a PostmarkAPI, EmailConsulAPI or GetResponseAPI"
    )
    raise TypeError(msg)


def _today_of(api: Any) -> dt.date:
    """Return the current day in *api*'s calendar: US-Eastern for Postmark, else UTC."""
    if isinstance(api, PostmarkAPI):
        return eastern_today()
    return dt.datetime.now(dt.UTC).date()


def _names(what: str, values: Iterable[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    names = tuple(values)
    if not names or any(not isinstance(n, str) or not n.strip() for n in names):
        msg = f"{what} must be non-empty strings"
        raise ValueError(msg)
    return tuple(dict.fromkeys(names))


async def run(
    api: Any,
    store: Store,
    *,
    streams: Iterable[str] | None = None,
    since: dt.date | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    full_refresh: bool = False,
    account: str = "default",
    message_streams: Iterable[str] | None = None,
    groups: Iterable[LinkGroup | str] | None = None,
    until: dt.date | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> SyncReport:
    """Bring *store*'s tables for *account* up to date with what *api* serves.

    A first run reads from *since* (default: the provider's retention, 45 days for
    Postmark); later runs read what is new, and the trailing *lookback_days* of what
    still changes. Each unit of work is committed with its checkpoint in one
    transaction: a run stopped at any moment (killed included) leaves whole units, and
    the next run completes the rest exactly.

    Args:
        api: The provider API to read (its session must be open).
        store: Where the rows go: a :class:`SQLiteStore` or a :class:`PostgresStore`.
        streams: Which streams (by default all of the provider's): Postmark
            ``messages``, ``opens``, ``clicks``, ``stats``; EmailConsul ``link-stats``;
            GetResponse ``messages``, ``message-stats``. A comma-separated string works.
        since: Where a first run starts; later runs start from their state.
        lookback_days: Trailing days re-read every run (0 to 3650).
        full_refresh: Delete the account's rows and state of these streams first.
        account: The label every row carries (never a secret).
        message_streams: Postmark: the message streams (default: all it lists).
        groups: EmailConsul: link-stats groupings (default: campaign_id, country).
        until: The last day to read (default: the current day in the provider's
            calendar); a later run reads on from there.
        progress: Called with (stream, unit) after each unit is committed.

    Returns:
        A :class:`SyncReport`: rows inserted / updated / deleted per table, requests,
        retries, gaps past retention, time.

    Raises:
        TypeError, ValueError: A bad option, before any request.
        SyncLockedError: Another run of this account holds the store.
        SyncError: The store failed.
        MailStatsError: The provider failed (after retries); committed units stay.
    """
    plan = plan_for(api, message_streams=message_streams, groups=groups, until=until)
    day_given = since is not None and type(since) is dt.date
    if day_given and until is not None and since is not None and since > until:
        msg = f"since ({since}) is after until ({until})"
        raise ValueError(msg)
    return await run_plan(
        plan,
        store,
        streams=streams,
        since=since,
        lookback_days=lookback_days,
        full_refresh=full_refresh,
        account=account,
        progress=progress,
    )
