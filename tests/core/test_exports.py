"""The public surface: a sorted, complete ``__all__`` whose every name resolves."""

from __future__ import annotations

import importlib

import pytest

import asyncmailstats
import asyncmailstats.exceptions
import asyncmailstats.testing

#: The foundation's names from the public contract.
FOUNDATION = {
    "Session",
    "SessionStatistics",
    "Limits",
    "RetryPolicy",
    "Timeout",
    "Paginator",
    "Page",
    "fan_out",
    "Outcome",
}

#: The error tree, child -> parent.
ERROR_TREE = {
    "MailStatsError": Exception,
    "SessionClosedError": "MailStatsError",
    "TransportError": "MailStatsError",
    "RequestTimeoutError": "TransportError",
    "APIError": "MailStatsError",
    "AuthenticationError": "APIError",
    "PermissionDeniedError": "APIError",
    "NotFoundError": "APIError",
    "InvalidRequestError": "APIError",
    "RateLimitError": "APIError",
    "ServerError": "APIError",
    "JSONRPCError": "APIError",
    "ResultWindowError": "MailStatsError",
    "DecodeError": "MailStatsError",
}


@pytest.mark.parametrize("module", [asyncmailstats, asyncmailstats.testing])
def test_all_is_sorted_and_unique(module) -> None:
    """``__all__`` is sorted and lists each name once."""
    assert module.__all__ == sorted(module.__all__)
    assert len(set(module.__all__)) == len(module.__all__)


def test_foundation_names_are_exported() -> None:
    """Every foundation name of the contract, and the whole error tree, is in ``__all__``."""
    missing = (FOUNDATION | set(ERROR_TREE)) - set(asyncmailstats.__all__)
    assert not missing


def test_testing_exports_instant_retries() -> None:
    """The test kit exports instant_retries() and the fakes."""
    assert {"instant_retries", "FaultPlan", "FakePostmark"} <= set(asyncmailstats.testing.__all__)


@pytest.mark.parametrize(
    "module", ["asyncmailstats", "asyncmailstats.testing", "asyncmailstats.exceptions"]
)
def test_every_name_in_all_resolves(module) -> None:
    """Each name in ``__all__`` is an attribute of its module, and star-import works."""
    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", [n for n in vars(mod) if not n.startswith("_")])
    for name in names:
        assert getattr(mod, name) is not None, name
    namespace: dict[str, object] = {}
    exec(f"from {module} import *", namespace)  # noqa: S102 - a fixed, trusted statement
    assert set(names) <= set(namespace)


def test_error_tree_shape() -> None:
    """Each error derives from the parent the contract draws, and is re-exported as is."""
    for name, parent in ERROR_TREE.items():
        cls = getattr(asyncmailstats, name)
        assert cls is getattr(asyncmailstats.exceptions, name)
        expected = parent if isinstance(parent, type) else getattr(asyncmailstats, parent)
        assert expected in cls.__bases__, name


def test_session_closed_error_is_a_runtime_error() -> None:
    """SessionClosedError can also be caught as RuntimeError."""
    assert issubclass(asyncmailstats.SessionClosedError, RuntimeError)


def test_version_is_available() -> None:
    """``asyncmailstats.__version__`` is a non-empty string; unknown attributes still fail."""
    assert isinstance(asyncmailstats.__version__, str)
    assert asyncmailstats.__version__
    with pytest.raises(AttributeError):
        _ = asyncmailstats.no_such_name  # type: ignore[attr-defined]


def test_public_objects_live_in_private_modules() -> None:
    """Implementation modules are private: public names come from underscore modules."""
    for name in FOUNDATION:
        module = getattr(asyncmailstats, name).__module__
        assert module.split(".")[1].startswith("_"), (name, module)
