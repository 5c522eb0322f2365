"""Postmark's pure wire layer: request building, dates, path encoding, decoding, errors."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncmailstats._http import Response
from asyncmailstats.exceptions import (
    APIError,
    AuthenticationError,
    DecodeError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from asyncmailstats.postmark import _args, _wire
from asyncmailstats.postmark._convert import make_converter
from asyncmailstats.postmark.models import (
    BounceCounts,
    ClickCounts,
    ClickLocationCounts,
    ClickPlatformCounts,
    DynamicCounts,
    EventType,
    MessageStatus,
    OpenCounts,
    OpenPlatformCounts,
    OutboundOverview,
    Platform,
    SentCounts,
    SpamComplaintCounts,
    StatusFilter,
    TrackedCounts,
    TrackLinks,
)

UTC = dt.UTC
NY = ZoneInfo("America/New_York")


def body(data: Any, status: int = 200, **headers: str) -> Response:
    return Response(
        status, {"content-type": "application/json", **headers}, json.dumps(data).encode()
    )


MESSAGE = {
    "MessageID": "id-1",
    "ReceivedAt": "2024-07-01T10:00:00.1234567-04:00",
    "Status": "Sent",
    "From": "A <a@example.com>",
    "Subject": "S",
    "To": [{"Email": "b@example.com", "Name": None}],
    "Cc": [],
    "Bcc": [],
    "Recipients": ["b@example.com"],
    "Attachments": [],
    "TrackOpens": True,
    "TrackLinks": "HtmlOnly",
}


# --------------------------------------------------------------------------- requests


def test_messages_request_spells_every_filter_as_documented():
    """The search sends count/offset and Postmark's lower-case filter names."""
    filters = _args.message_filters(
        recipient="r@example.com",
        from_email="f@example.com",
        tag="welcome",
        status=StatusFilter.SENT,
        subject="Hi there",
        message_stream="broadcast",
        metadata={"client-id": "42"},
    )
    request = _wire.MESSAGES.request(filters, count=500, offset=1000)
    assert request.method == "GET"
    assert request.path == "/messages/outbound"
    assert request.endpoint == "GET /messages/outbound"
    assert list(request.params) == [
        ("count", "500"),
        ("offset", "1000"),
        ("recipient", "r@example.com"),
        ("fromemail", "f@example.com"),
        ("tag", "welcome"),
        ("status", "sent"),
        ("subject", "Hi there"),
        ("messagestream", "broadcast"),
        ("metadata_client-id", "42"),
    ]


def test_messages_request_without_filters_sends_only_paging():
    """No filter given means no filter parameter at all."""
    request = _wire.MESSAGES.request(_args.message_filters(), count=1, offset=0)
    assert list(request.params) == [("count", "1"), ("offset", "0")]


@pytest.mark.parametrize(
    ("given", "sent"),
    [("queued", "queued"), ("Sent", "sent"), (StatusFilter.PROCESSED, "processed")],
)
def test_status_filter_accepts_enum_and_any_case(given, sent):
    """A status is sent lower-case whether given as enum or string."""
    assert ("status", sent) in _args.message_filters(status=given)


def test_unknown_status_is_rejected():
    """An unknown status raises ValueError listing the allowed values."""
    with pytest.raises(ValueError, match="queued, sent, processed"):
        _args.message_filters(status="delivered")


def test_more_than_one_metadata_field_is_rejected():
    """Postmark filters on one metadata field per search."""
    with pytest.raises(ValueError, match="one metadata field"):
        _args.message_filters(metadata={"a": "1", "b": "2"})


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"tag": ""}, ValueError),
        ({"recipient": "  "}, ValueError),
        ({"tag": 3}, TypeError),
        ({"metadata": [("a", "b")]}, TypeError),
        ({"metadata": {"a": 1}}, TypeError),
        ({"metadata": {"": "x"}}, ValueError),
        ({"status": 1}, TypeError),
    ],
)
def test_bad_message_filters_are_rejected(kwargs, error):
    """Empty or wrongly typed filters raise before any request exists."""
    with pytest.raises(error):
        _args.message_filters(**kwargs)


