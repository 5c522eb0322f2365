"""``asyncmailstats fake serve``: the fake provider servers in the foreground.

The fakes of :mod:`asyncmailstats.testing` run on 127.0.0.1 until the command is
stopped (Ctrl-C, SIGTERM or SIGHUP), so that ``export`` and ``sync`` (or any other
client) can be tried against them without an account. Each fake is announced by one
machine-readable line on stdout::

    fake provider=postmark url=http://127.0.0.1:41234 env=POSTMARK_SERVER_TOKEN credential=… now=…

followed by indented lines (the commands to try) and, once every fake listens, one
``ready`` line. Every option is checked before anything starts: a refused value is a
:class:`~asyncmailstats.cli._target.UsageError` (exit status 2).

The fakes listen on random free ports, or on the ones ``--port`` asks for; a port in use
stops the command, with the fakes started so far closed, before anything is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import shlex
import signal
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TextIO

import attrs

from ._credentials import TOKEN_ENV
from ._target import UsageError

if TYPE_CHECKING:
    from ..testing import FaultPlan

#: The fakes ``serve`` can run, in the order they are started and printed.
PROVIDERS: Final = ("postmark", "emailconsul", "getresponse")
#: The seed of the datasets (and credentials) unless ``--seed`` says otherwise.
DEFAULT_SEED: Final = 7
#: Signals that stop the servers; the command then exits with status 0.
STOP_SIGNALS: Final = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


_DESCRIPTION: Final = """\
Run fake Postmark, EmailConsul and GetResponse 1.5 servers on 127.0.0.1 in the
foreground, with seeded synthetic data, until Ctrl-C or SIGTERM stops them (exit
status 0). Try `asyncmailstats export` and `sync` against them with --base-url.

Output (stdout, flushed line by line): for each fake one line

  fake provider=NAME url=URL env=VARIABLE credential=SECRET now=TIMESTAMP

