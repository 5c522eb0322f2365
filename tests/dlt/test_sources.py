"""The dlt sources end to end: fake provider → dlt pipeline → DuckDB, twice.

Each test runs a pipeline from synchronous code, as a script would, and compares every
loaded table with what the fake holds (``truth``), as multisets; instants, days and
flags are read back into the sync's text and 0/1 form, so the comparison is exact.
"""

from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dlt")
pytest.importorskip("duckdb")

from dlt.pipeline.exceptions import PipelineStepFailed

from asyncmailstats import RetryPolicy
from asyncmailstats.dlt import emailconsul_source, getresponse_source, postmark_source
from asyncmailstats.getresponse.models import COUNTER_NAMES
from asyncmailstats.testing import (
    FakeEmailConsul,
    FakeGetResponse,
    FakePostmark,
    FaultPlan,
)
from tests.dlt.served import (
    Served,
    assert_loaded,
    column_types,
    loaded,
    pipeline,
    query,
)
from tests.sync.truth import (
    eastern_day,
    getresponse_truth,
    link_stats,
    postmark_truth,
    relabel,
)

#: 12:00 in New York: far from any day boundary.
NOW = dt.datetime(2025, 6, 10, 16, 0, tzinfo=dt.UTC)
PM_TODAY = eastern_day(NOW)
PM_FIRST = PM_TODAY - dt.timedelta(days=45)
UTC_TODAY = NOW.date()
EC_FIRST = UTC_TODAY - dt.timedelta(days=45)
#: GetResponse's times are naive (the account's local time).
GR_NOW = NOW.replace(tzinfo=None) - dt.timedelta(hours=4)
LOOKBACK = 2
#: A later run after a few changes sends at most this share of a first run's requests.
CHEAP = 0.25
EC_GROUPS = ("campaign_id", "country")


def resource_state(pipe: Any, source: str, table: str) -> dict[str, Any]:
    """Return the dlt state of *table*'s resource."""
    state: dict[str, Any] = pipe.state["sources"][source]["resources"][table]
    return state


def test_postmark_tables_are_exact_and_a_later_run_reads_little(tmp_path: Path) -> None:
    """A first run loads messages, opens, clicks and every stats series exactly, with
    typed columns; after new opens, clicks and messages (two days back too) a later run
    sends a fraction of the requests and the tables are exact again."""
    make = lambda: FakePostmark(messages=1200, seed=7, now=NOW, open_rate=0.6, click_rate=0.3)  # noqa: E731
    with Served(make) as served:
        fake = served.fake
        pipe = pipeline(tmp_path)

        def source() -> Any:
            return postmark_source(
                server_token=fake.token,
                base_url=fake.url,
                until=PM_TODAY,
                lookback_days=LOOKBACK,
            )

        pipe.run(source())
        first = served.requests
        truth = postmark_truth(fake, PM_FIRST, PM_TODAY)
        assert sum(sum(rows.values()) for rows in truth.values()) > 3000
        assert_loaded(tmp_path, truth)
        types = column_types(tmp_path, "postmark_opens")
        assert types["received_at"] == "TIMESTAMP WITH TIME ZONE"
        assert types["first_open"] == "BOOLEAN"
        assert types["read_seconds"] == "BIGINT"
        assert types["extra"] == "VARCHAR"
        assert column_types(tmp_path, "postmark_stats")["date"] == "DATE"
        assert "_deleted" not in types

        served.call(fake.add_opens, 40)
        served.call(fake.add_opens, 10, stream="broadcast")
        served.call(fake.add_clicks, 30)
        served.call(fake.add_messages, 12, at=NOW - dt.timedelta(days=2))
        served.call(fake.add_messages, 6, at=NOW + dt.timedelta(minutes=5))
        pipe.run(source())
        later = served.requests - first
        assert_loaded(tmp_path, postmark_truth(fake, PM_FIRST, PM_TODAY))
        assert later <= CHEAP * first, (later, first)

        opens = resource_state(pipe, "postmark", "postmark_opens")["accounts"]["default"]
        assert set(opens) == {"opens:outbound", "opens:broadcast"}
        stats = resource_state(pipe, "postmark", "postmark_stats")["accounts"]["default"]
        assert stats == {"stats": {"through": PM_TODAY.isoformat()}}


def test_emailconsul_link_stats_are_exact_and_a_later_run_reads_little(tmp_path: Path) -> None:
    """Every UTC day and group value is loaded with its count; after new clicks (new
    campaigns and countries among them) a later run re-reads the lookback only and the
    table is exact again."""
    with Served(lambda: FakeEmailConsul(link_logs=3000, seed=3, now=NOW)) as served:
        fake = served.fake
        pipe = pipeline(tmp_path)

        def source() -> Any:
            return emailconsul_source(
                api_key=fake.api_key, base_url=fake.url, until=UTC_TODAY, lookback_days=LOOKBACK
            )

        pipe.run(source())
        first = served.requests
        table = "emailconsul_link_stats"
        assert_loaded(tmp_path, {table: link_stats(fake, EC_FIRST, UTC_TODAY, EC_GROUPS)})
        assert column_types(tmp_path, table)["day"] == "DATE"

        served.call(fake.add_link_logs, 60)
        pipe.run(source())
        later = served.requests - first
        assert_loaded(tmp_path, {table: link_stats(fake, EC_FIRST, UTC_TODAY, EC_GROUPS)})
        assert later <= CHEAP * first, (later, first)


def _counters(**values: int) -> dict[str, int]:
    return {name: values.get(name, 0) for name in COUNTER_NAMES}