def test_event_filters_spell_every_documented_name():
    """Opens/clicks filters use the documented snake_case names; platform is lower-cased."""
    filters = _args.event_filters(
        recipient="r@example.com",
        tag="t",
        message_stream="outbound",
        client_name="Gmail",
        client_company="Google",
        client_family="Chrome",
        os_name="OS X 10.9",
        os_family="OS X",
        os_company="Apple",
        platform=Platform.WEBMAIL,
        country="Denmark",
        region="New York",
        city="Copenhagen",
    )
    assert list(filters) == [
        ("recipient", "r@example.com"),
        ("tag", "t"),
        ("messagestream", "outbound"),
        ("client_name", "Gmail"),
        ("client_company", "Google"),
        ("client_family", "Chrome"),
        ("os_name", "OS X 10.9"),
        ("os_family", "OS X"),
        ("os_company", "Apple"),
        ("platform", "webmail"),
        ("country", "Denmark"),
        ("region", "New York"),
        ("city", "Copenhagen"),
    ]
    for build, path in (
        (_wire.OPENS.request, "/messages/outbound/opens"),
        (_wire.CLICKS.request, "/messages/outbound/clicks"),
    ):
        request = build(filters, count=10, offset=20)
        assert request.path == path
        assert request.endpoint == f"GET {path}"
        assert list(request.params)[:2] == [("count", "10"), ("offset", "20")]
        assert list(request.params)[2:] == list(filters)


def test_event_filters_reject_unknown_names_and_empty_values():
    """A misspelt filter is a TypeError; an empty one a ValueError."""
    with pytest.raises(TypeError, match="fromemail"):
        _args.event_filters(fromemail="x")
    with pytest.raises(ValueError):
        _args.event_filters(country="")


@pytest.mark.parametrize(
    ("build", "path", "endpoint"),
    [
        (
            _wire.details_request,
            "/messages/outbound/{}/details",
            "GET /messages/outbound/{id}/details",
        ),
        (_wire.dump_request, "/messages/outbound/{}/dump", "GET /messages/outbound/{id}/dump"),
        (
            lambda i: _wire.OPENS.message_request(i, count=500, offset=0),
            "/messages/outbound/opens/{}",
            "GET /messages/outbound/opens/{id}",
        ),
        (
            lambda i: _wire.CLICKS.message_request(i, count=500, offset=0),
            "/messages/outbound/clicks/{}",
            "GET /messages/outbound/clicks/{id}",
        ),
    ],
)
def test_message_endpoints_put_the_id_in_the_path_and_not_in_the_label(build, path, endpoint):
    """Per-message requests carry the id in the path; the endpoint label has none."""
    request = build("21895802-5d50-442b-b039-27cf5b462c54")
    assert request.path == path.format("21895802-5d50-442b-b039-27cf5b462c54")
    assert request.endpoint == endpoint


def test_per_message_event_requests_send_count_and_offset_only():
    """Single-message opens/clicks take only count and offset."""
    request = _wire.CLICKS.message_request("x", count=7, offset=14)
    assert list(request.params) == [("count", "7"), ("offset", "14")]


@pytest.mark.parametrize(
    "message_id",
    ["..%2Fstats", "a?b=c", "a#frag", "with space", "ümlaut-✓", "%2F", "..", ".", "a;b=c"],
)
def test_message_ids_are_one_percent_encoded_segment(message_id):
    """Reserved characters are encoded, so an id can never reach another path."""
    request = _wire.details_request(message_id)
    prefix, rest = (
        request.path[: len("/messages/outbound/")],
        request.path[len("/messages/outbound/") :],
    )
    assert prefix == "/messages/outbound/"
    segment, suffix = rest.rsplit("/", 1)
    assert suffix == "details"
    assert "/" not in segment
    assert "?" not in segment
    assert "#" not in segment
    assert " " not in segment
    assert segment.isascii()
    assert unquote(segment) == message_id


@given(st.text(min_size=1).filter(lambda s: s.strip() and "/" not in s and "\\" not in s))
def test_any_message_id_round_trips_through_one_segment(message_id):
    """For any non-blank id without a separator the path holds one segment decoding to it."""
    path = _wire.dump_request(message_id).path
    middle = path.removeprefix("/messages/outbound/").removesuffix("/dump")
    assert "/" not in middle
    assert unquote(middle, errors="strict") == message_id


