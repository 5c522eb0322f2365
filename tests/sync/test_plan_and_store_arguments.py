"""The EmailConsul plan's groupings, a store used before it is open, and JSON columns."""

from __future__ import annotations

import datetime as dt
import enum
import re
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest

from asyncmailstats import Session
from asyncmailstats.emailconsul.models import LinkGroup
from asyncmailstats.sync import SQLiteStore, SyncError, plan_for
from asyncmailstats.sync._tables import dump_json


def _emailconsul() -> object:
    """An EmailConsul client of a session that is never opened: nothing can be sent."""
    return Session().emailconsul(api_key="key")


def test_one_grouping_may_be_named_by_itself() -> None:
    """``groups="country"`` is the one grouping, not the letters of a word."""
    assert plan_for(_emailconsul(), groups="country").groups == (LinkGroup.COUNTRY,)


def test_groupings_are_kept_once_in_the_order_given() -> None:
    plan = plan_for(_emailconsul(), groups=["device", LinkGroup.COUNTRY, "device"])
    assert plan.groups == (LinkGroup.DEVICE, LinkGroup.COUNTRY)


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([None], "groups must name link-stats groupings"),
        ([], "groups must name at least one grouping"),
        (["planet"], "unknown group 'planet'"),
    ],
)
def test_a_grouping_that_is_none_or_unknown_is_refused(groups: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        plan_for(_emailconsul(), groups=groups)


async def test_a_store_refuses_work_until_it_is_open_and_after_it_is_closed(
    tmp_path: Path,
) -> None:
    """Every call before ``open()`` (or after ``aclose()``) is a SyncError, and nothing
    is created on disk by it."""
    db = tmp_path / "stats.db"
    store = SQLiteStore(db)
    assert repr(store) == f"<SQLiteStore {str(db)!r}>"
    with pytest.raises(SyncError, match=r"^the store is not open$"):
        await store.load_state("default")
    assert not db.exists()
    async with store:
        assert await store.load_state("default") == {}
    with pytest.raises(SyncError, match=r"^the store is not open$"):
        await store.lock("default")


class Colour(enum.Enum):
    RED = "red"


def test_json_columns_hold_dates_enums_mappings_and_sequences() -> None:
    """What a JSON column may hold is written as plain JSON, keys sorted, compact."""
    value = {
        "when": dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC),
        "day": dt.date(2026, 3, 10),
        "colour": Colour.RED,
        "headers": MappingProxyType({"b": 2, "a": 1}),
        "pair": (1, "x"),
        "only": frozenset({"one"}),
        "text": "caf\u00e9",
    }
    assert dump_json(value) == (
        '{"colour":"red","day":"2026-03-10","headers":{"a":1,"b":2},"only":["one"],'
        '"pair":[1,"x"],"text":"caf\u00e9","when":"2026-03-10T15:00:00+00:00"}'
    )


def test_a_value_json_cannot_hold_is_refused_by_name() -> None:
    """A number JSON would round (a Decimal) is refused, not written as something else."""
    with pytest.raises(TypeError, match=r"^cannot store a Decimal as JSON$"):
        dump_json({"rate": Decimal("0.1")})
