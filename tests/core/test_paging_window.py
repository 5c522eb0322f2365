"""The prefetch window stays full: pages are decoded in order, after the next request left."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from asyncmailstats import Limits
from asyncmailstats._http import Request, Response
from asyncmailstats._paging import PagedEndpoint, Parsed, offset_paginator

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

PAGE = 10


def _paged_client(session: Any, memory_transport: Any, kit: Any, total: int) -> tuple[Any, list]:
    """Return the items endpoint as the pager sees it, and the log of sends and decodes."""
    events: list[tuple[str, int]] = []
    endpoint = kit.ItemsEndpoint(total)

    def handler(request: Request) -> Response:
        events.append(("send", int(dict(request.params)["offset"])))
        return endpoint(request)

    memory_transport.handler = handler
    client = kit.make_client(session, limits=Limits(max_concurrency=16))

    def check(response: Response) -> None:
        assert response.status == 200

    def parse(response: Response) -> Parsed[int]:
        data = kit.decode_json(response)
        offset = data["items"][0] if data["items"] else -1
        events.append(("decode", offset))
        return Parsed(data["items"], data["total"])

    async def fetch(offset: int, count: int) -> Response:
        return await client.fetch(kit.items_request(offset, count), check)

    return PagedEndpoint(fetch, parse), events


@pytest.mark.parametrize("prefetch", [1, 2, 4])
async def test_next_request_leaves_before_a_page_is_decoded(
    session, memory_transport, kit, prefetch: int
) -> None:
    """Each prefetched page is decoded only once the request refilling the window is out."""
    total = 12 * PAGE
    fetch, events = _paged_client(session, memory_transport, kit, total)
    pages = offset_paginator(
        fetch, limit=None, page_size=PAGE, max_page_size=PAGE, prefetch=prefetch
    )
    items = await pages.to_list()
    assert items == list(range(total))
    sends = [offset for kind, offset in events if kind == "send"]
    decodes = [offset for kind, offset in events if kind == "decode"]
    assert sorted(sends) == list(range(0, total, PAGE))  # one request per page
    assert decodes == list(range(0, total, PAGE))  # decoded one by one, in order
    for page in range(1, 12 - prefetch):
        refill = events.index(("send", (page + prefetch) * PAGE))
        assert refill < events.index(("decode", page * PAGE))


async def test_window_holds_prefetch_requests_while_pages_wait(
    session, memory_transport, kit
) -> None:
    """With a slow consumer, exactly prefetch page requests are out: no more, no fewer."""
    total, prefetch = 10 * PAGE, 3
    endpoint = kit.ItemsEndpoint(total)
    loop = asyncio.get_running_loop()
    held: list[asyncio.Future[Response]] = []

    def handler(request: Request) -> asyncio.Future[Response]:
        answer: asyncio.Future[Response] = loop.create_future()
        if dict(request.params)["offset"] == "0":
            answer.set_result(endpoint(request))
        else:
            held.append(answer)
            answer.request = request  # type: ignore[attr-defined]
        return answer

    memory_transport.handler = handler
    client = kit.make_client(session)
    pages = offset_paginator(
        kit.items_fetch(client), limit=None, page_size=PAGE, max_page_size=PAGE, prefetch=prefetch
    ).pages()
    async with pages:
        first = await pages.__anext__()
        assert first.items == tuple(range(PAGE))
        await kit.until(lambda: len(held) == prefetch)
        for _ in range(20):
            await asyncio.sleep(0)
        assert memory_transport.in_flight == prefetch
        # Answer every page in flight: the next page goes out as soon as the stream
        # takes the one before it, and never beyond the window.
        offset = PAGE
        while offset < total:
            for answer in list(held):
                if not answer.done():
                    answer.set_result(endpoint(answer.request))  # type: ignore[attr-defined]
            page = await pages.__anext__()
            assert page.offset == offset
            assert memory_transport.max_in_flight <= prefetch
            offset += PAGE
    assert len(memory_transport.sent) == total // PAGE
