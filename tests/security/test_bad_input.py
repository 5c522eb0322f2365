"""Bad arguments to any public method fail at the call, before a single request is sent.

Every public method of the three provider APIs is called with each of its parameters
given a wrong type or an out-of-range value (and with inconsistent combinations). Each
call must raise ``TypeError`` or ``ValueError`` at once — streams too, although they are
returned without awaiting — through a session whose transport fails the test if any
request reaches it. The table of bad values is checked to cover every parameter.
"""

from __future__ import annotations

import datetime as dt
import inspect
import types
from collections.abc import Iterator
from typing import Any

import pytest

from asyncmailstats import (
    EmailConsulAPI,
    GetResponseAPI,
    Limits,
    PostmarkAPI,
    RetryPolicy,
    Session,
    Timeout,
    fan_out,
)

UTC = dt.UTC
NAIVE = dt.datetime(2024, 5, 1, 12)  # noqa: DTZ001 - deliberately naive
AWARE = dt.datetime(2024, 5, 1, 12, tzinfo=UTC)
DAY = dt.date(2024, 5, 1)

TEXT = [(5, TypeError), (b"x", TypeError), ("", ValueError), ("   ", ValueError)]
LIMIT = [("10", TypeError), (1.5, TypeError), (True, TypeError), (-1, ValueError)]
PREFETCH = [(None, TypeError), ("2", TypeError), (0, ValueError), (-3, ValueError)]
COUNT = [("2", TypeError), (1.5, TypeError), (0, ValueError), (-1, ValueError)]


def page_size(maximum: int) -> list[tuple[Any, type[Exception]]]:
    return [("10", TypeError), (True, TypeError), (0, ValueError), (maximum + 1, ValueError)]


POSTMARK_DATES = [("2024-05-01", TypeError), (1714521600, TypeError), (NAIVE, ValueError)]
POSTMARK: dict[str, list[tuple[Any, type[Exception]]]] = {
    "message_id": [
        (None, TypeError),
        (5, TypeError),
        ("", ValueError),
        (" ", ValueError),
        ("a/b", ValueError),
        ("../stats", ValueError),
        ("a\\b", ValueError),
    ],
    **dict.fromkeys(
        (
            "recipient",
            "from_email",
            "tag",
            "subject",
            "message_stream",
            "client_name",
            "client_company",
            "client_family",
            "os_name",
            "os_family",
            "os_company",
            "platform",
            "country",
            "region",
            "city",
        ),
        TEXT,
    ),
    "status": [(5, TypeError), ("delivered", ValueError), ("", ValueError)],
    "metadata": [
        ("key=value", TypeError),
        ({"a": "1", "b": "2"}, ValueError),
        ({"a": 1}, TypeError),
        ({"": "x"}, ValueError),
        ({5: "x"}, TypeError),
    ],
    "from_date": POSTMARK_DATES,
    "to_date": POSTMARK_DATES,
    "limit": LIMIT,
    "page_size": page_size(500),
    "prefetch": PREFETCH,
    "concurrency": [(None, TypeError), *COUNT],
    "stream_type": [
        (5, TypeError),
        (None, TypeError),
        ("", ValueError),
        ("outbound", ValueError),
        ("All&x=1", ValueError),
    ],
    "include_archived": [("yes", TypeError), (1, TypeError), (None, TypeError)],
}

#: The stats methods take whole days: any datetime is the wrong type there.
STATS_DATES: list[tuple[Any, type[Exception]]] = [
    ("2024-05-01", TypeError),
    (NAIVE, TypeError),
    (AWARE, TypeError),
]
POSTMARK_STATS: dict[str, list[tuple[Any, type[Exception]]]] = {
    **POSTMARK,
    "from_date": STATS_DATES,
    "to_date": STATS_DATES,
}

PERIODS = [
    (DAY, TypeError),
    ("2024-05-01T00:00:00.000Z", TypeError),
    (None, TypeError),
    (NAIVE, ValueError),
]
EC_IDS = [(5, TypeError), ("", ValueError), ("a b", ValueError), ("a&limit=1", ValueError)]
EMAILCONSUL: dict[str, list[tuple[Any, type[Exception]]]] = {
    "period_from": PERIODS,
    "period_to": PERIODS,
    "group": [(5, TypeError), ("nope", ValueError), ("COUNTRY", ValueError)],
    "sort": [(5, TypeError), ("", ValueError), ("count desc", ValueError), ("-a,b", ValueError)],
    "campaign_id": [*EC_IDS, ("x/../y", ValueError)],
    "subscriber_id": EC_IDS,
    "profile_id": [(5, TypeError), ("", ValueError), ("a\nb", ValueError)],
    "domain": [(5, TypeError), ("", ValueError), ("a\x00b", ValueError)],
    "status": [
        (5, TypeError),
        ("", ValueError),
        ([], ValueError),
        (["DELIVERED", 5], TypeError),
        ("DELIVERED&x=1", ValueError),
    ],
    "limit": LIMIT,
    "page_size": page_size(1000),
    "prefetch": PREFETCH,
}

