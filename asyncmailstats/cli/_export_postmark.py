"""The endpoints of ``export postmark``: messages, opens, clicks, histories and stats."""

from __future__ import annotations

import argparse
from typing import Any, Final

from ..postmark._api import MAX_PAGE_SIZE as POSTMARK_PAGE_SIZE
from ..postmark._wire import STATS
from ..postmark.models import DynamicCounts, StatusFilter
from ._export_types import Call, Endpoint, Opt, day_opt, text_opt
from ._export_values import key_value, parse_when

_PM_FROM = Opt(
    "--from",
    "from_date",
    "start of the range of send dates: a day (YYYY-MM-DD, US-Eastern) or an ISO-8601 "
    "date-time with offset (default: the days the server keeps, 45 by default)",
    metavar="DATE",
    type=parse_when,
)
_PM_TO = Opt(
    "--to",
    "to_date",
    "end of the range, inclusive: a day or an ISO-8601 date-time with offset (default: "
    "the second before the command started)",
    metavar="DATE",
    type=parse_when,
)
_PM_STREAM = text_opt(
    "--stream", "message_stream", "only this message stream (default: outbound)", "ID"
)
_PM_MESSAGE_FILTERS = (
    text_opt("--recipient", "recipient", "only messages to this address (To, Cc or Bcc)", "EMAIL"),
    text_opt("--from-email", "from_email", "only messages from this sender address", "EMAIL"),
    text_opt("--tag", "tag", "only messages with this tag", "TAG"),
    text_opt(
        "--status",
        "status",
        f"only messages in this status: {', '.join(s.value for s in StatusFilter)}",
        "STATUS",
    ),
    text_opt("--subject", "subject", "only messages with this subject"),
    _PM_STREAM,
    Opt(
        "--metadata",
        "metadata",
        "only messages whose metadata has this key and value (one pair: Postmark "
        "filters on one metadata field)",
        metavar="KEY=VALUE",
        type=key_value,
    ),
)
_PM_EVENT_FILTERS = (
    text_opt("--recipient", "recipient", "only events of this address", "EMAIL"),
    text_opt("--tag", "tag", "only events of messages with this tag", "TAG"),
    _PM_STREAM,
    text_opt("--client-name", "client_name", "e-mail client name, e.g. Gmail"),
    text_opt("--client-company", "client_company", "client maker, e.g. Google"),
    text_opt("--client-family", "client_family", "client family, e.g. Chrome"),
    text_opt("--os-name", "os_name", "full operating-system name, e.g. 'OS X 10.9 Mavericks'"),
    text_opt("--os-family", "os_family", "operating-system family, e.g. Windows"),
    text_opt("--os-company", "os_company", "operating-system maker, e.g. 'Microsoft Corporation'"),
    text_opt("--platform", "platform", "WebMail, Desktop or Mobile", "PLATFORM"),
    text_opt("--country", "country", "country name, e.g. Denmark"),
    text_opt("--region", "region", "region name, e.g. 'New York'"),
    text_opt("--city", "city", "city name"),
)
_PM_MESSAGE = Opt("--message", "message_id", "the message's MessageID", metavar="ID", required=True)
_PM_STATS_OPTIONS = (
    day_opt(
        "--from",
        "from_date",
        "first day, YYYY-MM-DD (US-Eastern days; all time when neither --from nor --to)",
    ),
    day_opt("--to", "to_date", "last day, inclusive, YYYY-MM-DD"),
    text_opt("--tag", "tag", "only messages with this tag", "TAG"),
    text_opt("--stream", "message_stream", "only this message stream (default: every one)", "ID"),
)