@pytest.mark.parametrize(
    ("message_id", "error"),
    [
        ("", ValueError),
        ("   ", ValueError),
        (None, TypeError),
        (42, TypeError),
        ("a/b", ValueError),
        ("../stats", ValueError),
        ("/", ValueError),
        ("a\\b", ValueError),
    ],
)
def test_bad_message_ids_are_rejected(message_id, error):
    """An empty, non-string or separator-holding id raises before any request exists."""
    with pytest.raises(error):
        _args.encode_message_id(message_id)


@pytest.mark.parametrize("name", sorted(_wire.STATS))
def test_stats_requests_hit_their_documented_path(name):
    """Each stats method has its own documented path and no paging."""
    path, _ = _wire.STATS[name]
    request = _wire.stats_request(name, _args.stats_filters(tag="t"))
    assert request.path == path
    assert request.endpoint == f"GET {path}"
    assert list(request.params) == [("tag", "t")]


def test_stats_paths_are_the_documented_ones():
    """The thirteen stats endpoints are wired to Postmark's spellings."""
    assert {name: path for name, (path, _) in _wire.STATS.items()} == {
        "outbound_overview": "/stats/outbound",
        "sent_counts": "/stats/outbound/sends",
        "bounce_counts": "/stats/outbound/bounces",
        "spam_complaints": "/stats/outbound/spam",
        "tracked_counts": "/stats/outbound/tracked",
        "open_counts": "/stats/outbound/opens",
        "open_platforms": "/stats/outbound/opens/platforms",
        "email_clients": "/stats/outbound/opens/emailclients",
        "read_times": "/stats/outbound/opens/readtimes",
        "click_counts": "/stats/outbound/clicks",
        "browser_families": "/stats/outbound/clicks/browserfamilies",
        "click_platforms": "/stats/outbound/clicks/platforms",
        "click_locations": "/stats/outbound/clicks/location",
    }


def test_stats_filters_send_dates_and_stream_only_when_given():
    """Stats send YYYY-MM-DD dates; without a stream, no messagestream at all."""
    assert _args.stats_filters() == ()
    filters = _args.stats_filters(
        tag="t",
        from_date=dt.date(2024, 1, 1),
        to_date=dt.date(2024, 1, 31),
        message_stream="outbound",
    )
    assert list(filters) == [
        ("tag", "t"),
        ("fromdate", "2024-01-01"),
        ("todate", "2024-01-31"),
        ("messagestream", "outbound"),
    ]


def test_stats_refuse_datetimes():
    """Stats are kept per day: a datetime is a TypeError, not a silent truncation."""
    with pytest.raises(TypeError, match=r"datetime\.date"):
        _args.stats_filters(from_date=dt.datetime(2024, 1, 1, tzinfo=UTC))


def test_stats_refuse_reversed_dates():
    """from_date after to_date raises ValueError."""
    with pytest.raises(ValueError, match="after"):
        _args.stats_filters(from_date=dt.date(2024, 2, 1), to_date=dt.date(2024, 1, 1))


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        (dt.date(2024, 3, 10), "2024-03-10"),
        # Winter: Eastern is UTC-5.
        (dt.datetime(2024, 1, 15, 17, 30, 0, tzinfo=UTC), "2024-01-15T12:30:00"),
        # Summer: Eastern is UTC-4.
        (dt.datetime(2024, 7, 15, 17, 30, 0, tzinfo=UTC), "2024-07-15T13:30:00"),
        # Just before and after the spring-forward jump (2024-03-10 07:00 UTC).
        (dt.datetime(2024, 3, 10, 6, 59, 59, tzinfo=UTC), "2024-03-10T01:59:59"),
        (dt.datetime(2024, 3, 10, 7, 0, 0, tzinfo=UTC), "2024-03-10T03:00:00"),
        # Fall back (2024-11-03 06:00 UTC): 01:xx happens twice.
        (dt.datetime(2024, 11, 3, 5, 30, tzinfo=UTC), "2024-11-03T01:30:00"),
        (dt.datetime(2024, 11, 3, 6, 30, tzinfo=UTC), "2024-11-03T01:30:00"),
        # Another zone entirely.
        (
            dt.datetime(2024, 1, 1, 9, 0, tzinfo=ZoneInfo("Europe/Copenhagen")),
            "2024-01-01T03:00:00",
        ),
        # Already Eastern: unchanged.
        (dt.datetime(2024, 5, 5, 5, 5, 5, tzinfo=NY), "2024-05-05T05:05:05"),
    ],
)
def test_dates_are_sent_in_eastern_time_without_offset(value, sent):
    """Dates go as YYYY-MM-DD; aware datetimes are converted to New York time, no offset."""
    assert _args.format_date(value) == sent


