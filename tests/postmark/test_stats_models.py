"""The stats models: written once per day series, listed as they always were."""

from __future__ import annotations

import datetime as dt
import pickle

import attrs
import pytest

import asyncmailstats
from asyncmailstats import postmark
from asyncmailstats.postmark import _stats_models, models

#: Each stats model's fields, in order (the column order of the command's output).
FIELDS = {
    "BounceCounts": ["days", "hard_bounce", "soft_bounce", "smtp_api_error", "transient", "extra"],
    "BounceDay": ["date", "hard_bounce", "soft_bounce", "smtp_api_error", "transient", "extra"],
    "ClickCounts": ["days", "clicks", "unique", "extra"],
    "ClickDay": ["date", "clicks", "unique", "extra"],
    "ClickLocationCounts": ["days", "html", "text", "extra"],
    "ClickLocationDay": ["date", "html", "text", "extra"],
    "ClickPlatformCounts": ["days", "desktop", "mobile", "unknown", "extra"],
    "ClickPlatformDay": ["date", "desktop", "mobile", "unknown", "extra"],
    "DynamicCounts": ["days", "totals"],
    "DynamicDay": ["date", "counts"],
    "OpenCounts": ["days", "opens", "unique", "extra"],
    "OpenDay": ["date", "opens", "unique", "extra"],
    "OpenPlatformCounts": ["days", "desktop", "web_mail", "mobile", "unknown", "extra"],
    "OpenPlatformDay": ["date", "desktop", "web_mail", "mobile", "unknown", "extra"],
    "OutboundOverview": [
        "sent",
        "bounced",
        "smtp_api_errors",
        "bounce_rate",
        "spam_complaints",
        "spam_complaints_rate",
        "opens",
        "unique_opens",
        "tracked",
        "with_link_tracking",
        "with_open_tracking",
        "total_tracked_links_sent",
        "unique_links_clicked",
        "total_clicks",
        "with_client_recorded",
        "with_platform_recorded",
        "with_read_time_recorded",
        "extra",
    ],
    "SentCounts": ["days", "sent", "extra"],
    "SentDay": ["date", "sent", "extra"],
    "SpamComplaintCounts": ["days", "spam_complaint", "extra"],
    "SpamComplaintDay": ["date", "spam_complaint", "extra"],
    "TrackedCounts": ["days", "tracked", "extra"],
    "TrackedDay": ["date", "tracked", "extra"],
}
DAY = dt.date(2024, 1, 2)


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_stats_models_list_their_fields_in_order_from_every_import_path(name: str) -> None:
    """Same fields, same order, keyword-only, one class under every public name."""
    cls = getattr(models, name)
    assert [a.name for a in attrs.fields(cls)] == FIELDS[name]
    assert all(a.kw_only for a in attrs.fields(cls))
    assert cls is getattr(postmark, name) is getattr(asyncmailstats, name, cls)
    assert cls is getattr(_stats_models, name)
    assert cls.__module__ == models.__name__
    assert "__slots__" in vars(cls)


def test_days_and_their_series_share_counters_but_not_a_type() -> None:
    """A day and its series carry the same counters; neither is an instance of the other."""
    day = models.BounceDay(date=DAY, hard_bounce=2, transient=1)
    counts = models.BounceCounts(days=(day,), hard_bounce=2, transient=1)
    assert not isinstance(day, models.BounceCounts)
    assert not isinstance(counts, models.BounceDay)
    assert day == models.BounceDay(date=DAY, hard_bounce=2, transient=1)
    assert day != models.BounceDay(date=DAY, hard_bounce=3, transient=1)
    assert repr(day) == (
        "BounceDay(date=datetime.date(2024, 1, 2), hard_bounce=2, soft_bounce=0, "
        "smtp_api_error=0, transient=1, extra={})"
    )
    assert pickle.loads(pickle.dumps(counts)) == counts  # noqa: S301 - our own bytes
    with pytest.raises(TypeError):
        models.SentDay(DAY)  # type: ignore[misc]