TIMES = [
    ("2024-01-01", TypeError),
    (5, TypeError),
    ({"from": "2024-01-01"}, ValueError),
    ({"SINCE": "2024-01-01"}, ValueError),
    ({"FROM": "2024/01/01"}, ValueError),
    ({"FROM": dt.datetime(2024, 1, 1)}, TypeError),  # noqa: DTZ001 - a datetime, not a day
]
TEXTS = [
    (5, TypeError),
    ({}, ValueError),
    ({"contains": "x"}, ValueError),
    ({"LIKE": "x"}, ValueError),
    ({"CONTAINS": 5}, TypeError),
]
ID_LISTS = [("abc", TypeError), (5, TypeError), ([], ValueError), ([""], ValueError)]
GETRESPONSE: dict[str, list[tuple[Any, type[Exception]]]] = {
    "message_id": [(None, TypeError), (5, TypeError), ("", ValueError), (" ", ValueError)],
    "message_ids": [
        ("abc", TypeError),
        (b"abc", TypeError),
        (5, TypeError),
        (None, TypeError),
        (["a", ""], ValueError),
        (["a", 5], TypeError),
    ],
    "grouping": [(5, TypeError), ("weekly", ValueError), ("DAILY", ValueError)],
    "created_on": TIMES,
    "send_on": TIMES,
    "batch_size": [("5", TypeError), (True, TypeError), (0, ValueError), (1001, ValueError)],
    "concurrency": COUNT,
    "ordered": [("yes", TypeError), (1, TypeError)],
    "campaigns": [*ID_LISTS, ([5], TypeError)],
    "messages": [*ID_LISTS, ([5], TypeError)],
    "type": [(5, TypeError), ("letter", ValueError), ("NEWSLETTER", ValueError)],
    "subject": TEXTS,
    "name": TEXTS,
    "url": TEXTS,
}

#: Combinations that are wrong although each value alone is fine.
PM_REVERSED = ({"from_date": dt.date(2024, 5, 2), "to_date": DAY}, ValueError)
EC_REVERSED = ({"period_from": AWARE, "period_to": AWARE - dt.timedelta(seconds=1)}, ValueError)
EXTRAS: dict[str, list[tuple[dict[str, Any], type[Exception]]]] = {
    "emailconsul.pixel_timeseries": [({"group": "country"}, ValueError)],
}

APIS: dict[str, tuple[type, dict[str, list[tuple[Any, type[Exception]]]]]] = {
    "postmark": (PostmarkAPI, POSTMARK),
    "emailconsul": (EmailConsulAPI, EMAILCONSUL),
    "getresponse": (GetResponseAPI, GETRESPONSE),
}
#: Valid values for required arguments, so that only the one under test is wrong.
VALID: dict[str, Any] = {
    "message_id": "abc",
    "message_ids": ["a", "b"],
    "period_from": AWARE - dt.timedelta(days=1),
    "period_to": AWARE,
}


def methods(cls: type) -> list[str]:
    """The public methods of an API class, inherited ones included."""
    return [n for n in dir(cls) if not n.startswith("_") and inspect.isfunction(getattr(cls, n))]


def parameters(cls: type, method: str) -> list[inspect.Parameter]:
    signature = inspect.signature(getattr(cls, method))
    return [p for p in signature.parameters.values() if p.name != "self"]


def cases() -> Iterator[Any]:
    for provider, (cls, bad) in APIS.items():
        for method in methods(cls):
            names = [p.name for p in parameters(cls, method)]
            stats = provider == "postmark" and "from_date" in names and "limit" not in names
            table = POSTMARK_STATS if stats else bad
            for name in names:
                for value, error in table.get(name, []):
                    yield pytest.param(
                        provider, method, {name: value}, error, id=f"{method}-{name}={value!r}"
                    )
            extras = list(EXTRAS.get(f"{provider}.{method}", []))
            if provider == "postmark" and "from_date" in names:
                extras.append(PM_REVERSED)
            if provider == "emailconsul":
                extras.append(EC_REVERSED)
            for kwargs, error in extras:
                yield pytest.param(provider, method, kwargs, error, id=f"{method}-{kwargs!r}")


