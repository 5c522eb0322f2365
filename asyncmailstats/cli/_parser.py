"""The argument parser of the command: every usage error is one line and exit status 2.

argparse prints its whole usage text before an error; this parser prints one line
instead, in the words of the command line (option names, never attribute names)::

    asyncmailstats export postmark opens: error: --from 2026-13-01 is not a date (see
    'asyncmailstats export postmark opens --help')

The parser that read the last subcommand is remembered on the namespace (``PROG``), so
that errors found after parsing point at the same ``--help``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any, Final, NoReturn

from ._target import UsageError

#: Exit status of a refused command line, as argparse uses.
EXIT_USAGE: Final = 2
#: Namespace attribute holding the ``prog`` of the innermost subcommand.
PROG: Final = "_cli_prog"
#: Marks a type function's message that starts with the refused value: the option name
#: goes in front with a space (``--from 2026-13-01 is not a date``), not a colon.
VALUE_FIRST: Final = "\x1f"

_ARGUMENT = re.compile(r"argument (?P<name>[^:]+): (?P<rest>.*)", re.DOTALL)
_CHOICE = re.compile(r"invalid choice: (?P<value>'.*?') \(choose from (?P<choices>.*)\)")
_REQUIRED = "the following arguments are required: "


def usage_line(prog: str, message: str) -> str:
    """Return the one line printed for a usage error of *prog*."""
    return f"{prog}: error: {message} (see '{prog} --help')"


def value_error(message: str) -> argparse.ArgumentTypeError:
    """Return the error of a type function whose *message* starts with the value."""
    return argparse.ArgumentTypeError(VALUE_FIRST + message)


class CliParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose errors are one line and exit 2."""

    def _subcommands(self) -> argparse._SubParsersAction[Any] | None:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
                return action
        return None

    def _explain(self, message: str) -> str:  # noqa: PLR0911 - one per argparse message
        sub = self._subcommands()
        noun = str(sub.metavar or "subcommand").lower() if sub is not None else ""
        names = ", ".join(sub.choices) if sub is not None and sub.choices else ""
        if message.startswith(_REQUIRED):
            missing = message.removeprefix(_REQUIRED).split(", ")
            if sub is not None and str(sub.metavar) in missing:
                return f"missing {noun}; choose one of: {names}"
            return "missing " + ", ".join(missing)
        matched = _ARGUMENT.fullmatch(message)
        if matched is None:
            return message
        name, rest = matched["name"], matched["rest"]
        if rest.startswith(VALUE_FIRST):
            return f"{name} {rest.removeprefix(VALUE_FIRST)}"
        choice = _CHOICE.fullmatch(rest)
        if choice is not None:
            choices = choice["choices"].replace("'", "")
            if sub is not None and name == sub.metavar:
                return f"unknown {noun} {choice['value']}; choose one of: {choices}"
            return f"{name} {choice['value']} is not one of: {choices}"
        if rest == "expected one argument":
            return f"{name} needs a value"
        if rest.startswith("not allowed with argument "):
            return f"{name} cannot be combined with {rest.rsplit(' ', 1)[-1]}"
        return f"{name}: {rest}"

    def error(self, message: str) -> NoReturn:
        """Print one line (no usage text) and exit with status 2."""
        self.exit(EXIT_USAGE, usage_line(self.prog, self._explain(message)) + "\n")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse like argparse, and remember the innermost subcommand's ``prog``."""
        parsed, extras = super().parse_known_args(args, namespace)
        if not hasattr(parsed, PROG):
            setattr(parsed, PROG, self.prog)
        return parsed, extras

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """Parse *args*; an unknown option is reported by the subcommand that got it."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            prog = getattr(parsed, PROG, self.prog)
            message = f"unrecognized arguments: {' '.join(extras)}"
            self.exit(EXIT_USAGE, usage_line(prog, message) + "\n")
        return parsed


def prog_of(args: argparse.Namespace | None) -> str:
    """Return the ``prog`` of the subcommand *args* were read by."""
    return str(getattr(args, PROG, "asyncmailstats"))


def report_usage(args: argparse.Namespace | None, error: UsageError) -> int:
    """Print *error* as the one usage line of *args*' subcommand; return exit status 2."""
    print(usage_line(prog_of(args), str(error)), file=sys.stderr)
    return EXIT_USAGE
