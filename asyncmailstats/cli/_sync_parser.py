"""The command line of ``asyncmailstats sync``: its providers, options and help texts."""

from __future__ import annotations

import argparse
from typing import Any, Final

from ..emailconsul.models import LinkGroup
from ..sync import DEFAULT_LOOKBACK_DAYS
from ..sync._emailconsul import DEFAULT_GROUPS
from ..sync._runner import MAX_LOOKBACK_DAYS
from ._credentials import add_auth_header_option, add_credential_options
from ._sync_options import CALENDAR, STREAMS

#: What each provider's stream names mean, for the help text.
_STREAMS_HELP: Final = {
    "postmark": "messages, opens, clicks (of every message stream) and stats (day series)",
    "emailconsul": "link-stats (link clicks per UTC day, for each --group)",
    "getresponse": "messages and message-stats (daily stats of each message)",
}

_EPILOGS: Final = {
    "postmark": """\
examples:
  export POSTMARK_SERVER_TOKEN=your-server-token
  asyncmailstats sync postmark --db stats.db --since 2026-11-01
  asyncmailstats sync postmark --db stats.db --streams opens,clicks \\
      --message-stream outbound --retention-days 90
  PGPASSWORD=… asyncmailstats sync postmark --account acme \\
      --db postgresql://sync@db.example.com/stats

The first run reads from --since (default: the --retention-days the server keeps);
later runs read what is new, and re-read the trailing --lookback-days.
Tables: postmark_messages, postmark_opens, postmark_clicks, postmark_stats.
""",
    "emailconsul": """\
examples:
  export EMAILCONSUL_API_KEY=your-api-key
  asyncmailstats sync emailconsul --db stats.db --since 2026-11-01
  asyncmailstats sync emailconsul --db stats.db --group campaign_id --group device

The first run reads from --since (default: 45 days ago); later runs read what is
new, and re-read the trailing --lookback-days. Table: emailconsul_link_stats.
""",
    "getresponse": """\
examples:
  export GETRESPONSE_API_KEY=your-api-key
  asyncmailstats sync getresponse --db stats.db
  asyncmailstats sync getresponse --db stats.db --streams messages --since 2026-01-01

The first run reads every message created since --since (default: all of them);
later runs read the messages created in the trailing --lookback-days and newer.
Tables: getresponse_messages, getresponse_message_stats.
""",
}


def _common_options(parser: argparse.ArgumentParser, provider: str) -> None:
    """Add the options every provider has, in the order ``--help`` lists them."""
    calendar = CALENDAR[provider]
    streams = ",".join(STREAMS[provider])
    parser.add_argument(
        "--db",
        required=True,
        metavar="PATH|URL",
        help="the SQLite database file (created with its tables if missing; its folder "
        "must exist), or a postgresql:// URL (the postgres extra; tables in the public "
        "schema, created if missing; keep the password in $PGPASSWORD or ~/.pgpass "
        "rather than in the URL, which other local users can see)",
    )
    add_credential_options(parser, provider)
    parser.add_argument(
        "--account",
        default="default",
        metavar="NAME",
        help="the label every row and the sync state carry, so that one database can "
        "hold several accounts (default: default; never a secret)",
    )
    parser.add_argument(
        "--streams",
        metavar="LIST",
        help=f"comma-separated streams to sync (default: all of {streams}): "
        f"{_STREAMS_HELP[provider]}",
    )
    parser.add_argument(
        "--since",
        metavar="YYYY-MM-DD",
        help="the first day a first run reads; later runs go on from their state "
        f"({calendar} days)",
    )
    parser.add_argument(
        "--until",
        metavar="YYYY-MM-DD",
        help=f"the last day to read (default: today, in {calendar} days); a later run "
        "reads on from there",
    )
    parser.add_argument(
        "--lookback-days",
        metavar="N",
        default=str(DEFAULT_LOOKBACK_DAYS),
        help="trailing days re-read on every run, because their data still changes "
        f"(0 to {MAX_LOOKBACK_DAYS}; default: {DEFAULT_LOOKBACK_DAYS})",
    )
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="delete the account's rows and state of these streams first, and read "
        "everything again",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="hide the progress lines (the summary is still printed)",
    )


def add_sync_parser(sub: Any) -> None:
    """Add the ``sync`` command and its providers to the top-level subparsers."""
    sync = sub.add_parser(
        "sync",
        help="keep an incremental copy of an account in a SQLite or PostgreSQL database",
        description="Copy an account's engagement data into a SQLite or PostgreSQL "
        "database. The first run fills the tables; later runs fetch only what is new or "
        "may have changed. "
        "Every unit of work is committed with its checkpoint, so a run stopped at any "
        "moment leaves whole units and the next one completes the rest.",
        epilog="examples:\n"
        "  asyncmailstats sync postmark --db stats.db --since 2026-11-01\n"
        "  asyncmailstats sync emailconsul --db stats.db --group country\n"
        "  asyncmailstats sync getresponse --db postgresql://sync@db.example.com/stats\n"
        "\nsee 'asyncmailstats sync PROVIDER --help' for the options of each provider\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    providers = sync.add_subparsers(dest="provider", required=True, metavar="PROVIDER")
    helps = {
        "postmark": "Postmark messages, opens, clicks and stats",
        "emailconsul": "EmailConsul link stats",
        "getresponse": "GetResponse 1.5 messages and message stats",
    }
    for provider, text in helps.items():
        parser = providers.add_parser(
            provider,
            help=text,
            description=f"Sync {text} into a SQLite or PostgreSQL database.",
            epilog=_EPILOGS[provider],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _common_options(parser, provider)
        _provider_options(parser, provider)


def _provider_options(parser: argparse.ArgumentParser, provider: str) -> None:
    """Add the options only *provider* has, after the common ones."""
    if provider == "postmark":
        parser.add_argument(
            "--message-stream",
            dest="message_streams",
            action="append",
            metavar="NAME",
            help="a message stream to sync (repeatable; default: every outbound and "
            "broadcast stream the server lists)",
        )
        parser.add_argument(
            "--retention-days",
            metavar="N",
            help="how many days the server keeps messages, opens and clicks "
            "(default: 45, Postmark's default); older days are reported as gaps",
        )
    elif provider == "emailconsul":
        parser.add_argument(
            "--group",
            dest="groups",
            action="append",
            metavar="NAME",
            help="a link-stats grouping to sync (repeatable; default: "
            f"{' and '.join(g.value for g in DEFAULT_GROUPS)}; one of "
            f"{', '.join(g.value for g in LinkGroup)})",
        )
        add_auth_header_option(parser)
