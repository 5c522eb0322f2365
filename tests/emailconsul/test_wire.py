"""EmailConsul's pure protocol: arguments, requests, bodies and errors, with bytes alone."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncmailstats._http import Response
from asyncmailstats.emailconsul import (
    DeliveryDay,
    LinkGroup,
    LinkStat,
    LinkTimeseriesPoint,
    PixelTimeseriesPoint,
    _wire,
)
from asyncmailstats.emailconsul._convert import make_converter
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

STRICT = make_converter(strict=True)
D = date(2021, 7, 6)


def ok(payload: object) -> Response:
    return Response(200, {"content-type": "application/json"}, json.dumps(payload).encode())


# -- periods ---------------------------------------------------------------------------


def test_period_is_sent_as_utc_with_milliseconds() -> None:
    """An aware datetime in another zone is converted to UTC and given 3 fractional digits."""
    cest = timezone(timedelta(hours=2))
    value = datetime(2021, 7, 6, 2, 30, 15, 123_999, tzinfo=cest)
    assert _wire.format_period(value, "p") == "2021-07-06T00:30:15.123Z"


def test_period_without_fraction_still_has_milliseconds() -> None:
    """A whole second is written with ``.000`` as the documented example shows."""
    assert _wire.format_period(datetime(2021, 7, 6, tzinfo=UTC), "p") == "2021-07-06T00:00:00.000Z"


def test_period_params_are_ordered_pairs() -> None:
    """``period_params`` returns period_from then period_to, both formatted."""
    start = datetime(2021, 7, 1, tzinfo=UTC)
    end = datetime(2021, 7, 6, 12, tzinfo=UTC)
    assert _wire.period_params(start, end) == (
        ("period_from", "2021-07-01T00:00:00.000Z"),
        ("period_to", "2021-07-06T12:00:00.000Z"),
    )


def test_equal_period_bounds_are_accepted() -> None:
    """A period may start and end at the same instant."""
    moment = datetime(2021, 7, 1, tzinfo=UTC)
    assert len(_wire.period_params(moment, moment)) == 2


def test_naive_period_is_refused() -> None:
    """A naive datetime raises ValueError: its time zone would be a guess."""
    with pytest.raises(ValueError, match="timezone-aware"):
        _wire.period_params(datetime(2021, 7, 1), datetime(2021, 7, 2, tzinfo=UTC))  # noqa: DTZ001


@pytest.mark.parametrize("value", [D, "2021-07-06T00:00:00.000Z", 1625529600, None])
def test_period_of_wrong_type_is_refused(value: object) -> None:
    """A date, a string, a number or None is a TypeError, not a silent conversion."""
    with pytest.raises(TypeError, match="period_from"):
        _wire.period_params(value, datetime(2021, 7, 2, tzinfo=UTC))


def test_reversed_period_is_refused() -> None:
    """period_from after period_to raises ValueError, comparing instants across zones."""
    start = datetime(2021, 7, 2, 1, tzinfo=timezone(timedelta(hours=-5)))  # 06:00 UTC
    end = datetime(2021, 7, 2, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="after"):
        _wire.period_params(start, end)


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=9))]
        ),
    )
)
def test_period_round_trips_to_the_millisecond(value: datetime) -> None:
    """Parsing the formatted period gives back the same instant, truncated to milliseconds."""
    text = _wire.format_period(value, "p")
    assert text.endswith("Z")
    assert len(text) == len("2021-07-06T00:00:00.000Z")
    parsed = datetime.fromisoformat(text)
    truncated = value.replace(microsecond=value.microsecond // 1000 * 1000)
    assert parsed == truncated


# -- other arguments -------------------------------------------------------------------


@pytest.mark.parametrize("group", [*LinkGroup, *(g.value for g in LinkGroup)])
def test_every_documented_group_is_accepted(group: str) -> None:
    """Each documented grouping is accepted as the enum member or its string."""
    assert _wire.check_group(group) is LinkGroup(group)


def test_group_enum_has_exactly_the_documented_values() -> None:
    """LinkGroup lists the eight groupings the aggregated endpoint documents, no more."""
    assert {g.value for g in LinkGroup} == {
        "campaign_id",
        "subscriber_id",
        "device",
        "country",
        "ip",
        "browser",
        "custom_link_title",
        "params",
    }


def test_unknown_group_is_a_value_error() -> None:
    """An unknown grouping raises ValueError naming the valid ones."""
    with pytest.raises(ValueError, match="campaign_id"):
        _wire.check_group("city")


def test_group_of_wrong_type_is_a_type_error() -> None:
    """A non-string grouping raises TypeError."""
    with pytest.raises(TypeError):
        _wire.check_group(3)


def test_pixel_groups_are_restricted() -> None:
    """Only campaign_id and subscriber_id are groupings of the pixel series."""
    assert _wire.check_group("subscriber_id", _wire.PIXEL_GROUPS) is LinkGroup.SUBSCRIBER_ID
    with pytest.raises(ValueError, match="not available"):
        _wire.check_group(LinkGroup.COUNTRY, _wire.PIXEL_GROUPS)


@pytest.mark.parametrize("sort", ["count", "-count", "campaign_id", "-params_value", "date"])
def test_valid_sort_keys_pass(sort: str) -> None:
    """A lower-case field name with an optional leading '-' is a sort key."""
    assert _wire.check_sort(sort) == sort


@pytest.mark.parametrize("sort", ["", "Count", "--count", "count desc", "+count", "count,ip", "-"])
def test_malformed_sort_keys_fail(sort: str) -> None:
    """Anything else is a ValueError."""
    with pytest.raises(ValueError, match="sort"):
        _wire.check_sort(sort)


@pytest.mark.parametrize("value", ["spring-2024_A", "abc", "A-1"])
def test_campaign_ids_allow_letters_digits_dash_underscore(value: str) -> None:
    """Campaign IDs of letters, digits, '-' and '_' pass unchanged."""
    assert _wire.check_campaign_id(value) == value


@pytest.mark.parametrize("value", ["", "a.b", "a b", "a/b", "a@b.com", "x\n"])
def test_campaign_ids_refuse_other_characters(value: str) -> None:
    """Any other character (or nothing) is a ValueError."""
    with pytest.raises(ValueError, match="campaign_id"):
        _wire.check_campaign_id(value)


@pytest.mark.parametrize("value", ["sub-1", "a.b_c-9", "jane.doe+news@example.co.uk"])
def test_subscriber_ids_allow_ids_and_emails(value: str) -> None:
    """Subscriber IDs may use '.' too, or be an email address."""
    assert _wire.check_subscriber_id(value) == value


@pytest.mark.parametrize("value", ["", "a b", "jane@", "@example.com", "a/b", "jane@example"])
def test_subscriber_ids_refuse_the_rest(value: str) -> None:
    """Spaces, slashes and half email addresses are ValueErrors."""
    with pytest.raises(ValueError, match="subscriber_id"):
        _wire.check_subscriber_id(value)


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (_wire.check_campaign_id, 12),
        (_wire.check_subscriber_id, b"sub"),
        (_wire.check_sort, None),
        (_wire.check_profile_id, 7),
        (_wire.check_domain, ["example.com"]),
    ],
)
def test_filters_of_wrong_type_are_type_errors(check: object, value: object) -> None:
    """Filters that are not strings raise TypeError."""
    with pytest.raises(TypeError):
        check(value)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("status", "sent"),
    [
        ("DELIVERED", "DELIVERED"),
        ("REQUESTED,SENDING", "REQUESTED,SENDING"),
        (["REQUESTED", "SENDING"], "REQUESTED,SENDING"),
        (("DELIVERED",), "DELIVERED"),
    ],
)
def test_status_is_sent_comma_separated(status: object, sent: str) -> None:
    """A status word, comma-separated words or a sequence of words become one comma list."""
    assert _wire.check_status(status) == sent


@pytest.mark.parametrize("status", ["", [], ["DELIVERED", ""], ["A,B"], "DELIVERED,", ["A B"]])
def test_bad_status_values_are_value_errors(status: object) -> None:
    """Empty lists, empty words and words holding commas or spaces are ValueErrors."""
    with pytest.raises(ValueError, match="status"):
        _wire.check_status(status)


@pytest.mark.parametrize("status", [b"DELIVERED", 3, [1], {"DELIVERED": 1}])
def test_bad_status_types_are_type_errors(status: object) -> None:
    """Bytes, numbers, non-string items and mappings are TypeErrors."""
    with pytest.raises(TypeError):
        _wire.check_status(status)


def test_optional_skips_none_and_checks_the_rest() -> None:
    """``optional`` yields nothing for None and the checked pair otherwise."""
    assert _wire.optional("sort", None, _wire.check_sort) == ()
    assert _wire.optional("sort", "-count", _wire.check_sort) == (("sort", "-count"),)


# -- requests --------------------------------------------------------------------------


def test_paged_request_appends_offset_and_limit() -> None:
    """A page request is a GET on the endpoint's path with offset and limit last."""
    request = _wire.paged(_wire.LINK_STATS, (("group", "ip"),), 200, 100)
    assert request.method == "GET"
    assert request.path == "/tracking/link/stats/aggregated"
    assert request.endpoint == "GET /tracking/link/stats/aggregated"
    assert list(request.params) == [("group", "ip"), ("offset", "200"), ("limit", "100")]
    assert request.body is None


