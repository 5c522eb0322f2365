"""Postmark's outbound messages, opens, clicks and stats as immutable objects.

Every field is the snake_case of its wire name (``MessageID`` → ``message_id``, ``From``
→ ``from_``). Fields the live API has been seen to leave out are optional; stats counters
default to 0 because Postmark omits days without data and zero keys within a day. Keys a
model does not declare are kept, read-only, in its last field, ``extra`` (wire name →
JSON value); it is empty, and shared, for nearly every record, and left out of equality.
The stats models are written in :mod:`._stats_models` and are re-exported from here.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

import attrs

from .._convert import OpenStrEnum
from .._extra import extra_field
from ._stats_models import (
    BounceCounts,
    BounceDay,
    ClickCounts,
    ClickDay,
    ClickLocationCounts,
    ClickLocationDay,
    ClickPlatformCounts,
    ClickPlatformDay,
    DynamicCounts,
    DynamicDay,
    OpenCounts,
    OpenDay,
    OpenPlatformCounts,
    OpenPlatformDay,
    OutboundOverview,
    SentCounts,
    SentDay,
    SpamComplaintCounts,
    SpamComplaintDay,
    TrackedCounts,
    TrackedDay,
)

__all__ = [
    "BounceCounts",
    "BounceDay",
    "Click",
    "ClickCounts",
    "ClickDay",
    "ClickLocation",
    "ClickLocationCounts",
    "ClickLocationDay",
    "ClickPlatformCounts",
    "ClickPlatformDay",
    "ClientInfo",
    "DynamicCounts",
    "DynamicDay",
    "EventType",
    "Geo",
    "MessageEvent",
    "MessageStatus",
    "MessageStream",
    "MessageStreamType",
    "OSInfo",
    "Open",
    "OpenCounts",
    "OpenDay",
    "OpenPlatformCounts",
    "OpenPlatformDay",
    "OutboundMessage",
    "OutboundMessageDetails",
    "OutboundOverview",
    "Platform",
    "PostmarkErrorCode",
    "Recipient",
    "SentCounts",
    "SentDay",
    "SpamComplaintCounts",
    "SpamComplaintDay",
    "StatusFilter",
    "TrackLinks",
    "TrackedCounts",
    "TrackedDay",
]


# --------------------------------------------------------------------------- enums


class MessageStatus(OpenStrEnum):
    """The delivery status of an outbound message (unknown values are kept)."""

    SENT = "Sent"
    PROCESSED = "Processed"
    QUEUED = "Queued"


class StatusFilter(enum.StrEnum):
    """The values the ``status`` filter of :meth:`PostmarkAPI.outbound_messages` accepts."""

    QUEUED = "queued"
    SENT = "sent"
    PROCESSED = "processed"


class Platform(OpenStrEnum):
    """The kind of device an open or click came from (unknown values are kept)."""

    WEBMAIL = "WebMail"
    DESKTOP = "Desktop"
    MOBILE = "Mobile"
    UNKNOWN = "Unknown"


class TrackLinks(OpenStrEnum):
    """Which parts of a message had link tracking (unknown values are kept)."""

    NONE = "None"
    HTML_AND_TEXT = "HtmlAndText"
    HTML_ONLY = "HtmlOnly"
    TEXT_ONLY = "TextOnly"


class ClickLocation(OpenStrEnum):
    """Which part of a message a clicked link was in (unknown values are kept)."""

    HTML = "HTML"
    TEXT = "Text"


class EventType(OpenStrEnum):
    """The kind of a message event in the details of a message (unknown values are kept)."""

    DELIVERED = "Delivered"
    TRANSIENT = "Transient"
    OPENED = "Opened"
    BOUNCED = "Bounced"
    SUBSCRIPTION_CHANGED = "SubscriptionChanged"
    LINK_CLICKED = "LinkClicked"


class MessageStreamType(OpenStrEnum):
    """The kind of a message stream (unknown values are kept)."""

    TRANSACTIONAL = "Transactional"
    BROADCASTS = "Broadcasts"
    INBOUND = "Inbound"


class PostmarkErrorCode(enum.IntEnum):
    """Postmark's ``ErrorCode`` values that concern the endpoints of this library."""

    SUCCESS = 0
    INVALID_API_TOKEN = 10
    MAINTENANCE = 100
    MESSAGES_QUERY_EXCEPTION = 700
    MESSAGE_NOT_FOUND = 701
    STATS_NOT_ENTITLED = 614
    STATS_QUERY_EXCEPTION = 900
    MESSAGE_STREAM_NOT_FOUND = 1226
    STATS_FROM_DATE_TOO_OLD = 1500
    STATS_FROM_DATE_AFTER_TO_DATE = 1502


# --------------------------------------------------------------------------- messages