#: The series of ``export postmark stats``, as subcommand -> API method (from the
#: client's own table of stats endpoints).
POSTMARK_STATS: Final = {
    ("overview" if method == "outbound_overview" else method.replace("_", "-")): method
    for method in STATS
}
#: The series whose day keys are data; written one row per day and key.
DYNAMIC_STATS: Final = frozenset(
    name for name, method in POSTMARK_STATS.items() if STATS[method][1] is DynamicCounts
)
_STATS_HELP: Final = {
    "overview": "totals of sends, bounces, complaints, opens and clicks (one row)",
    "sent-counts": "messages sent per day",
    "bounce-counts": "bounces per day by kind",
    "spam-complaints": "spam complaints per day",
    "tracked-counts": "messages sent with tracking per day",
    "open-counts": "opens and unique opens per day",
    "open-platforms": "opens per day by platform",
    "email-clients": "opens per day by e-mail client (rows: date, key, count)",
    "read-times": "opens per day by read time (rows: date, key, count)",
    "click-counts": "clicks and unique clicks per day",
    "browser-families": "clicks per day by browser family (rows: date, key, count)",
    "click-platforms": "clicks per day by platform",
    "click-locations": "clicks per day by part of the message (HTML or text)",
}


def _metadata(found: dict[str, Any]) -> dict[str, Any]:
    if "metadata" in found:
        key, value = found["metadata"]
        found["metadata"] = {key: value}
    return found


def _method(name: str) -> Call:
    return lambda api, found, _: getattr(api, name)(**_metadata(found))


def _history(name: str) -> Call:
    def call(api: Any, found: dict[str, Any], args: argparse.Namespace) -> Any:
        return getattr(api, name)(**_metadata(found), concurrency=args.concurrency)

    return call


def postmark_endpoints() -> list[Endpoint]:
    """Return the endpoints of ``export postmark``, in the order ``--help`` lists them."""
    pm = "asyncmailstats export postmark"
    events = {"opens": "opens", "clicks": "clicks"}
    found = [
        Endpoint(
            "postmark",
            "messages",
            "sent messages, newest first, past the 10 000-result ceiling",
            _method("outbound_messages"),
            (*_PM_MESSAGE_FILTERS, _PM_FROM, _PM_TO),
            page_max=POSTMARK_PAGE_SIZE,
            examples=(
                f"{pm} messages --from 2026-10-01 --to 2026-10-31 --format csv",
                f"{pm} messages --tag welcome --status sent --out messages.jsonl",
            ),
        )
    ]
    for name, method in events.items():
        found.append(
            Endpoint(
                "postmark",
                name,
                f"recorded {name}, newest first (the first 10 000; see {name[:-1]}-history)",
                _method(method),
                _PM_EVENT_FILTERS,
                page_max=POSTMARK_PAGE_SIZE,
                examples=(
                    f"{pm} {name} --format jsonl --out {name}.jsonl --tag welcome",
                    f"{pm} {name} --platform Mobile --country Denmark --format csv",
                ),
            )
        )
    for name in ("opens", "clicks"):
        found.append(  # noqa: PERF401 - one endpoint per kind, like the loops around
            Endpoint(
                "postmark",
                f"message-{name}",
                f"the recorded {name} of one message",
                _method(f"message_{name}"),
                (_PM_MESSAGE,),
                page_max=POSTMARK_PAGE_SIZE,
                aliases={"message_id": "--message"},
                examples=(f"{pm} message-{name} --message ID --format csv",),
            )
        )
    for name in ("open", "click"):
        found.append(  # noqa: PERF401 - one endpoint per kind
            Endpoint(
                "postmark",
                f"{name}-history",
                f"every {name} of the messages sent in a range (no result ceiling; "
                "--concurrency messages at a time)",
                _history(f"{name}_history"),
                (_PM_FROM, _PM_TO, *_PM_MESSAGE_FILTERS),
                limit_only=True,
                examples=(f"{pm} {name}-history --from 2026-10-01 --tag welcome --format csv",),
            )
        )
    for series, method in POSTMARK_STATS.items():
        found.append(
            Endpoint(
                "postmark",
                f"stats {series}",
                _STATS_HELP[series],
                _method(method),
                _PM_STATS_OPTIONS,
                examples=(
                    f"{pm} stats {series} --from 2026-10-01 --to 2026-10-31",
                    f"{pm} stats {series} --tag welcome --format csv --out {series}.csv",
                ),
            )
        )
    return found
