"""The endpoints ``export`` offers: one subcommand each, with exactly its method's options.

An :class:`Endpoint` names its subcommand, its options (each the command-line form of one
argument of the API method) and how to call the method with them. Messages of the
values the library refuses are put in the words of the command line by
:meth:`Endpoint.explain` (``page_size`` -> ``--page-size``).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Final

import attrs

from ..emailconsul._api import MAX_PAGE_SIZE as EMAILCONSUL_PAGE_SIZE
from ..emailconsul.models import LinkGroup
from ..getresponse.models import Grouping, MessageType, TimeRange
from ..postmark._api import MAX_PAGE_SIZE as POSTMARK_PAGE_SIZE
from ..postmark._wire import STATS
from ..postmark.models import DynamicCounts, StatusFilter
from ._export_values import key_value, parse_aware, parse_day, parse_when
from ._output import Keyed

Call = Callable[[Any, dict[str, Any], argparse.Namespace], Any]


@attrs.frozen
class Opt:
    """One option of a subcommand: the command-line form of one method argument."""

    flag: str
    dest: str
    help: str
    metavar: str | None = None
    type: Callable[[str], Any] | None = None
    repeat: bool = False
    required: bool = False
    choices: tuple[str, ...] | None = None

    def add_to(self, parser: argparse._ActionsContainer) -> None:
        """Add this option to *parser*."""
        extra: dict[str, Any] = {"dest": self.dest, "help": self.help, "metavar": self.metavar}
        if self.type is not None:
            extra["type"] = self.type
        if self.choices is not None:
            extra["choices"] = self.choices
            extra["metavar"] = self.metavar or "{" + ",".join(self.choices) + "}"
        if self.repeat:
            extra["action"] = "append"
        parser.add_argument(self.flag, required=self.required, **extra)


@attrs.frozen
class Endpoint:
    """One ``export PROVIDER …`` subcommand."""

    provider: str
    name: str
    help: str
    call: Call
    options: tuple[Opt, ...] = ()
    #: Page size limit of a paged stream (``--limit``, ``--page-size``, ``--prefetch``);
    #: ``None`` when the method takes no paging arguments.
    page_max: int | None = None
    #: ``--limit`` alone (a stream that is not read page by page).
    limit_only: bool = False
    examples: tuple[str, ...] = ()
    #: Library argument names that are no option of their own -> what to say instead.
    aliases: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def command(self) -> str:
        """Return the command line up to this endpoint."""
        return f"asyncmailstats export {self.provider} {self.name}"

    def epilog(self) -> str:
        """Return the ``examples:`` text of ``--help``."""
        lines = "\n".join(f"  {line}" for line in self.examples)
        return f"examples:\n{lines}\n"

    def explain(self, message: str) -> str:
        """Put a library message about this endpoint's arguments in option names."""
        names = {opt.dest: opt.flag for opt in self.options}
        names.update(_PAGING_NAMES)
        names.update(self.aliases)
        message = _METHOD.sub("", message)
        for name in sorted(names, key=len, reverse=True):
            message = re.sub(rf"(?<![\w.-]){re.escape(name)}(?!\w)", names[name], message)
        return message


_METHOD: Final = re.compile(r"\b[A-Z]\w*\.\w+\(\)(: )?")
_PAGING_NAMES: Final = {
    "page_size": "--page-size",
    "limit": "--limit",
    "prefetch": "--prefetch",
    "concurrency": "--concurrency",
}


def given(args: argparse.Namespace, endpoint: Endpoint) -> dict[str, Any]:
    """Return the options of *endpoint* the command line gave, by destination."""
    found: dict[str, Any] = {}
    for opt in endpoint.options:
        value = getattr(args, opt.dest, None)
        if value is not None and value != []:
            found[opt.dest] = value
    for name in ("limit", "page_size", "prefetch"):
        value = getattr(args, name, None)
        if value is not None:
            found[name] = value
    return found


# -- Postmark -------------------------------------------------------------------------------


