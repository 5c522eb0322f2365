"""Faults that must not be retried surface at once, as the right error type, leaving no trace.

A body that is not JSON is a :class:`DecodeError`; a refused credential an
:class:`AuthenticationError`; an unknown object a :class:`NotFoundError`; a rejected
parameter an :class:`InvalidRequestError`. Each costs exactly one request, and a stream
that meets one mid-way stops with it and cancels the pages still in flight.
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from asyncmailstats import (
    APIError,
    AuthenticationError,
    DecodeError,
    InvalidRequestError,
    NotFoundError,
    Session,
)
from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark, FaultPlan

NOW = dt.datetime(2024, 6, 1, 16, 0, 0, tzinfo=dt.UTC)
START = NOW - dt.timedelta(days=46)
GR_NOW = dt.datetime(2024, 6, 1, 12)  # noqa: DTZ001 - GetResponse's clock has no zone
PERIOD: dict[str, Any] = {"period_from": NOW - dt.timedelta(days=40), "period_to": NOW}

Call = Callable[[Any], Awaitable[Any]]


def new_fake(provider: str, seed: int, faults: FaultPlan | None = None) -> Any:
    if provider == "postmark":
        return FakePostmark(messages=200, seed=seed, now=NOW, faults=faults)
    if provider == "emailconsul":
        return FakeEmailConsul(
            link_logs=600, pixel_logs=0, deliveries=100, seed=seed, now=NOW, faults=faults
        )
    return FakeGetResponse(messages=60, seed=seed, now=GR_NOW.replace(tzinfo=dt.UTC), faults=faults)


def api_for(
    provider: str, session: Session, fake: Any, *, secret: str | None = None, path: str = ""
) -> Any:
    url = fake.url + path
    if provider == "postmark":
        return session.postmark(server_token=secret or fake.token, base_url=url)
    if provider == "emailconsul":
        return session.emailconsul(api_key=secret or fake.api_key, base_url=url)
    return session.getresponse(api_key=secret or fake.api_key, base_url=url)


async def one_call(provider: str, api: Any, fake: Any) -> Any:
    """One single (non-stream) call of the provider."""
    if provider == "postmark":
        return await api.message_details(fake.message_ids()[0])
    if provider == "emailconsul":
        return await api.link_timeseries(**PERIOD)
    return await api.message_stats(next(iter(fake.messages)))


async def read_stream(provider: str, api: Any, fake: Any) -> list[Any]:
    """Read the provider's main stream to the end with a deep prefetch."""
    if provider == "postmark":
        stream = api.outbound_messages(from_date=START, to_date=NOW, page_size=10, prefetch=8)
        return [m async for m in stream]
    if provider == "emailconsul":
        stream = api.link_stats(**PERIOD, group="ip", page_size=10, prefetch=8)
        return [r async for r in stream]
    ids = list(fake.messages)
    async with api.message_stats_many(ids, batch_size=2, concurrency=8) as outcomes:
        return [o.unwrap() async for o in outcomes]


PROVIDERS = ["postmark", "emailconsul", "getresponse"]


async def expect_once(
    rel: types.SimpleNamespace,
    fake: Any,
    session: Session,
    error_type: type[Exception],
    call: Callable[[], Awaitable[Any]],
) -> Exception:
    """Run *call*, expecting *error_type* after exactly one request and no retry."""
    with pytest.raises(error_type) as info:
        await call()
    assert len(fake.requests) == 1
    stats = session.statistics()
    assert (stats.requests, stats.retries, stats.failures) == (1, 0, 1)
    assert info.value.attempts == 1  # type: ignore[attr-defined]
    await rel.close_cleanly(session)
    return info.value


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_non_json_body_is_a_decode_error(provider: str, rel: types.SimpleNamespace) -> None:
    """A 200 whose body is HTML raises DecodeError after one request, without a retry."""
    fake = new_fake(provider, rel.seed, FaultPlan(non_json=1.0, seed=rel.seed))
    session = Session(retry=rel.RETRY)
    async with fake, session:
        api = api_for(provider, session, fake)
        error = await expect_once(
            rel, fake, session, DecodeError, lambda: one_call(provider, api, fake)
        )
    assert fake.faults_injected["non_json"] == 1
    assert "<html>" in (error.excerpt or "")  # type: ignore[attr-defined]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_refused_credential_is_an_authentication_error(
    provider: str, rel: types.SimpleNamespace
) -> None:
    """A wrong token or key raises AuthenticationError after one request."""
    fake = new_fake(provider, rel.seed)
    session = Session(retry=rel.RETRY)
    async with fake, session:
        api = api_for(provider, session, fake, secret="not-the-right-credential-0123")
        await expect_once(
            rel, fake, session, AuthenticationError, lambda: one_call(provider, api, fake)
        )


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_unknown_path_is_not_found(provider: str, rel: types.SimpleNamespace) -> None:
    """A base URL pointing at nothing answers 404, raised as NotFoundError after one request."""
    fake = new_fake(provider, rel.seed)
    session = Session(retry=rel.RETRY)
    async with fake, session:
        api = api_for(provider, session, fake, path="/nothing-here")
        error = await expect_once(
            rel, fake, session, NotFoundError, lambda: one_call(provider, api, fake)
        )
    assert isinstance(error, APIError)
    assert error.status == 404