def make_api(provider: str, session: Session) -> Any:
    if provider == "postmark":
        return session.postmark(server_token="pm-token")
    if provider == "emailconsul":
        return session.emailconsul(api_key="ec-key")
    return session.getresponse(api_key="gr-key")


def arguments(cls: type, method: str, wrong: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Valid required arguments of *method*, with the *wrong* ones put in their place."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for p in parameters(cls, method):
        if p.name in wrong:
            value = wrong[p.name]
        elif p.default is inspect.Parameter.empty:
            value = VALID[p.name]
        else:
            continue
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            args.append(value)
        else:
            kwargs[p.name] = value
    return args, kwargs


def test_every_parameter_has_bad_values() -> None:
    """The table names wrong values for every parameter of every public API method."""
    missing = [
        f"{provider}.{method}({p.name})"
        for provider, (cls, bad) in APIS.items()
        for method in methods(cls)
        for p in parameters(cls, method)
        if p.name not in bad
    ]
    assert missing == []
    assert len(methods(PostmarkAPI)) >= 22
    assert len(methods(EmailConsulAPI)) == 4
    assert len(methods(GetResponseAPI)) == 4


@pytest.mark.parametrize(("provider", "method", "wrong", "error"), list(cases()))
async def test_bad_argument_fails_before_any_request(
    provider: str,
    method: str,
    wrong: dict[str, Any],
    error: type[Exception],
    sec: types.SimpleNamespace,
) -> None:
    """The call raises TypeError/ValueError at once; the transport never sees a request."""
    transport = sec.RefusingTransport()
    cls = APIS[provider][0]
    async with Session(transport=transport) as session:
        api = make_api(provider, session)
        args, kwargs = arguments(cls, method, wrong)
        with pytest.raises(error):
            result = getattr(api, method)(*args, **kwargs)
            # Streams must fail before this point; coroutines when awaited, before sending.
            if inspect.isawaitable(result):
                await result
    assert transport.sent == []


@pytest.mark.parametrize("provider", APIS)
async def test_valid_arguments_do_reach_the_transport(
    provider: str, sec: types.SimpleNamespace
) -> None:
    """With only valid arguments, awaited calls get as far as sending (the setup is sound)."""
    cls = APIS[provider][0]
    transport = sec.RefusingTransport()
    async with Session(transport=transport) as session:
        api = make_api(provider, session)
        awaited = [m for m in methods(cls) if inspect.iscoroutinefunction(getattr(cls, m))]
        assert awaited
        for method in awaited:
            args, kwargs = arguments(cls, method, {})
            with pytest.raises(sec.RequestSentError):
                await getattr(api, method)(*args, **kwargs)
    assert len(transport.sent) == len(awaited)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.postmark(server_token=5), TypeError),
        (lambda s: s.postmark(server_token=""), ValueError),
        (lambda s: s.postmark(server_token="a\r\nX-Evil: 1"), ValueError),
        (lambda s: s.postmark(server_token="t", base_url="ftp://api.example.com"), ValueError),
        (
            lambda s: s.postmark(server_token="t", base_url="https://u:p@api.example.com"),
            ValueError,
        ),
        (lambda s: s.postmark(server_token="t", base_url="https://h.example?x=1"), ValueError),
        (lambda s: s.postmark(server_token="t", base_url=5), TypeError),
        (lambda s: s.postmark(server_token="t", retention_days=0), ValueError),
        (lambda s: s.postmark(server_token="t", retention_days="45"), TypeError),
        (lambda s: s.postmark(server_token="t", limits={"max_concurrency": 2}), TypeError),
        (lambda s: s.emailconsul(api_key="k", auth_header=""), ValueError),
        (lambda s: s.emailconsul(api_key="k", auth_header="X-Key\r\nX-Evil"), ValueError),
        (lambda s: s.emailconsul(api_key=None), TypeError),
        (lambda s: s.getresponse(api_key="k\x00"), ValueError),
        (lambda s: s.getresponse(api_key="k", retry=3), TypeError),
    ],
)
async def test_bad_factory_arguments(call: Any, error: type[Exception]) -> None:
    """Session factories refuse bad credentials, URLs and options before any I/O."""
    async with Session() as session:
        with pytest.raises(error):
            call(session)


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: Session(max_body_size=0), ValueError),
        (lambda: Session(max_body_size="1"), TypeError),  # type: ignore[arg-type]
        (lambda: Session(timeout=30), TypeError),  # type: ignore[arg-type]
        (lambda: Limits(max_concurrency=0), ValueError),
        (lambda: Limits(max_rate=float("inf")), ValueError),
        (lambda: RetryPolicy(max_attempts=0), ValueError),
        (lambda: RetryPolicy(initial_delay=-1), ValueError),
        (lambda: RetryPolicy(max_delay=float("nan")), ValueError),
        (lambda: Timeout(total=0), ValueError),
        (lambda: Timeout(connect="1"), TypeError),  # type: ignore[arg-type]
        (lambda: fan_out(5, [1]), TypeError),  # type: ignore[call-overload]
        (lambda: fan_out(str, 5), TypeError),  # type: ignore[call-overload]
        (lambda: fan_out(str, "abc"), TypeError),
        (lambda: fan_out(str, [1], concurrency=0), ValueError),
    ],
)
def test_bad_options(make: Any, error: type[Exception]) -> None:
    """Options objects and fan_out refuse wrong types and out-of-range values."""
    with pytest.raises(error):
        make()


