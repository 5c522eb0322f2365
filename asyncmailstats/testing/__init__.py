"""Tools for testing code that uses asyncmailstats, and for testing asyncmailstats itself.

The fake provider servers are real aiohttp servers on 127.0.0.1 with a random port,
serving a seeded synthetic dataset. A :class:`FaultPlan` makes them fail the way real
services do; a :class:`LivePlan` makes them keep recording while they are paged and
page sloppily. They are imported lazily so that importing ``asyncmailstats.testing``
stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .._retry import instant_retries

if TYPE_CHECKING:
    from ._emailconsul import FakeEmailConsul
    from ._faults import FaultPlan
    from ._getresponse import FakeGetResponse
    from ._live import LivePlan
    from ._postmark import FakePostmark
    from ._server import FakeServer, RecordedRequest

__all__ = [
    "FakeEmailConsul",
    "FakeGetResponse",
    "FakePostmark",
    "FakeServer",
    "FaultPlan",
    "LivePlan",
    "RecordedRequest",
    "instant_retries",
]

_LAZY = {
    "FakeEmailConsul": "._emailconsul",
    "FakeGetResponse": "._getresponse",
    "FakePostmark": "._postmark",
    "FakeServer": "._server",
    "FaultPlan": "._faults",
    "LivePlan": "._live",
    "RecordedRequest": "._server",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module, __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)
