"""Task runner: ``nox -s tests``, ``nox -s tests-lowest``, ``nox -s lint``, ``nox -s typecheck``,
``nox -s bench``."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import nox
from packaging.requirements import Requirement

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
# ``nox -s tests`` runs on every supported Python found here and skips the others; CI
# passes --error-on-missing-interpreters for the versions it must test. An interpreter
# is never downloaded.
nox.options.error_on_missing_interpreters = False
nox.options.download_python = "never"


def supported_pythons() -> list[str]:
    """Return the Python versions pyproject.toml's classifiers declare, oldest first."""
    project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
    prefix = "Programming Language :: Python :: 3."
    minors = sorted(
        int(c.removeprefix(prefix))
        for c in project["classifiers"]
        if c.startswith(prefix) and c.removeprefix(prefix).isdigit()
    )
    return [f"3.{minor}" for minor in minors]


def find_pyenv_pythons() -> None:
    """Append pyenv's installed versions to PATH, so nox finds every one of them.

    pyenv's shims answer only for the versions made active (``pyenv global``,
    ``.python-version``); the interpreters themselves sit in ``versions/*/bin``. They go
    at the end of PATH, behind everything already there.
    """
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    path = os.environ.get("PATH", "").split(os.pathsep)
    found = sorted(str(bin_dir) for bin_dir in root.glob("3.*/bin") if bin_dir.is_dir())
    os.environ["PATH"] = os.pathsep.join([*path, *(d for d in found if d not in path)])


PYTHONS = supported_pythons()
find_pyenv_pythons()

#: The linter and type checker are pinned: a new release may format or infer differently.
RUFF = "ruff==0.17.6"
MYPY = "mypy==2.4.1"


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite with branch coverage, on each supported Python found here.

    The Python processes the tests start (the command, ``fake serve``, pytest running the
    plugin) are measured too (``[tool.coverage.run] patch``): each writes its own data
    file, and ``combine`` joins them before the report checks ``fail_under``. ``erase``
    first, so that no data file left by an earlier, interrupted run is counted.

    ``nox -s tests-3.13`` (or ``nox -s tests -p 3.13``) picks one version.
    """
    session.install("-e", ".[test]")
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "report")


def lowest_pins() -> list[str]:
    """Pin every runtime dependency in pyproject.toml to the floor its ``>=`` declares.

    Markers are kept, so a platform-only dependency (tzdata on Windows) is pinned only
    where it is installed. A dependency without a ``>=`` floor is an error: its lowest
    version would be whatever the resolver happens to pick.
    """
    project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = []
    for line in project["dependencies"]:
        req = Requirement(line)
        floors = [spec.version for spec in req.specifier if spec.operator == ">="]
        if len(floors) != 1:
            msg = f"{line!r}: a runtime dependency needs exactly one >= floor"
            raise ValueError(msg)
        pin = f"{req.name}=={floors[0]}"
        pins.append(f"{pin}; {req.marker}" if req.marker else pin)
    return pins


@nox.session(name="tests-lowest", python=PYTHONS[0])
def tests_lowest(session: nox.Session) -> None:
    """Run the test suite on the lowest versions of the runtime dependencies we declare.

    It runs on the oldest supported Python, the one those floors must install on.

    The pins are made from pyproject.toml's ``>=`` floors into a constraints file, so a
    floor raised or lowered there is what this session tests. The test tools themselves
    are not held down. pip's check afterwards makes sure the floors are a consistent set
    (a floor below what another floor requires fails here, not in a user's install).
    """
    pins = lowest_pins()
    constraints = Path(session.create_tmp()) / "lowest-constraints.txt"
    constraints.write_text("\n".join(pins) + "\n", encoding="utf-8")
    session.log("floors: " + ", ".join(pins))
    session.install("-e", ".[test]", "-c", str(constraints))
    session.run("python", "-m", "pip", "check")
    session.run("python", "-m", "pip", "list", "--format=freeze", silent=False)
    session.run("pytest", *session.posargs)


@nox.session(name="tests-speedups")
def tests_speedups(session: nox.Session) -> None:
    """Run the test suite with the optional speed-ups (orjson) installed."""
    session.install("-e", ".[test,speedups]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check lint rules and formatting with ruff."""
    session.install(RUFF)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the package, and every Python block of the README, with mypy --strict."""
    session.install("-e", ".[speedups,postgres,dlt]", "pytest", "pytest-asyncio", MYPY)
    session.run("mypy")
    blocks = Path(session.create_tmp()) / "readme-blocks"
    for old in blocks.glob("*.py"):
        old.unlink()
    session.run("python", "tests/docs/readme_blocks.py", str(blocks))
    session.run("mypy", "--strict", str(blocks))


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks on the fake servers; ``nox -s bench -- --quick`` for a short run.

    The peer SDKs, uvloop and the profiler are bench-only dependencies. sniffio is
    installed for the official SDK's sake: httpcore imports it on every request and,
    when it is missing, pays for a failed import each time.
    """
    session.install(
        "-e",
        ".[speedups,postgres,dlt]",
        "duckdb",
        "postmark-python",
        "postmarker",
        "uvloop",
        "pyinstrument",
        "sniffio",
    )
    session.run("python", "benchmarks/run.py", *session.posargs)
