"""The EmailConsul models: keyword-only, fields in their wire order, grouping fields shared."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from asyncmailstats.emailconsul import (
    DeliveryDay,
    LinkStat,
    LinkTimeseriesPoint,
    PixelTimeseriesPoint,
)

GROUPS = [
    "campaign_id",
    "subscriber_id",
    "device",
    "country",
    "ip",
    "browser",
    "custom_link_title",
    "params_name",
    "params_value",
]


def test_link_rows_list_their_fields_in_order() -> None:
    """The grouping fields are declared once, yet each row lists them where it always did."""
    assert [a.name for a in attrs.fields(LinkStat)] == ["count", *GROUPS, "extra"]
    assert [a.name for a in attrs.fields(LinkTimeseriesPoint)] == [
        "date",
        "count",
        *GROUPS,
        "extra",
    ]
    assert [a.name for a in attrs.fields(PixelTimeseriesPoint)] == [
        "date",
        "count",
        "campaign_id",
        "subscriber_id",
        "extra",
    ]
    point = LinkTimeseriesPoint(date=dt.date(2024, 1, 2), count=3, ip="10.0.0.1")
    assert not isinstance(point, LinkStat)
    assert not isinstance(LinkStat(count=3), LinkTimeseriesPoint)
    assert point == LinkTimeseriesPoint(date=dt.date(2024, 1, 2), count=3, ip="10.0.0.1")
    assert point != LinkTimeseriesPoint(date=dt.date(2024, 1, 2), count=3, ip="10.0.0.2")


@pytest.mark.parametrize("cls", [LinkStat, LinkTimeseriesPoint, PixelTimeseriesPoint, DeliveryDay])
def test_rows_are_built_by_keyword_only(cls: type) -> None:
    """No row can be built positionally."""
    assert all(a.kw_only for a in attrs.fields(cls))
    with pytest.raises(TypeError):
        cls(dt.date(2024, 1, 2), 3)