@pytest.mark.parametrize(
    ("endpoint", "path"),
    [
        (_wire.LINK_TIMESERIES, "/tracking/link/stats/timeseries"),
        (_wire.PIXEL_TIMESERIES, "/tracking/pixel/stats/timeseries"),
        (_wire.DELIVERY_TIMESERIES, "/email_delivery/emails/stats/timeseries"),
    ],
)
def test_each_endpoint_has_its_documented_path(endpoint: str, path: str) -> None:
    """Each label maps to the documented path, relative to the base URL."""
    assert _wire.get(endpoint, ()).path == path


# -- bodies ----------------------------------------------------------------------------


def test_documented_aggregated_example_decodes() -> None:
    """The documented aggregated example gives rows with only ``country`` set, total 23."""
    body = {
        "data": [{"country": "US", "count": 412}, {"country": "DE", "count": 97}],
        "meta": {"count": 23, "offset": 0, "limit": 2},
    }
    rows, total = _wire.decode_link_stats(ok(body), STRICT)
    assert rows == (LinkStat(count=412, country="US"), LinkStat(count=97, country="DE"))
    assert total == 23


@pytest.mark.parametrize("group", [g for g in LinkGroup if g is not LinkGroup.PARAMS])
def test_each_grouping_lands_in_its_own_field(group: LinkGroup) -> None:
    """A row grouped by X carries its value in field X and None elsewhere."""
    body = {"data": [{group.value: "v", "count": 1}], "meta": {"count": 1, "offset": 0, "limit": 1}}
    (row,), _ = _wire.decode_link_stats(ok(body), STRICT)
    assert getattr(row, group.value) == "v"
    others = [f for f in LinkStat.__attrs_attrs__ if f.name not in {group.value, "count", "extra"}]
    assert all(getattr(row, f.name) is None for f in others)


