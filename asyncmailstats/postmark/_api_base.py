"""The base of :class:`~._api.PostmarkAPI`: the client, and the helpers every method uses.

``PostmarkAPI`` has over twenty public methods, each with the docstring its users read;
in one module they would pass the package's 450-line limit. So the class is built from
mixins, one module per group of methods, each named ``_api_<group>.py``: this base, the
opens and clicks in :mod:`._api_events`, the stats in :mod:`._api_stats`; :mod:`._api`
holds the class itself with the messages and the history streams.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

from .._page_source import PagedEndpoint, Parsed
from .._paging import offset_paginator
from ._args import check_retention
from ._wire import MAX_PAGE_SIZE, OFFSET_CEILING, Listing, raise_for_status

if TYPE_CHECKING:
    from .._client import ProviderClient
    from .._http import Request, Response
    from .._paging import Paginator

T = TypeVar("T")


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

    def _list(
        self,
        listing: Listing[T],
        request: Callable[[int, int], Request],
        *,
        narrow_hint: str,
        limit: int | None,
        page_size: int | None,
        prefetch: int,
    ) -> Paginator[T]:
        """Return a stream of *listing*'s records, *request* asking for one page of them.

        The stream stops at Postmark's offset ceiling with a
        :class:`~asyncmailstats.ResultWindowError` that names the total and *narrow_hint*.
        """
        return offset_paginator(
            self._paged(request, listing.parse, listing.key),
            limit=limit,
            page_size=page_size,
            max_page_size=MAX_PAGE_SIZE,
            prefetch=prefetch,
            ceiling=OFFSET_CEILING,
            narrow_hint=narrow_hint,
        )