async def test_postmark_unknown_message_is_not_found(rel: types.SimpleNamespace) -> None:
    """Postmark's 422 with ErrorCode 701 is a NotFoundError, not retried."""
    fake = new_fake("postmark", rel.seed)
    session = Session(retry=rel.RETRY)
    async with fake, session:
        pm = api_for("postmark", session, fake)
        error = await expect_once(
            rel, fake, session, NotFoundError, lambda: pm.message_opens("no-such-id").to_list()
        )
    assert isinstance(error, APIError)
    assert (error.status, error.code) == (422, 701)


async def test_postmark_rejected_parameter_is_an_invalid_request(
    rel: types.SimpleNamespace,
) -> None:
    """Postmark's 422 for an unknown message stream is an InvalidRequestError from the stream."""
    fake = new_fake("postmark", rel.seed)
    session = Session(retry=rel.RETRY)
    async with fake, session:
        pm = api_for("postmark", session, fake)
        error = await expect_once(
            rel,
            fake,
            session,
            InvalidRequestError,
            lambda: pm.opens(message_stream="no-such-stream").to_list(),
        )
    assert isinstance(error, APIError)
    assert (error.status, error.code) == (422, 1226)


async def test_emailconsul_rejected_parameter_is_an_invalid_request(
    rel: types.SimpleNamespace,
) -> None:
    """EmailConsul's 400 for a sort field it does not know is an InvalidRequestError."""
    fake = new_fake("emailconsul", rel.seed)
    session = Session(retry=rel.RETRY)
    async with fake, session:
        ec = api_for("emailconsul", session, fake)
        error = await expect_once(
            rel,
            fake,
            session,
            InvalidRequestError,
            lambda: ec.link_stats(**PERIOD, group="ip", sort="-city").to_list(),
        )
    assert isinstance(error, APIError)
    assert error.status == 400


async def test_getresponse_missing_message_is_not_found(rel: types.SimpleNamespace) -> None:
    """GetResponse's "Missing message" is a NotFoundError, not retried."""
    fake = new_fake("getresponse", rel.seed)
    session = Session(retry=rel.RETRY)
    async with fake, session:
        gr = api_for("getresponse", session, fake)
        error = await expect_once(
            rel, fake, session, NotFoundError, lambda: gr.message_stats("no-such-message")
        )
    assert isinstance(error, APIError)
    assert error.message == "Missing message"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_stream_stops_at_a_decode_error_and_cancels_the_rest(
    provider: str, rel: types.SimpleNamespace
) -> None:
    """A non-JSON page mid-stream raises DecodeError; pages in flight are cancelled cleanly."""
    faults = FaultPlan(non_json=0.15, seed=rel.seed)
    fake = new_fake(provider, rel.seed, faults)
    session = Session(retry=rel.RETRY)
    async with fake, session:
        api = api_for(provider, session, fake)
        with pytest.raises(DecodeError):
            await read_stream(provider, api, fake)
        assert fake.faults_injected["non_json"] >= 1
        assert session.statistics().retries == 0
        await rel.settle()
        await rel.close_cleanly(session)
    await rel.settle()
    assert rel.pending_tasks() == []