def test_fractions_widen_the_range():
    """A lower bound drops its fraction of a second; an upper bound rounds it up."""
    moment = dt.datetime(2024, 1, 15, 17, 30, 0, 250_000, tzinfo=UTC)
    assert _args.format_date(moment) == "2024-01-15T12:30:00"
    assert _args.format_date(moment, upper=True) == "2024-01-15T12:30:01"
    assert _args.date_params(moment, moment) == (
        ("fromdate", "2024-01-15T12:30:00"),
        ("todate", "2024-01-15T12:30:01"),
    )


def test_naive_datetimes_are_rejected():
    """A naive datetime is ambiguous and raises ValueError."""
    with pytest.raises(ValueError, match="naive"):
        _args.check_range(dt.datetime(2024, 1, 1), None)  # noqa: DTZ001
    with pytest.raises(ValueError, match="naive"):
        _args.check_range(None, dt.datetime(2024, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="naive"):
        _args.format_date(dt.datetime(2024, 1, 1))  # noqa: DTZ001


@pytest.mark.parametrize("value", ["2024-01-01", 1700000000, 1.5])
def test_non_dates_are_rejected(value):
    """Strings and numbers are not dates."""
    with pytest.raises(TypeError):
        _args.check_range(value, None)


@pytest.mark.parametrize(
    ("lower", "upper", "ok"),
    [
        (dt.date(2024, 1, 2), dt.date(2024, 1, 1), False),
        (dt.date(2024, 1, 1), dt.date(2024, 1, 1), True),
        # Same instant is a valid (one-second) range.
        (dt.datetime(2024, 1, 1, 12, tzinfo=UTC), dt.datetime(2024, 1, 1, 12, tzinfo=UTC), True),
        (
            dt.datetime(2024, 1, 1, 12, 0, 1, tzinfo=UTC),
            dt.datetime(2024, 1, 1, 12, tzinfo=UTC),
            False,
        ),
        # A date upper bound covers its whole Eastern day.
        (dt.datetime(2024, 1, 1, 23, 0, tzinfo=NY), dt.date(2024, 1, 1), True),
        (dt.datetime(2024, 1, 2, 0, 0, tzinfo=NY), dt.date(2024, 1, 1), False),
        # A date lower bound starts at Eastern midnight.
        (dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 0, 0, tzinfo=NY), True),
        (dt.date(2024, 1, 2), dt.datetime(2024, 1, 1, 23, 59, tzinfo=NY), False),
        # Aware bounds in different zones compare as instants.
        (dt.datetime(2024, 1, 1, 12, tzinfo=UTC), dt.datetime(2024, 1, 1, 8, tzinfo=NY), True),
    ],
)
def test_reversed_ranges_are_rejected(lower, upper, ok):
    """from_date after to_date raises ValueError, comparing dates as whole Eastern days."""
    if ok:
        assert _args.check_range(lower, upper) == (lower, upper)
    else:
        with pytest.raises(ValueError, match="after"):
            _args.check_range(lower, upper)


# --------------------------------------------------------------------------- errors


def _http_date(offset: float) -> str:
    return email.utils.formatdate(time.time() + offset, usegmt=True)


def _status_error(response: Response, *, endpoint: str) -> APIError:
    """Return the error ``raise_for_status`` raises for *response*."""
    with pytest.raises(APIError) as info:
        _wire.raise_for_status(response, endpoint=endpoint)
    return info.value


