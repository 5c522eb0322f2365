"""Checks on text every provider sends: one place for what all of them refuse."""

from __future__ import annotations


def check_encodable(name: str, value: str) -> str:
    """Return *value* if it can be sent as UTF-8 (holds no lone surrogate).

    Refused at the call, with a ``ValueError`` naming the argument, rather than as a
    ``UnicodeEncodeError`` while the request is built.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        msg = f"{name} is not valid Unicode text (it holds a lone surrogate)"
        raise ValueError(msg) from None
    return value
