"""The ``asyncmailstats`` command: ``demo`` on embedded fake servers, ``export`` and ``sync``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Coroutine, Sequence
from typing import Any, Final

from .. import exceptions as exc
from .._session import Session
from .._version import __version__
from ..sync import SyncError
from ._credentials import TOKEN_ENV
from ._export import add_export_parser, run_export
from ._parser import CliParser, report_usage
from ._sync import run_sync
from ._sync_parser import add_sync_parser
from ._target import UsageError

#: Exit status after Ctrl-C, as shells report a SIGINT.
EXIT_INTERRUPTED: Final = 130
#: Exit status of a refused command-line value, as argparse uses.
EXIT_USAGE: Final = 2
#: Exit status when the reader of stdout went away (``… | head -1``): 128 + SIGPIPE,
#: what a shell reports for a command killed by the signal. Nothing is printed.
EXIT_BROKEN_PIPE: Final = 128 + 13
#: Signals that stop the command like Ctrl-C does (temporary files removed); the exit
#: status is 128 + the signal number (SIGTERM 143, SIGHUP 129).
STOP_SIGNALS: Final = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Stopped(Exception):  # noqa: N818 - a stop, not an error
    """The command was stopped by *signum*."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


async def _stoppable(coro: Coroutine[Any, Any, None]) -> None:
    """Run *coro*; SIGTERM or SIGHUP cancel it (so cleanups run) and raise Stopped."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[int] = []

    def stop(signum: int) -> None:
        if not received and task is not None:
            received.append(signum)
            task.cancel()

    installed = []
    for signum in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop, signum)
            installed.append(signum)
    try:
        await coro
    except asyncio.CancelledError:
        if received:
            raise Stopped(received[0]) from None
        raise
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _silence_stdout() -> None:
    """Point stdout at devnull so the flush at exit cannot fail again (Python's recipe)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


_EXAMPLES: Final = """\
examples:
  asyncmailstats demo                                   # no account needed
  asyncmailstats fake serve                             # fake servers to try the rest on
  POSTMARK_SERVER_TOKEN=… asyncmailstats export postmark opens --tag welcome --limit 10
  POSTMARK_SERVER_TOKEN=… asyncmailstats sync postmark --db stats.db

'asyncmailstats COMMAND --help' lists each command's options and examples.
"""

_DEMO_EXAMPLES: Final = """\
examples:
  asyncmailstats demo
  asyncmailstats demo --faults               # retries recover, nothing lost
  asyncmailstats demo --latency 0.05 --seed 3
  asyncmailstats demo --scale 0.2 --no-progress
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``asyncmailstats`` command."""
    parser = CliParser(
        prog="asyncmailstats",
        description="Read email-engagement statistics from Postmark, EmailConsul and "
        "GetResponse 1.5, or watch a demo on embedded fake servers.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="run a demo on embedded fake servers (no account needed)",
        description="Start fake Postmark, EmailConsul and GetResponse servers on "
        "127.0.0.1 and drive them through the library: streams, fan-out, stats and a "
        "sync, each checked against the fake's data.",
        epilog=_DEMO_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    add_sync_parser(sub)
    from ._fake import add_fake_parser  # noqa: PLC0415 - kept beside its one call

    add_fake_parser(sub)
    return parser


def describe_error(error: BaseException, provider: str | None = None) -> str:
    """Return the one-line message printed for an expected failure."""
    env = TOKEN_ENV.get(provider or "", "the credential")
    for kind, text in (
        # A sync's store: a held lock names who holds it, a broken database its path.
        (SyncError, lambda e: f"{e}"),
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


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one exit per outcome
    """Run the command line and return its exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error already printed
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    try:
        if args.command == "demo":
            from ._demo import run_demo  # noqa: PLC0415 - the demo pulls in the fakes

            asyncio.run(_stoppable(run_demo(args)))
        elif args.command == "fake":
            from ._fake import serve_command  # noqa: PLC0415 - the fakes load only here

            serve_command(args)  # handles SIGINT and SIGTERM itself: a stop is exit 0
        elif args.command == "sync":
            asyncio.run(_stoppable(run_sync(args, session_factory=Session)))
        else:
            asyncio.run(_stoppable(run_export(args, session_factory=Session)))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Stopped as stopped:
        print(f"stopped by {signal.Signals(stopped.signum).name}", file=sys.stderr)
        return 128 + stopped.signum
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except UsageError as error:
        return report_usage(args, error)
    except (exc.MailStatsError, ValueError, TypeError, OSError) as error:
        print(
            f"asyncmailstats: {describe_error(error, getattr(args, 'provider', None))}",
            file=sys.stderr,
        )
        return 1
    return 0