@pytest.mark.parametrize(
    ("response", "error", "code"),
    [
        (
            body(
                {"ErrorCode": 10, "Message": "Request does not contain a valid Server token."}, 401
            ),
            AuthenticationError,
            10,
        ),
        (Response(401, {}, b""), AuthenticationError, None),
        # ErrorCode 10 wins whatever the status says.
        (body({"ErrorCode": 10, "Message": "bad token"}, 422), AuthenticationError, 10),
        (
            body({"ErrorCode": 701, "Message": "This message was not found."}, 422),
            NotFoundError,
            701,
        ),
        (body({"ErrorCode": 700, "Message": "Query exception"}, 422), InvalidRequestError, 700),
        (body({"ErrorCode": 900, "Message": "should be a date"}, 422), InvalidRequestError, 900),
        (body({"ErrorCode": 1226, "Message": "stream not found"}, 422), InvalidRequestError, 1226),
        (
            body({"ErrorCode": 1502, "Message": "FromDate after ToDate"}, 422),
            InvalidRequestError,
            1502,
        ),
        (body({"ErrorCode": 614, "Message": "not entitled"}, 422), PermissionDeniedError, 614),
        (
            Response(403, {"content-type": "text/html"}, b"<html>Forbidden</html>"),
            PermissionDeniedError,
            None,
        ),
        (Response(404, {}, b""), NotFoundError, None),
        (Response(415, {}, b""), InvalidRequestError, None),
        (Response(405, {}, b""), InvalidRequestError, None),
        (body({"ErrorCode": 0, "Message": "Rate Limit Exceeded"}, 429), RateLimitError, 0),
        (Response(500, {}, b"oops"), ServerError, None),
        (
            Response(502, {"content-type": "text/html"}, b"<html>bad gateway</html>"),
            ServerError,
            None,
        ),
        (body({"ErrorCode": 100, "Message": "Maintenance"}, 503), ServerError, 100),
        # ErrorCode numbers overlap HTTP statuses: code 503 under a 422 is not a server error.
        (body({"ErrorCode": 503, "Message": "something else"}, 422), InvalidRequestError, 503),
        # The code can also come from the X-PM-ApiErrorCode header.
        (Response(422, {"x-pm-apierrorcode": "701"}, b"not json"), NotFoundError, 701),
        (Response(302, {}, b""), APIError, None),
    ],
)
def test_error_mapping_table(response, error, code):
    """ErrorCode is read first, then the HTTP status, and picks the error class."""
    err = _status_error(response, endpoint="GET /messages/outbound")
    assert type(err) is error
    assert err.code == code
    assert err.status == response.status
    assert err.provider == "postmark"
    assert err.endpoint == "GET /messages/outbound"


def test_error_message_comes_from_the_body():
    """The provider's Message is the error's message; the body excerpt is kept."""
    raw = {"ErrorCode": 701, "Message": "This message was not found."}
    err = _status_error(body(raw, 422), endpoint="e")
    assert err.message == "This message was not found."
    assert "701" in (err.body or "")
    assert "This message was not found." in str(err)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after": "soon"}, None),
    ],
)
def test_rate_limit_reads_retry_after_seconds(headers, expected):
    """A 429 carries Retry-After seconds when sent, else None."""
    err = _status_error(Response(429, headers, b""), endpoint="e")
    assert isinstance(err, RateLimitError)
    assert err.retry_after == expected


def test_rate_limit_reads_retry_after_http_date():
    """A Retry-After HTTP date becomes the seconds until then."""
    err = _status_error(Response(429, {"retry-after": _http_date(30)}, b""), endpoint="e")
    assert isinstance(err, RateLimitError)
    assert err.retry_after is not None
    assert 25 <= err.retry_after <= 31


@pytest.mark.parametrize(
    "decode",
    [
        _wire.MESSAGES.decode,
        _wire.OPENS.decode,
        _wire.CLICKS.decode,
        _wire.decode_details,
        _wire.decode_dump,
        lambda r: _wire.decode_stats(r, SentCounts, endpoint="GET /stats/outbound/sends"),
    ],
)
def test_every_decoder_raises_the_mapped_error(decode):
    """Decoders turn an error reply into the mapped exception."""
    with pytest.raises(NotFoundError) as info:
        decode(body({"ErrorCode": 701, "Message": "This message was not found."}, 422))
    assert info.value.code == 701


# --------------------------------------------------------------------------- decoding


