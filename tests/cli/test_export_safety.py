"""``asyncmailstats export`` run as a process: where output goes, signals, pipes, values.

Each test runs the real command in a subprocess (in a worker thread, so that this event
loop keeps the fake servers serving) and checks what a user would see: files on disk,
exit status, stderr, and how many requests reached the fake.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import pytest

from asyncmailstats.testing import FakeEmailConsul, FakePostmark

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
COMMAND = (sys.executable, "-m", "asyncmailstats", "export")
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX files and signals")


def _run(
    *argv: str, env: dict[str, str] | None = None, preexec_fn: Callable[[], Any] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and command
        [*COMMAND, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**ENV, **(env or {})},
        preexec_fn=preexec_fn,
        timeout=120,
        check=False,
    )


async def run(
    *argv: str, env: dict[str, str] | None = None, umask: int | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``asyncmailstats export *argv`` to completion without blocking this loop."""
    preexec = None if umask is None else (lambda: os.umask(umask))
    return await asyncio.to_thread(_run, *argv, env=env, preexec_fn=preexec)


def opens(fake: FakePostmark, *extra: str) -> tuple[str, ...]:
    """Arguments of an opens export from *fake*, credential in the environment."""
    return ("postmark", "opens", "--base-url", fake.url, "--no-progress", *extra)


def token_env(fake: FakePostmark) -> dict[str, str]:
    """The environment that carries *fake*'s token."""
    return {"POSTMARK_SERVER_TOKEN": fake.token}


def usage(what: str, message: str) -> str:
    """The one line of a usage error of ``export WHAT``, with its pointer to --help."""
    prog = f"asyncmailstats export {what}"
    return f"{prog}: error: {message} (see '{prog} --help')"


def jsonl_count(text: str) -> int:
    """Number of JSON Lines rows in *text* (each must parse)."""
    return len([json.loads(line) for line in text.splitlines()])


# -- 1. --out: devices, FIFOs, symlinks, modes, hard links, directories ---------------------


