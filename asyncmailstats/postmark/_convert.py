"""Postmark's wire names and the converters that read them.

This is the only module that spells Postmark's PascalCase keys. Every model gets a
cattrs-generated structure hook (keeping undeclared keys in ``extra``, or refusing them
when strict), and optional fields use a hook that checks for ``None`` once instead of
cattrs' generic union dispatch. Structuring pages of messages, opens and clicks is the
hot path of a stream, so the production converter puts a faster function in front of
each of those hooks (see :func:`~asyncmailstats._fastpath.make_fast_structure_fn`):
it reads the common case in straight-line code, shares one instance per distinct
``ClientInfo``, ``OSInfo`` and ``Geo``, and leaves everything else -- and every error --
to the cattrs hook behind it. The strict converter uses the cattrs hooks alone.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import cattrs

from .._convert import make_converter as make_base_converter
from .._convert import open_enum_hook, parse_date
from .._extra import record_hook
from .._fastpath import make_fast_structure_fn, tuple_hook
from .models import (
    BounceCounts,
    BounceDay,
    Click,
    ClickCounts,
    ClickDay,
    ClickLocation,
    ClickLocationCounts,
    ClickLocationDay,
    ClickPlatformCounts,
    ClickPlatformDay,
    ClientInfo,
    DynamicCounts,
    DynamicDay,
    EventType,
    Geo,
    MessageEvent,
    MessageStatus,
    MessageStream,
    MessageStreamType,
    Open,
    OpenCounts,
    OpenDay,
    OpenPlatformCounts,
    OpenPlatformDay,
    OSInfo,
    OutboundMessage,
    OutboundMessageDetails,
    OutboundOverview,
    Platform,
    Recipient,
    SentCounts,
    SentDay,
    SpamComplaintCounts,
    SpamComplaintDay,
    TrackedCounts,
    TrackedDay,
    TrackLinks,
)

T = TypeVar("T")
_Hook = Callable[[Any, Any], Any]

#: The key of the day list in every day series, and of the date in each day.
DAYS: Final = "Days"
DATE: Final = "Date"

# Envelope keys of list replies, read by ``_wire``.
TOTAL_COUNT: Final = "TotalCount"
MESSAGES: Final = "Messages"
OPENS: Final = "Opens"
CLICKS: Final = "Clicks"
BODY: Final = "Body"
MESSAGE_STREAMS: Final = "MessageStreams"
ERROR_CODE: Final = "ErrorCode"
ERROR_MESSAGE: Final = "Message"

_MESSAGE: Final = {
    "message_id": "MessageID",
    "received_at": "ReceivedAt",
    "status": "Status",
    "from_": "From",
    "subject": "Subject",
    "to": "To",
    "cc": "Cc",
    "bcc": "Bcc",
    "recipients": "Recipients",
    "attachments": "Attachments",
    "tag": "Tag",
    "message_stream": "MessageStream",
    "track_opens": "TrackOpens",
    "track_links": "TrackLinks",
    "metadata": "Metadata",
    "sandboxed": "Sandboxed",
}

_AGENT: Final = {
    "message_id": "MessageID",
    "received_at": "ReceivedAt",
    "recipient": "Recipient",
    "record_type": "RecordType",
    "message_stream": "MessageStream",
    "tag": "Tag",
    "platform": "Platform",
    "user_agent": "UserAgent",
    "client": "Client",
    "os": "OS",
    "geo": "Geo",
}

_NAME_COMPANY_FAMILY: Final = {"name": "Name", "company": "Company", "family": "Family"}

# Leaves first: a class's hook is generated with the hooks of its fields at that moment.
_RENAMES: Final[tuple[tuple[type, Mapping[str, str]], ...]] = (
    (Recipient, {"email": "Email", "name": "Name"}),
    (ClientInfo, _NAME_COMPANY_FAMILY),
    (OSInfo, _NAME_COMPANY_FAMILY),
    (
        Geo,
        {
            "country_iso_code": "CountryISOCode",
            "country": "Country",
            "region_iso_code": "RegionISOCode",
            "region": "Region",
            "city": "City",
            "zip": "Zip",
            "coords": "Coords",
            "ip": "IP",
        },
    ),
    (
        MessageEvent,
        {
            "recipient": "Recipient",
            "type": "Type",
            "received_at": "ReceivedAt",
            "details": "Details",
        },
    ),
    (
        MessageStream,
        {
            "id": "ID",
            "server_id": "ServerID",
            "name": "Name",
            "message_stream_type": "MessageStreamType",
            "description": "Description",
            "created_at": "CreatedAt",
            "updated_at": "UpdatedAt",
            "archived_at": "ArchivedAt",
            "expected_purge_date": "ExpectedPurgeDate",
        },
    ),
    (OutboundMessage, _MESSAGE),
    (
        OutboundMessageDetails,
        {
            **_MESSAGE,
            "text_body": "TextBody",
            "html_body": "HtmlBody",
            "body": "Body",
            "message_events": "MessageEvents",
        },
    ),
    (Open, {**_AGENT, "first_open": "FirstOpen", "read_seconds": "ReadSeconds"}),
    (Click, {**_AGENT, "original_link": "OriginalLink", "click_location": "ClickLocation"}),
    (
        OutboundOverview,
        {
            "sent": "Sent",
            "bounced": "Bounced",
            "smtp_api_errors": "SMTPApiErrors",
            "bounce_rate": "BounceRate",
            "spam_complaints": "SpamComplaints",
            "spam_complaints_rate": "SpamComplaintsRate",
            "opens": "Opens",
            "unique_opens": "UniqueOpens",
            "tracked": "Tracked",
            "with_link_tracking": "WithLinkTracking",
            "with_open_tracking": "WithOpenTracking",
            "total_tracked_links_sent": "TotalTrackedLinksSent",
            "unique_links_clicked": "UniqueLinksClicked",
            "total_clicks": "TotalClicks",
            "with_client_recorded": "WithClientRecorded",
            "with_platform_recorded": "WithPlatformRecorded",
            "with_read_time_recorded": "WithReadTimeRecorded",
        },
    ),
)

# Day series: (day class, series class, counter renames shared by days and totals).
_SERIES: Final[tuple[tuple[type, type, Mapping[str, str]], ...]] = (
    (SentDay, SentCounts, {"sent": "Sent"}),
    (
        BounceDay,
        BounceCounts,
        {
            "hard_bounce": "HardBounce",
            "soft_bounce": "SoftBounce",
            "smtp_api_error": "SMTPApiError",
            "transient": "Transient",
        },
    ),
    (SpamComplaintDay, SpamComplaintCounts, {"spam_complaint": "SpamComplaint"}),
    (TrackedDay, TrackedCounts, {"tracked": "Tracked"}),
    (OpenDay, OpenCounts, {"opens": "Opens", "unique": "Unique"}),
    (
        OpenPlatformDay,
        OpenPlatformCounts,
        {"desktop": "Desktop", "web_mail": "WebMail", "mobile": "Mobile", "unknown": "Unknown"},
    ),
    (ClickDay, ClickCounts, {"clicks": "Clicks", "unique": "Unique"}),
    (
        ClickPlatformDay,
        ClickPlatformCounts,
        {"desktop": "Desktop", "mobile": "Mobile", "unknown": "Unknown"},
    ),
    (ClickLocationDay, ClickLocationCounts, {"html": "HTML", "text": "Text"}),
)


#: Enums that keep unknown values. Each gets a hook of its own: a hook registered for a
#: class takes precedence over the ``str`` hook, which would otherwise claim them (they
#: are ``str`` subclasses) and return plain strings.
_OPEN_ENUMS: Final = (
    MessageStatus,
    TrackLinks,
    Platform,
    ClickLocation,
    EventType,
    MessageStreamType,
)

#: Small records that repeat across opens and clicks: the production converter hands out
#: one shared (frozen) instance per distinct set of values instead of building it anew.
_INTERNED: Final = (ClientInfo, OSInfo, Geo)

#: How many distinct instances of each interned class are kept before the cache empties.
INTERN_LIMIT: Final = 4096


def _is_optional(t: Any) -> bool:
    if typing.get_origin(t) not in (typing.Union, types.UnionType):
        return False
    args = typing.get_args(t)
    return len(args) == 2 and type(None) in args


def _optional_hook_factory(converter: cattrs.Converter) -> Callable[[Any], _Hook]:
    def factory(t: Any) -> _Hook:
        inner_type = next(a for a in typing.get_args(t) if a is not type(None))
        inner = converter.get_structure_hook(inner_type)
        if inner_type in (str, int, bool):
            # The common case needs no call at all: the value already has the right type.
            def structure_plain(value: Any, _: Any) -> Any:
                if value is None or type(value) is inner_type:
                    return value
                return inner(value, inner_type)

            return structure_plain

        def structure_optional(value: Any, _: Any) -> Any:
            return None if value is None else inner(value, inner_type)

        return structure_optional

    return factory


def _tuple_hook(converter: cattrs.Converter, item_type: type) -> _Hook:
    """Return a hook reading a JSON list (or ``null``) as a tuple of *item_type*."""
    return tuple_hook(item_type, converter.get_structure_hook(item_type))


def _structure_attachments(value: Any, _: Any) -> tuple[str, ...]:
    # The search documents file names; older API descriptions show objects with a Name.
    if value is None:
        return ()
    if not isinstance(value, list):
        msg = f"expected a list of attachments, got {type(value).__name__}"
        raise TypeError(msg)
    names: list[str] = []
    for entry in value:
        if isinstance(entry, str):
            names.append(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("Name"), str):
            names.append(entry["Name"])
        else:
            msg = f"an attachment must be a name or an object with a Name, got {entry!r}"
            raise TypeError(msg)
    return tuple(names)


def _detail_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _structure_details(value: Any, _: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        msg = f"expected an object of event details, got {type(value).__name__}"
        raise TypeError(msg)
    return {str(k): _detail_text(v) for k, v in value.items() if v is not None}


def _structure_str_map(value: Any, _: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        msg = f"expected an object, got {type(value).__name__}"
        raise TypeError(msg)
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str):
            msg = f"expected string keys and values, got {k!r}: {v!r}"
            raise TypeError(msg)
    return dict(value)


def _dynamic_hooks(converter: cattrs.Converter) -> tuple[_Hook, _Hook]:
    # Every key but the date (or the day list) is data, read as a count: these models have
    # no unknown keys to keep, and a value that is not a count is an error, strict or not.
    to_int = converter.get_structure_hook(int)

    def counts(data: Mapping[str, Any], skip: str) -> dict[str, int]:
        return {k: to_int(v, int) for k, v in data.items() if k != skip}

    def structure_day(value: Any, _: Any) -> DynamicDay:
        if not isinstance(value, dict):
            msg = f"expected a day object, got {type(value).__name__}"
            raise TypeError(msg)
        return DynamicDay(date=parse_date(value[DATE]), counts=counts(value, DATE))

    def structure_counts(value: Any, _: Any) -> DynamicCounts:
        if not isinstance(value, dict):
            msg = f"expected an object, got {type(value).__name__}"
            raise TypeError(msg)
        days = value.get(DAYS) or []
        if not isinstance(days, list):
            msg = f"expected a list of days, got {type(days).__name__}"
            raise TypeError(msg)
        return DynamicCounts(
            days=tuple([structure_day(d, DynamicDay) for d in days]),
            totals=counts(value, DAYS),
        )

    return structure_day, structure_counts


def _register(
    converter: cattrs.Converter,
    cls: type,
    renames: Mapping[str, str],
    hooks: Mapping[str, _Hook] | None = None,
    *,
    fast: bool = False,
) -> None:
    hooks = hooks or {}
    hook: _Hook = record_hook(converter, cls, renames, hooks)
    name = cls.__name__

    # The generated code reads keys with ``in``, which a string or a list would pass
    # without error: "Geo": "Denmark" must not become an empty Geo.
    def structure_record(value: Any, t: Any) -> Any:
        if type(value) is not dict:
            msg = f"expected an object for {name}, got {type(value).__name__}"
            raise TypeError(msg)
        return hook(value, t)

    structure: _Hook = structure_record
    if fast:
        # The generic hook stays behind the fast one: it builds whatever the fast path
        # declines and raises every error, so both give the same results.
        structure = make_fast_structure_fn(
            converter,
            cls,
            structure_record,
            renames=renames,
            hooks=hooks,
            intern_limit=INTERN_LIMIT if cls in _INTERNED else 0,
        )
    converter.register_structure_hook(cls, structure)


def configure_converter(converter: cattrs.Converter, *, fast: bool) -> cattrs.Converter:
    """Register Postmark's hooks on *converter* (fresh from the shared ``make_converter``).

    Args:
        converter: The converter to configure; returned.
        fast: Read the records that come by the page through generated functions.
    """
    converter.register_structure_hook_factory(_is_optional, _optional_hook_factory(converter))
    converter.register_structure_hook_func(lambda t: t == Mapping[str, str], _structure_str_map)
    for enum_cls in _OPEN_ENUMS:
        converter.register_structure_hook(enum_cls, open_enum_hook(enum_cls))
    for cls, renames in _RENAMES:
        field_hooks: dict[str, _Hook] = {}
        if cls in (OutboundMessage, OutboundMessageDetails):
            recipients = _tuple_hook(converter, Recipient)
            field_hooks = {
                "to": recipients,
                "cc": recipients,
                "bcc": recipients,
                "recipients": _tuple_hook(converter, str),
                "attachments": _structure_attachments,
            }
            if cls is OutboundMessageDetails:
                field_hooks["message_events"] = _tuple_hook(converter, MessageEvent)
        elif cls is MessageEvent:
            field_hooks = {"details": _structure_details}
        _register(converter, cls, renames, field_hooks, fast=fast)
    for day_cls, series_cls, counters in _SERIES:
        _register(converter, day_cls, {"date": DATE, **counters}, fast=fast)
        days_hook = _tuple_hook(converter, day_cls)
        _register(converter, series_cls, {"days": DAYS, **counters}, {"days": days_hook}, fast=fast)
    structure_day, structure_counts = _dynamic_hooks(converter)
    converter.register_structure_hook(DynamicDay, structure_day)
    converter.register_structure_hook(DynamicCounts, structure_counts)
    return converter


def make_converter(*, strict: bool = False) -> cattrs.Converter:
    """Return a Postmark converter.

    Args:
        strict: Refuse keys a model does not declare (for tests against recorded data);
            otherwise they are kept in each model's ``extra``, and the records that come
            by the page are read through generated functions.
    """
    return configure_converter(make_base_converter(strict=strict), fast=not strict)


#: The converter the decoders use unless told otherwise.
CONVERTER: Final = make_converter()
