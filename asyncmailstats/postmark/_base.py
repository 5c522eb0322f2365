"""What every group of Postmark methods shares: the client and the call helper."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Final, TypeVar

from .._page_source import PagedEndpoint, Parsed
from .._validate import check_int
from ._decode import raise_for_status

if TYPE_CHECKING:
    from .._client import ProviderClient
    from .._http import Request, Response
    from .models import Click, Open, OutboundMessage

T = TypeVar("T")


def message_key(record: OutboundMessage) -> Hashable:
    """Return what tells one message from another: its ``MessageID``."""
    return record.message_id


def open_key(record: Open) -> Hashable:
    """Return what tells one open from another: message, recipient and time."""
    return (record.message_id, record.recipient, record.received_at)


def click_key(record: Click) -> Hashable:
    """Return what tells one click from another: message, recipient, time and link."""
    return (record.message_id, record.recipient, record.received_at, record.original_link)


#: The longest message retention ``retention_days`` may name: about a hundred years.
MAX_RETENTION_DAYS: Final = 36_500


def check_retention(value: object) -> int:
    """Return *value* if it is an int from 1 to :data:`MAX_RETENTION_DAYS`; raise otherwise."""
    days = check_int("retention_days", value, 1)
    if days > MAX_RETENTION_DAYS:
        msg = f"retention_days must be at most {MAX_RETENTION_DAYS}, got {days}"
        raise ValueError(msg)
    return days


class APIBase:
    """Holds the provider client; sends requests with a decoder bound to their endpoint."""

    __slots__ = ("_client", "_retention_days")

    def __init__(self, client: ProviderClient, *, retention_days: int = 45) -> None:
        self._client = client
        self._retention_days = check_retention(retention_days)

    async def _call(self, request: Request, decode: Callable[..., T], **kwargs: Any) -> T:
        """Send *request*; decode the reply with ``decode(response, endpoint=…, **kwargs)``."""
        decoder: Callable[[Response], T] = functools.partial(
            decode, endpoint=request.endpoint, **kwargs
        )
        return await self._client.call(request, decoder)

    def _paged(
        self,
        request: Callable[[int, int], Request],
        parse: Callable[..., Parsed[T]],
        key: Callable[[T], Hashable] | None,
    ) -> PagedEndpoint[T, Response]:
        """Return an offset-paged endpoint: *request* for a page, *parse* for its body.

        Postmark's lists are newest first by an immutable time, or by the key itself,
        so their order is stable while records arrive.
        """
        client = self._client
        label = request(0, 1).endpoint

        async def fetch(offset: int, count: int) -> Response:
            page = request(offset, count)
            return await client.fetch(page, functools.partial(raise_for_status, endpoint=label))

        def parse_reply(response: Response) -> Parsed[T]:
            return client.decode(response.body, functools.partial(parse, endpoint=label))

        return PagedEndpoint(fetch, parse_reply, key, stable=True, label=f"Postmark {label}")
