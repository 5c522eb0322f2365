"""Bad input raises ValueError or TypeError at the call, before anything is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from asyncmailstats import Limits, RetryPolicy, Session, Timeout, fan_out
from asyncmailstats._paging import offset_paginator


async def no_fetch(offset: int, count: int) -> tuple[list[int], int]:
    raise AssertionError("nothing may be fetched")


def paginator(**options: Any) -> Callable[[Session], object]:
    settings = {"limit": None, "page_size": None, "max_page_size": 500, "prefetch": 4, **options}
    return lambda _: offset_paginator(no_fetch, **settings)


def postmark(**options: Any) -> Callable[[Session], object]:
    return lambda session: session.postmark(**{"server_token": "token", **options})


def emailconsul(**options: Any) -> Callable[[Session], object]:
    return lambda session: session.emailconsul(**{"api_key": "key", **options})


def getresponse(**options: Any) -> Callable[[Session], object]:
    return lambda session: session.getresponse(**{"api_key": "key", **options})


def build(factory: Callable[..., object], *args: Any, **kwargs: Any) -> Callable[[Session], object]:
    return lambda _: factory(*args, **kwargs)


BAD_INPUT = [
    # paging
    pytest.param(paginator(limit=-1), ValueError, id="negative-limit"),
    pytest.param(paginator(limit="5"), TypeError, id="str-limit"),
    pytest.param(paginator(prefetch=0), ValueError, id="prefetch-0"),
    pytest.param(paginator(prefetch=2.0), TypeError, id="float-prefetch"),
    pytest.param(paginator(page_size=0), ValueError, id="page-size-0"),
    pytest.param(paginator(page_size=501), ValueError, id="page-size-too-big"),
    # limits, retry, timeout
    pytest.param(build(Limits, max_concurrency=0), ValueError, id="max-concurrency-0"),
    pytest.param(build(Limits, max_concurrency=-4), ValueError, id="max-concurrency-negative"),
    pytest.param(build(Limits, max_concurrency=2.5), TypeError, id="max-concurrency-float"),
    pytest.param(build(Limits, max_rate=-1), ValueError, id="max-rate-negative"),
    pytest.param(build(Limits, max_rate=0), ValueError, id="max-rate-0"),
    pytest.param(build(Limits, max_rate=float("inf")), ValueError, id="max-rate-inf"),
    pytest.param(build(Limits, max_rate="fast"), TypeError, id="max-rate-str"),
    pytest.param(build(Limits, adaptive=1), TypeError, id="adaptive-int"),
    pytest.param(build(RetryPolicy, max_attempts=0), ValueError, id="max-attempts-0"),
    pytest.param(build(RetryPolicy, max_attempts=True), TypeError, id="max-attempts-bool"),
    pytest.param(build(RetryPolicy, initial_delay=-0.1), ValueError, id="initial-delay-negative"),
    pytest.param(build(RetryPolicy, max_delay=float("nan")), ValueError, id="max-delay-nan"),
    pytest.param(build(RetryPolicy, max_retry_after=-1), ValueError, id="max-retry-after-neg"),
    pytest.param(build(Timeout, total=-1), ValueError, id="timeout-negative"),
    pytest.param(build(Timeout, total=0), ValueError, id="timeout-0"),
    pytest.param(build(Timeout, connect=float("inf")), ValueError, id="connect-inf"),
    pytest.param(build(Timeout, total="30"), TypeError, id="timeout-str"),
    pytest.param(build(Session, max_body_size=0), ValueError, id="max-body-size-0"),
    pytest.param(build(Session, max_body_size=1.5), TypeError, id="max-body-size-float"),
    pytest.param(build(Session, limits={"max_concurrency": 2}), TypeError, id="limits-dict"),
    pytest.param(build(Session, retry=3), TypeError, id="retry-int"),
    pytest.param(build(Session, timeout=30), TypeError, id="timeout-number"),
    # fan_out
    pytest.param(build(fan_out, "not callable", [1]), TypeError, id="fan-out-not-callable"),
    pytest.param(build(fan_out, abs, 42), TypeError, id="fan-out-not-iterable"),
    pytest.param(build(fan_out, abs, [1], concurrency=0), ValueError, id="fan-out-concurrency-0"),
    # credentials
    pytest.param(postmark(server_token=""), ValueError, id="empty-token"),
    pytest.param(postmark(server_token="   "), ValueError, id="blank-token"),
    pytest.param(postmark(server_token=None), TypeError, id="none-token"),
    pytest.param(postmark(server_token="a\r\nb"), ValueError, id="token-with-newline"),
    pytest.param(emailconsul(api_key=""), ValueError, id="empty-emailconsul-key"),
    pytest.param(emailconsul(auth_header=""), ValueError, id="empty-auth-header"),
    pytest.param(getresponse(api_key=""), ValueError, id="empty-getresponse-key"),
    pytest.param(getresponse(api_key=b"key"), TypeError, id="bytes-key"),
    # base URLs
    pytest.param(postmark(base_url="ftp://api.example.com"), ValueError, id="ftp-url"),
    pytest.param(postmark(base_url="api.postmarkapp.com"), ValueError, id="no-scheme"),
    pytest.param(postmark(base_url="https://"), ValueError, id="no-host"),
    pytest.param(postmark(base_url="https://h.example/?a=1"), ValueError, id="url-with-query"),
    pytest.param(postmark(base_url="https://u:p@h.example"), ValueError, id="url-with-user"),
    pytest.param(emailconsul(base_url="file:///etc"), ValueError, id="file-url"),
    pytest.param(getresponse(base_url=42), TypeError, id="url-not-str"),
    pytest.param(postmark(limits=5), TypeError, id="per-client-limits-wrong-type"),
    pytest.param(postmark(retry="again"), TypeError, id="per-client-retry-wrong-type"),
]


@pytest.mark.parametrize(("make", "error"), BAD_INPUT)
async def test_bad_input_fails_at_the_call(memory_transport, make, error) -> None:
    """The call raises the documented built-in error and nothing is sent or registered."""
    async with Session(transport=memory_transport) as session:
        with pytest.raises(error):
            make(session)
        assert session.statistics().providers == ()
    assert memory_transport.sent == []


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost", "https://api.example.com/v1/"]
)
async def test_good_base_urls_are_accepted(memory_transport, url) -> None:
    """HTTPS URLs and plain HTTP on loopback are accepted, a trailing slash dropped."""
    async with Session(transport=memory_transport) as session:
        session.postmark(server_token="token", base_url=url)
        assert next(iter(session._clients.values())).base_url == url.rstrip("/")


async def test_plain_http_to_a_remote_host_is_warned_about(memory_transport, caplog) -> None:
    """Plain HTTP to a non-loopback host works but logs a warning."""
    async with Session(transport=memory_transport) as session:
        session.postmark(server_token="token", base_url="http://api.example.com")
    assert any("plain HTTP" in r.getMessage() for r in caplog.records)
