"""The endpoints of ``export getresponse``: message stats, messages and links."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from typing import Any, Final

from ..getresponse.models import Grouping, MessageType, TimeRange
from ._export_types import Endpoint, Opt, day_opt, text_opt
from ._output import Keyed

_GR: Final = "asyncmailstats export getresponse"
_GR_CREATED = (
    day_opt(
        "--created-from", "created_from", "only what was created on or after this day (YYYY-MM-DD)"
    ),
    day_opt(
        "--created-to", "created_to", "only what was created on or before this day (YYYY-MM-DD)"
    ),
)
_CREATED_ALIAS: Final = {"created_on": "--created-from/--created-to"}


def _condition(name: str, exactly: str, whose: str, metavar: str = "TEXT") -> tuple[Opt, Opt]:
    """Return ``--NAME`` (equal to) and ``--NAME-contains`` (a pattern) of one text field.

    :func:`_text_condition` turns the two into the method's condition.
    """
    return (
        text_opt(f"--{name}", name, exactly, metavar),
        text_opt(
            f"--{name}-contains",
            f"{name}_contains",
            f"{whose} matches this pattern (%% and _ wildcards)",
            "PATTERN",
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


def _message_stats_endpoint() -> Endpoint:
    return Endpoint(
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
            **_CREATED_ALIAS,
        },
        examples=(
            f"{_GR} message-stats --message ID --grouping daily",
            f"{_GR} message-stats --message ID1 --message ID2 --format csv",
        ),
    )


def _messages_endpoint() -> Endpoint:
    return Endpoint(
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
            *_condition(
                "subject", "only messages with exactly this subject", "only messages whose subject"
            ),
            *_condition("name", "only messages with exactly this name", "only messages whose name"),
            *_GR_CREATED,
            day_opt(
                "--send-from",
                "send_from",
                "only newsletters sent on or after this day (YYYY-MM-DD)",
            ),
            day_opt(
                "--send-to", "send_to", "only newsletters sent on or before this day (YYYY-MM-DD)"
            ),
        ),
        aliases={**_CREATED_ALIAS, "send_on": "--send-from/--send-to"},
        examples=(
            f"{_GR} messages --format csv --out messages.csv",
            f"{_GR} messages --campaign ID --type newsletter --created-from 2026-10-01",
        ),
    )


def _links_endpoint() -> Endpoint:
    return Endpoint(
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
            *_condition("url", "only links to exactly this URL", "only links whose URL", "URL"),
        ),
        examples=(
            f"{_GR} links --message ID --format csv",
            f"{_GR} links --url-contains %example.com%",
        ),
    )


def getresponse_endpoints() -> list[Endpoint]:
    """Return the endpoints of ``export getresponse``, in the order ``--help`` lists them."""
    return [_message_stats_endpoint(), _messages_endpoint(), _links_endpoint()]