# --------------------------------------------------------------------------- extreme values

PLUS_14 = dt.timezone(dt.timedelta(hours=14))
MINUS_12 = dt.timezone(dt.timedelta(hours=-12))
PM_STREAMS = ("outbound_messages", "open_history", "click_history")
PM_STATS = ("outbound_overview", "sent_counts", "click_locations")

#: Dates outside 1900-01-01 .. 9998-12-31 (in Eastern time), each with the argument named.
PM_EXTREME_DATES: list[tuple[dict[str, Any], str]] = [
    ({"from_date": DAY, "to_date": dt.date.max}, "to_date"),
    ({"from_date": dt.date.min, "to_date": DAY}, "from_date"),
    ({"to_date": dt.date.max}, "to_date"),
    ({"from_date": dt.date(1899, 12, 31)}, "from_date"),
    ({"to_date": dt.date(9999, 1, 1)}, "to_date"),
]
PM_EXTREME_MOMENTS: list[tuple[dict[str, Any], str]] = [
    ({"from_date": dt.datetime.min.replace(tzinfo=UTC)}, "from_date"),
    ({"from_date": dt.datetime.min.replace(tzinfo=PLUS_14)}, "from_date"),
    ({"to_date": dt.datetime.max.replace(tzinfo=MINUS_12)}, "to_date"),
    ({"to_date": dt.datetime.max.replace(tzinfo=UTC)}, "to_date"),
    ({"from_date": AWARE, "to_date": dt.datetime.max.replace(tzinfo=PLUS_14)}, "to_date"),
]


async def _start(result: Any) -> None:
    """Await a coroutine, or take the first item of a stream."""
    if inspect.isawaitable(result):
        await result
        return
    iterator = aiter(result)
    try:
        await anext(iterator)
    finally:
        await iterator.aclose()


@pytest.mark.parametrize("method", PM_STREAMS + PM_STATS)
@pytest.mark.parametrize(("kwargs", "name"), PM_EXTREME_DATES)
async def test_postmark_dates_out_of_range_fail_at_the_call(
    method: str, kwargs: dict[str, Any], name: str, sec: types.SimpleNamespace
) -> None:
    """A date Eastern-time arithmetic cannot handle is a ValueError naming it, not an
    OverflowError (raised, for streams, only once iterated)."""
    transport = sec.RefusingTransport()
    async with Session(transport=transport) as session:
        api = session.postmark(server_token="t")
        with pytest.raises(ValueError, match=name):
            result = getattr(api, method)(**kwargs)
            if inspect.isawaitable(result):
                await result
    assert transport.sent == []


@pytest.mark.parametrize("method", PM_STREAMS)
@pytest.mark.parametrize(("kwargs", "name"), PM_EXTREME_MOMENTS)
async def test_postmark_datetimes_out_of_range_fail_at_the_call(
    method: str, kwargs: dict[str, Any], name: str, sec: types.SimpleNamespace
) -> None:
    """An aware datetime whose Eastern day is outside the supported days fails at once."""
    transport = sec.RefusingTransport()
    async with Session(transport=transport) as session:
        api = session.postmark(server_token="t")
        with pytest.raises(ValueError, match=name):
            getattr(api, method)(**kwargs)
    assert transport.sent == []


