"""asyncmailstats.postmark exports every public model and the API, and nothing missing."""

from __future__ import annotations

import inspect

from asyncmailstats import postmark
from asyncmailstats.postmark import models


def test_every_model_is_exported():
    """Each public class of the models module is re-exported by the package."""
    public = {
        name
        for name, obj in vars(models).items()
        if inspect.isclass(obj) and obj.__module__ == models.__name__ and not name.startswith("_")
    }
    assert public <= set(postmark.__all__)
    assert set(models.__all__) == public


def test_every_exported_name_resolves():
    """Every name in __all__ exists, without duplicates, and the API class is among them."""
    assert len(postmark.__all__) == len(set(postmark.__all__))
    for name in postmark.__all__:
        assert getattr(postmark, name) is not None
    assert "PostmarkAPI" in postmark.__all__
