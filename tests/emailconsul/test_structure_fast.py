"""EmailConsul rows read by the generated functions equal the generic hooks' rows."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import attrs
import pytest

from asyncmailstats import _convert as base
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

MODELS = (LinkStat, LinkTimeseriesPoint, PixelTimeseriesPoint, DeliveryDay)
GENERIC = base.make_converter(strict=False)
STRICT = ec.make_converter(strict=True)
ODD: tuple[Any, ...] = (None, 0, 7, True, 1.0, 2.5, "", "3", "DK", "2024-05-01", [], {}, ["x"])


def row(cls: type, rng: random.Random) -> dict[str, Any]:
    """Return a seeded wire row for *cls* with a random subset of its optional keys."""
    data: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.name == "extra":
            continue
        if field.name == "date":
            data["date"] = f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        elif field.type in ("int", int):
            data[field.name] = rng.randint(0, 500)
        elif field.default is attrs.NOTHING or rng.random() < 0.7:
            data[field.name] = rng.choice([None, f"{field.name}-{rng.randint(0, 5)}"])
    return data


def outcome(hook: Any, data: Any, cls: type) -> Any:
    try:
        value = hook(data, cls)
    except Exception as exc:
        return ("error", type(exc), str(exc))
    # extra takes no part in equality: compare it (and its type) as well.
    fields = tuple(type(getattr(value, f.name)) for f in attrs.fields(cls))
    return ("ok", value, fields, dict(value.extra))


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_rows_equal_generic_and_strict(cls: type):
    """Seeded rows give equal objects of equal field types through all three converters."""
    rng = random.Random(cls.__name__)
    fast = ec.CONVERTER.get_structure_hook(cls)
    assert fast.__name__ == f"structure_{cls.__name__}"
    for _ in range(300):
        data = row(cls, rng)
        expected = outcome(STRICT.get_structure_hook(cls), data, cls)
        assert expected[0] == "ok"
        assert outcome(fast, data, cls) == expected
        assert outcome(GENERIC.get_structure_hook(cls), data, cls) == expected


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_distorted_rows_give_the_same_result_or_error(cls: type):
    """Seeded distortions: the fast and the generic hook agree on the value or the error."""
    rng = random.Random(f"odd-{cls.__name__}")
    fast = ec.CONVERTER.get_structure_hook(cls)
    generic = GENERIC.get_structure_hook(cls)
    kinds = set()
    for _ in range(1500):
        data = row(cls, rng)
        for _ in range(rng.randint(1, 2)):
            key = rng.choice([*data, "extra"])
            if rng.random() < 0.2:
                data.pop(key, None)
            else:
                data[key] = copy.deepcopy(rng.choice(ODD))
        record = data if rng.random() > 0.03 else rng.choice([[data], "x", None])
        expected = outcome(generic, record, cls)
        kinds.add(expected[0])
        if expected[0] == "ok" and expected[3]:
            kinds.add("extra")
        assert outcome(fast, record, cls) == expected, record
    assert kinds == {"ok", "error", "extra"}


def test_pages_decode_alike_and_fail_alike():
    """A whole page decodes equal through both converters; a bad row fails with the same text."""
    rng = random.Random(3)
    rows = [row(LinkStat, rng) for _ in range(50)]
    body = json.dumps({"data": rows, "meta": {"count": 50, "offset": 0, "limit": 50}}).encode()
    fast = _wire.decode_link_stats(Response(200, {}, body))
    assert fast == _wire.decode_link_stats(Response(200, {}, body), converter=STRICT)
    rows[9]["count"] = "many"
    body = json.dumps({"data": rows, "meta": {"count": 50}}).encode()
    with pytest.raises(DecodeError) as fast_error:
        _wire.decode_link_stats(Response(200, {}, body))
    with pytest.raises(DecodeError) as generic_error:
        _wire.decode_link_stats(Response(200, {}, body), converter=GENERIC)
    assert str(fast_error.value) == str(generic_error.value)
