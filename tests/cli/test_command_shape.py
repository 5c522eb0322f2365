"""The shape of the command and of its data, run as a process against the fake servers.

One subcommand per endpoint with only its own options; every usage error one line with a
pointer to ``--help`` and exit status 2, before any request; rows with the same field
names in JSON and CSV; long-form day series; ``--utc``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import pytest

from asyncmailstats import Session
from asyncmailstats.cli import build_parser
from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark

#: The ``cli`` fixture (tests/cli/conftest.py): runs ``python -m asyncmailstats``.
RunCli = Callable[..., Awaitable[tuple[int, str, str]]]
NOW = dt.datetime(2024, 6, 1, 16, 0, tzinfo=dt.UTC)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)?$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@attrs.define
class Fakes:
    """The three fake servers of a test and the environment that carries their secrets."""

    postmark: FakePostmark
    emailconsul: FakeEmailConsul
    getresponse: FakeGetResponse

    @property
    def env(self) -> dict[str, str]:
        return {
            "POSTMARK_SERVER_TOKEN": self.postmark.token,
            "EMAILCONSUL_API_KEY": self.emailconsul.api_key,
            "GETRESPONSE_API_KEY": self.getresponse.api_key,
        }

    def url(self, provider: str) -> str:
        return str(getattr(self, provider).url)

    def requests(self) -> int:
        return sum(f.request_count for f in (self.postmark, self.emailconsul, self.getresponse))


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    async with (
        FakePostmark(messages=300, seed=31, now=NOW) as pm,
        FakeEmailConsul(link_logs=300, seed=32, now=NOW) as ec,
        FakeGetResponse(messages=6, seed=33) as gr,
    ):
        yield Fakes(pm, ec, gr)


async def export(cli: RunCli, fakes: Fakes, provider: str, *argv: str) -> str:
    """Run ``export PROVIDER *argv`` against the fake; return stdout (exit 0, quiet stderr)."""
    code, out, err = await cli(
        "export", provider, *argv, "--base-url", fakes.url(provider), "--no-progress",
        env=fakes.env,
    )  # fmt: skip
    assert (code, err) == (0, ""), err
    return out


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def csv_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def flat_keys(row: dict[str, Any], prefix: str = "") -> list[str]:
    """JSON keys as CSV names them: nested objects as ``parent.child``, mappings whole."""
    keys: list[str] = []
    for key, value in row.items():
        if isinstance(value, dict) and key not in {"metadata", "extra"}:
            keys += flat_keys(value, f"{prefix}{key}.")
        else:
            keys.append(prefix + key)
    return keys


# -- 1. one subcommand per endpoint ---------------------------------------------------------

COMMON = {
    "--help", "--token", "--token-file", "--base-url", "--format", "--csv-raw", "--out",
    "--utc", "--concurrency", "--no-progress",
}  # fmt: skip
PAGING = {"--limit", "--page-size", "--prefetch"}
EVENT_FILTERS = {
    "--recipient", "--tag", "--stream", "--client-name", "--client-company",
    "--client-family", "--os-name", "--os-family", "--os-company", "--platform",
    "--country", "--region", "--city",
}  # fmt: skip
MESSAGE_FILTERS = {
    "--recipient", "--from-email", "--tag", "--status", "--subject", "--stream", "--metadata",
}  # fmt: skip

OWN_OPTIONS = {
    "postmark messages": MESSAGE_FILTERS | {"--from", "--to"} | PAGING,
    "postmark opens": EVENT_FILTERS | PAGING,
    "postmark clicks": EVENT_FILTERS | PAGING,
    "postmark message-opens": {"--message"} | PAGING,
    "postmark open-history": MESSAGE_FILTERS | {"--from", "--to", "--limit"},
    "postmark stats email-clients": {"--from", "--to", "--tag", "--stream"},
    "postmark stats overview": {"--from", "--to", "--tag", "--stream"},
    "emailconsul link-stats": {
        "--from",
        "--to",
        "--group",
        "--sort",
        "--campaign-id",
        "--subscriber-id",
        "--profile-id",
        "--auth-header",
    }
    | PAGING,
    "emailconsul pixel-timeseries": {
        "--from",
        "--to",
        "--group",
        "--campaign-id",
        "--subscriber-id",
        "--auth-header",
    },
    "emailconsul delivery-timeseries": {
        "--from",
        "--to",
        "--domain",
        "--status",
        "--sort",
        "--auth-header",
    }
    | PAGING,
    "getresponse message-stats": {"--message", "--grouping", "--created-from", "--created-to"},
    "getresponse links": {"--message", "--url", "--url-contains"},
}


@pytest.mark.parametrize("command", list(OWN_OPTIONS))
async def test_each_endpoint_help_lists_only_its_own_options(cli: RunCli, command: str):
    """``export PROVIDER ENDPOINT --help``: its own options, the common ones, an example."""
    code, out, err = await cli("export", *command.split(), "--help")
    assert (code, err) == (0, "")
    listed = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", out.split("examples:")[0]))
    assert listed == OWN_OPTIONS[command] | COMMON
    examples = out.split("\nexamples:\n", 1)[1].splitlines()
    assert examples
    assert all(line.startswith(f"  asyncmailstats export {command} ") for line in examples)


def _parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _parsers(sub, (*path, name))
    return found


def test_every_option_has_help_and_every_export_and_sync_command_an_example():
    """No option without help text; every export and sync (sub)command shows examples."""
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                assert action.help, f"{' '.join(path)} {action.option_strings or action.dest}"
        if path[:1] in {("export",), ("sync",)}:
            assert parser.epilog is not None
            assert parser.epilog.startswith("examples:\n"), path
            assert "\n  asyncmailstats " in parser.epilog, path


def test_every_help_text_renders_as_written():
    """Help texts go through %-formatting: a literal % must not turn into garbage."""
    for path, parser in _parsers(build_parser()):
        text = parser.format_help()
        assert " at 0x" not in text, path  # a repr leaking through a stray %
    getresponse = dict(_parsers(build_parser()))[("export", "getresponse", "messages")]
    assert "pattern (% and _ wildcards)" in " ".join(getresponse.format_help().split())


def test_stats_has_one_subcommand_per_series():
    """``export postmark stats`` offers the 13 series, each a subcommand."""
    parsers = {" ".join(path) for path, _ in _parsers(build_parser())}
    series = {p.removeprefix("export postmark stats ") for p in parsers}
    expected = {
        "overview", "sent-counts", "bounce-counts", "spam-complaints", "tracked-counts",
        "open-counts", "open-platforms", "email-clients", "read-times", "click-counts",
        "browser-families", "click-platforms", "click-locations",
    }  # fmt: skip
    assert expected <= series


# -- 2. usage errors ------------------------------------------------------------------------

USAGE_ERRORS = [
    (
        "export postmark messages --from 2026-13-01",
        "export postmark messages",
        "--from 2026-13-01 is not a date (YYYY-MM-DD)",
    ),
    (
        "export postmark messages --from 2026-10-01T10:00",
        "export postmark messages",
        "--from 2026-10-01T10:00 has no UTC offset: add Z or +HH:MM (or give a date)",
    ),
    (
        "export postmark",
        "export postmark",
        (
            "missing endpoint; choose one of: messages, opens, clicks, message-opens, "
            "message-clicks, open-history, click-history, stats"
        ),
    ),
    ("export postmark stats", "export postmark stats", "missing series; choose one of: "),
    ("export postmark bounces", "export postmark", "unknown endpoint 'bounces'; choose one of: "),
    ("export", "export", "missing provider; choose one of: postmark, emailconsul, getresponse"),
    (
        "export postmark opens --subject Hello",
        "export postmark opens",
        "unrecognized arguments: --subject Hello",
    ),
    (
        "export postmark stats email-clients --limit 3",
        "export postmark stats email-clients",
        "unrecognized arguments: --limit 3",
    ),
    (
        "export postmark messages --from 2024-05-02 --to 2024-05-01",
        "export postmark messages",
        "--from 2024-05-02 is after --to 2024-05-01",
    ),
    (
        "export postmark stats open-counts --from 2024-05-02 --to 2024-05-01",
        "export postmark stats open-counts",
        "--from 2024-05-02 is after --to 2024-05-01",
    ),
    (
        "export emailconsul link-stats --from 2024-05-02 --to 2024-05-01",
        "export emailconsul link-stats",
        "--from 2024-05-02T00:00:00+00:00 is after --to 2024-05-01T00:00:00+00:00",
    ),
    (
        "export emailconsul link-stats --from 2024-05-01",
        "export emailconsul link-stats",
        "missing --to",
    ),
    (
        "export postmark opens --concurrency 0",
        "export postmark opens",
        "--concurrency 0 is below the least value, 1",
    ),
    (
        "export postmark opens --page-size 501",
        "export postmark opens",
        "--page-size 501 is above the greatest value, 500",
    ),
    (
        "export postmark opens --limit many",
        "export postmark opens",
        "--limit many is not a whole number",
    ),
    (
        "export postmark opens --format xml",
        "export postmark opens",
        "--format 'xml' is not one of: jsonl, json, csv",
    ),
    ("export postmark opens --tag=", "export postmark opens", "--tag must not be empty"),
    (
        "export postmark messages --status bouncing",
        "export postmark messages",
        "--status must be one of ",
    ),
    (
        "export emailconsul link-stats --from 2024-05-01 --to 2024-05-02 --campaign-id a.b",
        "export emailconsul link-stats",
        "--campaign-id must be letters, digits, '-' or '_', got 'a.b'",
    ),
    (
        "export getresponse message-stats --message=",
        "export getresponse message-stats",
        "each --message must not be empty",
    ),
    ("sync", "sync", "missing provider; choose one of: postmark, emailconsul, getresponse"),
    ("sync postmark", "sync postmark", "missing --db"),
    (
        "sync postmark --db {tmp}/s.db --since 2026-02-30",
        "sync postmark",
        "--since: not a valid date: '2026-02-30'",
    ),
    ("sync emailconsul --db {tmp}/s.db --group planet", "sync emailconsul", "--group: unknown "),
    ("sync getresponse --db {tmp}/s.db --lookback", "sync getresponse", "--lookback-days needs"),
]

#: What a usage error must never say: Python's names for things.
INTERNAL = re.compile(r"from_date|to_date|period_from|message_id|_\w+\(\)|Methods|required: \w")


#: The subcommands that take options (no subcommand of their own).
LEAVES = {
    " ".join(path)
    for path, parser in _parsers(build_parser())
    if not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
}


@pytest.mark.parametrize("case", USAGE_ERRORS, ids=[c[0] for c in USAGE_ERRORS])
async def test_usage_errors_are_one_line_exit_2_and_send_nothing(
    cli: RunCli, fakes: Fakes, tmp_path, case: tuple[str, str, str]
):
    """One line naming the subcommand, the problem in option names, and its --help."""
    argv, prog, message = case
    words = argv.format(tmp=tmp_path).split()
    provider = next((w for w in words if w in {"postmark", "emailconsul", "getresponse"}), None)
    extra = ["--base-url", fakes.url(provider)] if provider and prog in LEAVES else []
    code, out, err = await cli(*words, *extra, env=fakes.env)
    full = f"asyncmailstats {prog}"
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"{full}: error: {message}")
    assert err.endswith(f" (see '{full} --help')\n")
    assert not INTERNAL.search(err), err
    assert fakes.requests() == 0
    assert list(tmp_path.iterdir()) == []


async def test_missing_credential_is_a_usage_error(cli: RunCli, fakes: Fakes):
    """No --token, --token-file or variable: one line, exit 2, no request."""
    env = {**fakes.env, "POSTMARK_SERVER_TOKEN": ""}
    code, out, err = await cli(
        "export", "postmark", "opens", "--base-url", fakes.url("postmark"), env=env
    )
    prog = "asyncmailstats export postmark opens"
    assert (code, out) == (2, "")
    assert err == (
        f"{prog}: error: no credential: set POSTMARK_SERVER_TOKEN, or pass --token-file or "
        f"--token (see '{prog} --help')\n"
    )
    assert fakes.requests() == 0


async def test_provider_errors_stay_exit_1(cli: RunCli, fakes: Fakes):
    """A message GetResponse does not know is the provider's answer: exit 1, one line."""
    code, out, err = await cli(
        "export", "getresponse", "message-stats", "--message", "nosuch",
        "--base-url", fakes.url("getresponse"), "--no-progress", env=fakes.env,
    )  # fmt: skip
    assert (code, out) == (1, "")
    assert err == "asyncmailstats: not found: Missing message\n"


