"""Hostile values for every parameter of every public method: only TypeError/ValueError.

Every public method of ``PostmarkAPI``, ``EmailConsulAPI`` and ``GetResponseAPI`` (found
with :mod:`inspect`) is called with valid baseline arguments and one parameter replaced
by a hostile value: bytes, floats (NaN, infinities), bools, huge ints, the extreme dates
and datetimes (naive and aware, UTC, +14:00 and -12:00), strings with control characters
or NUL, empty and very long strings, containers where scalars are expected. Coroutines
are awaited; streams are started (``aiter`` + ``anext``), since a stream that checks its
arguments at the call may still fail when it begins. The transport refuses every request.

Each outcome must be one of:

* ``TypeError`` / ``ValueError`` with no request sent (the value was refused), or
* the transport's refusal (the value was accepted and a request was about to go out).

Anything else (``OverflowError``, ``AttributeError``, ``KeyError``, ``UnicodeError``…) is
a bug. The values are a fixed list, so the test is deterministic.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import types
from collections.abc import Iterator
from typing import Any

import pytest

from asyncmailstats import EmailConsulAPI, GetResponseAPI, PostmarkAPI, Session

UTC = dt.UTC
PLUS_14 = dt.timezone(dt.timedelta(hours=14))
MINUS_12 = dt.timezone(dt.timedelta(hours=-12))

HOSTILE: list[Any] = [
    None,
    b"abc",
    bytearray(b"abc"),
    1.5,
    math.nan,
    math.inf,
    -math.inf,
    True,
    False,
    0,
    -1,
    10**30,
    -(10**30),
    dt.date.min,
    dt.date.max,
    dt.datetime.min,  # noqa: DTZ901 - deliberately naive
    dt.datetime.max,  # noqa: DTZ901 - deliberately naive
    *(dt.datetime.min.replace(tzinfo=zone) for zone in (UTC, PLUS_14, MINUS_12)),
    *(dt.datetime.max.replace(tzinfo=zone) for zone in (UTC, PLUS_14, MINUS_12)),
    "",
    " ",
    "\x00",
    "a\x00b",
    "a\r\nX-Evil: 1",
    "\x1b[31mred",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "x" * 100_000,
    [],
    ["a", 5],
    {},
    {"a": {"b": 1}},
    {"FROM": dt.date.max, "TO": dt.date.min},
    object(),
]

#: Containers some parameters take (metadata, conditions, ID lists), each holding one
#: hostile scalar: the checks must reach inside them too.
SCALARS: list[Any] = [v for v in HOSTILE if not isinstance(v, list | dict)]
WRAPPED: list[Any] = [
    wrap
    for value in SCALARS
    for wrap in (
        [value],
        ["a", value],
        {"k": value},
        {value: "v"} if isinstance(value, str | int | float | bytes | dt.date) else {},
        {"FROM": value},
        {"AT": value},
        {"CONTAINS": value},
        {"EQUALS": value},
    )
]

UTC_NOON = dt.datetime(2024, 5, 1, 12, tzinfo=UTC)
DAY = dt.date(2024, 5, 1)
REQUIRED: dict[str, Any] = {
    "message_id": "abc",
    "message_ids": ["a", "b"],
    "period_from": UTC_NOON - dt.timedelta(days=1),
    "period_to": UTC_NOON,
}
#: Extra baselines: a hostile bound next to a valid other bound.
PAIRS: dict[str, dict[str, Any]] = {
    "from_date": {"to_date": DAY},
    "to_date": {"from_date": DAY},
}

APIS: dict[str, type] = {
    "postmark": PostmarkAPI,
    "emailconsul": EmailConsulAPI,
    "getresponse": GetResponseAPI,
}


def methods(cls: type) -> list[str]:
    return [n for n in dir(cls) if not n.startswith("_") and inspect.isfunction(getattr(cls, n))]


def parameters(cls: type, method: str) -> list[inspect.Parameter]:
    signature = inspect.signature(getattr(cls, method))
    return [p for p in signature.parameters.values() if p.name != "self"]


def make_api(provider: str, session: Session, **options: Any) -> Any:
    if provider == "postmark":
        return session.postmark(server_token="pm-token", **options)
    if provider == "emailconsul":
        return session.emailconsul(api_key="ec-key", **options)
    return session.getresponse(api_key="gr-key", **options)


def cases() -> Iterator[Any]:
    for provider, cls in APIS.items():
        for method in methods(cls):
            for p in parameters(cls, method):
                yield pytest.param(provider, method, p.name, id=f"{provider}.{method}-{p.name}")


def arguments(cls: type, method: str, replaced: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for p in parameters(cls, method):
        if p.name in replaced:
            value = replaced[p.name]
        elif p.default is inspect.Parameter.empty:
            value = REQUIRED[p.name]
        else:
            continue
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            args.append(value)
        else:
            kwargs[p.name] = value
    return args, kwargs


async def run(result: Any) -> None:
    """Await a coroutine, or start a stream and take its first item."""
    if inspect.isawaitable(result):
        await result
        return
    iterator = aiter(result)
    try:
        await anext(iterator)
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


async def outcome(
    api: Any, transport: Any, refusal: type[Exception], method: str, args: Any
) -> str | None:
    """Return ``None`` for an allowed outcome, or a description of the wrong one."""
    call_args, call_kwargs = args
    wrong = None
    try:
        result = getattr(api, method)(*call_args, **call_kwargs)
    except UnicodeError as exc:  # a ValueError, but one raised by an encoder, not a check
        return f"{type(exc).__name__}: {exc}"
    except (TypeError, ValueError):
        return None if not transport.sent else "refused after a request was sent"
    except Exception as exc:  # any other exception is what the test reports
        return f"{type(exc).__name__} at the call: {exc}"
    stream = not inspect.isawaitable(result)
    try:
        await run(result)
    except UnicodeError as exc:  # a ValueError, but one raised by an encoder, not a check
        wrong = f"{type(exc).__name__}: {exc}"
    except (TypeError, ValueError) as exc:
        if transport.sent:
            wrong = f"{type(exc).__name__} after a request was sent: {exc}"
        elif stream:  # streams check their arguments when called, not when iterated
            wrong = f"{type(exc).__name__} only once the stream was iterated: {exc}"
    except AssertionError as exc:
        if not isinstance(exc, refusal):
            raise  # a failed assertion of the library or the test itself
    except StopAsyncIteration:
        pass  # a stream with nothing to read (limit=0, no IDs) may end without a request
    except Exception as exc:  # any other exception is what the test reports
        wrong = f"{type(exc).__name__}: {exc}"
    return wrong


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@pytest.mark.parametrize(("provider", "method", "name"), list(cases()))
async def test_hostile_values_raise_only_type_or_value_errors(
    provider: str, method: str, name: str, sec: types.SimpleNamespace
) -> None:
    cls = APIS[provider]
    baselines: list[dict[str, Any]] = [{}]
    names = {p.name for p in parameters(cls, method)}
    pair = PAIRS.get(name)
    if pair is not None and set(pair) <= names:
        baselines.append(pair)
    failures: list[str] = []
    for baseline in baselines:
        for value in HOSTILE + WRAPPED:
            transport = sec.RefusingTransport()
            async with Session(transport=transport) as session:
                api = make_api(provider, session)
                args = arguments(cls, method, {**baseline, name: value})
                wrong = await outcome(api, transport, sec.RequestSentError, method, args)
            if wrong is not None:
                failures.append(f"{name}={_short(value)} with {baseline}: {wrong}")
    assert failures == []


FACTORIES: dict[str, str] = {
    "postmark": "server_token",
    "emailconsul": "api_key",
    "getresponse": "api_key",
}


def factory_options() -> Iterator[Any]:
    for provider, credential in FACTORIES.items():
        signature = inspect.signature(getattr(Session, provider))
        for p in signature.parameters.values():
            if p.name != "self":
                yield pytest.param(provider, p.name, credential, id=f"{provider}-{p.name}")


@pytest.mark.parametrize(("provider", "option", "credential"), list(factory_options()))
async def test_hostile_factory_options(
    provider: str, option: str, credential: str, sec: types.SimpleNamespace
) -> None:
    """A factory refuses a hostile option at once, or makes an API whose methods work.

    Every keyword argument of ``Session.postmark`` / ``emailconsul`` / ``getresponse`` is
    given each hostile value (the credential keeps a valid one otherwise); an API that is
    made must then fail each method only by reaching the transport.
    """
    failures: list[str] = []
    cls = APIS[provider]
    for value in HOSTILE:
        transport = sec.RefusingTransport()
        async with Session(transport=transport) as session:
            options = {credential: "secret-key", option: value}
            try:
                api = getattr(session, provider)(**options)
            except UnicodeError as exc:
                failures.append(f"{option}={_short(value)}: {type(exc).__name__}: {exc}")
                continue
            except (TypeError, ValueError):
                continue
            except Exception as exc:  # reported below
                failures.append(f"{option}={_short(value)}: {type(exc).__name__}: {exc}")
                continue
            for method in methods(cls):
                args = arguments(cls, method, {})
                wrong = await outcome(api, transport, sec.RequestSentError, method, args)
                if wrong is not None:
                    failures.append(f"{option}={_short(value)}: {method}: {wrong}")
    assert failures == []


def test_hostile_values_cover_every_kind() -> None:
    """The list holds each kind of hostile value the suite promises."""
    kinds = {type(v) for v in HOSTILE}
    assert {bytes, bytearray, float, bool, int, str, list, dict, dt.date, dt.datetime} <= kinds
    assert any(isinstance(v, float) and math.isnan(v) for v in HOSTILE)
    aware = [v for v in HOSTILE if isinstance(v, dt.datetime) and v.tzinfo is not None]
    assert {v.tzinfo for v in aware} == {UTC, PLUS_14, MINUS_12}