def test_decode_messages_returns_items_and_total():
    """A search page gives its messages and TotalCount."""
    items, total = _wire.MESSAGES.decode(body({"TotalCount": 1893, "Messages": [MESSAGE]}))
    assert total == 1893
    (message,) = items
    assert message.message_id == "id-1"
    assert message.status is MessageStatus.SENT
    assert message.track_links is TrackLinks.HTML_ONLY
    assert message.received_at == dt.datetime(2024, 7, 1, 14, 0, 0, 123456, tzinfo=UTC)
    assert message.to[0].name is None


def test_total_count_as_a_numeric_string_is_accepted():
    """TotalCount typed as a string (as one SDK declares it) still decodes."""
    _, total = _wire.OPENS.decode(body({"TotalCount": "12", "Opens": []}))
    assert total == 12


@pytest.mark.parametrize(
    "data",
    [
        {"Messages": []},
        {"TotalCount": None, "Messages": []},
        {"TotalCount": True, "Messages": []},
        {"TotalCount": "many", "Messages": []},
        {"TotalCount": 1, "Messages": {"a": 1}},
        {"TotalCount": 1, "Messages": [{"MessageID": "x"}]},
        {"TotalCount": 1, "Messages": [{**MESSAGE, "ReceivedAt": "yesterday"}]},
        [MESSAGE],
    ],
)
def test_wrong_shapes_are_decode_errors(data):
    """A body that does not fit the envelope or the model raises DecodeError."""
    with pytest.raises(DecodeError) as info:
        _wire.MESSAGES.decode(body(data))
    assert info.value.endpoint == "GET /messages/outbound"


def test_non_json_success_is_a_decode_error():
    """A 200 whose body is not JSON (an HTML page, a cut body) raises DecodeError."""
    response = Response(200, {"content-type": "text/html"}, b"<html>hello</html>")
    with pytest.raises(DecodeError):
        _wire.OPENS.decode(response)


def test_missing_list_with_zero_total_is_empty():
    """A null list with TotalCount 0 decodes to no items."""
    assert _wire.CLICKS.decode(body({"TotalCount": 0, "Clicks": None})) == ([], 0)


def test_decode_dump_returns_the_body_string():
    """The dump is its Body string; an absent Body is the empty string."""
    assert _wire.decode_dump(body({"Body": "Received: x\r\n\r\nhi"})) == "Received: x\r\n\r\nhi"
    assert _wire.decode_dump(body({"Body": ""})) == ""
    assert _wire.decode_dump(body({})) == ""
    with pytest.raises(DecodeError):
        _wire.decode_dump(body({"Body": 5}))


def test_details_normalise_event_details_to_strings():
    """BounceID as a number, booleans and nulls in Details become strings or disappear."""
    data = {
        **MESSAGE,
        "TextBody": "t",
        "HtmlBody": "<p>h</p>",
        "Body": "raw",
        "MessageEvents": [
            {
                "Recipient": "b@example.com",
                "Type": "Bounced",
                "ReceivedAt": "2024-07-01T10:00:05.0000000-04:00",
                "Details": {"BounceID": 1033567275, "Summary": "failed", "Extra": None},
            },
            {
                "Recipient": "b@example.com",
                "Type": "SubscriptionChanged",
                "ReceivedAt": "2024-07-01T10:00:06-04:00",
                "Details": {"Origin": "Recipient", "SuppressSending": True},
            },
            {
                "Recipient": "b@example.com",
                "Type": "Forwarded",
                "ReceivedAt": "2024-07-01T10:00:07-04:00",
                "Details": {"Where": {"a": [1, 2]}},
            },
        ],
    }
    details = _wire.decode_details(body(data))
    bounced, changed, unknown = details.message_events
    assert bounced.type is EventType.BOUNCED
    assert bounced.details == {"BounceID": "1033567275", "Summary": "failed"}
    assert changed.details == {"Origin": "Recipient", "SuppressSending": "True"}
    assert unknown.type == "Forwarded"
    assert not unknown.type.known
    assert unknown.details == {"Where": '{"a":[1,2]}'}
    assert (details.text_body, details.html_body, details.body) == ("t", "<p>h</p>", "raw")


def test_attachments_as_objects_give_their_names():
    """Attachments given as objects with a Name decode to their names."""
    data = {**MESSAGE, "Attachments": ["a.pdf", {"Name": "b.png", "ContentType": "image/png"}]}
    (message,), _ = _wire.MESSAGES.decode(body({"TotalCount": 1, "Messages": [data]}))
    assert message.attachments == ("a.pdf", "b.png")