def test_params_grouping_fills_name_and_value() -> None:
    """Grouping by params fills params_name and params_value."""
    body = {
        "data": [{"params_name": "utm_source", "params_value": "newsletter", "count": 5}],
        "meta": {"count": 1, "offset": 0, "limit": 10},
    }
    (row,), total = _wire.decode_link_stats(ok(body), STRICT)
    assert (row.params_name, row.params_value, row.count, total) == (
        "utm_source",
        "newsletter",
        5,
        1,
    )


def test_empty_page_decodes() -> None:
    """An empty ``data`` list with count 0 is an empty page, not an error."""
    rows, total = _wire.decode_link_stats(
        ok({"data": [], "meta": {"count": 0, "offset": 0, "limit": 100}})
    )
    assert (rows, total) == ((), 0)


def test_link_timeseries_decodes_with_and_without_group() -> None:
    """Time-series points carry a date, a count and the grouping's field when grouped."""
    body = {
        "data": [
            {"date": "2021-07-06", "count": 3},
            {"date": "2021-07-07", "count": 2, "browser": "Chrome 120.0"},
        ]
    }
    assert _wire.decode_link_timeseries(ok(body), STRICT) == [
        LinkTimeseriesPoint(date=D, count=3),
        LinkTimeseriesPoint(date=date(2021, 7, 7), count=2, browser="Chrome 120.0"),
    ]


