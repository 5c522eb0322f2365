"""Every public name the design's contract (section 2) spells out is exported at the top."""

from __future__ import annotations

import pytest

import asyncmailstats
import asyncmailstats.testing

#: The names section 2 of the design uses, as ``ams.<name>``, in its code and tables.
CONTRACT = {
    # session and options
    "Session",
    "SessionStatistics",
    "Limits",
    "RetryPolicy",
    "Timeout",
    # provider APIs
    "PostmarkAPI",
    "EmailConsulAPI",
    "GetResponseAPI",
    # streams and fan-out
    "Paginator",
    "Page",
    "fan_out",
    "Outcome",
    # Postmark models
    "OutboundMessage",
    "OutboundMessageDetails",
    "Open",
    "Click",
    "OutboundOverview",
    "BounceCounts",
    "ClickCounts",
    "ClickLocationCounts",
    "DynamicCounts",
    "DynamicDay",
    # EmailConsul
    "LinkGroup",
    "LinkStat",
    "LinkTimeseriesPoint",
    "PixelTimeseriesPoint",
    "DeliveryDay",
    # GetResponse
    "MessageStatsSeries",
    "PeriodStats",
    "Message",
    "Link",
    "TimeRange",
    # errors
    "MailStatsError",
    "SessionClosedError",
    "TransportError",
    "RequestTimeoutError",
    "APIError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "InvalidRequestError",
    "RateLimitError",
    "ServerError",
    "JSONRPCError",
    "ResultWindowError",
    "DecodeError",
}

#: The test kit's names from section 3 and the retry rules.
TEST_KIT = {"FakePostmark", "FakeEmailConsul", "FakeGetResponse", "FaultPlan", "instant_retries"}


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_contract_name_is_exported_and_resolves(name: str) -> None:
    """The name is in ``asyncmailstats.__all__`` and importable from the package."""
    assert name in asyncmailstats.__all__
    assert getattr(asyncmailstats, name) is not None


@pytest.mark.parametrize("name", sorted(TEST_KIT))
def test_test_kit_name_is_exported_and_resolves(name: str) -> None:
    """The name is in ``asyncmailstats.testing.__all__`` and importable from it."""
    assert name in asyncmailstats.testing.__all__
    assert getattr(asyncmailstats.testing, name) is not None
