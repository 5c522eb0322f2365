"""dlt sources of the sync's tables: land them in any destination dlt supports.

Each function returns a ``@dlt.source`` whose resources are the tables of
:mod:`asyncmailstats.sync` (``postmark_messages``, ``postmark_opens``, …), with the same
columns, natural keys (``account`` first) and incremental reads: the resources run the
sync's own plans. Install the extra (``pip install "asyncmailstats[dlt]"``), then::

    import dlt
    from asyncmailstats.dlt import postmark_source

    pipeline = dlt.pipeline("mail", destination="duckdb", dataset_name="mail")
    pipeline.run(postmark_source(server_token=token))

The credential may also come from dlt's configuration
(``SOURCES__ASYNCMAILSTATS__POSTMARK__SERVER_TOKEN``, or ``secrets.toml``), like every
other argument.

How the tables are loaded:

- Every resource merges by primary key (``write_disposition="merge"``); every column is
  declared (instants as timestamps, days as dates, flags as booleans, lists and mappings
  as JSON text), so dlt infers nothing, and a value that does not fit its column fails
  the load rather than landing in a variant column.
- The tables whose rows are replaced per scope (``postmark_stats`` per series and day,
  ``emailconsul_link_stats`` per day and grouping, ``getresponse_message_stats`` per
  message) use the ``delete-insert`` strategy with ``merge_key`` = ``account`` and the
  scope's columns, plus a ``_deleted`` hard-delete column for tombstones: a re-read scope
  holds exactly what the provider reports now, even when that is nothing. This needs a
  destination with the ``delete-insert`` strategy: dlt's SQL destinations have it;
  those with ``upsert`` only (Delta and Iceberg tables, LanceDB, Qdrant, Weaviate)
  refuse these three tables, and the plain filesystem destination merges nothing (it
  appends every run's rows, tombstones included).
- The checkpoints are the sync's, kept in each resource's dlt state under
  ``accounts`` → account → the stream's keys; dlt commits them with the rows in one load
  package. ``pipeline.run(..., refresh="drop_sources")`` starts over.
- ``_synced_at`` is when the row was last loaded (dlt rewrites a merged row even when it
  did not change). Stretches past Postmark's retention that no run can fill are logged
  as warnings on the ``asyncmailstats`` logger.
- Each selected resource opens its own session: *limits* apply per table.
- dlt's default loader files for DuckDB (``insert_values``) are slow to load:
  ``pipeline.run(source, loader_file_format="jsonl")`` (or ``"parquet"`` with pyarrow)
  loads the same rows several times faster.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import dlt

from .._limiter import Limits
from .._retry import RetryPolicy
from .._session import Session
from ..emailconsul.models import LinkGroup
from ..sync import DEFAULT_LOOKBACK_DAYS, plan_for
from ._columns import DELETED, SCOPES
from ._resources import Run, checked_resources

if TYPE_CHECKING:
    from dlt.extract.resource import DltResource

    from ..sync._runner import Plan

__all__ = [
    "DELETED",
    "SCOPES",
    "emailconsul_source",
    "getresponse_source",
    "postmark_source",
]


def _day(value: Any) -> dt.date | None:
    """Return a ``date`` (dlt's configuration gives a subclass) as a plain date."""
    if value is None or isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        return value  # not a date: the checks that follow refuse it
    return dt.date(value.year, value.month, value.day)


@attrs.frozen
class _Options:
    """The options every source takes, in the order of the sources' signatures."""

    streams: Sequence[str] | str | None
    since: dt.date | None
    until: dt.date | None
    lookback_days: int
    account: str
    limits: Limits | None
    retry: RetryPolicy | None


def _resources(
    connect: Callable[..., Any],
    base_url: str | None,
    options: _Options,
    *,
    message_streams: Sequence[str] | None = None,
    groups: Sequence[LinkGroup | str] | None = None,
) -> list[DltResource]:
    """Check the options; return a resource per stream of the provider's plan.

    Args:
        connect: Makes the provider's client on a session: the session's factory method,
            the credential (and the provider's own options) bound.
        base_url: Given to *connect* when set; its own default otherwise.
        options: The options every source takes.
        message_streams: Postmark's message streams.
        groups: EmailConsul's link-stats groupings.
    """
    since, until = _day(options.since), _day(options.until)
    if type(since) is dt.date and type(until) is dt.date and since > until:
        msg = f"since ({since}) is after until ({until})"
        raise ValueError(msg)
    where: dict[str, Any] = {} if base_url is None else {"base_url": base_url}

    def plan(session: Session) -> Plan:
        api = connect(session, **where)
        return plan_for(api, message_streams=message_streams, groups=groups, until=until)

    def session() -> Session:
        return Session(limits=options.limits, retry=options.retry)

    run = Run(plan, session, options.account, since, options.lookback_days)
    return checked_resources(run, options.streams)


@dlt.source(name="postmark", section="asyncmailstats", max_table_nesting=0)
def postmark_source(
    server_token: str = dlt.secrets.value,
    *,
    base_url: str | None = None,
    retention_days: int = 45,
    message_streams: Sequence[str] | None = None,
    streams: Sequence[str] | str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    account: str = "default",
    limits: Limits | None = None,
    retry: RetryPolicy | None = None,
) -> list[DltResource]:
    """Return the tables of one Postmark server as a dlt source.

    Resources: ``postmark_messages``, ``postmark_opens``, ``postmark_clicks`` and
    ``postmark_stats``.

    Args:
        server_token: The server's API token.
        base_url: The API root (default: Postmark's).
        retention_days: The server's message retention (7 to 365; 45 by default): how
            far back a first run reads, and what a late run reports as lost.
        message_streams: The message streams to read (default: every outbound and
            broadcast stream the server lists).
        streams: The resources to select, by stream: ``messages``, ``opens``,
            ``clicks``, ``stats`` (default: all); a comma-separated string works.
        since: Where a first run starts (default: the retention's first day).
        until: The last US-Eastern day read (default: today).
        lookback_days: Trailing days a later run reads again (0 to 3650).
        account: The label every row carries and the state is kept under.
        limits: Limits of each resource's client.
        retry: Retry policy of each resource's client.

    Raises:
        TypeError, ValueError: An option is wrong; nothing has been sent.
    """
    connect = functools.partial(
        Session.postmark, server_token=server_token, retention_days=retention_days
    )
    options = _Options(streams, since, until, lookback_days, account, limits, retry)
    return _resources(connect, base_url, options, message_streams=message_streams)


@dlt.source(name="emailconsul", section="asyncmailstats", max_table_nesting=0)
def emailconsul_source(
    api_key: str = dlt.secrets.value,
    *,
    base_url: str | None = None,
    auth_header: str = "X-API-Key",
    groups: Sequence[LinkGroup | str] | None = None,
    streams: Sequence[str] | str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    account: str = "default",
    limits: Limits | None = None,
    retry: RetryPolicy | None = None,
) -> list[DltResource]:
    """Return the link stats of one EmailConsul account as a dlt source.

    Resource: ``emailconsul_link_stats``.

    Args:
        api_key: The API key.
        base_url: The API root (default: EmailConsul's).
        auth_header: The header that carries the key.
        groups: The link-stats groupings (default: ``campaign_id`` and ``country``).
        streams: The resources to select, by stream: ``link-stats`` (the default).
        since: Where a first run starts (default: 45 days before *until*).
        until: The last UTC day read (default: today).
        lookback_days: Trailing days a later run reads again (0 to 3650).
        account: The label every row carries and the state is kept under.
        limits: Limits of the resource's client.
        retry: Retry policy of the resource's client.

    Raises:
        TypeError, ValueError: An option is wrong; nothing has been sent.
    """
    connect = functools.partial(Session.emailconsul, api_key=api_key, auth_header=auth_header)
    options = _Options(streams, since, until, lookback_days, account, limits, retry)
    return _resources(connect, base_url, options, groups=groups)


@dlt.source(name="getresponse", section="asyncmailstats", max_table_nesting=0)
def getresponse_source(
    api_key: str = dlt.secrets.value,
    *,
    base_url: str | None = None,
    streams: Sequence[str] | str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    account: str = "default",
    limits: Limits | None = None,
    retry: RetryPolicy | None = None,
) -> list[DltResource]:
    """Return the messages and daily message stats of one GetResponse account.

    Resources: ``getresponse_messages`` and ``getresponse_message_stats``.

    Args:
        api_key: The API key.
        base_url: The API endpoint (default: GetResponse's; GetResponse360 accounts
            have their own).
        streams: The resources to select, by stream: ``messages``, ``message-stats``
            (default: both).
        since: The first creation day of the messages a first run reads (default:
            every message).
        until: The last UTC day read (default: today).
        lookback_days: A later run reads again the messages created in these trailing
            days, and their stats (0 to 3650).
        account: The label every row carries and the state is kept under.
        limits: Limits of each resource's client.
        retry: Retry policy of each resource's client.

    Raises:
        TypeError, ValueError: An option is wrong; nothing has been sent.
    """
    connect = functools.partial(Session.getresponse, api_key=api_key)
    options = _Options(streams, since, until, lookback_days, account, limits, retry)
    return _resources(connect, base_url, options)