def test_pixel_timeseries_decodes() -> None:
    """Pixel points carry date, count and campaign_id/subscriber_id when grouped."""
    body = {
        "data": [
            {"date": "2021-07-06", "count": 9, "campaign_id": "c1"},
            {"date": "2021-07-06", "count": 4, "subscriber_id": "jane@example.com"},
        ]
    }
    assert _wire.decode_pixel_timeseries(ok(body), STRICT) == [
        PixelTimeseriesPoint(date=D, count=9, campaign_id="c1"),
        PixelTimeseriesPoint(date=D, count=4, subscriber_id="jane@example.com"),
    ]


def test_delivery_day_with_every_documented_counter_decodes() -> None:
    """A delivery item with all 14 documented counters decodes field for field."""
    counters = {
        "total_count": 100,
        "requested": 1,
        "sending": 2,
        "delivered": 80,
        "opened": 40,
        "clicked": 12,
        "unsubscribed": 1,
        "hard_bounced": 3,
        "bounced": 4,
        "spam_reported": 1,
        "dropped_unsubscribed": 5,
        "dropped_hard_bounced": 2,
        "dropped_spam_reported": 1,
        "dropped_manually_suppressed": 2,
    }
    body = {
        "data": [{"date": "2021-07-06", **counters}],
        "meta": {"count": 31, "offset": 0, "limit": 1},
    }
    (day,), total = _wire.decode_delivery_timeseries(ok(body), STRICT)
    assert day == DeliveryDay(date=D, **counters)
    assert total == 31


def test_delivery_day_counters_default_to_zero() -> None:
    """A day that leaves counters out decodes with those counters at 0."""
    body = {"data": [{"date": "2021-07-06", "delivered": 5}], "meta": {"count": 1}}
    (day,), _ = _wire.decode_delivery_timeseries(ok(body), STRICT)
    assert day == DeliveryDay(date=D, delivered=5)
    assert day.total_count == 0


def test_unknown_keys_are_ignored_in_production_but_caught_strictly() -> None:
    """A new field decodes with the production converter and fails the strict one."""
    body = ok({"data": [{"date": "2021-07-06", "count": 1, "city": "Aarhus"}], "next": None})
    assert _wire.decode_pixel_timeseries(body) == [PixelTimeseriesPoint(date=D, count=1)]
    with pytest.raises(DecodeError):
        _wire.decode_pixel_timeseries(body, STRICT)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b"[]",
        b'{"data": []}',  # a paged endpoint without meta has no total
        b'{"data": {}, "meta": {"count": 0}}',
        b'{"data": "ab", "meta": {"count": 0}}',
        b'{"data": [], "meta": [1]}',
        b'{"data": [{"country": "US"}], "meta": {"count": 1}}',  # no count
        b'{"data": [{"count": "many"}], "meta": {"count": 1}}',
        b'{"data": [{"count": true}], "meta": {"count": 1}}',
        b'{"data": [], "meta": {"count": null}}',
    ],
)
def test_malformed_paged_bodies_are_decode_errors(body: bytes) -> None:
    """Bodies that are not JSON or do not fit raise DecodeError naming the endpoint."""
    with pytest.raises(DecodeError) as info:
        _wire.decode_link_stats(Response(200, {}, body))
    assert info.value.endpoint == _wire.LINK_STATS


def test_bad_date_in_series_is_a_decode_error() -> None:
    """A point whose date is not a date raises DecodeError."""
    with pytest.raises(DecodeError):
        _wire.decode_link_timeseries(ok({"data": [{"date": "yesterday", "count": 1}]}))


