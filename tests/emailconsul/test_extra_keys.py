"""EmailConsul rows keep keys their models do not declare in ``extra``; strict refuses them."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from asyncmailstats import _convert as base
from asyncmailstats._extra import NO_EXTRA
from asyncmailstats._http import Response
from asyncmailstats.emailconsul import _convert as ec
from asyncmailstats.emailconsul import _wire
from asyncmailstats.emailconsul.models import (
    DeliveryDay,
    LinkStat,
    LinkTimeseriesPoint,
    PixelTimeseriesPoint,
)
from asyncmailstats.exceptions import DecodeError

STRICT = ec.make_converter(strict=True)
GENERIC = base.make_converter(strict=False)


def ok(body: Any) -> Response:
    return Response(200, {"content-type": "application/json"}, json.dumps(body).encode())


PAGE = {
    "data": [
        {"country": "US", "count": 412, "unique_count": 300},
        {"country": "DE", "count": 97},
    ],
    "meta": {"count": 2, "offset": 0, "limit": 2, "cursor": "abc"},
}


@pytest.mark.parametrize("converter", [ec.CONVERTER, GENERIC], ids=["fast", "generic"])
def test_unknown_row_keys_are_kept_and_known_rows_share_the_empty_extra(converter: Any) -> None:
    """A row's unknown key lands in its extra; a row without one has the shared empty one."""
    (first, second), total = _wire.decode_link_stats(ok(PAGE), converter)
    assert (first.country, first.count, first.extra) == ("US", 412, {"unique_count": 300})
    assert second.extra is NO_EXTRA
    assert total == 2


def test_strict_converter_refuses_unknown_row_keys() -> None:
    """The strict converter names a row's unknown key (and the envelope's)."""
    with pytest.raises(DecodeError, match="unique_count"):
        _wire.decode_link_stats(ok(PAGE), STRICT)
    rows_ok = {**PAGE, "data": [PAGE["data"][1]]}
    with pytest.raises(DecodeError, match="cursor"):
        _wire.decode_link_stats(ok(rows_ok), STRICT)


@pytest.mark.parametrize(
    ("decode", "row"),
    [
        (_wire.decode_link_timeseries, {"date": "2024-05-01", "count": 3, "bots": 1}),
        (_wire.decode_pixel_timeseries, {"date": "2024-05-01", "count": 3, "bots": 1}),
    ],
)
def test_time_series_points_keep_unknown_keys(decode: Any, row: dict[str, Any]) -> None:
    """Link and pixel series points keep an unknown key; strict refuses it."""
    (point,) = decode(ok({"data": [row]}))
    assert point.extra == {"bots": 1}
    with pytest.raises(DecodeError, match="bots"):
        decode(ok({"data": [row]}), STRICT)


def test_delivery_days_keep_unknown_counters() -> None:
    """A delivery counter EmailConsul adds is kept, with the known ones read as before."""
    body = {"data": [{"date": "2024-05-01", "delivered": 5, "deferred": 2}], "meta": {"count": 1}}
    (day,), _ = _wire.decode_delivery_timeseries(ok(body))
    assert (day.delivered, day.total_count, day.extra) == (5, 0, {"deferred": 2})


def test_every_model_ends_with_extra() -> None:
    """Each EmailConsul model ends with a keyword-only extra left out of equality."""
    for cls in (LinkStat, LinkTimeseriesPoint, PixelTimeseriesPoint, DeliveryDay):
        last = attrs.fields(cls)[-1]
        assert (last.name, last.kw_only, last.eq, last.default) == ("extra", True, False, NO_EXTRA)
    assert LinkStat(count=1, extra={"x": 1}) == LinkStat(count=1)