# -- 4. the data's shape --------------------------------------------------------------------


async def test_message_stats_rows_carry_their_message_id(cli: RunCli, fakes: Fakes):
    """Several --message: each message's periods in turn, message_id the first field."""
    ids = list(fakes.getresponse.messages)[:3]
    argv = ["message-stats", *(f"--message={i}" for i in ids)]
    rows = jsonl(await export(cli, fakes, "getresponse", *argv))
    header, cells = csv_rows(await export(cli, fakes, "getresponse", *argv, "--format", "csv"))
    single = jsonl(await export(cli, fakes, "getresponse", "message-stats", "--message", ids[1]))
    async with Session() as session:
        api = session.getresponse(
            api_key=fakes.getresponse.api_key, base_url=fakes.url("getresponse")
        )
        truth = [(i, p) for i in ids for p in (await api.message_stats(i)).periods]
    assert len(rows) == len(truth) > len(ids)
    assert [(r["message_id"], r["period"], r["sent"]) for r in rows] == [
        (i, p.period, p.sent) for i, p in truth
    ]
    assert all(next(iter(r)) == "message_id" for r in rows)
    assert header[0] == "message_id"
    assert [c["message_id"] for c in cells] == [r["message_id"] for r in rows]
    assert single == [r for r in rows if r["message_id"] == ids[1]]
    assert single


