"""The sources check their options when they are made, before any request or file."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dlt")
pytest.importorskip("duckdb")

import asyncmailstats.dlt
from asyncmailstats.dlt import emailconsul_source, getresponse_source, postmark_source
from asyncmailstats.testing import FakePostmark
from tests.dlt.served import Served, pipeline, query
from tests.sync.truth import eastern_day

NOW = dt.datetime(2025, 6, 10, 16, 0, tzinfo=dt.UTC)
TODAY = eastern_day(NOW)
DAY = dt.timedelta(days=1)
TOMORROW = dt.datetime.now(dt.UTC).date() + 2 * DAY

BAD_POSTMARK: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"streams": "messages,nope"}, ValueError, "unknown stream 'nope'"),
    ({"streams": []}, ValueError, "no stream given"),
    ({"lookback_days": -1}, ValueError, "lookback_days"),
    ({"lookback_days": 1.5}, TypeError, "lookback_days"),
    ({"account": ""}, ValueError, "account"),
    ({"account": "a\nb"}, ValueError, "account"),
    ({"since": dt.datetime(2025, 6, 1, tzinfo=dt.UTC)}, TypeError, "since"),
    ({"since": TODAY, "until": TODAY - DAY}, ValueError, "after until"),
    ({"until": TOMORROW}, ValueError, "after today"),
    ({"message_streams": [""]}, ValueError, "message_streams"),
    ({"retention_days": 0}, ValueError, "retention_days"),
    ({"base_url": "ftp://example.com"}, ValueError, "base_url"),
    ({"server_token": ""}, ValueError, "server_token"),
]


@pytest.mark.parametrize(("options", "error", "match"), BAD_POSTMARK)
def test_a_bad_postmark_option_is_refused_before_any_request(
    options: dict[str, Any], error: type[Exception], match: str
) -> None:
    """Each bad option raises the sync's own error when the source is made; the
    server sees nothing."""
    with Served(lambda: FakePostmark(messages=10, seed=1, now=NOW)) as served:
        given = {"server_token": served.fake.token, "base_url": served.fake.url, **options}
        with pytest.raises(error, match=match):
            postmark_source(**given)
        assert served.requests == 0


def test_options_of_another_provider_are_refused() -> None:
    """EmailConsul groups are checked; streams are each provider's own."""
    with pytest.raises(ValueError, match="unknown stream 'messages'"):
        emailconsul_source(api_key="k", streams="messages")
    with pytest.raises(ValueError, match="unknown group"):
        emailconsul_source(api_key="k", groups=["nope"])
    with pytest.raises(ValueError, match="auth_header"):
        emailconsul_source(api_key="k", auth_header="Host")
    with pytest.raises(ValueError, match="unknown stream 'opens'"):
        getresponse_source(api_key="k", streams="opens")


def test_deselected_streams_send_nothing_and_load_no_table(tmp_path: Path) -> None:
    """Only the streams asked for run: the others' resources are deselected."""
    with Served(lambda: FakePostmark(messages=200, seed=2, now=NOW)) as served:
        fake = served.fake
        source = postmark_source(
            server_token=fake.token, base_url=fake.url, until=TODAY, streams="stats"
        )
        assert [r.name for r in source.selected_resources.values()] == ["postmark_stats"]
        pipeline(tmp_path).run(source)
        stats = {f"/stats/outbound/{path}" for path in _STATS_PATHS}
        assert set(fake.requests_by_endpoint) == stats
        tables = query(
            tmp_path,
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'mail' AND table_name LIKE 'postmark%'",
        )
        assert tables == [("postmark_stats",)]


_STATS_PATHS = (
    "sends",
    "bounces",
    "spam",
    "tracked",
    "opens",
    "opens/platforms",
    "opens/emailclients",
    "opens/readtimes",
    "clicks",
    "clicks/browserfamilies",
    "clicks/platforms",
    "clicks/location",
)


def test_days_past_retention_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A run whose messages checkpoint is older than the server's retention logs the
    days it cannot fill, per message stream."""
    retention = 10
    early = TODAY - dt.timedelta(days=30)
    make = lambda: FakePostmark(messages=300, seed=9, now=NOW, retention_days=retention)  # noqa: E731
    with Served(make) as served:
        fake = served.fake

        def source(until: dt.date) -> Any:
            return postmark_source(
                server_token=fake.token,
                base_url=fake.url,
                retention_days=retention,
                streams="messages",
                until=until,
            )

        pipe = pipeline(tmp_path)
        pipe.run(source(early))
        with caplog.at_level(logging.WARNING, logger="asyncmailstats"):
            pipe.run(source(TODAY))
    kept = TODAY - dt.timedelta(days=retention)
    gaps = sorted(r.getMessage() for r in caplog.records if r.name == "asyncmailstats")
    reason = f"older than the server's {retention}-day retention"
    assert gaps == [
        f"postmark_messages: messages ({stream}): {early} to {kept - DAY} not synced ({reason})"
        for stream in ("broadcast", "outbound")
    ]


def test_all_is_sorted_and_resolves() -> None:
    """The module's ``__all__`` is sorted, and each name is there."""
    names = asyncmailstats.dlt.__all__
    assert names == sorted(names)
    assert all(getattr(asyncmailstats.dlt, name) is not None for name in names)
