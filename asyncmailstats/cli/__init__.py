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
    for kind, text in (
        (exc.AuthenticationError, lambda _: f"authentication failed: check {env} (or --token)"),
        (exc.PermissionDeniedError, lambda e: f"permission denied by {e.provider}: {e.message}"),
        (exc.NotFoundError, lambda e: f"not found: {e.message}"),
        (
            exc.RateLimitError,
            lambda e: f"rate limited by {e.provider}; try again later or lower --concurrency",
        ),
        (exc.APIError, lambda e: f"{e.provider} error: {e}"),
        (exc.ResultWindowError, lambda e: f"too many results: {e}"),
        (exc.TransportError, lambda e: f"network error: {e}"),
        (exc.DecodeError, lambda e: f"unexpected response: {e}"),
        (OSError, lambda e: f"cannot write output: {e}"),
    ):
        if isinstance(error, kind):
            return text(error)  # type: ignore[no-untyped-call]
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