# -- errors ----------------------------------------------------------------------------


def _status_error(response: Response, endpoint: str) -> APIError:
    """Return the error ``raise_for_status`` raises for *response*."""
    with pytest.raises(APIError) as info:
        _wire.raise_for_status(response, endpoint=endpoint)
    return info.value


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequestError),
        (422, InvalidRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
    ],
)
def test_status_maps_to_error_class(status: int, cls: type[APIError]) -> None:
    """Each documented (and common) error status raises its class with the facts attached."""
    response = Response(status, {"content-type": "application/json"}, b'{"message": "nope"}')
    with pytest.raises(cls) as info:
        _wire.decode_link_stats(response)
    error = info.value
    assert type(error) is cls
    assert (error.provider, error.status, error.message) == ("emailconsul", status, "nope")
    assert error.endpoint == _wire.LINK_STATS
    assert error.body == '{"message": "nope"}'


@pytest.mark.parametrize("status", [405, 408, 409, 418])
def test_other_statuses_are_plain_api_errors(status: int) -> None:
    """Statuses without a class of their own raise APIError itself, keeping the status."""
    error = _status_error(Response(status, {}, b""), _wire.LINK_STATS)
    assert type(error) is APIError
    assert error.status == status


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        (b'{"message": "period_from is required"}', "period_from is required", None),
        (b'{"error": "invalid group"}', "invalid group", None),
        (b'{"error": {"message": "Forbidden", "code": 12}}', "Forbidden", 12),
        (b'{"error": "bad_request", "message": "limit too big", "code": 7}', "limit too big", 7),
        (b'{"detail": "nope", "code": true}', "nope", None),
        (b"Unauthorized: key revoked\nmore detail", "Unauthorized: key revoked", None),
        (b"<html><body>403 Forbidden</body></html>", "HTTP 403 Forbidden", None),
        (b"", "HTTP 403 Forbidden", None),
        (b'{"unexpected": 1}', "HTTP 403 Forbidden", None),
        (b'["a list"]', "HTTP 403 Forbidden", None),
    ],
)
def test_error_message_comes_from_whatever_body_was_sent(
    body: bytes, message: str, code: int | None
) -> None:
    """JSON message/error fields, plain text, or the status phrase become the message."""
    error = _status_error(Response(403, {}, body), _wire.LINK_STATS)
    assert error.message == message
    assert error.code == code
    assert error.body == body.decode()


def test_long_bodies_are_cut_in_message_and_excerpt() -> None:
    """A huge plain-text body yields a short message and a bounded excerpt."""
    error = _status_error(Response(500, {}, b"x" * 10_000), _wire.LINK_STATS)
    assert len(error.message) == 200
    assert error.body is not None
    assert len(error.body) < 600


@pytest.mark.parametrize(
    ("header", "delay"),
    [("7", 7.0), ("1.5", 1.5), (None, None), ("soon", None), ("-1", None)],
)
def test_rate_limit_reads_retry_after_seconds(header: str | None, delay: float | None) -> None:
    """A 429's Retry-After in seconds becomes retry_after; junk or absence gives None."""
    headers = {} if header is None else {"retry-after": header}
    error = _status_error(Response(429, headers, b""), _wire.LINK_STATS)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == delay
    assert error.status == 429


def test_rate_limit_reads_retry_after_http_date() -> None:
    """A Retry-After HTTP date in the future becomes a positive delay."""
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    error = _status_error(Response(429, {"retry-after": when}, b""), _wire.LINK_STATS)
    assert isinstance(error, RateLimitError)
    assert error.retry_after is not None
    assert 100 < error.retry_after <= 120


def test_errors_raise_from_every_decoder() -> None:
    """Every decoder checks the status before reading the body."""
    response = Response(401, {}, b'{"message": "bad key"}')
    for decode in (
        _wire.decode_link_stats,
        _wire.decode_link_timeseries,
        _wire.decode_pixel_timeseries,
        _wire.decode_delivery_timeseries,
    ):
        with pytest.raises(AuthenticationError):
            decode(response)
