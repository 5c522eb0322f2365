"""Every recorded Postmark reply decodes through the strict converter, or maps to its error."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from asyncmailstats._http import Response
from asyncmailstats.exceptions import APIError, InvalidRequestError, NotFoundError
from asyncmailstats.postmark import _wire
from asyncmailstats.postmark._convert import make_converter
from asyncmailstats.postmark.models import (
    DynamicCounts,
    Open,
    OutboundMessage,
    OutboundMessageDetails,
    OutboundOverview,
)

SAMPLES = json.loads(
    (Path(__file__).parent.parent / "samples" / "postmark_recorded.json").read_text()
)
STRICT = make_converter(strict=True)
STATS_BY_PATH = dict(_wire.STATS.values())
MESSAGE_PATH = re.compile(r"^/messages/outbound/(?P<id>[^/]+)/(?P<what>details|dump)$")
EXPECTED_ERRORS = {701: NotFoundError, 1101: InvalidRequestError}


def response_of(sample: dict[str, Any]) -> Response:
    headers = {name.lower(): value for name, value in sample["headers"].items()}
    return Response(sample["status"], headers, json.dumps(sample["body"]).encode())


def decoder_for(path: str) -> tuple[Callable[[Response], Any], type | None]:
    """Pick the decoder (and the model it yields) the client uses for *path*."""
    if path == "/messages/outbound":
        return lambda r: _wire.MESSAGES.decode(r, converter=STRICT), OutboundMessage
    if path == "/messages/outbound/opens" or path.startswith("/messages/outbound/opens/"):
        return lambda r: _wire.OPENS.decode(r, converter=STRICT), Open
    if path in STATS_BY_PATH:
        model = STATS_BY_PATH[path]
        return (
            lambda r: _wire.decode_stats(r, model, endpoint=f"GET {path}", converter=STRICT),
            model,
        )
    match = MESSAGE_PATH.match(path)
    if match and match["what"] == "details":
        return lambda r: _wire.decode_details(r, converter=STRICT), OutboundMessageDetails
    if match and match["what"] == "dump":
        return _wire.decode_dump, str
    # Endpoints this library does not call still share the error mapping.
    return lambda r: _wire.decode_dump(r, endpoint=f"GET {path}"), None


def sample_id(sample: dict[str, Any]) -> str:
    return f"{sample['status']} {sample['path']}"


def test_all_samples_are_present():
    """The recorded file holds the 21 exchanges the attribution describes."""
    assert len(SAMPLES) == 21
    assert sum(s["status"] == 200 for s in SAMPLES) == 18


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s["status"] == 200], ids=sample_id)
def test_success_sample_decodes_strictly(sample):
    """A recorded 200 decodes into its model with no key left unread."""
    decode, model = decoder_for(sample["path"])
    assert model is not None
    result = decode(response_of(sample))
    if isinstance(result, tuple):  # a list page: (items, total)
        items, total = result
        assert total == sample["body"]["TotalCount"]
        assert len(items) == len(next(v for k, v in sample["body"].items() if k != "TotalCount"))
        assert all(type(item) is model for item in items)
    else:
        assert type(result) is model
    if model is DynamicCounts:
        assert len(result.days) == len(sample["body"]["Days"])
        assert set(result.totals) == set(sample["body"]) - {"Days"}
    elif model is str:
        assert result == sample["body"]["Body"]
    elif model is not OutboundOverview and hasattr(result, "days"):
        assert len(result.days) == len(sample["body"]["Days"])


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s["status"] != 200], ids=sample_id)
def test_error_sample_maps_to_its_error(sample):
    """A recorded error reply raises the mapped error with Postmark's code and message."""
    decode, _ = decoder_for(sample["path"])
    code = sample["body"]["ErrorCode"]
    with pytest.raises(APIError) as info:
        decode(response_of(sample))
    assert type(info.value) is EXPECTED_ERRORS[code]
    assert info.value.code == code
    assert info.value.status == sample["status"]
    assert info.value.message == sample["body"]["Message"]
    assert info.value.provider == "postmark"


def test_recorded_details_keep_seven_digit_times_and_bounce_details():
    """The recorded bounce event keeps its offset, microseconds and string details."""
    sample = next(
        s for s in SAMPLES if s["path"].endswith("086415ac-9326-4ddb-9d95-c0d8db13532b/details")
    )
    details = _wire.decode_details(response_of(sample), converter=STRICT)
    (event,) = details.message_events
    assert event.type == "Bounced"
    assert event.details["BounceID"] == "1033567275"
    assert event.received_at.isoformat() == "2017-04-17T14:23:56.679948-04:00"
    assert details.track_links == "HtmlAndText"


def test_recorded_open_has_empty_geo_and_unknown_os():
    """The recorded open decodes Geo: {} and literal "unknown" OS values."""
    sample = next(s for s in SAMPLES if s["path"] == "/messages/outbound/opens")
    (open_,), total = _wire.OPENS.decode(response_of(sample), converter=STRICT)
    assert total == 259
    assert open_.geo is not None
    assert open_.geo.country is None
    assert open_.os is not None
    assert open_.os.family == "unknown"
    assert open_.client is not None
    assert open_.client.name == "Gmail"
