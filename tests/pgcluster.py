"""A throwaway PostgreSQL cluster: ``initdb`` and ``pg_ctl`` on a free loopback port.

From a shell (continuous integration)::

    DSN=$(python3 tests/pgcluster.py start "$DIR")   # prints the DSN of the superuser
    python3 tests/pgcluster.py stop "$DIR"            # stops the server, removes DIR

As a library::

    with throwaway_cluster() as dsn:
        ...

The cluster lives in one folder: its data, its unix socket and its log. It listens on
127.0.0.1 only, on a port that was free when it started. The superuser ``postgres``
connects without a password (``trust``) over loopback and the socket; every other role
must give its password (``scram-sha-256``), so that a wrong password can be tried. The
server runs with ``fsync`` off: the cluster is thrown away, never recovered.

PostgreSQL refuses to run as root: run as root, the cluster's files and processes
belong to ``nobody``. Only the standard library is used, so that any ``python3`` can
start the cluster before the project is installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: Where distributions put the server binaries when they are not on PATH.
SEARCH: tuple[str, ...] = (
    "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu
    "/usr/pgsql-*/bin",  # RHEL, Fedora (PGDG)
    "/usr/local/pgsql/bin",  # built from source
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
)
#: The role the cluster's processes run as when this runs as root.
UNPRIVILEGED = "nobody"
SUPERUSER = "postgres"
#: Seconds ``pg_ctl`` waits for the server to start or stop.
WAIT = 60
#: Ports tried before giving up (another process may take a free port first).
ATTEMPTS = 5
STATE = "cluster.json"

HBA = f"""\
# TYPE  DATABASE  USER          ADDRESS       METHOD
local   all       all                         trust
host    all       {SUPERUSER:<12}  127.0.0.1/32  trust
host    all       all           127.0.0.1/32  scram-sha-256
"""

SETTINGS = """
# A throwaway cluster for tests: nothing is kept across a crash.
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
"""


class ClusterError(RuntimeError):
    """The cluster could not be started or stopped."""


def _version(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_bindir() -> Path | None:
    """Return the folder of ``initdb``, ``pg_ctl`` and ``postgres``, or ``None``.

    ``PATH`` is searched first, then the folders distributions install the server in
    (the newest version first).
    """
    candidates: list[Path] = []
    found = shutil.which("initdb")
    if found:
        candidates += [Path(found).parent, Path(found).resolve().parent]
    for pattern in SEARCH:
        found_here = sorted(Path("/").glob(pattern.lstrip("/")), key=str, reverse=True)
        candidates += sorted(found_here, key=lambda p: _version(str(p)), reverse=True)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _owner() -> pwd.struct_passwd | None:
    """Return the account the cluster runs as: ``nobody`` when root, else ``None``."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        msg = f"running as root, and there is no {UNPRIVILEGED!r} user to run PostgreSQL as"
        raise ClusterError(msg) from None


def _run(argv: list[str], owner: pwd.struct_passwd | None, cwd: Path) -> str:
    """Run a server program (as *owner*, when given); return its output or raise."""
    extra: dict[str, Any] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    if owner is not None:
        extra = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
        env["HOME"] = str(cwd)
    result = subprocess.run(  # noqa: S603 - fixed programs, our own arguments
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        **extra,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        msg = f"{Path(argv[0]).name} failed ({result.returncode}): {output[-2000:]}"
        raise ClusterError(msg)
    return result.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _log_tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:]
    except OSError:
        return ""


def start(folder: str | os.PathLike[str]) -> str:
    """Create and start a cluster in *folder* (created if missing); return its DSN.

    *folder* must be empty or missing; its parent must be reachable by the cluster's
    user (``/tmp`` is). What :func:`stop` needs is written to ``folder/cluster.json``.

    Raises:
        ClusterError: No server binaries, no user to run them as, or the server failed
            to start (the message ends with its log).
    """
    bindir = find_bindir()
    if bindir is None:
        msg = "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found"
        raise ClusterError(msg)
    owner = _owner()
    root = Path(folder).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        msg = f"{root} is not empty"
        raise ClusterError(msg)
    data, sockets, log = root / "data", root / "socket", root / "server.log"
    sockets.mkdir()
    if owner is not None:
        for path in (root, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    state = {"bindir": str(bindir), "data": str(data), "user": owner.pw_name if owner else None}
    (root / STATE).write_text(json.dumps(state))
    _run(
        [
            str(bindir / "initdb"),
            f"--pgdata={data}",
            f"--username={SUPERUSER}",
            "--encoding=UTF8",
            "--no-locale",
            "--auth=trust",
            "--no-sync",
        ],
        owner,
        root,
    )
    (data / "pg_hba.conf").write_text(HBA)
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(SETTINGS + f"unix_socket_directories = '{sockets}'\n")
    for _ in range(ATTEMPTS):
        port = _free_port()
        try:
            _run(
                [
                    str(bindir / "pg_ctl"),
                    f"--pgdata={data}",
                    f"--log={log}",
                    "--wait",
                    f"--timeout={WAIT}",
                    f"--options=-p {port}",
                    "start",
                ],
                owner,
                root,
            )
        except ClusterError as error:
            if "could not bind" in _log_tail(log):
                continue  # the port was taken meanwhile: try another
            msg = f"{error}\nserver log:\n{_log_tail(log)}"
            raise ClusterError(msg) from None
        dsn = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
        (root / STATE).write_text(json.dumps({**state, "port": port, "dsn": dsn}))
        return dsn
    msg = f"no free port after {ATTEMPTS} attempts\nserver log:\n{_log_tail(log)}"
    raise ClusterError(msg)


def stop(folder: str | os.PathLike[str]) -> None:
    """Stop the cluster of *folder* (if it runs) and remove *folder*. Idempotent."""
    root = Path(folder).resolve()
    try:
        state = json.loads((root / STATE).read_text())
    except (OSError, ValueError):
        state = None
    if state is not None and Path(state["data"], "postmaster.pid").exists():
        owner = pwd.getpwnam(state["user"]) if state.get("user") else None
        pg_ctl = [str(Path(state["bindir"], "pg_ctl")), f"--pgdata={state['data']}", "--wait"]
        try:
            _run([*pg_ctl, f"--timeout={WAIT}", "--mode=fast", "stop"], owner, root)
        except ClusterError:
            _run([*pg_ctl, "--mode=immediate", "stop"], owner, root)
    shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a cluster in a new temporary folder; yield its DSN; stop and remove it."""
    folder = tempfile.mkdtemp(prefix="ams-postgres-")
    try:
        yield start(folder)
    finally:
        stop(folder)


def main(argv: list[str]) -> int:
    """Run ``start DIR`` (print the DSN) or ``stop DIR``."""
    if len(argv) != 2 or argv[0] not in {"start", "stop"}:
        sys.stderr.write("usage: pgcluster.py start|stop DIR\n")
        return 2
    command, folder = argv
    try:
        if command == "start":
            sys.stdout.write(start(folder) + "\n")
        else:
            stop(folder)
    except ClusterError as error:
        sys.stderr.write(f"pgcluster: {error}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
