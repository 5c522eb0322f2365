"""What an ``export`` subcommand is: its options and how it calls its API method.

An :class:`Endpoint` names its subcommand, its options (each the command-line form of one
argument of the API method) and how to call the method with them. Messages of the
values the library refuses are put in the words of the command line by
:meth:`Endpoint.explain` (``page_size`` -> ``--page-size``). The endpoints of each
provider are in ``_export_postmark``, ``_export_emailconsul`` and
``_export_getresponse``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from ._export_values import parse_day

Call = Callable[[Any, dict[str, Any], argparse.Namespace], Any]


@attrs.frozen
class Opt:
    """One option of a subcommand: the command-line form of one method argument."""

    flag: str
    dest: str
    help: str
    metavar: str | None = None
    type: Callable[[str], Any] | None = None
    repeat: bool = False
    required: bool = False
    choices: tuple[str, ...] | None = None

    def add_to(self, parser: argparse._ActionsContainer) -> None:
        """Add this option to *parser*."""
        extra: dict[str, Any] = {"dest": self.dest, "help": self.help, "metavar": self.metavar}
        if self.type is not None:
            extra["type"] = self.type
        if self.choices is not None:
            extra["choices"] = self.choices
            extra["metavar"] = self.metavar or "{" + ",".join(self.choices) + "}"
        if self.repeat:
            extra["action"] = "append"
        parser.add_argument(self.flag, required=self.required, **extra)


@attrs.frozen
class Endpoint:
    """One ``export PROVIDER …`` subcommand."""

    provider: str
    name: str
    help: str
    call: Call
    options: tuple[Opt, ...] = ()
    #: Page size limit of a paged stream (``--limit``, ``--page-size``, ``--prefetch``);
    #: ``None`` when the method takes no paging arguments.
    page_max: int | None = None
    #: ``--limit`` alone (a stream that is not read page by page).
    limit_only: bool = False
    examples: tuple[str, ...] = ()
    #: Library argument names that are no option of their own -> what to say instead.
    aliases: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def command(self) -> str:
        """Return the command line up to this endpoint."""
        return f"asyncmailstats export {self.provider} {self.name}"

    def epilog(self) -> str:
        """Return the ``examples:`` text of ``--help``."""
        lines = "\n".join(f"  {line}" for line in self.examples)
        return f"examples:\n{lines}\n"

    def explain(self, message: str) -> str:
        """Put a library message about this endpoint's arguments in option names."""
        names = {opt.dest: opt.flag for opt in self.options}
        names.update(_PAGING_NAMES)
        names.update(self.aliases)
        message = _METHOD.sub("", message)
        for name in sorted(names, key=len, reverse=True):
            message = re.sub(rf"(?<![\w.-]){re.escape(name)}(?!\w)", names[name], message)
        return message


_METHOD: Final = re.compile(r"\b[A-Z]\w*\.\w+\(\)(: )?")
_PAGING_NAMES: Final = {
    "page_size": "--page-size",
    "limit": "--limit",
    "prefetch": "--prefetch",
    "concurrency": "--concurrency",
}


def given(args: argparse.Namespace, endpoint: Endpoint) -> dict[str, Any]:
    """Return the options of *endpoint* the command line gave, by destination."""
    found: dict[str, Any] = {}
    for opt in endpoint.options:
        value = getattr(args, opt.dest, None)
        if value is not None and value != []:
            found[opt.dest] = value
    for name in ("limit", "page_size", "prefetch"):
        value = getattr(args, name, None)
        if value is not None:
            found[name] = value
    return found


def text_opt(flag: str, dest: str, help_: str, metavar: str = "TEXT") -> Opt:
    """Return an option that takes its text as it is."""
    return Opt(flag, dest, help_, metavar=metavar)


def day_opt(flag: str, dest: str, help_: str) -> Opt:
    """Return an option that takes a day, ``YYYY-MM-DD``."""
    return Opt(flag, dest, help_, metavar="DAY", type=parse_day)


def method_call(name: str) -> Call:
    """Return the call of the API method *name* with the options given."""
    return lambda api, found, _: getattr(api, name)(**found)