def _text(flag: str, dest: str, help_: str, metavar: str = "TEXT") -> Opt:
    return Opt(flag, dest, help_, metavar=metavar)


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
_PM_MESSAGE_FILTERS = (
    _text("--recipient", "recipient", "only messages to this address (To, Cc or Bcc)", "EMAIL"),
    _text("--from-email", "from_email", "only messages from this sender address", "EMAIL"),
    _text("--tag", "tag", "only messages with this tag", "TAG"),
    _text(
        "--status",
        "status",
        f"only messages in this status: {', '.join(s.value for s in StatusFilter)}",
        "STATUS",
    ),
    _text("--subject", "subject", "only messages with this subject"),
    _text("--stream", "message_stream", "only this message stream (default: outbound)", "ID"),
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
    _text("--recipient", "recipient", "only events of this address", "EMAIL"),
    _text("--tag", "tag", "only events of messages with this tag", "TAG"),
    _text("--stream", "message_stream", "only this message stream (default: outbound)", "ID"),
    _text("--client-name", "client_name", "e-mail client name, e.g. Gmail"),
    _text("--client-company", "client_company", "client maker, e.g. Google"),
    _text("--client-family", "client_family", "client family, e.g. Chrome"),
    _text("--os-name", "os_name", "full operating-system name, e.g. 'OS X 10.9 Mavericks'"),
    _text("--os-family", "os_family", "operating-system family, e.g. Windows"),
    _text("--os-company", "os_company", "operating-system maker, e.g. 'Microsoft Corporation'"),
    _text("--platform", "platform", "WebMail, Desktop or Mobile", "PLATFORM"),
    _text("--country", "country", "country name, e.g. Denmark"),
    _text("--region", "region", "region name, e.g. 'New York'"),
    _text("--city", "city", "city name"),
)
_PM_MESSAGE = Opt("--message", "message_id", "the message's MessageID", metavar="ID", required=True)
_PM_STATS_OPTIONS = (
    Opt(
        "--from",
        "from_date",
        "first day, YYYY-MM-DD (US-Eastern days; all time when neither --from nor --to)",
        metavar="DAY",
        type=parse_day,
    ),
    Opt("--to", "to_date", "last day, inclusive, YYYY-MM-DD", metavar="DAY", type=parse_day),
    _text("--tag", "tag", "only messages with this tag", "TAG"),
    _text("--stream", "message_stream", "only this message stream (default: every one)", "ID"),
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


def _postmark() -> list[Endpoint]:
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


# -- EmailConsul ----------------------------------------------------------------------------

_EC_PERIOD = (
    Opt(
        "--from",
        "period_from",
        "start of the period: an ISO-8601 date-time with offset, or a day "
        "(YYYY-MM-DD, midnight UTC)",
        metavar="WHEN",
        type=parse_aware,
        required=True,
    ),
    Opt(
        "--to",
        "period_to",
        "end of the period: an ISO-8601 date-time with offset, or a day (midnight UTC)",
        metavar="WHEN",
        type=parse_aware,
        required=True,
    ),
)
_EC_GROUPS: Final = tuple(g.value for g in LinkGroup)
_EC_CAMPAIGN = _text(
    "--campaign-id", "campaign_id", "only this campaign (letters, digits, - and _)", "ID"
)
_EC_SUBSCRIBER = _text(
    "--subscriber-id", "subscriber_id", "only this subscriber (an ID or an email address)", "ID"
)
_EC_PROFILE = _text("--profile-id", "profile_id", "only this profile", "ID")
_EC_SORT = _text(
    "--sort", "sort", "a field name to sort by, - in front for descending (-count)", "FIELD"
)


def _emailconsul() -> list[Endpoint]:
    ec = "asyncmailstats export emailconsul"
    group = Opt(
        "--group",
        "group",
        "count by this field; the rows carry it",
        metavar="FIELD",
        choices=_EC_GROUPS,
    )
    return [
        Endpoint(
            "emailconsul",
            "link-stats",
            "link-log (click) counts aggregated by one field",
            _method("link_stats"),
            (*_EC_PERIOD, group, _EC_SORT, _EC_CAMPAIGN, _EC_SUBSCRIBER, _EC_PROFILE),
            page_max=EMAILCONSUL_PAGE_SIZE,
            examples=(
                f"{ec} link-stats --from 2026-10-01 --to 2026-11-01 --group country --sort=-count",
                f"{ec} link-stats --from 2026-10-01 --to 2026-11-01 --campaign-id c-1 --format csv",
            ),
        ),
        Endpoint(
            "emailconsul",
            "link-timeseries",
            "link-log (click) counts per date, optionally split by a field",
            _method("link_timeseries"),
            (*_EC_PERIOD, group, _EC_CAMPAIGN, _EC_SUBSCRIBER, _EC_PROFILE),
            examples=(f"{ec} link-timeseries --from 2026-10-01 --to 2026-11-01 --group device",),
        ),
        Endpoint(
            "emailconsul",
            "pixel-timeseries",
            "pixel-log (open) counts per date, optionally split by campaign or subscriber",
            _method("pixel_timeseries"),
            (
                *_EC_PERIOD,
                Opt(
                    "--group",
                    "group",
                    "split each date by this field",
                    metavar="FIELD",
                    choices=("campaign_id", "subscriber_id"),
                ),
                _EC_CAMPAIGN,
                _EC_SUBSCRIBER,
            ),
            examples=(f"{ec} pixel-timeseries --from 2026-10-01 --to 2026-11-01 --format csv",),
        ),
        Endpoint(
            "emailconsul",
            "delivery-timeseries",
            "delivery counters per date",
            _method("delivery_timeseries"),
            (
                *_EC_PERIOD,
                _text("--domain", "domain", "only recipients whose domain contains this text"),
                Opt(
                    "--status",
                    "status",
                    "only emails in this status, e.g. DELIVERED (repeatable: any of them)",
                    metavar="STATUS",
                    repeat=True,
                ),
                _EC_SORT,
            ),
            page_max=EMAILCONSUL_PAGE_SIZE,
            examples=(
                f"{ec} delivery-timeseries --from 2026-10-01 --to 2026-11-01 --sort=-date",
                (
                    f"{ec} delivery-timeseries --from 2026-10-01 --to 2026-11-01 "
                    "--status DELIVERED --status SENDING"
                ),
            ),
        ),
    ]


# -- GetResponse ----------------------------------------------------------------------------

_GR_CREATED = (
    Opt(
        "--created-from",
        "created_from",
        "only what was created on or after this day (YYYY-MM-DD)",
        metavar="DAY",
        type=parse_day,
    ),
    Opt(
        "--created-to",
        "created_to",
        "only what was created on or before this day (YYYY-MM-DD)",
        metavar="DAY",
        type=parse_day,
    ),
)


def _time_range(found: dict[str, Any], first: str, last: str) -> TimeRange | None:
    low, high = found.pop(first, None), found.pop(last, None)
    if low is None and high is None:
        return None
    return TimeRange(from_=low, to=high)


def _text_condition(found: dict[str, Any], name: str) -> None:
    equals, contains = found.pop(name, None), found.pop(f"{name}_contains", None)
    if contains is None:
        if equals is not None:
            found[name] = equals
        return
    found[name] = {"CONTAINS": contains, **({"EQUALS": equals} if equals is not None else {})}


async def _stats_rows(outcomes: Any) -> AsyncIterator[Any]:
    async with outcomes:
        async for outcome in outcomes:
            if outcome.error is not None:
                raise outcome.error
            series = outcome.value
            for period in series.periods:
                yield Keyed({"message_id": series.message_id}, period)


def _message_stats(api: Any, found: dict[str, Any], _: argparse.Namespace) -> Any:
    ids = list(dict.fromkeys(found.pop("message_id")))
    created = _time_range(found, "created_from", "created_to")
    outcomes = api.message_stats_many(
        ids, grouping=found.get("grouping", Grouping.DAILY), created_on=created, ordered=True
    )
    return _stats_rows(outcomes)


def _messages(api: Any, found: dict[str, Any], _: argparse.Namespace) -> Any:
    created = _time_range(found, "created_from", "created_to")
    sent = _time_range(found, "send_from", "send_to")
    _text_condition(found, "subject")
    _text_condition(found, "name")
    if "campaigns" in found:
        found["campaigns"] = list(dict.fromkeys(found["campaigns"]))
    return api.messages(**found, created_on=created, send_on=sent)


def _links(api: Any, found: dict[str, Any], _: argparse.Namespace) -> Any:
    _text_condition(found, "url")
    return api.links(**found)


def _getresponse() -> list[Endpoint]:
    gr = "asyncmailstats export getresponse"
    return [
        Endpoint(
            "getresponse",
            "message-stats",
            "the stats of messages, period by period (rows carry message_id)",
            _message_stats,
            (
                Opt(
                    "--message",
                    "message_id",
                    "a message ID (repeatable; the rows of each message in turn)",
                    metavar="ID",
                    repeat=True,
                    required=True,
                ),
                Opt(
                    "--grouping",
                    "grouping",
                    "the length of a period (default: daily)",
                    choices=tuple(g.value for g in Grouping),
                ),
                *_GR_CREATED,
            ),
            aliases={
                "each of message_ids": "each --message",
                "message_ids": "--message",
                "created_on": "--created-from/--created-to",
            },
            examples=(
                f"{gr} message-stats --message ID --grouping daily",
                f"{gr} message-stats --message ID1 --message ID2 --format csv",
            ),
        ),
        Endpoint(
            "getresponse",
            "messages",
            "the messages matching every given condition",
            _messages,
            (
                Opt(
                    "--campaign",
                    "campaigns",
                    "only messages of this campaign (repeatable: any of them)",
                    metavar="ID",
                    repeat=True,
                ),
                Opt(
                    "--type",
                    "type",
                    "only this type (default: newsletters and autoresponders)",
                    choices=tuple(t.value for t in MessageType),
                ),
                _text("--subject", "subject", "only messages with exactly this subject"),
                _text(
                    "--subject-contains",
                    "subject_contains",
                    "only messages whose subject matches this pattern (% and _ wildcards)",
                    "PATTERN",
                ),
                _text("--name", "name", "only messages with exactly this name"),
                _text(
                    "--name-contains",
                    "name_contains",
                    "only messages whose name matches this pattern (% and _ wildcards)",
                    "PATTERN",
                ),
                *_GR_CREATED,
                Opt(
                    "--send-from",
                    "send_from",
                    "only newsletters sent on or after this day (YYYY-MM-DD)",
                    metavar="DAY",
                    type=parse_day,
                ),
                Opt(
                    "--send-to",
                    "send_to",
                    "only newsletters sent on or before this day (YYYY-MM-DD)",
                    metavar="DAY",
                    type=parse_day,
                ),
            ),
            aliases={
                "created_on": "--created-from/--created-to",
                "send_on": "--send-from/--send-to",
            },
            examples=(
                f"{gr} messages --format csv --out messages.csv",
                f"{gr} messages --campaign ID --type newsletter --created-from 2026-10-01",
            ),
        ),
        Endpoint(
            "getresponse",
            "links",
            "the click-tracked links of messages",
            _links,
            (
                Opt(
                    "--message",
                    "messages",
                    "only links of this message (repeatable: any of them)",
                    metavar="ID",
                    repeat=True,
                ),
                _text("--url", "url", "only links to exactly this URL", "URL"),
                _text(
                    "--url-contains",
                    "url_contains",
                    "only links whose URL matches this pattern (% and _ wildcards)",
                    "PATTERN",
                ),
            ),
            examples=(
                f"{gr} links --message ID --format csv",
                f"{gr} links --url-contains %example.com%",
            ),
        ),
    ]


#: Every endpoint, by provider, in the order ``--help`` lists them.
ENDPOINTS: Final = {
    "postmark": _postmark(),
    "emailconsul": _emailconsul(),
    "getresponse": _getresponse(),
}
