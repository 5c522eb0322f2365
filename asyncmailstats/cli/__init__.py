"""The ``asyncmailstats`` command: ``demo`` on embedded fake servers, and ``export``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Final

from .. import exceptions as exc
from .._session import Session
from .._version import __version__
from ._export import TOKEN_ENV, add_export_parser, run_export

#: Exit status after Ctrl-C, as shells report a SIGINT.
EXIT_INTERRUPTED: Final = 130


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``asyncmailstats`` command."""
    parser = argparse.ArgumentParser(
        prog="asyncmailstats",
        description="Read email-engagement statistics from Postmark, EmailConsul and "
        "GetResponse 1.5, or watch a demo on embedded fake servers.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser("demo", help="run a demo on embedded fake servers (no account needed)")
    demo.add_argument("--seed", type=int, default=7, help="seed of the fake datasets")
    demo.add_argument(
        "--latency", type=float, default=0.02, help="fake per-request latency in seconds"
    )
    demo.add_argument(
        "--faults", action="store_true", help="inject 429s, 5xx, resets and cut bodies"
    )
    demo.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="dataset size factor (smaller runs faster)",
    )
    demo.add_argument("--no-progress", action="store_true", help="hide progress lines")
    add_export_parser(sub)
    return parser


def describe_error(error: BaseException, provider: str | None = None) -> str:
    """Return the one-line message printed for an expected failure."""
    env = TOKEN_ENV.get(provider or "", "the credential")
    if isinstance(error, exc.AuthenticationError):
        return f"authentication failed: check {env} (or --token)"
    if isinstance(error, exc.PermissionDeniedError):
        return f"permission denied by {error.provider}: {error.message}"
    if isinstance(error, exc.NotFoundError):
        return f"not found: {error.message}"
    if isinstance(error, exc.RateLimitError):
        return f"rate limited by {error.provider}; try again later or lower --concurrency"
    if isinstance(error, exc.APIError):
        return f"{error.provider} error: {error}"
    if isinstance(error, exc.ResultWindowError):
        return f"too many results: {error}"
    if isinstance(error, exc.TransportError):
        return f"network error: {error}"
    if isinstance(error, exc.DecodeError):
        return f"unexpected response: {error}"
    if isinstance(error, OSError):
        return f"cannot write output: {error}"
    return f"invalid argument: {error}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from ._demo import run_demo  # noqa: PLC0415 - the demo pulls in the fakes

            asyncio.run(run_demo(args))
        else:
            asyncio.run(run_export(args, session_factory=Session))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (exc.MailStatsError, ValueError, TypeError, OSError) as error:
        print(
            f"asyncmailstats: {describe_error(error, getattr(args, 'provider', None))}",
            file=sys.stderr,
        )
        return 1
    return 0