def test_unknown_enum_values_are_kept():
    """A status or platform Postmark adds later decodes as a pseudo-member."""
    data = {**MESSAGE, "Status": "Archived", "TrackLinks": "Everywhere"}
    (message,), _ = _wire.MESSAGES.decode(body({"TotalCount": 1, "Messages": [data]}))
    assert message.status == "Archived"
    assert not message.status.known
    assert message.track_links == "Everywhere"


def test_open_with_empty_geo_and_missing_optionals():
    """Geo: {} decodes to an all-None Geo; absent Client/OS/Platform are None."""
    data = {
        "MessageID": "m",
        "ReceivedAt": "2017-02-24T23:50:09.8976957-05:00",
        "Recipient": "r@x",
        "Geo": {},
    }
    (open_,), total = _wire.OPENS.decode(body({"TotalCount": 1, "Opens": [data]}))
    assert total == 1
    assert open_.geo is not None
    assert open_.geo.country is None
    assert open_.client is None
    assert open_.os is None
    assert open_.platform is None
    assert open_.read_seconds is None


def test_click_decodes_every_documented_field():
    """A full click reply fills every field of Click."""
    data = {
        "RecordType": "Click",
        "ClickLocation": "HTML",
        "OriginalLink": "https://example.com/pricing",
        "Client": {"Name": "Chrome 120.0", "Company": "Google", "Family": "Chrome"},
        "OS": {"Name": "Windows 10", "Company": "Microsoft Corporation", "Family": "Windows 10"},
        "Platform": "Desktop",
        "UserAgent": "Mozilla/5.0",
        "Geo": {
            "CountryISOCode": "US",
            "Country": "United States",
            "RegionISOCode": "CA",
            "Region": "California",
            "City": "San Francisco",
            "Zip": "94107",
            "Coords": "37.7,-122.4",
            "IP": "203.0.113.7",
        },
        "MessageID": "f0e3",
        "MessageStream": "outbound",
        "ReceivedAt": "2024-01-01T10:05:02.1234567-05:00",
        "Tag": "welcome",
        "Recipient": "jane@example.com",
    }
    strict = make_converter(strict=True)
    (click,), _ = _wire.CLICKS.decode(body({"TotalCount": 1, "Clicks": [data]}), converter=strict)
    assert click.click_location == "HTML"
    assert click.platform is Platform.DESKTOP
    assert click.client is not None
    assert click.client.family == "Chrome"
    assert click.os is not None
    assert click.os.company == "Microsoft Corporation"
    assert click.geo is not None
    assert (click.geo.country_iso_code, click.geo.ip, click.geo.zip) == (
        "US",
        "203.0.113.7",
        "94107",
    )
    assert click.received_at.utcoffset() == dt.timedelta(hours=-5)


def test_production_decoding_ignores_new_keys_but_strict_does_not():
    """Unknown keys pass the lenient converter and fail the strict one."""
    data = {**MESSAGE, "BrandNewField": 1}
    page = body({"TotalCount": 1, "Messages": [data]})
    (message,), _ = _wire.MESSAGES.decode(page)
    assert message.message_id == "id-1"
    with pytest.raises(DecodeError, match="BrandNewField"):
        _wire.MESSAGES.decode(page, converter=make_converter(strict=True))


STATS_MODELS = [
    SentCounts,
    BounceCounts,
    SpamComplaintCounts,
    TrackedCounts,
    OpenCounts,
    OpenPlatformCounts,
    ClickCounts,
    ClickPlatformCounts,
    ClickLocationCounts,
    DynamicCounts,
]


@pytest.mark.parametrize("model", STATS_MODELS)
def test_empty_day_series_decode_to_zeros(model):
    """{"Days": []} (an empty range) decodes to no days and zero totals."""
    series = _wire.decode_stats(
        body({"Days": []}), model, endpoint="e", converter=make_converter(strict=True)
    )
    assert series.days == ()
    if model is DynamicCounts:
        assert series.totals == {}
    else:
        counters = [f.name for f in attrs.fields(model) if f.name not in {"days", "extra"}]
        assert counters
        assert all(getattr(series, name) == 0 for name in counters)


