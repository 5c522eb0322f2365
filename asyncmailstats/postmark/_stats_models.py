"""Postmark's outbound statistics as immutable objects; :mod:`.models` re-exports them.

Every counter defaults to 0 because Postmark omits days without data and zero keys within
a day. A day series comes as a ``…Counts`` holding its ``days`` and the totals over the
range: the counters a ``…Day`` and its ``…Counts`` both carry are written once, in a
private base, and placed after ``date``/``days`` and before ``extra``
(:func:`~asyncmailstats._model.inherited_before_extra`), as if each class declared them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from .._extra import extra_field
from .._model import inherited_before_extra

__all__ = [
    "BounceCounts",
    "BounceDay",
    "ClickCounts",
    "ClickDay",
    "ClickLocationCounts",
    "ClickLocationDay",
    "ClickPlatformCounts",
    "ClickPlatformDay",
    "DynamicCounts",
    "DynamicDay",
    "OpenCounts",
    "OpenDay",
    "OpenPlatformCounts",
    "OpenPlatformDay",
    "OutboundOverview",
    "SentCounts",
    "SentDay",
    "SpamComplaintCounts",
    "SpamComplaintDay",
    "TrackedCounts",
    "TrackedDay",
]


@attrs.frozen(kw_only=True, weakref_slot=False)
class OutboundOverview:
    """Totals of ``GET /stats/outbound``; every counter defaults to 0."""

    sent: int = 0
    """Messages sent (counted per recipient)."""
    bounced: int = 0
    """Bounces."""
    smtp_api_errors: int = 0
    """Messages refused at the SMTP API."""
    bounce_rate: float = 0.0
    """Bounces per sent message, as a percentage."""
    spam_complaints: int = 0
    """Spam complaints."""
    spam_complaints_rate: float = 0.0
    """Spam complaints per sent message, as a percentage."""
    opens: int = 0
    """Opens in all."""
    unique_opens: int = 0
    """Messages opened at least once."""
    tracked: int = 0
    """Messages sent with any tracking."""
    with_link_tracking: int = 0
    """Messages sent with link tracking."""
    with_open_tracking: int = 0
    """Messages sent with open tracking."""
    total_tracked_links_sent: int = 0
    """Tracked links in all sent messages."""
    unique_links_clicked: int = 0
    """Distinct links clicked."""
    total_clicks: int = 0
    """Clicks in all."""
    with_client_recorded: int = 0
    """Opens whose e-mail client was recognised."""
    with_platform_recorded: int = 0
    """Opens whose platform was recognised."""
    with_read_time_recorded: int = 0
    """Opens whose read time was recorded."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class _Sent:
    """What :class:`SentDay` and :class:`SentCounts` both count."""

    sent: int = 0
    """Messages sent: the day's, or the total over the range."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class SentDay(_Sent):
    """Messages sent on one day."""

    date: dt.date
    """The day (Eastern time)."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class SentCounts(_Sent):
    """Messages sent per day (``GET /stats/outbound/sends``)."""

    days: tuple[SentDay, ...] = ()
    """Days with data, oldest first; days without any are left out."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class _Bounces:
    """What :class:`BounceDay` and :class:`BounceCounts` both count."""

    hard_bounce: int = 0
    """Hard bounces: the day's, or the total over the range."""
    soft_bounce: int = 0
    """Soft bounces: the day's, or the total over the range."""
    smtp_api_error: int = 0
    """SMTP API errors: the day's, or the total over the range."""
    transient: int = 0
    """Transient failures: the day's, or the total over the range."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class BounceDay(_Bounces):
    """Bounces of one day by kind."""

    date: dt.date
    """The day (Eastern time)."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class BounceCounts(_Bounces):
    """Bounces per day by kind (``GET /stats/outbound/bounces``)."""

    days: tuple[BounceDay, ...] = ()
    """Days with data, oldest first."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class _SpamComplaints:
    """What :class:`SpamComplaintDay` and :class:`SpamComplaintCounts` both count."""

    spam_complaint: int = 0
    """Complaints: the day's, or the total over the range."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class SpamComplaintDay(_SpamComplaints):
    """Spam complaints of one day."""

    date: dt.date
    """The day (Eastern time)."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class SpamComplaintCounts(_SpamComplaints):
    """Spam complaints per day (``GET /stats/outbound/spam``)."""

    days: tuple[SpamComplaintDay, ...] = ()
    """Days with data, oldest first."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class _Tracked:
    """What :class:`TrackedDay` and :class:`TrackedCounts` both count."""

    tracked: int = 0
    """Messages sent with tracking: the day's, or the total over the range."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class TrackedDay(_Tracked):
    """Tracked messages sent on one day."""

    date: dt.date
    """The day (Eastern time)."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class TrackedCounts(_Tracked):
    """Tracked messages sent per day (``GET /stats/outbound/tracked``)."""

    days: tuple[TrackedDay, ...] = ()
    """Days with data, oldest first."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class _Opens:
    """What :class:`OpenDay` and :class:`OpenCounts` both count."""

    opens: int = 0
    """Opens in all: the day's, or the total over the range."""
    unique: int = 0
    """Messages opened at least once: the day's, or the total over the range."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class OpenDay(_Opens):
    """Opens of one day."""

    date: dt.date
    """The day (Eastern time)."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class OpenCounts(_Opens):
    """Opens per day (``GET /stats/outbound/opens``)."""

    days: tuple[OpenDay, ...] = ()
    """Days with data, oldest first."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class _OpenPlatforms:
    """What :class:`OpenPlatformDay` and :class:`OpenPlatformCounts` both count."""

    desktop: int = 0
    """Opens from desktop clients: the day's, or the total over the range."""
    web_mail: int = 0
    """Opens from web mail: the day's, or the total over the range."""
    mobile: int = 0
    """Opens from mobile devices: the day's, or the total over the range."""
    unknown: int = 0
    """Opens from an unrecognised platform: the day's, or the total over the range."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class OpenPlatformDay(_OpenPlatforms):
    """Opens of one day by platform."""

    date: dt.date
    """The day (Eastern time)."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class OpenPlatformCounts(_OpenPlatforms):
    """Opens per day by platform (``GET /stats/outbound/opens/platforms``)."""

    days: tuple[OpenPlatformDay, ...] = ()
    """Days with data, oldest first."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class _Clicks:
    """What :class:`ClickDay` and :class:`ClickCounts` both count."""

    clicks: int = 0
    """Clicks in all: the day's, or the total over the range."""
    unique: int = 0
    """Unique clicks: the day's, or the total over the range."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class ClickDay(_Clicks):
    """Clicks of one day."""

    date: dt.date
    """The day (Eastern time)."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class ClickCounts(_Clicks):
    """Clicks per day (``GET /stats/outbound/clicks``)."""

    days: tuple[ClickDay, ...] = ()
    """Days with data, oldest first."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class _ClickPlatforms:
    """What :class:`ClickPlatformDay` and :class:`ClickPlatformCounts` both count."""

    desktop: int = 0
    """Clicks from desktop browsers: the day's, or the total over the range."""
    mobile: int = 0
    """Clicks from mobile devices: the day's, or the total over the range."""
    unknown: int = 0
    """Clicks from an unrecognised platform: the day's, or the total over the range."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class ClickPlatformDay(_ClickPlatforms):
    """Clicks of one day by platform."""

    date: dt.date
    """The day (Eastern time)."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class ClickPlatformCounts(_ClickPlatforms):
    """Clicks per day by platform (``GET /stats/outbound/clicks/platforms``)."""

    days: tuple[ClickPlatformDay, ...] = ()
    """Days with data, oldest first."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class _ClickLocations:
    """What :class:`ClickLocationDay` and :class:`ClickLocationCounts` both count."""

    html: int = 0
    """Clicks on links in the HTML part: the day's, or the total over the range."""
    text: int = 0
    """Clicks on links in the text part: the day's, or the total over the range."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class ClickLocationDay(_ClickLocations):
    """Clicks of one day by the part of the message the link was in."""

    date: dt.date
    """The day (Eastern time)."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class ClickLocationCounts(_ClickLocations):
    """Clicks per day by location (``GET /stats/outbound/clicks/location``)."""

    days: tuple[ClickLocationDay, ...] = ()
    """Days with data, oldest first."""
    extra: Mapping[str, Any] = extra_field()
    """Keys Postmark sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class DynamicDay:
    """One day of a series whose keys are data: client names, read times, browsers.

    Every key but ``Date`` is kept in :attr:`counts`, so unlike the fixed-key days this
    has no ``extra``: there is no key it does not know, and a value that is not a count is
    a decode error.
    """

    date: dt.date
    """The day (Eastern time)."""
    counts: Mapping[str, int] = attrs.field(factory=dict)
    """Count per key as Postmark names it (``"Gmail"``, ``"20s+"``, ``"Safari"``)."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class DynamicCounts:
    """A day series with data-dependent keys (e-mail clients, read times, browsers).

    Every key but ``Days`` is kept in :attr:`totals`, so it has no ``extra`` (see
    :class:`DynamicDay`).
    """

    days: tuple[DynamicDay, ...] = ()
    """Days with data, oldest first."""
    totals: Mapping[str, int] = attrs.field(factory=dict)
    """Count per key over the whole range."""


# These classes belong to the public module that re-exports them: pickles, reprs of the
# classes and generated code name ``asyncmailstats.postmark.models``, as they always did.
for _name in __all__:
    globals()[_name].__module__ = "asyncmailstats.postmark.models"
del _name