@pytest.mark.parametrize("series", ["email-clients", "read-times", "browser-families"])
async def test_dynamic_series_are_written_in_long_form(cli: RunCli, fakes: Fakes, series: str):
    """One row per day and key, with fields date, key, count, in JSONL, JSON and CSV."""
    argv = ("stats", series, "--from", "2024-04-01", "--to", "2024-06-01")
    lines = jsonl(await export(cli, fakes, "postmark", *argv))
    document = json.loads(await export(cli, fakes, "postmark", *argv, "--format", "json"))
    header, cells = csv_rows(await export(cli, fakes, "postmark", *argv, "--format", "csv"))
    async with Session() as session:
        api = session.postmark(server_token=fakes.postmark.token, base_url=fakes.url("postmark"))
        method = getattr(api, series.replace("-", "_"))
        counts = await method(from_date=dt.date(2024, 4, 1), to_date=dt.date(2024, 6, 1))
    truth = [
        {"date": d.date.isoformat(), "key": k, "count": n}
        for d in counts.days
        for k, n in d.counts.items()
    ]
    assert truth
    assert lines == document == truth
    assert header == ["date", "key", "count"]
    assert cells == [{k: str(v) for k, v in row.items()} for row in truth]


async def test_fixed_key_series_stay_one_row_per_day(cli: RunCli, fakes: Fakes):
    """open-counts: one row per day with its fixed fields."""
    rows = jsonl(await export(cli, fakes, "postmark", "stats", "open-counts"))
    assert rows
    assert len({r["date"] for r in rows}) == len(rows)
    assert all(set(r) >= {"date", "opens", "unique"} for r in rows)
    assert all("key" not in r for r in rows)