def test_sparse_days_default_missing_counters_to_zero():
    """Keys absent from a day (zero counts) decode as 0."""
    data = {
        "Days": [
            {"Date": "2014-01-01", "HardBounce": 12, "SoftBounce": 1},
            {"Date": "2014-01-03", "Transient": 2},
        ],
        "HardBounce": 12,
        "SoftBounce": 1,
        "SMTPApiError": 0,
        "Transient": 2,
    }
    series = _wire.decode_stats(
        body(data), BounceCounts, endpoint="e", converter=make_converter(strict=True)
    )
    first, second = series.days
    assert (first.date, first.hard_bounce, first.soft_bounce, first.transient) == (
        dt.date(2014, 1, 1),
        12,
        1,
        0,
    )
    assert (second.date, second.hard_bounce, second.transient, second.smtp_api_error) == (
        dt.date(2014, 1, 3),
        0,
        2,
        0,
    )
    assert (series.hard_bounce, series.transient) == (12, 2)


def test_platform_and_location_series_use_snake_case_fields():
    """WebMail → web_mail, HTML → html, Text → text."""
    strict = make_converter(strict=True)
    platforms = _wire.decode_stats(
        body(
            {
                "Days": [{"Date": "2024-01-01", "WebMail": 3, "Desktop": 1}],
                "WebMail": 3,
                "Desktop": 1,
            }
        ),
        OpenPlatformCounts,
        endpoint="e",
        converter=strict,
    )
    assert (platforms.web_mail, platforms.days[0].web_mail, platforms.mobile) == (3, 3, 0)
    location = _wire.decode_stats(
        body({"Days": [{"Date": "2024-01-01", "HTML": 14, "Text": 6}], "HTML": 14, "Text": 6}),
        ClickLocationCounts,
        endpoint="e",
        converter=strict,
    )
    assert (location.html, location.text, location.days[0].html) == (14, 6, 14)


def test_dynamic_keys_become_mappings():
    """Client names and read-time buckets are kept as keys per day and in the totals."""
    data = {
        "Days": [
            {"Date": "2017-01-30", "0s": 1, "16s": 1, "unknown": 1},
            {"Date": "2017-01-31", "20s+": 2, "4s": 2},
        ],
        "0s": 1,
        "16s": 1,
        "20s+": 2,
        "4s": 2,
        "unknown": 1,
    }
    series = _wire.decode_stats(body(data), DynamicCounts, endpoint="e")
    assert series.days[0].date == dt.date(2017, 1, 30)
    assert series.days[0].counts == {"0s": 1, "16s": 1, "unknown": 1}
    assert series.days[1].counts == {"20s+": 2, "4s": 2}
    assert series.totals == {"0s": 1, "16s": 1, "20s+": 2, "4s": 2, "unknown": 1}


@pytest.mark.parametrize(
    "data",
    [
        {"Days": [{"Gmail": 1}]},
        {"Days": [{"Date": "2017-01-30", "Gmail": "lots"}]},
        {"Days": "none"},
        {"Days": [], "Gmail": 1.5},
    ],
)
def test_malformed_dynamic_series_are_decode_errors(data):
    """A day without a date or a non-integer count raises DecodeError."""
    with pytest.raises(DecodeError):
        _wire.decode_stats(body(data), DynamicCounts, endpoint="e")


def test_overview_reads_rates_as_floats_and_defaults_absent_counters():
    """The overview's rates are floats; counters it omits are 0."""
    overview = _wire.decode_stats(
        body({"Sent": 93, "BounceRate": 1.5, "SMTPApiErrors": 2}), OutboundOverview, endpoint="e"
    )
    assert (overview.sent, overview.bounce_rate, overview.smtp_api_errors, overview.opens) == (
        93,
        1.5,
        2,
        0,
    )


def test_counter_that_is_not_an_integer_is_a_decode_error():
    """A fractional or boolean count is refused, not truncated."""
    with pytest.raises(DecodeError):
        _wire.decode_stats(body({"Days": [], "Sent": 1.5}), SentCounts, endpoint="e")
    with pytest.raises(DecodeError):
        _wire.decode_stats(body({"Days": [], "Sent": True}), SentCounts, endpoint="e")
