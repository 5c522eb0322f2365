"""asyncmailstats.getresponse exports every public model, the API and its constants."""

from __future__ import annotations

import inspect

import asyncmailstats
from asyncmailstats import getresponse
from asyncmailstats.getresponse import models


def test_every_model_is_exported() -> None:
    """Each public name of the models module is re-exported by the package."""
    public = {
        name
        for name, obj in vars(models).items()
        if inspect.isclass(obj) and obj.__module__ == models.__name__ and not name.startswith("_")
    }
    assert public <= set(getresponse.__all__)
    assert set(models.__all__) == public | {"COUNTER_NAMES"}
    assert set(models.__all__) <= set(getresponse.__all__)


def test_exports_resolve_sorted_and_reach_the_top_level() -> None:
    """__all__ resolves, is sorted without duplicates, and the API is importable from the top."""
    exported = getresponse.__all__
    assert len(exported) == len(set(exported))
    assert list(exported) == sorted(exported, key=lambda n: (not n.isupper(), n))
    for name in exported:
        assert getattr(getresponse, name) is not None
    assert asyncmailstats.GetResponseAPI is getresponse.GetResponseAPI
    assert asyncmailstats.TimeRange is getresponse.TimeRange
