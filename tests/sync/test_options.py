"""Every bad option to ``sync.run`` is refused before a request is sent or the database touched.

Each case calls ``run`` twice: with a database path that does not exist (it must not be
created) and with an existing database (its files must stay byte for byte the same). The
three fake servers count every request they receive: none may arrive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from asyncmailstats import Session
from asyncmailstats.sync import SQLiteStore, Write, run
from asyncmailstats.sync._tables import POSTMARK_STATS
from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark, FakeServer

NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 3, 1)


@attrs.frozen
class Providers:
    """The three fake servers and a client of each."""

    fakes: tuple[FakeServer, ...]
    session: Session
    apis: dict[str, Any]


@pytest.fixture
async def providers() -> AsyncIterator[Providers]:
    """Start the three fake servers, with a client of each."""
    async with (
        FakePostmark(messages=20, seed=1, now=NOW, retention_days=5) as pm,
        FakeEmailConsul(link_logs=20, pixel_logs=20, deliveries=20, seed=1, now=NOW) as ec,
        FakeGetResponse(messages=5, seed=1, now=NOW) as gr,
        Session() as session,
    ):
        apis = {
            "postmark": session.postmark(server_token=pm.token, base_url=pm.url),
            "emailconsul": session.emailconsul(api_key=ec.api_key, base_url=ec.url),
            "getresponse": session.getresponse(api_key=gr.api_key, base_url=gr.url),
        }
        yield Providers((pm, ec, gr), session, apis)


@attrs.frozen
class Case:
    """One bad call: the provider, the options, and the error it must raise."""

    provider: str
    options: dict[str, Any]
    error: type[Exception]
    match: str


def case(provider: str, error: type[Exception], match: str, **options: Any) -> Case:
    """Return a :class:`Case`."""
    return Case(provider, options, error, match)


CASES = {
    # streams
    "unknown stream": case("postmark", ValueError, "unknown stream 'bogus'", streams="bogus"),
    "another provider's stream": case(
        "postmark", ValueError, "unknown stream 'link-stats' for postmark", streams=["link-stats"]
    ),
    "no stream": case("postmark", ValueError, "no stream given", streams=[]),
    "empty stream list text": case("getresponse", ValueError, "no stream given", streams=","),
    "streams not iterable": case("postmark", TypeError, "streams must be", streams=5),
    "a stream not a str": case("postmark", TypeError, "not int", streams=["messages", 5]),
    "emailconsul stream": case("emailconsul", ValueError, "unknown stream", streams="messages"),
    # since and until
    "since as text": case("postmark", TypeError, "since must be a date", since="2026-03-01"),
    "since a datetime": case(
        "postmark",
        TypeError,
        "since must be a date, not datetime",
        since=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    ),
    "since too early": case(
        "emailconsul", ValueError, "since must be", since=dt.date(1899, 12, 31)
    ),
    "since too late": case("getresponse", ValueError, "since must be", since=dt.date(9999, 1, 1)),
    "until a datetime": case(
        "postmark", TypeError, "until must be a date", until=dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    ),
    "until as text": case("emailconsul", TypeError, "until must be a date", until="2026-03-01"),
    "until too early": case("getresponse", ValueError, "until must be", until=dt.date(1899, 1, 1)),
    "until too late": case("postmark", ValueError, "until must be", until=dt.date(9999, 12, 31)),
    "since as text, until given": case(
        "postmark", TypeError, "since|not supported", since="2026-03-01", until=DAY
    ),
    "since a datetime, until given": case(
        "postmark",
        TypeError,
        "since|compare",
        since=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        until=DAY,
    ),
    "since after until": case(
        "postmark", ValueError, "is after until", since=DAY, until=DAY - dt.timedelta(days=1)
    ),
    # lookback_days
    "negative lookback": case("postmark", ValueError, "lookback_days must be", lookback_days=-1),
    "lookback too long": case("emailconsul", ValueError, "between 0 and 3650", lookback_days=3651),
    "lookback a float": case("postmark", TypeError, "not float", lookback_days=1.5),
    "lookback as text": case("getresponse", TypeError, "not str", lookback_days="7"),
    "lookback a bool": case("postmark", TypeError, "not bool", lookback_days=True),
    "lookback None": case("postmark", TypeError, "not NoneType", lookback_days=None),
    # full_refresh
    "full_refresh as text": case("postmark", TypeError, "full_refresh", full_refresh="yes"),
    "full_refresh an int": case("getresponse", TypeError, "not int", full_refresh=1),
    "full_refresh None": case("emailconsul", TypeError, "full_refresh", full_refresh=None),
    # account
    "empty account": case("postmark", ValueError, "account must not be empty", account=""),
    "blank account": case("postmark", ValueError, "account must not be empty", account="  "),
    "account None": case("postmark", TypeError, "account must be a str", account=None),
    "account an int": case("getresponse", TypeError, "account must be a str", account=5),
    "account with a line break": case("postmark", ValueError, "control", account="a\nb"),
    "account with NUL": case("emailconsul", ValueError, "control", account="a\x00"),
    "account with DEL": case("postmark", ValueError, "control", account="a\x7f"),
    "account with a C1 control": case("postmark", ValueError, "control", account="a\x9b2J"),
    "account with a line separator": case("postmark", ValueError, "control", account="a\u2028b"),
    "account with a bidi override": case("postmark", ValueError, "control", account="a\u202eb"),
    "account with a lone surrogate": case("getresponse", ValueError, "control", account="\ud800"),
    # options of one provider only
    "groups for postmark": case("postmark", TypeError, "EmailConsul only", groups=["country"]),
    "groups for getresponse": case(
        "getresponse", TypeError, "EmailConsul only", groups=["country"]
    ),
    "message_streams for emailconsul": case(
        "emailconsul", TypeError, "Postmark only", message_streams=["outbound"]
    ),
    "message_streams for getresponse": case(
        "getresponse", TypeError, "Postmark only", message_streams=["outbound"]
    ),
    "no message stream": case("postmark", ValueError, "message_streams", message_streams=[]),
    "empty message stream": case(
        "postmark", ValueError, "message_streams", message_streams=["outbound", ""]
    ),
    "unknown group": case("emailconsul", ValueError, "group", groups=["nonsense"]),
    "no group": case("emailconsul", ValueError, "group", groups=[]),
    # progress
    "progress not callable": case("postmark", TypeError, "progress must be callable", progress=5),
}


def files_of(folder: Path) -> dict[str, bytes]:
    """Return every file of *folder* with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


