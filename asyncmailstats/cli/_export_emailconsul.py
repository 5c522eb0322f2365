"""The endpoints of ``export emailconsul``: link, pixel and delivery statistics."""

from __future__ import annotations

from typing import Final

from ..emailconsul._api import MAX_PAGE_SIZE as EMAILCONSUL_PAGE_SIZE
from ..emailconsul.models import LinkGroup
from ._export_types import Endpoint, Opt, method_call, text_opt
from ._export_values import parse_aware

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
_EC_CAMPAIGN = text_opt(
    "--campaign-id", "campaign_id", "only this campaign (letters, digits, - and _)", "ID"
)
_EC_SUBSCRIBER = text_opt(
    "--subscriber-id", "subscriber_id", "only this subscriber (an ID or an email address)", "ID"
)
_EC_PROFILE = text_opt("--profile-id", "profile_id", "only this profile", "ID")
_EC_SORT = text_opt(
    "--sort", "sort", "a field name to sort by, - in front for descending (-count)", "FIELD"
)


def emailconsul_endpoints() -> list[Endpoint]:
    """Return the endpoints of ``export emailconsul``, in the order ``--help`` lists them."""
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
            method_call("link_stats"),
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
            method_call("link_timeseries"),
            (*_EC_PERIOD, group, _EC_CAMPAIGN, _EC_SUBSCRIBER, _EC_PROFILE),
            examples=(f"{ec} link-timeseries --from 2026-10-01 --to 2026-11-01 --group device",),
        ),
        Endpoint(
            "emailconsul",
            "pixel-timeseries",
            "pixel-log (open) counts per date, optionally split by campaign or subscriber",
            method_call("pixel_timeseries"),
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
            method_call("delivery_timeseries"),
            (
                *_EC_PERIOD,
                text_opt("--domain", "domain", "only recipients whose domain contains this text"),
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
