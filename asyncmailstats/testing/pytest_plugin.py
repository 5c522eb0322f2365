"""pytest fixtures for code that uses asyncmailstats: started fake servers and a session.

The plugin is registered through the ``pytest11`` entry point, so installing
asyncmailstats makes its fixtures available; it can also be named explicitly with
``-p asyncmailstats.testing.pytest_plugin``. It is inert unless a test asks for one of
its fixtures: it defines fixtures and registers their markers, nothing else. The fake
servers and aiohttp are imported when a fixture is set up.

Fixtures (function scope):

* ``fake_postmark``, ``fake_emailconsul``, ``fake_getresponse``: a started
  :class:`~asyncmailstats.testing.FakePostmark`, :class:`~asyncmailstats.testing.FakeEmailConsul`
  or :class:`~asyncmailstats.testing.FakeGetResponse`, closed after the test. Options go
  to the fake's constructor, from a marker of the same name
  (``@pytest.mark.fake_postmark(messages=500, faults=FaultPlan(...))``) or from indirect
  parametrisation (``@pytest.mark.parametrize("fake_postmark", [{"messages": 10}],
  indirect=True)``); a parameter overrides a marker, a marker on the test overrides one
  on its class or module. Defaults are small and seeded (:data:`FAKE_DEFAULTS`); ``now``
  defaults, as in the fakes themselves, to the current UTC time in whole seconds, so
  the library's own date windows (Postmark's retention) see the whole dataset. Pass
  ``now=`` (an aware datetime) for a dataset that is the same on every run.
* ``ams_session``: an open :class:`~asyncmailstats.Session`, closed after the test.
  Retries do not wait while it is open (:func:`~asyncmailstats.testing.instant_retries`);
  ``@pytest.mark.ams_session(instant_retries=False)`` keeps the real delays, and any
  other marker option goes to ``Session`` (``retry=``, ``limits=``, ``timeout=`` ...).
* ``postmark_api``, ``emailconsul_api``, ``getresponse_api``: a provider client of
  ``ams_session`` pointed at the matching fake.

The asynchronous fixtures need pytest-asyncio, in strict mode (mark the tests
``@pytest.mark.asyncio``) or auto mode. They run on the event loop of
``asyncio_default_fixture_loop_scope`` (the test's own loop by default).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from asyncmailstats import EmailConsulAPI, GetResponseAPI, PostmarkAPI, Session
    from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark

__all__ = [
    "FAKE_DEFAULTS",
    "ams_session",
    "emailconsul_api",
    "fake_emailconsul",
    "fake_getresponse",
    "fake_postmark",
    "getresponse_api",
    "postmark_api",
    "pytest_configure",
]


#: The options each fake fixture starts from: small, seeded datasets.
FAKE_DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = MappingProxyType(
    {
        "fake_postmark": MappingProxyType({"messages": 200, "seed": 0}),
        "fake_emailconsul": MappingProxyType(
            {"link_logs": 500, "pixel_logs": 500, "deliveries": 500, "seed": 0}
        ),
        "fake_getresponse": MappingProxyType({"messages": 50, "seed": 0}),
    }
)

#: The class each fake fixture starts, a name in :mod:`asyncmailstats.testing`.
_FAKE_CLASSES: Final = {
    "fake_postmark": "FakePostmark",
    "fake_emailconsul": "FakeEmailConsul",
    "fake_getresponse": "FakeGetResponse",
}

_MARKERS: Final = (
    "fake_postmark(**options): options of the fake_postmark fixture (FakePostmark arguments)",
    "fake_emailconsul(**options): options of the fake_emailconsul fixture (FakeEmailConsul)",
    "fake_getresponse(**options): options of the fake_getresponse fixture (FakeGetResponse)",
    "ams_session(instant_retries=True, **options): options of the ams_session fixture",
)

_NO_ASYNCIO: Final = (
    "the asyncmailstats fixtures fake_postmark, fake_emailconsul, fake_getresponse and "
    "ams_session are asynchronous and need the pytest-asyncio plugin, which is {state}: "
    "install it (pip install pytest-asyncio) and mark the tests with @pytest.mark.asyncio, "
    "or set asyncio_mode = auto"
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers that carry fixture options."""
    for line in _MARKERS:
        config.addinivalue_line("markers", line)


def _asyncio_fixture(func: Callable[..., Any]) -> Any:
    """Declare *func* an asyncio fixture when pytest-asyncio is there, else a plain one."""
    try:
        import pytest_asyncio  # noqa: PLC0415 - optional, and loaded by pytest anyway
    except ImportError:  # the fixture's guard explains what is missing
        return pytest.fixture(func)
    return pytest_asyncio.fixture(func)


@pytest.fixture
def _asyncmailstats_asyncio(request: pytest.FixtureRequest) -> None:
    """Fail clearly, before an asynchronous fixture is set up, without pytest-asyncio."""
    module = sys.modules.get("pytest_asyncio.plugin")
    if module is not None and request.config.pluginmanager.is_registered(module):
        return
    state = "not installed" if module is None else "disabled"
    pytest.fail(_NO_ASYNCIO.format(state=state), pytrace=False)