async def existing_database(folder: Path) -> Path:
    """Return a database holding a row and a state, closed."""
    folder.mkdir()
    db = folder / "stats.db"
    row = ("default", "sent-counts", "", "", "2026-03-01", "sent", 3)
    async with SQLiteStore(db) as store:
        await store.write("default", Write(POSTMARK_STATS, [row], state=("stats", {"n": 1})))
    return db


async def refused(
    providers: Providers,
    tmp_path: Path,
    call: Callable[[SQLiteStore], Any],
    error: type[Exception],
    match: str,
) -> None:
    """Check that *call* raises *error* and leaves the databases and the servers alone."""
    fresh = tmp_path / "fresh" / "stats.db"
    fresh.parent.mkdir()
    old = await existing_database(tmp_path / "old")
    before = files_of(old.parent)
    for db in (fresh, old):
        with pytest.raises(error, match=match):
            await call(SQLiteStore(db))
    assert list(fresh.parent.iterdir()) == []
    assert files_of(old.parent) == before
    assert [fake.request_count for fake in providers.fakes] == [0, 0, 0]
    assert providers.session.statistics().requests == 0


@pytest.mark.parametrize("name", list(CASES))
async def test_a_bad_option_is_refused_first(
    name: str, providers: Providers, tmp_path: Path
) -> None:
    """The option is refused with TypeError or ValueError before anything happens."""
    bad = CASES[name]
    api = providers.apis[bad.provider]
    await refused(
        providers, tmp_path, lambda store: run(api, store, **bad.options), bad.error, bad.match
    )


@pytest.mark.parametrize("api", [None, object(), "postmark", Session])
async def test_an_api_of_no_provider_is_refused_first(
    api: Any, providers: Providers, tmp_path: Path
) -> None:
    """Only the three provider clients can be synced."""
    await refused(providers, tmp_path, lambda store: run(api, store), TypeError, "cannot sync a")


async def test_the_session_instead_of_an_api_is_refused_first(
    providers: Providers, tmp_path: Path
) -> None:
    """An open session is not a provider client either."""
    session = providers.session
    await refused(
        providers, tmp_path, lambda store: run(session, store), TypeError, "cannot sync a Session"
    )


@pytest.mark.parametrize("store", [None, "stats.db", Path("stats.db")])
async def test_a_store_of_no_kind_is_refused_first(
    store: Any, providers: Providers, tmp_path: Path
) -> None:
    """The store must be a Store, not a path."""
    api = providers.apis["postmark"]
    with pytest.raises(TypeError, match="store must be a Store"):
        await run(api, store)
    assert [fake.request_count for fake in providers.fakes] == [0, 0, 0]
    assert list(tmp_path.iterdir()) == []


async def test_good_options_are_accepted(providers: Providers, tmp_path: Path) -> None:
    """The same call with sound options runs (the refusals above are the options' doing)."""
    api = providers.apis["postmark"]
    async with SQLiteStore(tmp_path / "stats.db") as store:
        report = await run(
            api,
            store,
            streams="messages,stats",
            since=DAY,
            until=NOW.date(),
            lookback_days=0,
            full_refresh=True,
            account="Ünïcode account 1",
            message_streams=["outbound"],
            progress=lambda stream, unit: None,
        )
    assert report.streams == ("messages", "stats")
    assert report.account == "Ünïcode account 1"
    assert report.requests > 0
