"""The DSN of a :class:`~asyncmailstats.sync.PostgresStore`: shown without its password.

A password may sit in the user info, in a ``password=`` query parameter or in a
key/value DSN, percent-encoded or not: :func:`dsn_secrets` finds every spelling, and
:func:`display_dsn` drops or masks them all.
"""

from __future__ import annotations

import os
import re
import socket
from typing import Final
from urllib.parse import parse_qsl, unquote, urlencode

__all__ = ["MAX_IDENTIFIER", "display_dsn", "dsn_secrets", "identity"]

#: The longest identifier PostgreSQL keeps (longer ones are cut without a word).
MAX_IDENTIFIER: Final = 63


def _split(dsn: str) -> tuple[str, str, str, str]:
    """Return the scheme, user info, hosts and the rest (path, query) of a URL.

    Split by hand rather than by ``urlsplit``, which refuses some URLs (an unclosed
    IPv6 bracket) that still hold a password.
    """
    scheme, sep, rest = dsn.partition("://")
    if not sep:
        return "", "", "", dsn
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, _, hosts = rest[:end].rpartition("@")
    return scheme, userinfo, hosts, rest[end:]


def _query(rest: str) -> list[tuple[str, str]]:
    return parse_qsl(rest.partition("?")[2].partition("#")[0], keep_blank_values=True)


def dsn_secrets(dsn: str) -> tuple[str, ...]:
    """Return the password of *dsn* in every spelling it may be shown in."""
    _, userinfo, _, rest = _split(dsn)
    found = {userinfo.partition(":")[2]}
    found |= {value for name, value in _query(rest) if name == "password"}
    found |= {match.group(1) for match in re.finditer(r"password=([^&\s]*)", dsn)}
    found |= {unquote(s) for s in found}
    return tuple(sorted((s for s in found if s), key=len, reverse=True))


def display_dsn(dsn: str) -> str:
    """Return *dsn* without its password, fit to be shown."""
    scheme, userinfo, hosts, rest = _split(dsn)
    if not scheme:
        return "the PostgreSQL database"
    user = userinfo.partition(":")[0]
    shown = f"{scheme}://{user}@{hosts}" if user else f"{scheme}://{hosts}"
    shown += rest.partition("?")[0].partition("#")[0]
    query = [(k, v) for k, v in _query(rest) if k != "password"]
    if query:
        shown += "?" + urlencode(query)
    for secret in dsn_secrets(dsn):
        shown = shown.replace(secret, "***")
    return shown


def identity() -> str:
    """Return the ``application_name`` of the store's connections: who runs the sync."""
    return f"asyncmailstats pid {os.getpid()} on {socket.gethostname()}"[:MAX_IDENTIFIER]
