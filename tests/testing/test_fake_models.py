"""The fakes' truth as the library's models equals what the clients return over HTTP."""

from __future__ import annotations

import datetime as dt

import pytest

from asyncmailstats import Session
from asyncmailstats.emailconsul import LinkStat
from asyncmailstats.getresponse import Grouping, Message, MessageStatsSeries
from asyncmailstats.postmark import Click, Open, OutboundMessage
from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)


async def test_postmark_models_are_what_the_client_streams() -> None:
    """Messages, opens and clicks of one stream, decoded either way, are equal."""
    async with FakePostmark(messages=150, seed=3, now=NOW) as fake, Session() as session:
        pm = session.postmark(server_token=fake.token, base_url=fake.url)
        messages, opens, clicks = fake.message_models(), fake.open_models(), fake.click_models()
        assert len(messages) == len(fake.messages) == 150
        assert len(opens) == len(fake.opens) > 0
        assert len(clicks) == len(fake.clicks) > 0
        assert all(isinstance(m, OutboundMessage) for m in messages)
        assert all(isinstance(o, Open) for o in opens)
        assert all(isinstance(c, Click) for c in clicks)
        assert [m.message_id for m in messages] == fake.message_ids()
        for stream in ("outbound", "broadcast"):
            got = await pm.opens(message_stream=stream).to_list()
            assert got == [o for o in opens if o.message_stream == stream]
            got_clicks = await pm.clicks(message_stream=stream).to_list()
            assert got_clicks == [c for c in clicks if c.message_stream == stream]
            got_messages = await pm.outbound_messages(
                message_stream=stream, from_date=(NOW - dt.timedelta(days=60)).date()
            ).to_list()
            assert got_messages == [m for m in messages if m.message_stream == stream]


async def test_postmark_models_follow_arrivals() -> None:
    """Models are computed from the dataset as it is when asked."""
    async with FakePostmark(messages=20, seed=1, now=NOW) as fake:
        before = fake.open_models()
        fake.add_opens(3)
        assert len(fake.open_models()) == len(before) + 3


async def test_getresponse_models_are_what_the_client_returns() -> None:
    """Messages, links and every grouping of the stats, decoded either way, are equal."""
    async with FakeGetResponse(messages=30, seed=6, now=NOW) as fake, Session() as session:
        gr = session.getresponse(api_key=fake.api_key, base_url=fake.url)
        models = fake.message_models()
        assert list(models) == list(fake.messages)
        assert all(isinstance(m, Message) for m in models.values())
        for kind in ("newsletter", "autoresponder", "ab_test", "draft"):
            want = [m for m in models.values() if m.type == kind]
            assert await gr.messages(type=kind) == want
        assert await gr.links() == list(fake.link_models().values())
        for message_id in list(models)[:10]:
            for grouping in Grouping:
                want_series = fake.stats_models(message_id, grouping)
                assert isinstance(want_series, MessageStatsSeries)
                assert await gr.message_stats(message_id, grouping=grouping) == want_series
        assert fake.stats_models(message_id, "daily") == fake.stats_models(
            message_id, Grouping.DAILY
        )


def test_getresponse_stats_models_refuse_what_the_fake_does_not_know() -> None:
    fake = FakeGetResponse(messages=3, seed=1, now=NOW)
    with pytest.raises(KeyError):
        fake.stats_models("nope")
    with pytest.raises(ValueError, match="weekly"):
        fake.stats_models(next(iter(fake.messages)), "weekly")


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"group": "country"},
        {"group": "params", "sort": "-count"},
        {"group": "device", "sort": "device"},
        {"group": "subscriber_id", "campaign_id": "cmp_5bc8fb"},
    ],
    ids=lambda q: ",".join(f"{k}={v}" for k, v in q.items()) or "default",
)
async def test_emailconsul_link_stat_models_are_what_the_client_streams(
    query: dict[str, str],
) -> None:
    """The aggregated link stats for one query, decoded either way, are equal."""
    async with FakeEmailConsul(link_logs=400, seed=5, now=NOW) as fake, Session() as session:
        ec = session.emailconsul(api_key=fake.api_key, base_url=fake.url)
        period = {"period_from": NOW - dt.timedelta(days=20), "period_to": NOW}
        want = fake.link_stat_models(**period, **query)
        assert want
        assert all(isinstance(row, LinkStat) for row in want)
        got = await ec.link_stats(**period, **query, page_size=25).to_list()
        assert got == want


def test_emailconsul_link_stat_models_check_the_query_as_the_client_does() -> None:
    fake = FakeEmailConsul(link_logs=10, seed=1, now=NOW)
    with pytest.raises(ValueError, match=r"naive|aware|timezone"):
        fake.link_stat_models(period_from=dt.datetime(2024, 1, 1), period_to=NOW)  # noqa: DTZ001
    with pytest.raises(ValueError):
        fake.link_stat_models(period_from=NOW, period_to=NOW, group="colour")