def _recent_with_days(fake: FakeGetResponse, days: int) -> list[str]:
    """Return the messages created in the lookback with stats on at least *days* days."""
    since = (GR_NOW - dt.timedelta(days=LOOKBACK)).date().isoformat()
    found = []
    for message_id, fields in fake.messages.items():
        hours = fake.hourly_stats[message_id]
        if fields["created_on"][:10] >= since and len({h[:10] for h in hours}) >= days:
            found.append(message_id)
    return found


def _change(fake: FakeGetResponse) -> None:
    """Add a message; change one recent message's stats, drop a day of another's and
    every stats row of a third (its scope left empty)."""
    created = GR_NOW - dt.timedelta(hours=2)
    fake.messages["zNew1"] = {
        **next(iter(fake.messages.values())),
        "type": "newsletter",
        "subject": "Flash sale",
        "name": "newsletter flash",
        "created_on": created.strftime("%Y-%m-%d %H:%M:%S"),
        "send_on": (created + dt.timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S"),
    }
    fake.hourly_stats["zNew1"] = {created.strftime("%Y-%m-%d %H"): _counters(sent=120)}
    grown, shrunk, emptied = _recent_with_days(fake, 2)[:3]
    hours = fake.hourly_stats[grown]
    newest = max(hours)
    hours[newest] = {**hours[newest], "opened": hours[newest]["opened"] + 9}
    first_day = min(hours)[:10]
    fake.hourly_stats[shrunk] = {
        h: c for h, c in fake.hourly_stats[shrunk].items() if h[:10] != first_day
    }
    fake.hourly_stats[emptied] = {}


@pytest.mark.parametrize("file_format", [None, "jsonl"])
def test_getresponse_tables_are_exact_and_replaced_scopes_lose_what_vanished(
    tmp_path: Path, file_format: str | None
) -> None:
    """Messages of every type and their daily stats are loaded exactly (naive local
    times as timestamps without a zone); after a new message, grown stats, a stats day
    gone and a message's stats gone altogether, a later run makes both tables exact,
    with dlt's default loader files and with JSONL ones."""
    with Served(
        lambda: FakeGetResponse(messages=1500, seed=3, now=GR_NOW.replace(tzinfo=dt.UTC))
    ) as served:
        fake = served.fake
        pipe = pipeline(tmp_path)

        def source() -> Any:
            return getresponse_source(
                api_key=fake.api_key, base_url=fake.url, until=UTC_TODAY, lookback_days=LOOKBACK
            )

        pipe.run(source(), loader_file_format=file_format)
        # JSON-RPC calls, not HTTP requests: the stats calls travel in batches.
        first = sum(fake.rpc_calls.values())
        assert_loaded(tmp_path, getresponse_truth(fake))
        types = column_types(tmp_path, "getresponse_message_stats")
        assert types["start"] == "TIMESTAMP"
        assert types["_deleted"] == "BOOLEAN"
        assert column_types(tmp_path, "getresponse_messages")["created_on"] == "TIMESTAMP"

        served.call(_change, fake)
        pipe.run(source(), loader_file_format=file_format)
        later = sum(fake.rpc_calls.values()) - first
        assert_loaded(tmp_path, getresponse_truth(fake))
        assert later <= CHEAP * first, (later, first)


def test_a_failed_run_loads_nothing_and_the_next_run_is_exact(tmp_path: Path) -> None:
    """A run whose requests start failing stops; it leaves no rows and no checkpoint
    (dlt commits both together), no session open, and the next run is exact."""
    faults = FaultPlan(server_error=0.05, seed=11)
    make = lambda: FakePostmark(messages=600, seed=5, now=NOW, faults=faults)  # noqa: E731
    with Served(make) as served:
        fake = served.fake
        pipe = pipeline(tmp_path)

        def source() -> Any:
            return postmark_source(
                server_token=fake.token,
                base_url=fake.url,
                until=PM_TODAY,
                retry=RetryPolicy(max_attempts=1),
            )

        with pytest.raises(PipelineStepFailed):
            pipe.run(source())
        assert fake.faults_injected["server_error"] >= 1
        gc.collect()  # an unclosed session would warn here, and fail the test
        assert "postmark" not in pipe.state.get("sources", {})
        tables = query(
            tmp_path, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'mail'"
        )
        assert tables == [(0,)]

        served.call(fake.set_faults, None)
        pipe.run(source())
        assert_loaded(tmp_path, postmark_truth(fake, PM_FIRST, PM_TODAY))


def test_options_come_from_dlt_configuration_and_accounts_keep_their_own_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key and a first day come from dlt's configuration (environment); two
    accounts loaded by one pipeline each get a whole first run, kept apart."""
    since = UTC_TODAY - dt.timedelta(days=5)
    prefix = "SOURCES__ASYNCMAILSTATS__EMAILCONSUL__"
    with Served(lambda: FakeEmailConsul(link_logs=600, seed=4, now=NOW)) as served:
        fake = served.fake
        monkeypatch.setenv(prefix + "API_KEY", fake.api_key)
        monkeypatch.setenv(prefix + "SINCE", since.isoformat())
        pipe = pipeline(tmp_path)
        for account in ("north", "south"):
            before = served.requests
            pipe.run(emailconsul_source(base_url=fake.url, until=UTC_TODAY, account=account))
            assert served.requests - before == 2 * 6  # two groupings, six days each
        truth = link_stats(fake, since, UTC_TODAY, EC_GROUPS)
        assert loaded(tmp_path, "emailconsul_link_stats") == relabel(truth, "north") + relabel(
            truth, "south"
        )
        state = resource_state(pipe, "emailconsul", "emailconsul_link_stats")["accounts"]
        assert set(state) == {"north", "south"}
