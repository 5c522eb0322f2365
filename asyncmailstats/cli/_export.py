"""``asyncmailstats export PROVIDER ENDPOINT``: stream one endpoint to a file or stdout.

Each endpoint is a subcommand with the options of its API method (see
:mod:`._export_endpoints`) and the common output and credential options.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from typing import Any, Final

from .._limiter import Limits
from .._paging import Paginator
from .._session import Session
from ._credentials import (
    TOKEN_ENV,
    add_auth_header_option,
    add_credential_options,
    open_api,
    resolve_token,
)
from ._export_endpoints import DYNAMIC_STATS, ENDPOINTS, POSTMARK_STATS, Endpoint, given
from ._export_values import MAX_YEAR, MIN_YEAR, whole
from ._export_values import check_order as in_order
from ._output import FORMATS, AtomicOutput, RecordWriter, iter_rows
from ._progress import Progress
from ._target import UsageError, check_target

__all__ = [
    "DYNAMIC_STATS",
    "MAX_YEAR",
    "MIN_YEAR",
    "POSTMARK_STATS",
    "TOKEN_ENV",
    "add_export_parser",
    "resolve_token",
    "run_export",
]

#: What the common options say, by provider.
_EXPORT_HELP: Final = {
    "postmark": "Postmark messages, opens, clicks and stats",
    "emailconsul": "EmailConsul link, pixel and delivery stats",
    "getresponse": "GetResponse 1.5 messages, message stats and links",
}


def _common(parser: argparse.ArgumentParser, endpoint: Endpoint) -> None:
    """Add the options every endpoint of *endpoint*'s provider has."""
    out = parser.add_argument_group("output and connection")
    add_credential_options(out, endpoint.provider)
    if endpoint.provider == "emailconsul":
        add_auth_header_option(out)
    out.add_argument(
        "--format",
        choices=FORMATS,
        default="jsonl",
        help="output format (default: jsonl); CSV string cells starting with =, +, -, @, "
        "a tab or a carriage return get a leading ' so spreadsheets do not run them as "
        "formulas (see --csv-raw)",
    )
    out.add_argument(
        "--csv-raw",
        action="store_true",
        help="write CSV cells exactly as received, without the formula guard",
    )
    out.add_argument(
        "--out",
        metavar="PATH",
        help="output file (default: stdout); a regular file is written atomically "
        "(temporary file and rename, keeping its mode), a device, FIFO or hard-linked "
        "file in place",
    )
    out.add_argument(
        "--utc",
        action="store_true",
        help="write every date-time in UTC (+00:00) instead of the offset the provider "
        "sent (Postmark's US-Eastern offsets change with daylight saving time); "
        "GetResponse's date-times carry no offset and are UTC, so they get +00:00; "
        "dates stay dates",
    )
    if endpoint.page_max is not None or endpoint.limit_only:
        out.add_argument("--limit", type=whole(0), metavar="N", help="stop after this many records")
    if endpoint.page_max is not None:
        out.add_argument(
            "--page-size",
            type=whole(1, endpoint.page_max),
            metavar="N",
            help=f"records per request, 1 to {endpoint.page_max} (default: {endpoint.page_max})",
        )
        out.add_argument(
            "--prefetch",
            type=whole(1),
            default=4,
            metavar="N",
            help="pages requested ahead while one is written (default: 4; 1 = one at a time)",
        )
    out.add_argument(
        "--concurrency",
        type=whole(1, 1000),
        default=16,
        metavar="N",
        help="requests in flight at most (default: 16)",
    )
    out.add_argument("--no-progress", action="store_true", help="hide the progress line")


