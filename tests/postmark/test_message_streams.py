"""GET /message-streams: the request, the model and the fake's listing."""

from __future__ import annotations

import datetime as dt

import pytest

from asyncmailstats import Session
from asyncmailstats._http import Response
from asyncmailstats.postmark import _wire
from asyncmailstats.postmark._convert import make_converter
from asyncmailstats.postmark._wire import decode_message_streams
from asyncmailstats.postmark.models import MessageStream, MessageStreamType
from asyncmailstats.testing import FakePostmark

NOW = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)

#: The example of Postmark's documentation, with every field present.
DOCUMENTED = b"""{"MessageStreams": [{
  "ID": "broadcasts", "ServerID": 123456, "Name": "Broadcast Stream",
  "Description": "This is my stream to send broadcast messages",
  "MessageStreamType": "Broadcasts", "CreatedAt": "2020-07-01T00:00:00-04:00",
  "UpdatedAt": "2020-07-02T00:00:00-04:00", "ArchivedAt": null, "ExpectedPurgeDate": null,
  "SubscriptionManagementConfiguration": {"UnsubscribeHandlingType": "None"}}],
  "TotalCount": 1}"""


def test_the_request_names_the_type_and_archived_flag() -> None:
    """The filter is sent in Postmark's spelling whatever case it was given in."""
    request = _wire.message_streams_request("broadcasts", include_archived=True)
    assert request.path == "/message-streams"
    assert dict(request.params) == {
        "MessageStreamType": "Broadcasts",
        "IncludeArchivedStreams": "true",
    }
    assert dict(_wire.message_streams_request().params) == {
        "MessageStreamType": "All",
        "IncludeArchivedStreams": "false",
    }


@pytest.mark.parametrize(
    ("stream_type", "archived", "error"),
    [
        ("outbound", False, ValueError),
        ("", False, ValueError),
        (3, False, TypeError),
        ("All", 1, TypeError),
        ("All", "yes", TypeError),
    ],
)
def test_bad_arguments_are_refused(stream_type: object, archived: object, error: type) -> None:
    """A type Postmark does not know, or a flag that is not a bool, fails at once."""
    with pytest.raises(error):
        _wire.message_streams_request(stream_type, include_archived=archived)


def test_the_documented_reply_decodes_strictly() -> None:
    """Every declared field of the documented reply is read; the nested setting is kept."""
    response = Response(200, {}, DOCUMENTED)
    strict = make_converter(strict=True)
    with pytest.raises(Exception, match="SubscriptionManagementConfiguration"):
        decode_message_streams(response, endpoint="GET /message-streams", converter=strict)
    (stream,) = decode_message_streams(response, endpoint="GET /message-streams")
    assert stream.id == "broadcasts"
    assert stream.server_id == 123456
    assert stream.message_stream_type is MessageStreamType.BROADCASTS
    assert stream.updated_at == dt.datetime(2020, 7, 2, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    assert stream.archived_at is None
    assert stream.extra == {
        "SubscriptionManagementConfiguration": {"UnsubscribeHandlingType": "None"}
    }


async def test_the_fake_lists_its_streams_by_type() -> None:
    """The fake lists the two outbound streams its data uses and the inbound one."""
    async with FakePostmark(messages=20, now=NOW) as fake, Session() as session:
        api = session.postmark(server_token=fake.token, base_url=fake.url)
        every = await api.message_streams()
        inbound = await api.message_streams(MessageStreamType.INBOUND)
        broadcasts = await api.message_streams("BROADCASTS", include_archived=True)
    assert [(s.id, s.message_stream_type) for s in every] == [
        ("outbound", MessageStreamType.TRANSACTIONAL),
        ("broadcast", MessageStreamType.BROADCASTS),
        ("inbound", MessageStreamType.INBOUND),
    ]
    assert all(isinstance(s, MessageStream) and s.server_id == fake.server_id for s in every)
    assert [s.id for s in inbound] == ["inbound"]
    assert [s.id for s in broadcasts] == ["broadcast"]
    assert {m["MessageStream"] for m in fake.messages} <= {s.id for s in every}
