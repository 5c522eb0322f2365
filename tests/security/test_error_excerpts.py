"""Errors keep a short excerpt of a response body, cheaply, and never part of a secret."""

from __future__ import annotations

import pytest

from asyncmailstats import APIError, DecodeError
from asyncmailstats._http import Response
from asyncmailstats.exceptions import BODY_EXCERPT_CHARS, excerpt
from asyncmailstats.getresponse import _jsonrpc as rpc

SECRET = "3f2a9c0d51e84b7aa6c2e0f9d4b1c7e8"


def test_a_huge_body_is_cut_to_the_excerpt_length() -> None:
    """Ten million bytes become the excerpt length plus an ellipsis."""
    text = excerpt(b"x" * 10_000_000)
    assert text == "x" * BODY_EXCERPT_CHARS + "…"


def test_multibyte_text_is_cut_by_characters() -> None:
    """A body of 4-byte characters still fills the excerpt with whole characters."""
    text = excerpt("😀".encode() * 5_000)
    assert text == "😀" * BODY_EXCERPT_CHARS + "…"


@pytest.mark.parametrize("offset", [0, BODY_EXCERPT_CHARS - 20, BODY_EXCERPT_CHARS - 1])
def test_a_secret_across_the_cut_is_not_kept_in_part(offset: int) -> None:
    """A secret that straddles the excerpt's end is redacted before the body is cut."""
    body = ("a" * offset + SECRET + "b" * 2_000).encode()
    with pytest.raises(APIError) as info:
        rpc.raise_for_status(Response(500, {}, body), endpoint="POST x", secrets=[SECRET])
    redacted = "a" * offset + rpc.REDACTED + "b" * 2_000
    assert info.value.body == redacted[:BODY_EXCERPT_CHARS] + "…"
    assert SECRET[:4] not in info.value.body


def test_a_reply_that_is_not_an_object_shows_a_bounded_excerpt() -> None:
    """A list of 100 000 items in place of a reply is described in a few hundred characters."""
    body = b"[" + b",".join(b"[1,2,3]" for _ in range(100_000)) + b"]"
    with pytest.raises(DecodeError) as info:
        rpc.decode_reply(Response(200, {}, body), call_id=1, endpoint="POST x")
    assert info.value.excerpt is not None
    assert len(info.value.excerpt) <= BODY_EXCERPT_CHARS + 1
