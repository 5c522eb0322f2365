"""Models of what EmailConsul's statistics endpoints return.

EmailConsul already names its fields in snake_case, so every field carries its wire name.
A grouped row holds ``count`` plus the value of the field it was grouped by; the fields of
the other groupings are ``None``. Keys a model does not declare are kept, read-only, in
its last field, ``extra`` (empty, and shared, when there are none).
"""

import enum
from collections.abc import Mapping
from datetime import date
from typing import Any

import attrs

from .._extra import extra_field
from .._model import inherited_before_extra

__all__ = [
    "DeliveryDay",
    "LinkGroup",
    "LinkStat",
    "LinkTimeseriesPoint",
    "PixelTimeseriesPoint",
]


class LinkGroup(enum.StrEnum):
    """What link-log statistics can be grouped by (the ``group`` parameter)."""

    CAMPAIGN_ID = "campaign_id"
    """One row per campaign."""
    SUBSCRIBER_ID = "subscriber_id"
    """One row per subscriber."""
    DEVICE = "device"
    """One row per device type or model."""
    COUNTRY = "country"
    """One row per ISO country code."""
    IP = "ip"
    """One row per client IP address."""
    BROWSER = "browser"
    """One row per browser name and version."""
    CUSTOM_LINK_TITLE = "custom_link_title"
    """One row per custom link title."""
    PARAMS = "params"
    """One row per link parameter name and value (``params_name`` / ``params_value``)."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class _LinkGroups:
    """The grouping fields :class:`LinkStat` and :class:`LinkTimeseriesPoint` both carry."""

    campaign_id: str | None = None
    """The campaign, when grouped by ``campaign_id``."""
    subscriber_id: str | None = None
    """The subscriber, when grouped by ``subscriber_id``."""
    device: str | None = None
    """The device type or model, when grouped by ``device``."""
    country: str | None = None
    """The ISO country code, when grouped by ``country``."""
    ip: str | None = None
    """The client IP address, when grouped by ``ip``."""
    browser: str | None = None
    """The browser name and version, when grouped by ``browser``."""
    custom_link_title: str | None = None
    """The custom link title, when grouped by ``custom_link_title``."""
    params_name: str | None = None
    """The link parameter's name, when grouped by ``params``."""
    params_value: str | None = None
    """The link parameter's value, when grouped by ``params``."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class LinkStat(_LinkGroups):
    """One row of aggregated link-log (click) counts.

    Only the field(s) of the grouping asked for are set; the others are ``None``.
    """

    count: int
    """How many link logs (clicks) fall in this group."""
    extra: Mapping[str, Any] = extra_field()
    """Keys EmailConsul sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=inherited_before_extra)
class LinkTimeseriesPoint(_LinkGroups):
    """Link-log (click) count for one date, optionally split by a grouping."""

    date: date
    """The day the count covers."""
    count: int
    """How many link logs fall on this date (and in this group)."""
    extra: Mapping[str, Any] = extra_field()
    """Keys EmailConsul sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class PixelTimeseriesPoint:
    """Pixel-log (open) count for one date, optionally split by campaign or subscriber."""

    date: date
    """The day the count covers."""
    count: int
    """How many pixel logs fall on this date (and in this group)."""
    campaign_id: str | None = None
    """The campaign, when grouped by ``campaign_id``."""
    subscriber_id: str | None = None
    """The subscriber, when grouped by ``subscriber_id``."""
    extra: Mapping[str, Any] = extra_field()
    """Keys EmailConsul sent that this model does not declare: wire name → JSON value."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class DeliveryDay:
    """Delivery counters of the emails requested on one date.

    Every counter defaults to 0 so a day that leaves a counter out still decodes.
    """

    date: date
    """The day the counters cover."""
    total_count: int = 0
    """How many emails the day holds in all."""
    requested: int = 0
    """Emails accepted but not yet being sent."""
    sending: int = 0
    """Emails being sent."""
    delivered: int = 0
    """Emails the receiving server accepted."""
    opened: int = 0
    """Delivered emails that were opened."""
    clicked: int = 0
    """Delivered emails with at least one link clicked."""
    unsubscribed: int = 0
    """Emails whose recipient unsubscribed from them."""
    hard_bounced: int = 0
    """Emails rejected permanently."""
    bounced: int = 0
    """Emails rejected temporarily (soft bounces)."""
    spam_reported: int = 0
    """Emails their recipient reported as spam."""
    dropped_unsubscribed: int = 0
    """Emails not sent because the recipient had unsubscribed."""
    dropped_hard_bounced: int = 0
    """Emails not sent because the address had bounced hard before."""
    dropped_spam_reported: int = 0
    """Emails not sent because the recipient had reported spam before."""
    dropped_manually_suppressed: int = 0
    """Emails not sent because the address was suppressed by hand."""
    extra: Mapping[str, Any] = extra_field()
    """Keys EmailConsul sent that this model does not declare: wire name → JSON value."""
