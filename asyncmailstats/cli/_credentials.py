"""The credential and connection options ``export`` and ``sync`` share, and their use.

A command takes its credential from ``--token-file``, ``--token`` (with a warning: the
process list shows it) or the provider's environment variable, and its API root from
``--base-url``; :func:`open_api` opens the provider's client on a session with them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Final

from .._session import Session
from ._target import UsageError

#: The environment variable of each provider's credential.
TOKEN_ENV: Final = {
    "postmark": "POSTMARK_SERVER_TOKEN",
    "emailconsul": "EMAILCONSUL_API_KEY",
    "getresponse": "GETRESPONSE_API_KEY",
}


def add_credential_options(parser: argparse._ActionsContainer, provider: str) -> None:
    """Add ``--token``, ``--token-file`` (one or the other) and ``--base-url``."""
    env = TOKEN_ENV[provider]
    tokens = parser.add_mutually_exclusive_group()
    tokens.add_argument(
        "--token",
        help=f"credential (default: ${env}); never printed by the command, but visible "
        f"to other local users in the process list: prefer ${env} or --token-file",
    )
    tokens.add_argument(
        "--token-file",
        metavar="PATH",
        help="read the credential from this file (one line; the trailing newline is dropped)",
    )
    parser.add_argument("--base-url", metavar="URL", help="API root (e.g. a fake server's URL)")


def add_auth_header_option(parser: argparse._ActionsContainer) -> None:
    """Add EmailConsul's ``--auth-header``."""
    parser.add_argument(
        "--auth-header",
        default="X-API-Key",
        metavar="NAME",
        help="the header that carries the API key (default: X-API-Key)",
    )


def _read_token_file(path: str) -> str:
    try:
        with Path(path).open(encoding="utf-8") as file:
            token = file.read()
    except (OSError, UnicodeError) as error:
        msg = f"--token-file {path}: {getattr(error, 'strerror', None) or error}"
        raise UsageError(msg) from None
    token = token.removesuffix("\n").removesuffix("\r")
    if not token.strip():
        msg = f"--token-file {path} is empty"
        raise UsageError(msg)
    return token


def resolve_token(args: argparse.Namespace) -> str:
    """Return the credential from ``--token``, ``--token-file`` or the environment."""
    env = TOKEN_ENV[args.provider]
    if getattr(args, "token_file", None):
        return _read_token_file(args.token_file)
    if args.token:
        print(
            "asyncmailstats: warning: --token is visible to other local users in the "
            f"process list; prefer the environment variable {env} or --token-file",
            file=sys.stderr,
        )
    token = args.token or os.environ.get(env, "")
    if not token:
        msg = f"no credential: set {env}, or pass --token-file or --token"
        raise UsageError(msg)
    return str(token)


def open_api(session: Session, args: argparse.Namespace, token: str, **extra: Any) -> Any:
    """Return the client of ``args.provider`` on *session*, with ``--base-url`` if given.

    *extra* goes to the client as it is (limits, retention days).
    """
    if args.base_url:
        extra["base_url"] = args.base_url
    if args.provider == "postmark":
        return session.postmark(server_token=token, **extra)
    if args.provider == "emailconsul":
        return session.emailconsul(api_key=token, auth_header=args.auth_header, **extra)
    return session.getresponse(api_key=token, **extra)
