"""How a Secret compares and hashes, what a SecretBody needs, what a RetryPolicy takes."""

from __future__ import annotations

from typing import Any

import pytest

from asyncmailstats import RetryPolicy
from asyncmailstats._http import Secret, SecretBody


def test_a_secret_equals_its_plain_text_and_another_secret_of_it() -> None:
    token = Secret("s3cr\u00e9t")
    assert token == "s3cr\u00e9t"
    assert token == Secret("s3cr\u00e9t")
    assert token != "s3cret"
    assert token != Secret("other")


@pytest.mark.parametrize("other", [None, 7, b"s3cret", ["s3cret"]])
def test_a_secret_is_not_equal_to_what_is_no_text(other: object) -> None:
    """Bytes or numbers never match: the comparison says no instead of failing."""
    token = Secret("s3cret")
    assert token != other
    assert (token == other) is False


def test_a_secret_finds_its_plain_text_in_a_set_and_as_a_key() -> None:
    """Equal values hash alike, so a secret and its text are one key."""
    token = Secret("s3cret")
    assert hash(token) == hash("s3cret") == hash(Secret("s3cret"))
    assert token in {"s3cret", "other"}
    assert {"s3cret": 1}[token] == 1


def test_a_secret_body_needs_a_part() -> None:
    """With no part there is nowhere to put the secret: refused at once."""
    with pytest.raises(ValueError, match=r"^a secret body needs at least one part$"):
        SecretBody([], Secret("key"))
    body = SecretBody([b'["', b'"]'], Secret("key"))
    assert body.reveal() == b'["key"]'
    assert len(body) == len(b'["key"]')


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("initial_delay", True, "bool"),
        ("max_delay", "8", "str"),
        ("max_retry_after", None, "NoneType"),
    ],
)
def test_a_retry_policy_takes_numbers_only(field: str, value: Any, kind: str) -> None:
    """``True`` or ``"8"`` are no delays: a TypeError naming the field, not a late failure."""
    with pytest.raises(TypeError, match=f"^{field} must be a number, got {kind}$"):
        RetryPolicy(**{field: value})