@attrs.frozen(kw_only=True, weakref_slot=False)
class Recipient:
    """One addressee of a message (To, Cc or Bcc)."""

    email: str
    """The e-mail address."""
    name: str | None = None
    """The display name; ``""`` or ``None`` when the message gave none."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class OutboundMessage:
    """One sent message as the outbound message search returns it."""

    message_id: str
    """Postmark's identifier of the message (a UUID)."""
    received_at: dt.datetime
    """When Postmark accepted the message (aware, Eastern offset)."""
    status: MessageStatus
    """Delivery status: ``Sent``, ``Processed`` or ``Queued``."""
    from_: str = ""
    """The sender, e.g. ``"Name <a@example.com>"``."""
    subject: str = ""
    """The subject line."""
    to: tuple[Recipient, ...] = ()
    """The To addressees."""
    cc: tuple[Recipient, ...] = ()
    """The Cc addressees."""
    bcc: tuple[Recipient, ...] = ()
    """The Bcc addressees."""
    recipients: tuple[str, ...] = ()
    """Every recipient address (To, Cc and Bcc)."""
    attachments: tuple[str, ...] = ()
    """File names of the attachments (an attachment given as an object gives its ``Name``)."""
    tag: str | None = None
    """The message's tag, if it has one."""
    message_stream: str | None = None
    """The message stream it was sent through (absent from older replies)."""
    track_opens: bool | None = None
    """Whether open tracking was on; ``None`` when the reply did not say."""
    track_links: TrackLinks | None = None
    """Which parts had link tracking; ``None`` when the reply did not say."""
    metadata: Mapping[str, str] | None = None
    """Custom metadata attached when sending, if any was returned."""
    sandboxed: bool | None = None
    """Whether the message was sent from a sandbox server (absent from older replies)."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class MessageStream:
    """One message stream of a server, as ``GET /message-streams`` lists it."""

    id: str
    """The stream's ID, as messages name it in ``MessageStream`` (``outbound``, …)."""
    server_id: int
    """The server the stream belongs to."""
    name: str
    """The stream's display name."""
    message_stream_type: MessageStreamType
    """``Transactional``, ``Broadcasts`` or ``Inbound``."""
    description: str | None = None
    """The stream's description, if it has one."""
    created_at: dt.datetime | None = None
    """When the stream was created."""
    updated_at: dt.datetime | None = None
    """When the stream was last changed, if ever."""
    archived_at: dt.datetime | None = None
    """When the stream was archived; ``None`` for an active stream."""
    expected_purge_date: dt.datetime | None = None
    """When an archived stream's data will be deleted."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class MessageEvent:
    """One thing that happened to a message: delivered, bounced, opened or clicked."""

    recipient: str
    """The address the event concerns."""
    type: EventType
    """What happened."""
    received_at: dt.datetime
    """When it happened."""
    details: Mapping[str, str] = attrs.field(factory=dict)
    """Type-specific details (``Summary``, ``BounceID``, ``Link``, …), every value a string.

    Keys are kept as Postmark sends them because they differ per event type; numbers and
    booleans are given as strings (``BounceID`` is sometimes a number on the wire).
    """
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class OutboundMessageDetails(OutboundMessage):
    """One sent message with its bodies and its events."""

    text_body: str | None = None
    """The plain-text body, if the message had one."""
    html_body: str | None = None
    """The HTML body, if the message had one."""
    body: str | None = None
    """The raw SMTP source, when Postmark still has it."""
    message_events: tuple[MessageEvent, ...] = ()
    """Delivery, bounce, open, click and subscription events, oldest first."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


# --------------------------------------------------------------------------- opens, clicks


@attrs.frozen(kw_only=True, weakref_slot=False)
class ClientInfo:
    """The e-mail client or browser an open or click came from."""

    name: str | None = None
    """Full name with version, e.g. ``"Chrome 120.0"``."""
    company: str | None = None
    """The maker, e.g. ``"Google"``."""
    family: str | None = None
    """The family, e.g. ``"Chrome"``."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class OSInfo:
    """The operating system an open or click came from."""

    name: str | None = None
    """Full name with version, e.g. ``"OS X 10.9 Mavericks"``."""
    company: str | None = None
    """The maker, e.g. ``"Microsoft Corporation"``."""
    family: str | None = None
    """The family, e.g. ``"Windows"``."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class Geo:
    """Where an open or click came from; every field may be missing (``Geo: {}``)."""

    country_iso_code: str | None = None
    """ISO 3166 country code, e.g. ``"US"``."""
    country: str | None = None
    """Country name."""
    region_iso_code: str | None = None
    """Region code, e.g. ``"CA"``."""
    region: str | None = None
    """Region name."""
    city: str | None = None
    """City name."""
    zip: str | None = None
    """Postal code."""
    coords: str | None = None
    """``"latitude,longitude"``."""
    ip: str | None = None
    """The IP address the request came from."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class Open:
    """One recorded open of a message by one recipient."""

    message_id: str
    """The message that was opened."""
    received_at: dt.datetime
    """When the open was recorded."""
    recipient: str
    """Who opened it."""
    record_type: str | None = None
    """``"Open"`` (absent from older replies)."""
    message_stream: str | None = None
    """The message's stream (absent from older replies)."""
    tag: str | None = None
    """The message's tag, if any."""
    first_open: bool | None = None
    """Whether this was the recipient's first open, when the reply says."""
    read_seconds: int | None = None
    """How long the message was read, in seconds, when known."""
    platform: Platform | None = None
    """Device kind."""
    user_agent: str | None = None
    """The raw User-Agent header."""
    client: ClientInfo | None = None
    """The e-mail client."""
    os: OSInfo | None = None
    """The operating system."""
    geo: Geo | None = None
    """Location details."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class Click:
    """One recorded click on a tracked link by one recipient."""

    message_id: str
    """The message the link was in."""
    received_at: dt.datetime
    """When the click was recorded."""
    recipient: str
    """Who clicked."""
    original_link: str
    """The link's target as it was in the message."""
    click_location: ClickLocation | None = None
    """Whether the link was in the HTML or the text part."""
    record_type: str | None = None
    """``"Click"`` (absent from older replies)."""
    message_stream: str | None = None
    """The message's stream."""
    tag: str | None = None
    """The message's tag, if any."""
    platform: Platform | None = None
    """Device kind."""
    user_agent: str | None = None
    """The raw User-Agent header."""
    client: ClientInfo | None = None
    """The browser."""
    os: OSInfo | None = None
    """The operating system."""
    geo: Geo | None = None
    """Location details."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""
