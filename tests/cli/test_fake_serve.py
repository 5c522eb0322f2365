"""``asyncmailstats fake serve`` run as a process: the printed fakes answer real commands.

Each test starts the real command, reads what it prints line by line (with deadlines,
from a reader thread), runs ``export`` and ``sync`` against the printed URLs with the
printed credentials, then stops it with a signal and checks that it exits 0 and that
every port it listened on is free again. The rows are compared with fakes built in this
process from the same seed and the printed ``now``: the same dataset.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import errno
import json
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from asyncmailstats.cli import build_parser
from asyncmailstats.cli._fake import _make_fake, check_options
from asyncmailstats.cli._target import UsageError
from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark

ROOT = Path(__file__).resolve().parents[2]
CREDENTIAL_ENVS = ("POSTMARK_SERVER_TOKEN", "EMAILCONSUL_API_KEY", "GETRESPONSE_API_KEY")
ENV = {
    **{k: v for k, v in os.environ.items() if k not in CREDENTIAL_ENVS},
    "PYTHONPATH": str(ROOT),
}
COMMAND = (sys.executable, "-m", "asyncmailstats")
#: Generous bound on anything the tests wait for; reached only when something is broken.
TIMEOUT = 60.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class Served:
    """A running ``fake serve`` process and what it printed up to its ``ready`` line."""

    def __init__(self, proc: subprocess.Popen[str], stderr: Path) -> None:
        self.proc = proc
        self.stderr = stderr
        self.lines: list[str] = []
        self.fakes: dict[str, dict[str, str]] = {}
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def read_until_ready(self) -> None:
        """Collect the printed lines up to ``ready``; fail at the deadline or at EOF."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no 'ready' line within {TIMEOUT} s; got {self.lines}")
            if line is None:
                pytest.fail(f"fake serve ended before 'ready': {self.lines} {self.errors()}")
            self.lines.append(line)
            if line.startswith("fake "):
                fields = dict(field.split("=", 1) for field in line.split()[1:])
                self.fakes[fields["provider"]] = fields
            if line.startswith("ready"):
                return

    def stop(self, signum: int) -> int:
        """Send *signum*, wait for the exit (bounded) and return the exit status."""
        self.proc.send_signal(signum)
        status = self.proc.wait(timeout=TIMEOUT)
        self._reader.join(timeout=TIMEOUT)
        return status

    def errors(self) -> str:
        return self.stderr.read_text() if self.stderr.exists() else ""

    def port(self, provider: str) -> int:
        return int(self.fakes[provider]["url"].rsplit(":", 1)[1])


@contextlib.contextmanager
def serve(tmp_path: Path, *argv: str) -> Iterator[Served]:
    """Start ``asyncmailstats fake serve *argv``; kill it at the end if still running."""
    err = tmp_path / "serve.err"
    with (
        err.open("w") as stderr,
        subprocess.Popen(  # noqa: S603 - our own interpreter and command
            [*COMMAND, "fake", "serve", *argv],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=ROOT,
            env=ENV,
        ) as proc,
    ):
        served = Served(proc, err)
        try:
            yield served
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=TIMEOUT)


def run(
    *argv: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """Run ``asyncmailstats *argv`` to completion (bounded) and return what it did."""
    return subprocess.run(  # noqa: S603 - our own interpreter and command
        [*COMMAND, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**ENV, **(env or {})},
        timeout=TIMEOUT,
        check=False,
    )


def credential(served: Served, provider: str) -> dict[str, str]:
    fields = served.fakes[provider]
    return {fields["env"]: fields["credential"]}


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def instant(text: str) -> dt.datetime:
    """A wire or exported timestamp, cut to microseconds, as an aware datetime."""
    head, dot, tail = text.partition(".")
    if dot:
        digits = len(tail) - len(tail.lstrip("0123456789"))
        tail = tail[: min(digits, 6)] + tail[digits:]
        text = f"{head}.{tail}"
    return dt.datetime.fromisoformat(text)


def assert_released(port: int) -> None:
    """Nothing listens on *port* of 127.0.0.1 any more, and it can be listened on again."""
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) == errno.ECONNREFUSED
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))
        again.listen()


