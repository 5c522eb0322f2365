"""The Postmark converters: null tolerance, malformed shapes, strictness."""

from __future__ import annotations

from typing import Any

import pytest

from asyncmailstats._convert import structure
from asyncmailstats.exceptions import DecodeError
from asyncmailstats.postmark._convert import CONVERTER, make_converter
from asyncmailstats.postmark.models import (
    DynamicCounts,
    MessageEvent,
    MessageStatus,
    Open,
    OutboundMessage,
    OutboundMessageDetails,
    TrackLinks,
)

BASE = {"MessageID": "m", "ReceivedAt": "2024-01-01T10:00:00-05:00", "Status": "Sent"}
OPEN = {"MessageID": "m", "ReceivedAt": "2024-01-01T10:00:00-05:00", "Recipient": "r@x"}


def test_nulls_where_lists_and_objects_are_expected_read_as_empty():
    """null To/Cc/Bcc/Recipients/Attachments/Metadata and event Details decode as empty."""
    data = {
        **BASE,
        "To": None,
        "Cc": None,
        "Bcc": [],
        "Recipients": None,
        "Attachments": None,
        "Metadata": None,
        "Tag": None,
        "MessageEvents": [
            {
                "Recipient": "r@x",
                "Type": "Opened",
                "ReceivedAt": BASE["ReceivedAt"],
                "Details": None,
            }
        ],
    }
    details = structure(make_converter(strict=True), data, OutboundMessageDetails)
    assert (details.to, details.cc, details.recipients, details.attachments) == ((), (), (), ())
    assert details.metadata is None
    assert details.tag is None
    assert details.message_events[0].details == {}


def test_minimal_message_takes_defaults():
    """Only MessageID, ReceivedAt and Status are required; the rest default."""
    message = structure(CONVERTER, BASE, OutboundMessage)
    assert message.status is MessageStatus.SENT
    assert (message.from_, message.subject, message.to, message.track_opens) == ("", "", (), None)


def test_optional_scalars_accept_their_wire_variants():
    """An optional int given as a numeric string and an optional bool as "true" are read."""
    open_ = structure(CONVERTER, {**OPEN, "ReadSeconds": "12", "FirstOpen": "true"}, Open)
    assert open_.read_seconds == 12
    assert open_.first_open is True


def test_enum_members_are_shared_not_copied():
    """Known enum values decode to the very members; unknown ones to pseudo-members."""
    message = structure(CONVERTER, {**BASE, "TrackLinks": "TextOnly"}, OutboundMessage)
    assert message.track_links is TrackLinks.TEXT_ONLY
    odd = structure(CONVERTER, {**BASE, "Status": "Held"}, OutboundMessage)
    assert isinstance(odd.status, MessageStatus)
    assert odd.status == "Held"


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (OutboundMessage, {**BASE, "Status": 3}),
        (OutboundMessage, {**BASE, "Status": ["Sent"]}),
        (OutboundMessage, {**BASE, "To": "a@b"}),
        (OutboundMessage, {**BASE, "To": [{"Name": "no email"}]}),
        (OutboundMessage, {**BASE, "Attachments": "a.pdf"}),
        (OutboundMessage, {**BASE, "Attachments": [{"ContentType": "x"}]}),
        (OutboundMessage, {**BASE, "Metadata": ["a"]}),
        (OutboundMessage, {**BASE, "Metadata": {"a": 1}}),
        (OutboundMessage, {**BASE, "TrackOpens": "maybe"}),
        (OutboundMessage, {**BASE, "MessageID": None}),
        (OutboundMessage, {**BASE, "ReceivedAt": 1700000000}),
        (
            MessageEvent,
            {"Recipient": "r", "Type": "Opened", "ReceivedAt": BASE["ReceivedAt"], "Details": "x"},
        ),
        (Open, {**OPEN, "Geo": "Denmark"}),
        (Open, {**OPEN, "ReadSeconds": 1.5}),
        (Open, {**OPEN, "Platform": 1}),
        (DynamicCounts, ["Days"]),
        (DynamicCounts, {"Days": ["2024-01-01"]}),
    ],
)
def test_malformed_records_are_decode_errors(cls, data: Any):
    """A record of the wrong shape raises DecodeError naming the model."""
    with pytest.raises(DecodeError, match=cls.__name__):
        structure(CONVERTER, data, cls, endpoint="GET /x")


def test_strict_converter_names_the_unknown_key():
    """The strict converter rejects an undeclared key in a nested object too."""
    data = {**OPEN, "Geo": {"Country": "Denmark", "Continent": "Europe"}}
    assert structure(CONVERTER, data, Open).geo is not None
    with pytest.raises(DecodeError, match="Continent"):
        structure(make_converter(strict=True), data, Open)
