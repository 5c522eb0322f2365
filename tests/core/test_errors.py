"""The shared status → error table, and the shared argument checks."""

from __future__ import annotations

import pytest

from asyncmailstats._errors import make_status_error, status_error_class
from asyncmailstats._http import Response
from asyncmailstats._validate import check_bool, check_int
from asyncmailstats.exceptions import (
    APIError,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    excerpt,
)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, InvalidRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (418, APIError),
        (302, APIError),
    ],
)
def test_each_status_has_one_class(status: int, cls: type[APIError]) -> None:
    """The table gives 4xx classes, ServerError for 5xx and APIError for the rest."""
    assert status_error_class(status) is cls


def test_an_unlisted_client_error_takes_the_class_given() -> None:
    """A 4xx the table does not list takes *client_error*; other statuses do not."""
    assert status_error_class(418, client_error=InvalidRequestError) is InvalidRequestError
    assert status_error_class(302, client_error=InvalidRequestError) is APIError


def test_a_rate_limit_reads_retry_after() -> None:
    """A 429 becomes a RateLimitError carrying the Retry-After delay."""
    error = make_status_error("p", Response(429, {"retry-after": "3"}, b"x"), "slow", endpoint="e")
    assert isinstance(error, RateLimitError)
    assert (error.retry_after, error.status, error.body, error.endpoint) == (3.0, 429, "x", "e")


def test_the_class_read_from_the_body_wins() -> None:
    """A class the provider read from the body is used whatever the status."""
    response = Response(503, {}, b"{}")
    error = make_status_error("p", response, "m", endpoint="e", cls=AuthenticationError, code=7)
    assert type(error) is AuthenticationError
    assert (error.provider, error.code, error.message) == ("p", 7, "m")


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (True, TypeError, "n must be an int, got bool"),
        ("3", TypeError, "n must be an int, got str"),
        (0, ValueError, "n must be at least 1, got 0"),
    ],
)
def test_check_int_at_least(value: object, error: type[Exception], message: str) -> None:
    """Not an int (a bool is not one), or below the minimum, is refused."""
    with pytest.raises(error, match=rf"^{message}$"):
        check_int("n", value, 1)


def test_check_int_between() -> None:
    """With a maximum, both bounds are named; the value comes back when it fits."""
    assert check_int("n", 5, 1, 5) == 5
    with pytest.raises(ValueError, match=r"^n must be between 1 and 5, got 6$"):
        check_int("n", 6, 1, 5)
    with pytest.raises(TypeError, match=r"^n must be an int or None, got float$"):
        check_int("n", 1.0, 1, kind="an int or None")


def test_check_bool() -> None:
    """Only a bool passes."""
    assert check_bool("flag", False) is False
    with pytest.raises(TypeError, match=r"^flag must be a bool, got int$"):
        check_bool("flag", 0)


def test_one_excerpt_for_every_value() -> None:
    """Text and bytes are cut with a marker (or none); other values get a bounded repr."""
    assert excerpt("abcdef", 3) == "abc…"
    assert excerpt(b"abcdef", 3, marker="") == "abc"
    assert excerpt("abc", 3) == "abc"
    assert len(excerpt([[[[[[[[1]]]]]]]] * 100, 50, marker="")) <= 50
