"""``asyncmailstats export``: stream any list endpoint to a file or stdout."""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

from .._limiter import Limits
from .._paging import Paginator
from .._session import Session
from ._output import FORMATS, AtomicOutput, RecordWriter, iter_rows
from ._progress import Progress
from ._target import UsageError, check_target

TOKEN_ENV: Final = {
    "postmark": "POSTMARK_SERVER_TOKEN",
    "emailconsul": "EMAILCONSUL_API_KEY",
    "getresponse": "GETRESPONSE_API_KEY",
}

POSTMARK_STATS: Final = (
    "overview",
    "sent-counts",
    "bounce-counts",
    "spam-complaints",
    "tracked-counts",
    "open-counts",
    "open-platforms",
    "email-clients",
    "read-times",
    "click-counts",
    "browser-families",
    "click-platforms",
    "click-locations",
)

_EVENT_FILTERS: Final = (
    "recipient",
    "tag",
    "message_stream",
    "client_name",
    "client_company",
    "client_family",
    "os_name",
    "os_family",
    "os_company",
    "platform",
    "country",
    "region",
    "city",
)


def parse_when(text: str) -> date | datetime:
    """Parse ``YYYY-MM-DD`` as a date, anything longer as an ISO-8601 date-time."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        msg = f"not a date or ISO-8601 date-time: {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def parse_aware(text: str) -> datetime:
    """Parse an ISO-8601 date-time; a bare date means midnight UTC."""
    value = parse_when(text)
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


#: Years every provider can express; dates outside are refused before any request.
MIN_YEAR: Final = 1900
MAX_YEAR: Final = 9998

#: Date options of the command: attribute name to option name.
_DATE_OPTIONS: Final = {
    "from_date": "--from",
    "to_date": "--to",
    "period_from": "--from",
    "period_to": "--to",
}


def _common(parser: argparse.ArgumentParser, provider: str) -> None:
    env = TOKEN_ENV[provider]
    tokens = parser.add_mutually_exclusive_group()
    tokens.add_argument(
        "--token",
        help=f"credential (default: ${env}); never printed by the command, but visible "
        f"to other local users in the process list: prefer ${env} or --token-file",
    )
    tokens.add_argument(
        "--token-file",
        metavar="PATH",
        help="read the credential from this file (one line; the trailing newline is dropped)",
    )
    parser.add_argument("--base-url", help="API root (e.g. a fake server's URL)")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="jsonl",
        help="output format (default: jsonl); CSV string cells starting with =, +, -, @, "
        "a tab or a carriage return get a leading ' so spreadsheets do not run them as "
        "formulas (see --csv-raw)",
    )
    parser.add_argument(
        "--csv-raw",
        action="store_true",
        help="write CSV cells exactly as received, without the formula guard",
    )
    parser.add_argument(
        "--out",
        help="output file (default: stdout); a regular file is written atomically "
        "(temporary file and rename, keeping its mode), a device, FIFO or hard-linked "
        "file in place",
    )
    parser.add_argument("--limit", type=int, help="stop after this many records")
    parser.add_argument("--page-size", type=int)
    parser.add_argument("--prefetch", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress line")


def add_export_parser(sub: Any) -> None:
    """Add the ``export`` command and its providers to the top-level subparsers."""
    export = sub.add_parser("export", help="stream an endpoint to a file")
    providers = export.add_subparsers(dest="provider", required=True, metavar="PROVIDER")

    pm = providers.add_parser("postmark", help="Postmark messages, opens, clicks, stats")
    _common(pm, "postmark")
    pm.add_argument(
        "what",
        choices=[
            "messages",
            "opens",
            "clicks",
            "message-opens",
            "message-clicks",
            "open-history",
            "click-history",
            "stats",
        ],
    )
    pm.add_argument("kind", nargs="?", choices=POSTMARK_STATS, help="with 'stats'")
    pm.add_argument("--message", help="message id (message-opens, message-clicks)")
    pm.add_argument("--from", dest="from_date", type=parse_when)
    pm.add_argument("--to", dest="to_date", type=parse_when)
    pm.add_argument("--from-email")
    pm.add_argument("--status")
    pm.add_argument("--subject")
    pm.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE")
    for name in _EVENT_FILTERS:
        flag = "--stream" if name == "message_stream" else "--" + name.replace("_", "-")
        pm.add_argument(flag, dest=name)

    ec = providers.add_parser("emailconsul", help="EmailConsul link, pixel, delivery stats")
    _common(ec, "emailconsul")
    ec.add_argument(
        "what",
        choices=["link-stats", "link-timeseries", "pixel-timeseries", "delivery-timeseries"],
    )
    ec.add_argument("--from", dest="period_from", type=parse_aware, required=True)
    ec.add_argument("--to", dest="period_to", type=parse_aware, required=True)
    ec.add_argument("--group")
    ec.add_argument("--sort")
    ec.add_argument("--campaign-id")
    ec.add_argument("--subscriber-id")
    ec.add_argument("--profile-id")
    ec.add_argument("--domain")
    ec.add_argument("--status")
    ec.add_argument("--auth-header", default="X-API-Key")

    gr = providers.add_parser("getresponse", help="GetResponse 1.5 message stats, messages")
    _common(gr, "getresponse")
    gr.add_argument("what", choices=["message-stats", "messages", "links"])
    gr.add_argument("--message", action="append", default=[], help="message id (repeatable)")
    gr.add_argument("--grouping", default="daily")
    gr.add_argument("--campaign", action="append", default=[])


def check_dates(args: argparse.Namespace) -> None:
    """Refuse a date option whose year the providers cannot express."""
    for name, option in _DATE_OPTIONS.items():
        value = getattr(args, name, None)
        if isinstance(value, date) and not MIN_YEAR <= value.year <= MAX_YEAR:
            msg = f"{option}: year {value.year} is outside {MIN_YEAR}..{MAX_YEAR}"
            raise UsageError(msg)


def _given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _paging(args: argparse.Namespace) -> dict[str, Any]:
    return _given(args, "limit", "page_size", "prefetch")


def _postmark_call(api: Any, args: argparse.Namespace) -> Any:
    what = args.what
    if what in {"message-opens", "message-clicks"}:
        if not args.message:
            msg = f"{what} needs --message ID"
            raise ValueError(msg)
        method = api.message_opens if what == "message-opens" else api.message_clicks
        return method(args.message, **_paging(args))
    dates = _given(args, "from_date", "to_date")
    if what == "stats":
        if args.kind is None:
            msg = f"stats needs a kind: one of {', '.join(POSTMARK_STATS)}"
            raise ValueError(msg)
        name = "outbound_overview" if args.kind == "overview" else args.kind.replace("-", "_")
        return getattr(api, name)(**dates, **_given(args, "tag", "message_stream"))
    if what in {"opens", "clicks"}:
        filters = _given(args, *_EVENT_FILTERS)
        return getattr(api, what)(**filters, **_paging(args))
    message_filters = _given(
        args, "recipient", "from_email", "tag", "status", "subject", "message_stream"
    )
    if args.metadata:
        pairs = [item.partition("=") for item in args.metadata]
        if any(not sep for _, sep, _ in pairs):
            msg = "--metadata takes KEY=VALUE"
            raise ValueError(msg)
        message_filters["metadata"] = {k: v for k, _, v in pairs}
    if what == "messages":
        return api.outbound_messages(**message_filters, **dates, **_paging(args))
    method = api.open_history if what == "open-history" else api.click_history
    return method(**message_filters, **dates, concurrency=args.concurrency)


def _emailconsul_call(api: Any, args: argparse.Namespace) -> Any:
    period = {"period_from": args.period_from, "period_to": args.period_to}
    ids = _given(args, "campaign_id", "subscriber_id")
    if args.what == "link-stats":
        extra = _given(args, "group", "sort", "profile_id")
        return api.link_stats(**period, **ids, **extra, **_paging(args))
    if args.what == "link-timeseries":
        return api.link_timeseries(**period, **ids, **_given(args, "group", "profile_id"))
    if args.what == "pixel-timeseries":
        return api.pixel_timeseries(**period, **ids, **_given(args, "group"))
    extra = _given(args, "domain", "status", "sort")
    return api.delivery_timeseries(**period, **extra, **_paging(args))


async def _getresponse_rows(api: Any, args: argparse.Namespace) -> AsyncIterator[Any]:
    if args.what == "message-stats":
        if not args.message:
            msg = "message-stats needs --message ID (repeatable)"
            raise ValueError(msg)
        for message_id in args.message:
            series = await api.message_stats(message_id, grouping=args.grouping)
            for row in iter_rows(series):
                yield row
        return
    if args.what == "messages":
        campaigns = args.campaign or None
        for row in await api.messages(campaigns=campaigns):
            yield row
        return
    for row in await api.links(messages=args.message or None):
        yield row


def _getresponse_call(api: Any, args: argparse.Namespace) -> Any:
    return _getresponse_rows(api, args)


_CALLS: Final[dict[str, Callable[[Any, argparse.Namespace], Any]]] = {
    "postmark": _postmark_call,
    "emailconsul": _emailconsul_call,
    "getresponse": _getresponse_call,
}


def _api(session: Session, args: argparse.Namespace, token: str) -> Any:
    extra: dict[str, Any] = {"limits": Limits(max_concurrency=args.concurrency)}
    if args.base_url:
        extra["base_url"] = args.base_url
    if args.provider == "postmark":
        return session.postmark(server_token=token, **extra)
    if args.provider == "emailconsul":
        return session.emailconsul(api_key=token, auth_header=args.auth_header, **extra)
    return session.getresponse(api_key=token, **extra)


def _read_token_file(path: str) -> str:
    try:
        with Path(path).open(encoding="utf-8") as file:
            token = file.read()
    except (OSError, UnicodeError) as error:
        msg = f"--token-file {path}: {getattr(error, 'strerror', None) or error}"
        raise UsageError(msg) from None
    token = token.removesuffix("\n").removesuffix("\r")
    if not token.strip():
        msg = f"--token-file {path} is empty"
        raise UsageError(msg)
    return token


def resolve_token(args: argparse.Namespace) -> str:
    """Return the credential from ``--token``, ``--token-file`` or the environment."""
    env = TOKEN_ENV[args.provider]
    if getattr(args, "token_file", None):
        return _read_token_file(args.token_file)
    if args.token:
        print(
            "asyncmailstats: warning: --token is visible to other local users in the "
            f"process list; prefer the environment variable {env} or --token-file",
            file=sys.stderr,
        )
    token = args.token or os.environ.get(env, "")
    if not token:
        msg = f"no credential: pass --token or set {env}"
        raise ValueError(msg)
    return str(token)


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


async def run_export(args: argparse.Namespace, *, session_factory: Callable[[], Session]) -> None:
    """Run one export; raises the library's errors for the caller to report.

    Raises :class:`UsageError` for values refused before any request: a date the
    providers cannot express, an ``--out`` that cannot be written, a value the client
    refuses when the stream is created.
    """
    check_dates(args)
    if args.out is not None:
        check_target(args.out)
    token = resolve_token(args)
    if args.concurrency < 1:
        msg = "--concurrency must be at least 1"
        raise ValueError(msg)
    async with session_factory() as session:
        api = _api(session, args, token)
        try:
            result = _CALLS[args.provider](api, args)
        except (ValueError, TypeError) as error:
            msg = f"invalid argument: {error}"
            raise UsageError(msg) from None
        label = f"{args.provider} {args.what}"
        progress = Progress(label, enabled=not args.no_progress)
        with AtomicOutput(args.out) as output:
            writer = RecordWriter(output.stream, args.format, csv_raw=args.csv_raw)
            try:
                await _drain(result, writer, progress)
            finally:
                progress.close()
            writer.finish()
            output.commit()