def _timestamps(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in _timestamps(v)]
    if isinstance(value, list):
        return [t for v in value for t in _timestamps(v)]
    if isinstance(value, str) and TIMESTAMP.match(value):
        return [value]
    return []


def _instant(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("provider", "argv"),
    [
        ("postmark", ("opens",)),
        ("postmark", ("messages", "--from", "2024-05-01", "--to", "2024-06-01")),
        ("getresponse", ("messages",)),
        ("getresponse", ("message-stats", "--message", "{gr}")),
    ],
)
async def test_utc_writes_every_timestamp_in_utc_as_the_same_instant(
    cli: RunCli, fakes: Fakes, provider: str, argv: tuple[str, ...]
):
    """--utc: each date-time ends in +00:00 and is the instant written without --utc."""
    argv = tuple(a.format(gr=next(iter(fakes.getresponse.messages))) for a in argv)
    plain = jsonl(await export(cli, fakes, provider, *argv))
    utc = jsonl(await export(cli, fakes, provider, *argv, "--utc"))
    before = [t for row in plain for t in _timestamps(row)]
    after = [t for row in utc for t in _timestamps(row)]
    assert len(before) == len(after) > 0
    assert all(t.endswith("+00:00") for t in after)
    assert [_instant(t) for t in after] == [_instant(t) for t in before]
    if provider == "postmark":
        assert not all(t.endswith("+00:00") for t in before)  # Eastern offsets
    # Everything else is unchanged.
    strip = re.compile(TIMESTAMP.pattern[1:-1])
    assert strip.sub("T", json.dumps(plain)) == strip.sub("T", json.dumps(utc))