@posix_only
async def test_out_to_a_character_device_writes_in_place(tmp_path: Path):
    """--out on a device node writes to the device and leaves it a device."""
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs privileges here")
    async with FakePostmark(messages=200, seed=1) as fake:
        done = await run(*opens(fake, "--out", str(device)), env=token_env(fake))
    assert (done.returncode, done.stderr) == (0, "")
    assert stat.S_ISCHR(device.lstat().st_mode)
    assert device.lstat().st_rdev == os.makedev(1, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["null"]


@posix_only
async def test_out_to_a_fifo_writes_in_place(tmp_path: Path):
    """--out on a FIFO streams the rows to its reader and leaves the FIFO in place."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with fifo.open("rb") as reader:
            received.append(reader.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    async with FakePostmark(messages=200, seed=1) as fake:
        done = await run(*opens(fake, "--out", str(fifo)), env=token_env(fake))
        truth = len(fake.search_opens({}))
    if reader.is_alive() and stat.S_ISFIFO(fifo.lstat().st_mode):
        # The command never opened the FIFO: let the reader see end-of-file.
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    reader.join(10)
    assert (done.returncode, done.stderr) == (0, "")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received
    assert jsonl_count(received[0].decode()) == truth > 0


@posix_only
async def test_out_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path: Path):
    """--out on a symlink to a file replaces the file atomically; the link stays a link."""
    real = tmp_path / "real.jsonl"
    real.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real.name)
    async with FakePostmark(messages=200, seed=1) as fake:
        done = await run(*opens(fake, "--out", str(link)), env=token_env(fake))
        truth = len(fake.search_opens({}))
    assert (done.returncode, done.stderr) == (0, "")
    assert link.is_symlink()
    assert link.readlink() == Path(real.name)
    assert jsonl_count(real.read_text()) == truth > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.jsonl", "real.jsonl"]


@posix_only
async def test_out_keeps_the_mode_of_an_existing_file(tmp_path: Path):
    """An existing 0644 file is replaced by a 0644 file, not a 0600 one."""
    out = tmp_path / "opens.jsonl"
    out.write_text("old\n")
    out.chmod(0o644)
    async with FakePostmark(messages=100, seed=1) as fake:
        done = await run(*opens(fake, "--out", str(out)), env=token_env(fake))
    assert (done.returncode, done.stderr) == (0, "")
    assert out.read_text() != "old\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


@posix_only
async def test_out_new_file_honours_the_umask(tmp_path: Path):
    """A new output file gets 0666 & ~umask (0640 under umask 027)."""
    out = tmp_path / "opens.jsonl"
    async with FakePostmark(messages=100, seed=1) as fake:
        done = await run(*opens(fake, "--out", str(out)), env=token_env(fake), umask=0o027)
    assert (done.returncode, done.stderr) == (0, "")
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


@posix_only
async def test_out_to_a_hard_linked_file_keeps_the_links(tmp_path: Path):
    """A file with two names is written in place: both names show the new rows."""
    out = tmp_path / "opens.jsonl"
    out.write_text("old\n")
    other = tmp_path / "other-name.jsonl"
    os.link(out, other)
    async with FakePostmark(messages=100, seed=1) as fake:
        done = await run(*opens(fake, "--out", str(out)), env=token_env(fake))
        truth = len(fake.search_opens({}))
    assert (done.returncode, done.stderr) == (0, "")
    assert out.stat().st_ino == other.stat().st_ino
    assert out.stat().st_nlink == 2
    assert jsonl_count(other.read_text()) == truth > 0


@pytest.mark.parametrize("where", ["directory", "missing-folder"])
async def test_out_that_cannot_be_a_file_is_refused_before_any_request(tmp_path: Path, where: str):
    """--out a directory (or in a folder that does not exist): one line, exit 2, no request."""
    target = tmp_path if where == "directory" else tmp_path / "missing" / "opens.jsonl"
    async with FakePostmark(messages=100, seed=1) as fake:
        done = await run(*opens(fake, "--out", str(target)), env=token_env(fake))
        requests = fake.request_count
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("asyncmailstats export postmark opens: error: --out ")
    assert done.stderr.endswith(" (see 'asyncmailstats export postmark opens --help')\n")
    assert requests == 0


# -- 2. SIGTERM and SIGHUP clean up like Ctrl-C ---------------------------------------------


@posix_only
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
async def test_stop_signal_removes_the_partial_file(tmp_path: Path, signum: int):
    """SIGTERM / SIGHUP midway exit 128+signal and leave neither final nor partial file."""
    async with FakePostmark(messages=3000, seed=6, latency=0.05) as fake:
        out = tmp_path / "opens.jsonl"
        proc = await asyncio.create_subprocess_exec(
            *COMMAND, *opens(fake, "--out", str(out), "--page-size", "10", "--prefetch", "1"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
            env={**ENV, **token_env(fake)},
        )  # fmt: skip
        for _ in range(600):  # at most 30 s for the export to start writing
            partial = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
            if partial and partial[0].stat().st_size > 0:
                break
            await asyncio.sleep(0.05)
        else:
            proc.kill()
            await proc.wait()
            pytest.fail("the export never started writing")
        proc.send_signal(signum)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 128 + signum
    assert "Traceback" not in err.decode()
    assert list(tmp_path.iterdir()) == []


# -- 3. A reader that goes away -------------------------------------------------------------


def _read_one_line_then_close(argv: tuple[str, ...], env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and command
        [*COMMAND, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**ENV, **env},
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read()
    return proc.wait(60), err.decode()


async def test_closed_stdout_exits_quietly_with_141():
    """``… | head -1``: no message, no 'Exception ignored', exit status 141."""
    # Far more output than a pipe buffers, so writes continue after the reader left.
    async with FakePostmark(messages=3000, seed=2) as fake:
        code, err = await asyncio.to_thread(
            _read_one_line_then_close, opens(fake, "--page-size", "100"), token_env(fake)
        )
    assert (code, err) == (141, "")


# -- 4. CSV formula injection ---------------------------------------------------------------

#: A leading carriage return is covered by test_output.py: Python 3.11's csv module does
#: not quote a cell holding a lone CR when lines end in LF, so it cannot round-trip here.
FORMULAS = ('=HYPERLINK("http://evil.example","x")', "+1+2", "-1", "@SUM(A1)", "\tTAB")


class FormulaProxy:
    """An HTTP proxy in front of a fake Postmark that puts formulas in message subjects."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.url = ""

    async def __aenter__(self) -> Self:
        from aiohttp import ClientSession, web  # noqa: PLC0415 - test-only dependency

        self._client = ClientSession()

        async def forward(request: web.Request) -> web.Response:
            headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
            async with self._client.get(self.upstream + request.path_qs, headers=headers) as reply:
                body = await reply.json()
            for n, message in enumerate(body.get("Messages", [])):
                message["Subject"] = FORMULAS[n % len(FORMULAS)]
            return web.json_response(body, status=reply.status)

        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()
        await self._client.close()


@pytest.mark.parametrize("raw", [False, True])
async def test_csv_cells_that_look_like_formulas_are_neutralised(tmp_path: Path, raw: bool):
    """Formula-like subjects get a leading ' in CSV by default; --csv-raw keeps them."""
    import csv  # noqa: PLC0415

    out = tmp_path / "messages.csv"
    async with FakePostmark(messages=60, seed=3) as fake, FormulaProxy(fake.url) as proxy:
        argv = ("postmark", "messages", "--base-url", proxy.url, "--no-progress")
        argv += ("--format", "csv", "--out", str(out), *(["--csv-raw"] if raw else []))
        done = await run(*argv, env=token_env(fake))
    assert (done.returncode, done.stderr) == (0, "")
    with out.open(newline="", encoding="utf-8") as file:
        subjects = [row["subject"] for row in csv.DictReader(file)]
    assert len(subjects) >= len(FORMULAS)
    expected = [f if raw else "'" + f for f in FORMULAS]
    assert subjects[: len(FORMULAS)] == expected


# -- 5. Credentials -------------------------------------------------------------------------


async def test_token_on_the_command_line_warns_once(tmp_path: Path):
    """--token works but prints one warning about the process list on stderr."""
    async with FakePostmark(messages=50, seed=1) as fake:
        done = await run(*opens(fake, "--token", fake.token, "--out", str(tmp_path / "o")))
    assert done.returncode == 0
    assert done.stderr.count("--token is visible to other local users") == 1
    assert len(done.stderr.splitlines()) == 1
    assert fake.token not in done.stderr


async def test_token_file_is_read_without_its_newline(tmp_path: Path):
    """--token-file PATH supplies the credential (trailing newline dropped), no warning."""
    secret = tmp_path / "token"
    out = tmp_path / "opens.jsonl"
    async with FakePostmark(messages=50, seed=1) as fake:
        secret.write_text(fake.token + "\n")
        done = await run(*opens(fake, "--token-file", str(secret), "--out", str(out)))
        truth = len(fake.search_opens({}))
    assert (done.returncode, done.stderr) == (0, "")
    assert jsonl_count(out.read_text()) == truth


async def test_empty_token_file_is_a_usage_error(tmp_path: Path):
    """An empty --token-file: one line naming the file, exit 2, no request sent."""
    secret = tmp_path / "token"
    secret.write_text("\n")
    async with FakePostmark(messages=50, seed=1) as fake:
        done = await run(*opens(fake, "--token-file", str(secret)))
        requests = fake.request_count
    assert done.returncode == 2
    assert done.stderr.splitlines() == [usage("postmark opens", f"--token-file {secret} is empty")]
    assert requests == 0


async def test_token_help_no_longer_promises_secrecy():
    """The help of --token mentions the process list and offers --token-file."""
    done = await run("postmark", "opens", "--help")
    text = " ".join(done.stdout.split())
    assert done.returncode == 0
    assert "process list" in text
    assert "--token-file PATH" in text
    assert "formulas" in text


# -- 6. Dates the providers cannot express --------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "option", "value"),
    [
        ("postmark", "--to", "9999-12-31"),
        ("postmark", "--from", "0001-01-01"),
        ("emailconsul", "--to", "9999-12-31"),
        ("emailconsul", "--from", "0001-01-01"),
    ],
)
async def test_out_of_range_dates_are_one_line_usage_errors(provider: str, option: str, value: str):
    """A date outside 1900..9998: one line on stderr, exit 2, no request, no traceback."""
    fake_type = FakePostmark if provider == "postmark" else FakeEmailConsul
    async with fake_type(seed=1) as fake:
        what = "messages" if provider == "postmark" else "link-stats"
        dates = {"--from": "2024-01-01", "--to": "2024-02-01", option: value}
        argv = [provider, what, "--base-url", fake.url, "--no-progress"]
        if provider == "postmark":
            argv += [option, value]
        else:
            argv += [f"{k}={v}" for k, v in dates.items()]
        secret = fake.token if isinstance(fake, FakePostmark) else fake.api_key
        env = {"POSTMARK_SERVER_TOKEN": secret, "EMAILCONSUL_API_KEY": secret}
        done = await run(*argv, env=env)
        requests = fake.request_count
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        usage(
            f"{provider} {what}", f"{option} {value}: year {int(value[:4])} is outside 1900..9998"
        )
    ]
    assert requests == 0
