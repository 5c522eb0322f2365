"""Every model read by a generated function is built the fastest way this Python allows.

The generated structure functions store a record's fields without calling attrs'
``__init__``: into a mutable twin class that then becomes the model (when CPython
allows the ``__class__`` assignment: always without a ``__weakref__`` slot, and with
one from Python 3.12 on), or else through the slot descriptors. Either needs
preconditions on the class (plain fields, an ``__init__`` that only stores them); a
model that stops meeting them would silently fall back to the keyword call, about
twice as slow per record. These tests fail instead.
"""

from __future__ import annotations

import sys
from typing import Any

import attrs
import cattrs
import pytest

from asyncmailstats import emailconsul, getresponse, postmark
from asyncmailstats.emailconsul import _convert as emailconsul_convert
from asyncmailstats.getresponse import _convert as getresponse_convert
from asyncmailstats.postmark import _convert as postmark_convert

#: The classes each production converter reads through a generated function.
FAST_MODELS = {
    "postmark": {
        "Open",
        "Click",
        "OutboundMessage",
        "OutboundMessageDetails",
        "MessageEvent",
        "MessageStream",
        "Recipient",
        "ClientInfo",
        "OSInfo",
        "Geo",
    },
    "emailconsul": {"LinkStat", "LinkTimeseriesPoint", "PixelTimeseriesPoint", "DeliveryDay"},
    "getresponse": {"PeriodStats"},
}


def _production_converters() -> dict[str, tuple[Any, cattrs.Converter]]:
    return {
        "postmark": (postmark, postmark_convert.make_converter()),
        "emailconsul": (emailconsul, emailconsul_convert.make_converter()),
        "getresponse": (getresponse, getresponse_convert.make_converter()),
    }


def _models(package: Any) -> list[type]:
    """The public attrs classes a provider package exports."""
    found = (getattr(package, name) for name in package.__all__)
    return [cls for cls in found if isinstance(cls, type) and attrs.has(cls)]


@pytest.mark.parametrize("provider", sorted(FAST_MODELS))
def test_the_page_records_have_generated_functions(provider: str) -> None:
    """The converter reads exactly the expected classes through generated functions."""
    package, converter = _production_converters()[provider]
    fast = {
        cls.__name__
        for cls in _models(package)
        if hasattr(converter.get_structure_hook(cls), "fast_record_code")
    }
    assert fast >= FAST_MODELS[provider]


@pytest.mark.parametrize("provider", sorted(FAST_MODELS))
def test_generated_functions_skip_the_init_call(provider: str) -> None:
    """Every generated function stores fields directly; the twin class wherever CPython allows."""
    package, converter = _production_converters()[provider]
    checked = 0
    for cls in _models(package):
        record = getattr(converter.get_structure_hook(cls), "fast_record_code", None)
        if record is None:
            continue
        checked += 1
        assert record.setters is not None, f"{cls.__name__}: fields stored through __init__"
        has_weakref = "__weakref__" in {
            name for klass in cls.__mro__ for name in vars(klass).get("__slots__", ())
        }
        if sys.version_info >= (3, 12) or not has_weakref:
            assert record.builder is not None, f"{cls.__name__}: no twin class"
            # Stores into the twin are plain slot stores, not Python-level calls.
            assert record.builder.__setattr__ is object.__setattr__
            assert record.builder.__delattr__ is object.__delattr__
        else:
            # Python 3.11 refuses __class__ assignment between classes with a
            # __weakref__ slot: the slot descriptors do the stores instead.
            assert record.builder is None
    assert checked >= len(FAST_MODELS[provider])


def test_built_records_are_genuine_models() -> None:
    """A record built by a generated function is of the model's own type and compares equal."""
    converter = postmark_convert.make_converter()
    wire = {
        "MessageID": "m-1",
        "ReceivedAt": "2024-05-01T12:00:00Z",
        "Recipient": "a@example.com",
        "Geo": {"Country": "Denmark"},
    }
    built = converter.structure(wire, postmark.Open)
    assert type(built) is postmark.Open
    assert type(built.geo) is postmark.Geo
    assert built.geo == postmark.Geo(country="Denmark")
    assert attrs.evolve(built, recipient="b@example.com").recipient == "b@example.com"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.recipient = "c@example.com"  # type: ignore[misc]