def free_port() -> int:
    """Return a port of 127.0.0.1 nothing listens on now (the kernel's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the whole round: all three fakes, export and sync, Ctrl-C ------------------------------


def test_serve_all_answers_export_and_sync_then_stops_on_sigint(tmp_path: Path) -> None:
    with serve(tmp_path, "all", "--seed", "3") as served:
        served.read_until_ready()
        assert set(served.fakes) == {"postmark", "emailconsul", "getresponse"}
        for fields in served.fakes.values():
            assert fields["url"].startswith("http://127.0.0.1:")
            assert fields["credential"]
        assert served.lines[-1].startswith("ready")
        ports = [served.port(name) for name in served.fakes]
        assert len(set(ports)) == 3

        # Postmark: the first five opens, then a sync from ten days back.
        pm_fields = served.fakes["postmark"]
        pm = FakePostmark(seed=3, now=dt.datetime.fromisoformat(pm_fields["now"]))
        url = pm_fields["url"]
        exported = run(
            "export", "postmark", "opens", "--base-url", url, "--limit", "5", "--no-progress",
            env=credential(served, "postmark"),
        )  # fmt: skip
        assert exported.returncode == 0, exported.stderr
        rows = jsonl(exported.stdout)
        truth = pm.search_opens()[:5]
        assert len(rows) == 5
        assert [(r["message_id"], r["recipient"]) for r in rows] == [
            (o["MessageID"], o["Recipient"]) for o in truth
        ]
        assert [instant(r["received_at"]) for r in rows] == [
            instant(o["ReceivedAt"]) for o in truth
        ]

        since = (pm.now - dt.timedelta(days=10)).date()
        db = tmp_path / "x.db"
        synced = run(
            "sync", "postmark", "--db", str(db), "--base-url", url, "--since", since.isoformat(),
            "--no-progress",
            env=credential(served, "postmark"),
        )  # fmt: skip
        assert synced.returncode == 0, synced.stderr
        with contextlib.closing(sqlite3.connect(db)) as conn:
            stored = {
                (message_id, recipient)
                for message_id, recipient in conn.execute(
                    "SELECT message_id, recipient FROM postmark_opens"
                )
            }
            messages = {row[0] for row in conn.execute("SELECT message_id FROM postmark_messages")}
        all_opens = pm.opens
        known = {(o["MessageID"], o["Recipient"]) for o in all_opens}
        assert stored
        assert stored <= known
        # Every open a day or more after --since is there, whichever time zone days use.
        later = dt.datetime.combine(since + dt.timedelta(days=1), dt.time(), dt.UTC)
        assert {
            (o["MessageID"], o["Recipient"]) for o in all_opens if instant(o["ReceivedAt"]) >= later
        } <= stored
        assert messages <= {m["MessageID"] for m in pm.messages}

        # EmailConsul: link clicks per campaign over the whole dataset.
        ec_fields = served.fakes["emailconsul"]
        ec = FakeEmailConsul(seed=3, now=dt.datetime.fromisoformat(ec_fields["now"]))
        period = [
            "--from", f"{ec.now - dt.timedelta(days=40):%Y-%m-%d}",
            "--to", f"{ec.now + dt.timedelta(days=1):%Y-%m-%d}",
        ]  # fmt: skip
        exported = run(
            "export", "emailconsul", "link-stats", *period, "--group", "campaign_id",
            "--base-url", ec_fields["url"], "--no-progress",
            env=credential(served, "emailconsul"),
        )  # fmt: skip
        assert exported.returncode == 0, exported.stderr
        counts = {r["campaign_id"]: r["count"] for r in jsonl(exported.stdout)}
        assert counts == dict(collections.Counter(log.campaign_id for log in ec.link_logs))

        # GetResponse: every message get_messages lists, with its subject.
        gr_fields = served.fakes["getresponse"]
        gr = FakeGetResponse(seed=3, now=dt.datetime.fromisoformat(gr_fields["now"]))
        exported = run(
            "export", "getresponse", "messages", "--base-url", gr_fields["url"], "--no-progress",
            env=credential(served, "getresponse"),
        )  # fmt: skip
        assert exported.returncode == 0, exported.stderr
        subjects = {r["id"]: r["subject"] for r in jsonl(exported.stdout)}
        listed = ("newsletter", "autoresponder")  # what get_messages lists by default
        assert subjects == {k: m["subject"] for k, m in gr.messages.items() if m["type"] in listed}

        assert served.stop(signal.SIGINT) == 0
        errors = served.errors().splitlines()
        assert len(errors) == 1
        assert "stopped" in errors[0]
    for port in ports:
        assert_released(port)


def test_printed_commands_work_as_printed(tmp_path: Path) -> None:
    """Every indented command printed for a fake runs as printed (credential included)."""
    with serve(tmp_path, "all", "--seed", "5", "--messages", "60") as served:
        served.read_until_ready()
        commands = [line.strip() for line in served.lines if line.startswith("  ") and "=" in line]
        commands = [c for c in commands if not c.startswith("#")]
        assert len(commands) == 6  # an export and a sync per fake
        for command in commands:
            assignment, program, *argv = command.split()
            name, value = assignment.split("=", 1)
            assert name in CREDENTIAL_ENVS
            assert program == "asyncmailstats"
            assert "--base-url" in argv
            done = run(*argv, "--no-progress", env={name: value}, cwd=tmp_path)
            assert done.returncode == 0, f"{command}: {done.stderr}"
            if argv[0] == "export":
                assert jsonl(done.stdout), command
        assert (tmp_path / "fake.db").is_file()
        ports = [served.port(name) for name in served.fakes]
        assert served.stop(signal.SIGINT) == 0
    for port in ports:
        assert_released(port)


# -- a fixed port, SIGTERM ----------------------------------------------------------------


def test_fixed_port_serves_there_and_sigterm_stops_it(tmp_path: Path) -> None:
    port = free_port()
    with serve(tmp_path, "postmark", "--port", str(port), "--messages", "50") as served:
        served.read_until_ready()
        assert served.fakes["postmark"]["url"] == f"http://127.0.0.1:{port}"
        exported = run(
            "export", "postmark", "messages", "--base-url", f"http://127.0.0.1:{port}",
            "--limit", "3", "--no-progress",
            env=credential(served, "postmark"),
        )  # fmt: skip
        assert exported.returncode == 0, exported.stderr
        assert len(jsonl(exported.stdout)) == 3
        assert served.stop(signal.SIGTERM) == 0
        assert "stopped" in served.errors()
    assert_released(port)


def test_a_port_in_use_is_refused_before_anything_is_printed(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        done = run("fake", "serve", "postmark", "--port", str(port))
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert f"127.0.0.1:{port}" in done.stderr


# -- usage errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--fault", "nonsense=1"], "unknown fault 'nonsense'"),
        (["--fault", "rate_limit=2"], "rate_limit must be between 0 and 1"),
        (["--fault", "rate_limit"], "NAME=VALUE"),
        (["--fault", "max_concurrency=lots"], "must be an integer"),
        (["--fault", "reset=0.6", "--fault", "truncate=0.6"], "more than 1"),
        (["--port", "70000"], "--port"),
        (["all", "--port", "65534"], "--port"),
        (["--latency", "-1"], "--latency"),
        (["--seed", "x"], "--seed"),
        (["--messages", "-5"], "--messages"),
        (["--live", "nan"], "--live"),
        (["mailchimp"], "unknown fake"),
    ],
)
def test_usage_errors_are_one_line_and_start_nothing(argv: list[str], words: str) -> None:
    done = run("fake", "serve", *argv)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert words in lines[0]
    assert "--help" in lines[0]


def test_help_documents_every_option_and_the_output() -> None:
    done = run("fake", "serve", "--help")
    assert done.returncode == 0
    for option in ("--seed", "--latency", "--faults", "--fault", "--live", "--messages", "--port"):
        assert option in done.stdout
    assert "examples:" in done.stdout
    assert "fake provider=NAME url=URL" in done.stdout


# -- the options, in process ----------------------------------------------------------------


def options(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["fake", "serve", *argv])


def test_fault_options_set_plan_fields() -> None:
    config = check_options(
        options("--seed", "9", "--faults", "--fault", "retry_after=0.5", "--fault", "max_rate=none")
    )
    assert config.faults is not None
    assert config.faults.retry_after == 0.5
    assert config.faults.max_rate is None
    assert config.faults.rate_limit == 0.001  # the preset's
    assert config.faults.seed == 9

    config = check_options(options("--fault", "max_concurrency=4", "--fault", "stall=0.25"))
    assert config.faults is not None
    assert (config.faults.max_concurrency, config.faults.stall, config.faults.reset) == (4, 0.25, 0)

    assert check_options(options()).faults is None


def test_ports_sizes_and_live_plan() -> None:
    config = check_options(options("all", "--port", "9000", "--messages", "40", "--live", "5"))
    assert config.ports == {"postmark": 9000, "emailconsul": 9001, "getresponse": 9002}
    assert check_options(options("emailconsul", "--port", "9000")).ports == {"emailconsul": 9000}
    postmark = _make_fake("postmark", config)
    assert len(postmark.messages) == 40
    assert postmark.live is not None
    assert postmark.live.arrivals_per_second == 5
    emailconsul = _make_fake("emailconsul", config)
    assert len(emailconsul.link_logs) == 40
    assert len(_make_fake("getresponse", config).messages) == 40
    assert check_options(options()).ports == {}


def test_check_options_refuses_with_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown fault"):
        check_options(options("--fault", "nonsense=1"))