@pytest.mark.parametrize("method", PM_STREAMS + PM_STATS)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"from_date": dt.date(1900, 1, 1), "to_date": dt.date(9998, 12, 31)},
        {"to_date": dt.date(9998, 12, 31)},
        {"from_date": dt.date(1900, 1, 1)},
    ],
)
async def test_postmark_supported_date_edges_are_sent(
    method: str, kwargs: dict[str, Any], sec: types.SimpleNamespace
) -> None:
    """The first and last supported days are accepted and reach the transport."""
    transport = sec.RefusingTransport()
    async with Session(transport=transport) as session:
        api = session.postmark(server_token="t")
        with pytest.raises(sec.RequestSentError):
            await _start(getattr(api, method)(**kwargs))
    assert transport.sent


@pytest.mark.parametrize("days", [36_501, 10**6, 10**30])
async def test_postmark_retention_days_has_a_maximum(days: int) -> None:
    """A retention beyond 36 500 days (about a century) is refused by the factory."""
    async with Session() as session:
        with pytest.raises(ValueError, match="retention_days"):
            session.postmark(server_token="t", retention_days=days)


@pytest.mark.parametrize("method", PM_STREAMS)
async def test_postmark_longest_retention_reaches_the_transport(
    method: str, sec: types.SimpleNamespace
) -> None:
    """With the longest retention allowed, the streams still start and send a request."""
    transport = sec.RefusingTransport()
    async with Session(transport=transport) as session:
        api = session.postmark(server_token="t", retention_days=36_500)
        with pytest.raises(sec.RequestSentError):
            await _start(getattr(api, method)())
    assert transport.sent


SURROGATE = "a\ud800b"


@pytest.mark.parametrize(
    ("provider", "method", "kwargs"),
    [
        ("postmark", "message_details", {"message_id": SURROGATE}),
        ("postmark", "message_opens", {"message_id": SURROGATE}),
        ("postmark", "outbound_messages", {"recipient": SURROGATE}),
        ("postmark", "outbound_messages", {"metadata": {"k": SURROGATE}}),
        ("postmark", "opens", {"city": SURROGATE}),
        ("postmark", "sent_counts", {"tag": SURROGATE}),
        ("getresponse", "message_stats", {"message_id": SURROGATE}),
        ("getresponse", "messages", {"subject": SURROGATE}),
        ("getresponse", "messages", {"name": {"CONTAINS": SURROGATE}}),
        ("getresponse", "links", {"url": SURROGATE}),
        ("getresponse", "links", {"messages": ["a", SURROGATE]}),
    ],
)
async def test_text_that_cannot_be_utf8_fails_at_the_call(
    provider: str, method: str, kwargs: dict[str, Any], sec: types.SimpleNamespace
) -> None:
    """A lone surrogate is a ValueError naming the argument, not a UnicodeEncodeError."""
    transport = sec.RefusingTransport()
    async with Session(transport=transport) as session:
        api = make_api(provider, session)
        with pytest.raises(ValueError, match="surrogate") as caught:
            await _start(getattr(api, method)(**kwargs))
        assert not isinstance(caught.value, UnicodeError)
    assert transport.sent == []


async def test_getresponse_api_key_that_cannot_be_utf8_is_refused_by_the_factory() -> None:
    """The key travels in every JSON body, so a lone surrogate is refused when made."""
    async with Session() as session:
        with pytest.raises(ValueError, match="api_key") as caught:
            session.getresponse(api_key=SURROGATE)
        assert not isinstance(caught.value, UnicodeError)


@pytest.mark.parametrize(
    ("message_ids", "error"),
    [
        ({"a", 5}, TypeError),
        ({"a": 1, "": 2}, ValueError),
        (frozenset({b"abc"}), TypeError),
        ({"a", SURROGATE}, ValueError),
    ],
)
async def test_message_stats_many_checks_collections_at_the_call(
    message_ids: Any, error: type[Exception], sec: types.SimpleNamespace
) -> None:
    """A set or a mapping of IDs is checked whole at the call, like a list."""
    transport = sec.RefusingTransport()
    async with Session(transport=transport) as session:
        api = session.getresponse(api_key="k")
        with pytest.raises(error):
            api.message_stats_many(message_ids)
    assert transport.sent == []