(space-separated KEY=VALUE fields, values never contain spaces; `now` is the end of
the dataset's period, ISO 8601), then indented lines with commands to try, then one
line starting with `ready` once every fake is listening. Lines starting with `#` or
a space are for people. On stop, one line on stderr says the servers stopped."""

_EPILOG: Final = """\
examples:
  asyncmailstats fake serve
  asyncmailstats fake serve postmark --port 8025 --seed 3
  asyncmailstats fake serve all --port 8025        # 8025, 8026, 8027
  asyncmailstats fake serve --faults --latency 0.05
  asyncmailstats fake serve postmark --fault rate_limit=0.05 --fault retry_after=1
  asyncmailstats fake serve --live 5 --messages 200

  # in another terminal, with the URL and token printed for the fake:
  POSTMARK_SERVER_TOKEN=… asyncmailstats export postmark opens \\
      --base-url http://127.0.0.1:8025 --limit 5
  POSTMARK_SERVER_TOKEN=… asyncmailstats sync postmark --db fake.db \\
      --base-url http://127.0.0.1:8025

--fault sets one field of asyncmailstats.testing.FaultPlan: the probabilities
rate_limit, rate_limit_no_header, server_error, bad_gateway, unavailable, reset,
truncate, stall and non_json (0 to 1, adding up to at most 1), stall_seconds and
retry_after (seconds), max_concurrency and max_rate (a number, or none), seed.
With --faults they change the preset; without, every other field is 0."""


@attrs.frozen
class ServeConfig:
    """What ``fake serve`` was asked to run, every value checked."""

    providers: tuple[str, ...]
    seed: int
    latency: float
    faults: FaultPlan | None
    live: float
    messages: int | None
    ports: dict[str, int]


def add_fake_parser(sub: Any) -> None:
    """Add ``fake`` and its ``serve`` command to the subparsers *sub*."""
    fake = sub.add_parser(
        "fake",
        help="run fake provider servers to try export and sync against (no account needed)",
        description="Fake provider servers on 127.0.0.1, with seeded synthetic data.",
    )
    commands = fake.add_subparsers(dest="fake_command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the fake servers in the foreground until stopped",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "which",
        nargs="?",
        default="all",
        metavar="{postmark,emailconsul,getresponse,all}",
        help="the fake to run (default: all three)",
    )
    serve.add_argument(
        "--seed",
        metavar="N",
        default=str(DEFAULT_SEED),
        help="seed of the datasets, the faults and the credentials: the same seed gives "
        f"the same tokens on every start (default: {DEFAULT_SEED})",
    )
    serve.add_argument(
        "--latency",
        metavar="S",
        default="0",
        help="seconds every request waits before it is answered (default: 0)",
    )
    serve.add_argument(
        "--faults",
        action="store_true",
        help="inject 429s, 5xx, dropped connections and cut bodies at a visible rate "
        "(the demo's preset); clients recover by retrying",
    )
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set one FaultPlan field, e.g. rate_limit=0.05 or max_rate=20 (repeatable; "
        "the names are listed below)",
    )
    serve.add_argument(
        "--live",
        metavar="N",
        default="0",
        help="keep recording while serving: N new opens and N new clicks (Postmark) and "
        "N new link clicks (EmailConsul) per second, so repeated syncs pick up new "
        "records (default: 0, the data stays as it is; GetResponse ignores it)",
    )
    serve.add_argument(
        "--messages",
        metavar="N",
        help="dataset size: Postmark and GetResponse messages, EmailConsul link clicks "
        "(with twice as many opens and as many deliveries) (default: 1000 Postmark "
        "messages, 5000 EmailConsul link clicks, 200 GetResponse messages)",
    )
    serve.add_argument(
        "--port",
        metavar="PORT",
        help="listen on this port (for all: postmark on PORT, emailconsul on PORT+1, "
        "getresponse on PORT+2); default: free ports chosen at random",
    )


# -- checking the options --------------------------------------------------------------


def _refuse(text: str) -> UsageError:
    """Return the error of a refused value; the command adds where ``--help`` is."""
    return UsageError(text)


def _integer(option: str, text: str, low: int, high: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _refuse(f"{option} {text} is not an integer") from None
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise _refuse(f"{option} {text} is out of range: it must be {bound}")
    return value


def _number(option: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _refuse(f"{option} {text} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise _refuse(f"{option} {text} is out of range: it must be a finite number >= 0")
    return value


def _fault_value(name: str, kind: str, text: str) -> float | int | None:
    """Parse *text* for the FaultPlan field *name* annotated *kind* (``float | None``…)."""
    if "None" in kind and text.strip().lower() == "none":
        return None
    try:
        value: float | int = int(text) if "float" not in kind else float(text)
    except ValueError:
        wanted = "an integer" if "float" not in kind else "a number"
        raise _refuse(f"--fault {name}={text}: {name} must be {wanted}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise _refuse(f"--fault {name}={text}: {name} must be finite")
    return value


def _fault_plan(args: argparse.Namespace, seed: int) -> FaultPlan | None:
    """Return the FaultPlan of ``--faults`` and ``--fault``, or ``None`` for neither."""
    from ..testing import FaultPlan  # noqa: PLC0415 - the fakes load only for this command
    from ._demo import _faults as preset  # noqa: PLC0415 - the demo's preset, shared

    kinds = {field.name: str(field.type) for field in attrs.fields(FaultPlan)}
    changes: dict[str, Any] = {}
    for item in args.fault:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise _refuse(f"--fault {item}: expected NAME=VALUE")
        if name not in kinds:
            raise _refuse(f"--fault {item}: unknown fault {name!r} (known: {', '.join(kinds)})")
        changes[name] = _fault_value(name, kinds[name], text)
    if not args.faults and not changes:
        return None
    base = preset(seed) if args.faults else FaultPlan(seed=seed)
    try:
        return attrs.evolve(base, **changes)
    except (TypeError, ValueError) as error:
        shown = " ".join(f"--fault {item}" for item in args.fault)
        raise _refuse(f"{shown}: {error}") from None


def check_options(args: argparse.Namespace) -> ServeConfig:
    """Return the checked configuration of ``fake serve``; raise UsageError if refused."""
    which = str(args.which)
    if which not in (*PROVIDERS, "all"):
        raise _refuse(f"unknown fake {which!r} (choose postmark, emailconsul, getresponse or all)")
    providers = PROVIDERS if which == "all" else (which,)
    seed = _integer("--seed", args.seed, -(2**63), 2**63 - 1)
    latency = _number("--latency", args.latency)
    live = _number("--live", args.live)
    messages = None if args.messages is None else _integer("--messages", args.messages, 0)
    ports: dict[str, int] = {}
    if args.port is not None:
        last = 65535 - (len(providers) - 1)
        base = _integer("--port", args.port, 1, last)
        ports = {name: base + i for i, name in enumerate(providers)}
    faults = _fault_plan(args, seed)
    return ServeConfig(
        providers=providers,
        seed=seed,
        latency=latency,
        faults=faults,
        live=live,
        messages=messages,
        ports=ports,
    )


class ListenError(UsageError):
    """A ``--port`` that cannot be listened on (found before anything is printed)."""


# -- running the fakes -----------------------------------------------------------------


def _make_fake(name: str, config: ServeConfig) -> Any:
    from ..testing import (  # noqa: PLC0415 - the fakes load only for this command
        FakeEmailConsul,
        FakeGetResponse,
        FakePostmark,
        LivePlan,
    )

    live = LivePlan(arrivals_per_second=config.live) if config.live else None
    common: dict[str, Any] = {
        "seed": config.seed,
        "latency": config.latency,
        "faults": config.faults,
    }
    size = config.messages
    if name == "postmark":
        extra: dict[str, Any] = {} if size is None else {"messages": size}
        return FakePostmark(**common, **extra, live=live)
    if name == "emailconsul":
        extra = (
            {} if size is None else {"link_logs": size, "pixel_logs": 2 * size, "deliveries": size}
        )
        return FakeEmailConsul(**common, **extra, live=live)
    extra = {} if size is None else {"messages": size}
    return FakeGetResponse(**common, **extra)


def _credential(name: str, fake: Any) -> str:
    return str(fake.token if name == "postmark" else fake.api_key)


def _summary(name: str, fake: Any) -> str:
    """Return what the dataset holds, for people."""
    if name == "postmark":
        start = fake.now - timedelta(days=fake.retention_days)
        return (
            f"{len(fake.messages)} messages, {len(fake.opens)} opens, "
            f"{len(fake.clicks)} clicks, {start:%Y-%m-%d} to {fake.now:%Y-%m-%d}"
        )
    if name == "emailconsul":
        return (
            f"{len(fake.link_logs)} link clicks, {len(fake.pixel_logs)} opens, "
            f"{len(fake.deliveries)} deliveries, up to {fake.now:%Y-%m-%d}"
        )
    return f"{len(fake.messages)} messages, up to {fake.now:%Y-%m-%d}"


def _commands(name: str, url: str, now: datetime) -> list[str]:
    """Return the export and sync commands to try against the fake at *url*."""
    target = ["--base-url", url]
    if name == "postmark":
        export = ["opens", *target, "--limit", "5"]
    elif name == "emailconsul":
        period = [
            "--from",
            f"{now - timedelta(days=30):%Y-%m-%d}",
            "--to",
            f"{now + timedelta(days=1):%Y-%m-%d}",
        ]
        export = ["link-stats", *period, *target, "--limit", "5"]
    else:
        export = ["messages", *target]
    return [
        shlex.join(["asyncmailstats", "export", name, *export]),
        shlex.join(["asyncmailstats", "sync", name, "--db", "fake.db", *target]),
    ]


def announce(name: str, fake: Any, url: str) -> list[str]:
    """Return the lines printed for the fake *name* serving at *url*."""
    credential = _credential(name, fake)
    env = TOKEN_ENV[name]
    fields = {
        "provider": name,
        "url": url,
        "env": env,
        "credential": credential,
        "now": fake.now.isoformat(),
    }
    lines = ["fake " + " ".join(f"{key}={value}" for key, value in fields.items())]
    lines.append(f"  # {_summary(name, fake)}")
    lines.extend(
        f"  {env}={shlex.quote(credential)} {command}" for command in _commands(name, url, fake.now)
    )
    return lines


def _describe(config: ServeConfig) -> str:
    faults = "off" if config.faults is None else "on"
    live = f"{config.live:g}/s" if config.live else "off"
    return (
        f"# asyncmailstats fake serve: seed {config.seed}, latency {config.latency:g} s, "
        f"faults {faults}, live {live}"
    )


class _Lines:
    """Lines on stdout, each flushed at once for a parent reading line by line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


async def run_fake(config: ServeConfig, *, stream: TextIO | None = None) -> str:
    """Serve the fakes of *config* until a stop signal; return the signal's name.

    The servers are closed, their ports released, before it returns.
    """
    out = _Lines(stream or sys.stdout)
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[str] = loop.create_future()

    def on_signal(signum: int) -> None:
        if not stop.done():
            stop.set_result(signal.Signals(signum).name)

    installed: list[int] = []
    try:
        for signum in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, on_signal, signum)
                installed.append(signum)
        async with contextlib.AsyncExitStack() as stack:
            lines = [_describe(config)]
            for name in config.providers:
                fake = _make_fake(name, config)
                port = config.ports.get(name, 0)
                try:
                    await fake.start(port)
                except OSError as error:
                    reason = error.strerror or str(error)
                    msg = f"--port: cannot listen on 127.0.0.1:{port}: {reason}"
                    raise ListenError(msg) from None
                stack.push_async_callback(fake.close)
                lines.extend(announce(name, fake, fake.url))
            for line in lines:
                out(line)
            count = len(config.providers)
            out(
                f"ready: {count} fake server{'s' if count > 1 else ''} on 127.0.0.1; "
                "Ctrl-C or SIGTERM stops"
            )
            return await stop
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def serve_command(args: argparse.Namespace, *, stream: TextIO | None = None) -> None:
    """Run ``fake serve`` until a stop signal, then say so on stderr (exit status 0).

    Raises:
        UsageError: For a refused option or a ``--port`` in use, before any fake starts.
    """
    config = check_options(args)
    try:
        name = asyncio.run(run_fake(config, stream=stream))
    except KeyboardInterrupt:  # Ctrl-C before the handlers were installed
        name = "SIGINT"
    print(f"asyncmailstats fake serve: stopped by {name}, servers closed", file=sys.stderr)
