"""Property: unknown keys with any JSON value are kept exactly, fast and generic alike.

For records of every provider, keys no model declares (any text, any JSON value) added
at the top of a record are what its ``extra`` holds, in order, through the production
converter's generated functions and through the generic cattrs hooks; the rest of the
record is what it is without them; the strict converter refuses them.
"""

from __future__ import annotations

import copy
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncmailstats import _convert as base
from asyncmailstats._convert import structure
from asyncmailstats.emailconsul import _convert as ec
from asyncmailstats.emailconsul.models import DeliveryDay, LinkStat
from asyncmailstats.exceptions import DecodeError
from asyncmailstats.getresponse import _convert as gr
from asyncmailstats.getresponse.models import PeriodStats
from asyncmailstats.postmark import _convert as pm
from asyncmailstats.postmark.models import BounceDay, Click, Open, OutboundMessage
from asyncmailstats.testing import FakePostmark

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_FAKE = FakePostmark(messages=40, seed=3)

PM_GENERIC = pm.configure_converter(base.make_converter(), fast=False)
PM_STRICT = pm.make_converter(strict=True)
GR_GENERIC = gr.configure_converter(base.make_converter(), fast=False)
GR_STRICT = gr.make_converter(strict=True)
EC_STRICT = ec.make_converter(strict=True)
PERIOD = {"period": "2024", "start": "2024-01-01T00:00:00", "sent": 3}

#: model name -> (model, a valid wire record, production, generic and strict converters)
CASES: dict[str, tuple[type, dict[str, Any], Any, Any, Any]] = {
    "Open": (Open, _FAKE.opens[0], pm.CONVERTER, PM_GENERIC, PM_STRICT),
    "Click": (Click, _FAKE.clicks[0], pm.CONVERTER, PM_GENERIC, PM_STRICT),
    "OutboundMessage": (OutboundMessage, _FAKE.messages[0], pm.CONVERTER, PM_GENERIC, PM_STRICT),
    "BounceDay": (
        BounceDay,
        {"Date": "2024-01-01", "HardBounce": 2},
        pm.CONVERTER,
        PM_GENERIC,
        PM_STRICT,
    ),
    "PeriodStats": (PeriodStats, PERIOD, gr.CONVERTER, GR_GENERIC, GR_STRICT),
    "LinkStat": (
        LinkStat,
        {"count": 3, "ip": "10.0.0.1"},
        ec.CONVERTER,
        base.make_converter(),
        EC_STRICT,
    ),
    "DeliveryDay": (
        DeliveryDay,
        {"date": "2024-01-01", "delivered": 4},
        ec.CONVERTER,
        base.make_converter(),
        EC_STRICT,
    ),
}

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def typed(value: Any) -> Any:
    """Return *value* as nested tuples naming every part's type, extra included."""
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return (type(value), tuple((f.name, typed(getattr(value, f.name))) for f in fields))
    if isinstance(value, tuple | list):
        return (type(value), tuple(typed(v) for v in value))
    if isinstance(value, dict):
        return (type(value), tuple((k, typed(v)) for k, v in value.items()))
    return (type(value), repr(value))


def declared(cls: type, converter: Any) -> frozenset[str]:
    """Return the wire keys *cls* declares, as its generated function knows them."""
    return converter.get_structure_hook(cls).fast_record_code.known  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(CASES))
@SETTINGS
@given(data=st.data())
def test_unknown_keys_are_kept_exactly(name: str, data: st.DataObject) -> None:
    """Added unknown keys are the record's extra, fast or generic; strict refuses them."""
    cls, record, fast, generic, strict = CASES[name]
    known = declared(cls, fast)
    keys = st.text(min_size=1, max_size=12).filter(lambda key: key not in known)
    unknown = data.draw(st.dictionaries(keys, json_values, min_size=1, max_size=4))
    wire = {**copy.deepcopy(record), **unknown}
    built = structure(fast, wire, cls)
    assert dict(built.extra) == unknown
    assert list(built.extra) == list(unknown)
    assert typed(built) == typed(structure(generic, wire, cls))
    assert built == structure(fast, copy.deepcopy(record), cls)
    with pytest.raises(DecodeError, match="Extra fields"):
        structure(strict, wire, cls)
