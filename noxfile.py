"""Task runner: ``nox -s tests``, ``nox -s lint``, ``nox -s typecheck``, ``nox -s bench``."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = ["3.11", "3.12", "3.13"]
#: The linter and type checker are pinned: a new release may format or infer differently.
RUFF = "ruff==0.17.6"
MYPY = "mypy==2.4.1"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite with branch coverage."""
    session.install("-e", ".[test]")
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    session.run("coverage", "report")


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
    """Type-check the package with mypy --strict."""
    session.install("-e", ".[speedups]", MYPY)
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks on the fake servers; ``nox -s bench -- --quick`` for a short run.

    The peer SDKs, uvloop and the profiler are bench-only dependencies. sniffio is
    installed for the official SDK's sake: httpcore imports it on every request and,
    when it is missing, pays for a failed import each time.
    """
    session.install(
        "-e",
        ".[speedups]",
        "postmark-python",
        "postmarker",
        "uvloop",
        "pyinstrument",
        "sniffio",
    )
    session.run("python", "benchmarks/run.py", *session.posargs)