def _options(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    """Merge the defaults, the markers (farthest first) and an indirect parameter."""
    options = dict(FAKE_DEFAULTS.get(name, {}))
    for mark in reversed(list(request.node.iter_markers(name))):
        if mark.args:
            msg = f"@pytest.mark.{name} takes keyword options only, got {mark.args!r}"
            raise pytest.UsageError(msg)
        options.update(mark.kwargs)
    param = getattr(request, "param", None)
    if param is not None:
        if not isinstance(param, Mapping):
            msg = (
                f"an indirect parameter of {name!r} must be a mapping of options, "
                f"got {type(param).__name__}"
            )
            raise pytest.UsageError(msg)
        options.update(param)
    return options


@contextlib.asynccontextmanager
async def _started_fake(request: pytest.FixtureRequest, name: str) -> AsyncIterator[Any]:
    """Start the fake of the fixture *name* with its options; close it on the way out."""
    from asyncmailstats import testing  # noqa: PLC0415 - the fakes load on use

    fake_class = getattr(testing, _FAKE_CLASSES[name])
    async with fake_class(**_options(request, name)) as fake:
        yield fake


@_asyncio_fixture
async def fake_postmark(
    request: pytest.FixtureRequest, _asyncmailstats_asyncio: None
) -> AsyncIterator[FakePostmark]:
    """A started :class:`~asyncmailstats.testing.FakePostmark`, closed after the test.

    Options: ``@pytest.mark.fake_postmark(**options)`` or an indirect parameter (a dict);
    defaults ``messages=200, seed=0``.
    """
    async with _started_fake(request, "fake_postmark") as fake:
        yield fake


@_asyncio_fixture
async def fake_emailconsul(
    request: pytest.FixtureRequest, _asyncmailstats_asyncio: None
) -> AsyncIterator[FakeEmailConsul]:
    """A started :class:`~asyncmailstats.testing.FakeEmailConsul`, closed after the test.

    Options: ``@pytest.mark.fake_emailconsul(**options)`` or an indirect parameter (a
    dict); defaults ``link_logs=500, pixel_logs=500, deliveries=500, seed=0``.
    """
    async with _started_fake(request, "fake_emailconsul") as fake:
        yield fake


@_asyncio_fixture
async def fake_getresponse(
    request: pytest.FixtureRequest, _asyncmailstats_asyncio: None
) -> AsyncIterator[FakeGetResponse]:
    """A started :class:`~asyncmailstats.testing.FakeGetResponse`, closed after the test.

    Options: ``@pytest.mark.fake_getresponse(**options)`` or an indirect parameter (a
    dict); defaults ``messages=50, seed=0``.
    """
    async with _started_fake(request, "fake_getresponse") as fake:
        yield fake


@_asyncio_fixture
async def ams_session(
    request: pytest.FixtureRequest, _asyncmailstats_asyncio: None
) -> AsyncIterator[Session]:
    """An open :class:`~asyncmailstats.Session`, closed after the test.

    Retries and rate-limit cool-downs do not wait while it is open (see
    :func:`~asyncmailstats.testing.instant_retries`). Options:
    ``@pytest.mark.ams_session(instant_retries=False, retry=..., limits=...)``; every
    option but ``instant_retries`` goes to ``Session``.
    """
    from asyncmailstats import Session  # noqa: PLC0415 - loaded on use
    from asyncmailstats.testing import instant_retries  # noqa: PLC0415

    options = _options(request, "ams_session")
    instant = options.pop("instant_retries", True)
    with instant_retries() if instant else contextlib.nullcontext():
        async with Session(**options) as session:
            yield session


@pytest.fixture
def postmark_api(ams_session: Session, fake_postmark: FakePostmark) -> PostmarkAPI:
    """A Postmark client of ``ams_session`` pointed at ``fake_postmark``."""
    return ams_session.postmark(
        server_token=fake_postmark.token,
        base_url=fake_postmark.url,
        retention_days=fake_postmark.retention_days,
    )


@pytest.fixture
def emailconsul_api(ams_session: Session, fake_emailconsul: FakeEmailConsul) -> EmailConsulAPI:
    """An EmailConsul client of ``ams_session`` pointed at ``fake_emailconsul``."""
    return ams_session.emailconsul(
        api_key=fake_emailconsul.api_key,
        base_url=fake_emailconsul.url,
        auth_header=fake_emailconsul.auth_header,
    )


@pytest.fixture
def getresponse_api(ams_session: Session, fake_getresponse: FakeGetResponse) -> GetResponseAPI:
    """A GetResponse client of ``ams_session`` pointed at ``fake_getresponse``."""
    return ams_session.getresponse(api_key=fake_getresponse.api_key, base_url=fake_getresponse.url)