async def test_utc_keeps_dates_as_dates(cli: RunCli, fakes: Fakes):
    """Day series keep their dates (YYYY-MM-DD) under --utc."""
    rows = jsonl(await export(cli, fakes, "postmark", "stats", "sent-counts", "--utc"))
    assert rows
    assert all(DAY.match(r["date"]) for r in rows)


@pytest.mark.parametrize(
    ("provider", "argv"),
    [
        ("postmark", ("messages", "--from", "2024-05-01", "--to", "2024-06-01")),
        ("postmark", ("opens",)),
        ("postmark", ("clicks",)),
        ("postmark", ("stats", "overview")),
        ("emailconsul", ("link-stats", "--from", "2024-01-01", "--to", "2024-06-02")),
        ("emailconsul", ("delivery-timeseries", "--from", "2024-05-01", "--to", "2024-06-02")),
        ("getresponse", ("messages",)),
        ("getresponse", ("links",)),
    ],
)
async def test_csv_header_equals_the_json_field_names(
    cli: RunCli, fakes: Fakes, provider: str, argv: tuple[str, ...]
):
    """The CSV header is the JSON keys, nested objects as parent.child; never ``from_``."""
    text = await export(cli, fakes, provider, *argv)
    rows = jsonl(text)
    header, cells = csv_rows(await export(cli, fakes, provider, *argv, "--format", "csv"))
    assert rows
    assert len(cells) == len(rows)
    whole = [r for r in rows if all(v is not None for v in r.values())] or rows
    assert header == flat_keys(whole[0])
    assert "from_" not in text
    assert all("from_" not in name for name in header)
    if argv[0] == "messages" and provider == "postmark":
        assert "from" in rows[0]
        assert [c["from"] for c in cells] == [r["from"] for r in rows]


async def test_csv_booleans_are_true_and_false_and_none_is_empty(cli: RunCli, fakes: Fakes):
    """Booleans (first_open, track_opens) are true/false in CSV; None is an empty cell."""
    argv = ("messages", "--from", "2024-05-01", "--to", "2024-06-01")
    for what in (("opens",), argv):
        rows = jsonl(await export(cli, fakes, "postmark", *what))
        _, cells = csv_rows(await export(cli, fakes, "postmark", *what, "--format", "csv"))
        assert len(rows) == len(cells) > 0
        name = "first_open" if what == ("opens",) else "track_opens"
        expected = [{True: "true", False: "false", None: ""}[r[name]] for r in rows]
        assert [c[name] for c in cells] == expected
        assert "true" in expected
        for row, cell in zip(rows, cells, strict=True):
            for key, value in row.items():
                if value is None:
                    assert cell[key] == "", key
                elif isinstance(value, bool):
                    assert cell[key] == str(value).lower(), key
    assert "false" in expected  # track_opens of the messages


@pytest.mark.parametrize(
    "line",
    [
        "export postmark opens --format jsonl --out opens.jsonl --tag welcome",
        "export postmark messages --from 2026-10-01 --to 2026-10-31 --format csv",
        (
            "export emailconsul link-stats --from 2026-10-01 --to 2026-11-01 --group country "
            "--sort=-count"
        ),
        "export getresponse message-stats --message ID --grouping daily",
    ],
)
def test_the_readme_commands_parse_as_written(line: str):
    """The commands the README shows are accepted exactly as written."""
    args = build_parser().parse_args(line.split())
    assert args.endpoint.command == "asyncmailstats " + " ".join(line.split()[:3])