def _endpoint_parser(sub: Any, endpoint: Endpoint, name: str) -> None:
    parser = sub.add_parser(
        name,
        help=endpoint.help,
        description=f"Export {endpoint.help}.",
        epilog=endpoint.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(endpoint=endpoint)
    if endpoint.options:
        own = parser.add_argument_group("options of this endpoint")
        for opt in endpoint.options:
            opt.add_to(own)
    _common(parser, endpoint)


def _epilog(commands: list[str]) -> str:
    return "examples:\n" + "".join(f"  {line}\n" for line in commands)


def add_export_parser(sub: Any) -> None:
    """Add ``export``, its providers and one subcommand per endpoint to *sub*."""
    export = sub.add_parser(
        "export",
        help="stream an endpoint to a file or stdout",
        description="Stream one endpoint of a provider to a file or stdout, as JSON Lines, "
        "JSON or CSV.",
        epilog=_epilog(
            [
                (
                    "asyncmailstats export postmark opens --format jsonl --out opens.jsonl "
                    "--tag welcome"
                ),
                (
                    "asyncmailstats export emailconsul link-stats --from 2026-10-01 "
                    "--to 2026-11-01 --group country --sort=-count"
                ),
                "asyncmailstats export getresponse message-stats --message ID",
            ]
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    providers = export.add_subparsers(dest="provider", required=True, metavar="PROVIDER")
    for provider, endpoints in ENDPOINTS.items():
        parser = providers.add_parser(
            provider,
            help=_EXPORT_HELP[provider],
            description=f"Export {_EXPORT_HELP[provider]}: one subcommand per endpoint; "
            f"see 'asyncmailstats export {provider} ENDPOINT --help' for its options.",
            epilog=_epilog([e.examples[0] for e in endpoints if " " not in e.name]),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        names = parser.add_subparsers(dest="what", required=True, metavar="ENDPOINT")
        stats = None
        for endpoint in endpoints:
            if endpoint.name.startswith("stats "):
                if stats is None:
                    stats = _stats_parser(names, provider)
                _endpoint_parser(stats, endpoint, endpoint.name.removeprefix("stats "))
            else:
                _endpoint_parser(names, endpoint, endpoint.name)


def _stats_parser(names: Any, provider: str) -> Any:
    parser = names.add_parser(
        "stats",
        help="day series and totals (one subcommand per series)",
        description="Export one of Postmark's statistics: a day series (one row per "
        "day; e-mail clients, read times and browser families one row per day and key) "
        "or the overview totals.",
        epilog=_epilog(
            [
                f"asyncmailstats export {provider} stats overview --from 2026-10-01",
                f"asyncmailstats export {provider} stats email-clients --format csv",
            ]
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser.add_subparsers(dest="series", required=True, metavar="SERIES")


def check_order(args: argparse.Namespace, endpoint: Endpoint) -> None:
    """Refuse a range whose start (``--from``, ``--created-from`` …) is after its end."""
    flags = {opt.flag: opt.dest for opt in endpoint.options}
    for flag, dest in flags.items():
        if not flag.endswith("from") or flag == "--from-email":
            continue
        other = flag.removesuffix("from") + "to"
        first, last = getattr(args, dest, None), getattr(args, flags.get(other, ""), None)
        if first is not None and last is not None and not in_order(first, last):
            msg = f"{flag} {first.isoformat()} is after {other} {last.isoformat()}"
            raise UsageError(msg)


async def _drain(result: Any, writer: RecordWriter, progress: Progress) -> None:
    if isinstance(result, Paginator):
        async with result.pages() as pages:
            async for page in pages:
                if progress.total is None and page.total is not None:
                    progress.set_total(page.total)
                for item in page.items:
                    writer.write(item)
                progress.advance(len(page.items))
        return
    if inspect.isawaitable(result):
        result = await result
    if hasattr(result, "__aiter__"):
        try:
            async for item in result:
                writer.write(item)
                progress.advance()
        finally:
            aclose = getattr(result, "aclose", None)
            if aclose is not None:
                await aclose()
        return
    rows = result if isinstance(result, list) else list(iter_rows(result))
    progress.set_total(len(rows))
    for row in rows:
        writer.write(row)
        progress.advance()


def _create(api: Any, endpoint: Endpoint, args: argparse.Namespace) -> Any:
    """Create the endpoint's call; a value the library refuses is a usage error."""
    try:
        return endpoint.call(api, given(args, endpoint), args)
    except (ValueError, TypeError) as error:
        raise UsageError(endpoint.explain(str(error))) from None


async def run_export(args: argparse.Namespace, *, session_factory: Callable[[], Session]) -> None:
    """Run one export; raises the library's errors for the caller to report.

    Raises :class:`UsageError` for values refused before any request: a missing
    credential, a range that ends before it starts, an ``--out`` that cannot be
    written, a value the client refuses when the call is created.
    """
    endpoint: Endpoint = args.endpoint
    check_order(args, endpoint)
    if args.out is not None:
        check_target(args.out)
    token = resolve_token(args)
    async with session_factory() as session:
        api = open_api(session, args, token, limits=Limits(max_concurrency=args.concurrency))
        result = _create(api, endpoint, args)
        if inspect.isawaitable(result):
            # A coroutine checks its arguments when it starts, before its request; the
            # library reports what goes wrong afterwards as its own errors.
            try:
                result = await result
            except (ValueError, TypeError) as error:
                raise UsageError(endpoint.explain(str(error))) from None
        label = f"{args.provider} {endpoint.name}"
        progress = Progress(label, enabled=not args.no_progress)
        with AtomicOutput(args.out) as output:
            writer = RecordWriter(output.stream, args.format, csv_raw=args.csv_raw, utc=args.utc)
            try:
                await _drain(result, writer, progress)
            finally:
                progress.close()
            writer.finish()
            output.commit()
