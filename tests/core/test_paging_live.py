"""The pager over a live list: arrivals, removals, short pages, caps and lost anchors."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import pytest

from asyncmailstats import PagingError, ResultWindowError
from asyncmailstats._offset_pages import MAX_SEARCH_PAGES, REALIGN_ATTEMPTS
from asyncmailstats._paging import PagedEndpoint, Parsed, offset_paginator

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")


class LiveList:
    """A newest-first result whose records change between requests, as a script says.

    Records are ints (higher is newer); ``before(n)`` runs before the n-th request
    (counting from 0) is answered and may change ``records``. ``cap`` serves at most
    that many records a page (saying so when ``says_cap``); ``short`` maps a request
    number to how many records that reply leaves out.
    """

    def __init__(self, count: int, *, cap: int | None = None, says_cap: bool = False) -> None:
        self.records = list(range(count, 0, -1))
        self.next_new = count + 1
        self.cap = cap
        self.says_cap = says_cap
        self.short: dict[int, int] = {}
        self.empty_after: int | None = None
        self.claimed_total: int | None = None  # a total the server says whatever it holds
        self.scripts: dict[int, Callable[[LiveList], None]] = {}
        self.calls: list[tuple[int, int]] = []

    def arrive(self, n: int) -> None:
        """Record *n* new records at the head."""
        new = list(range(self.next_new + n - 1, self.next_new - 1, -1))
        self.next_new += n
        self.records[:0] = new

    async def fetch(self, offset: int, count: int) -> tuple[list[int], int, int | None]:
        number = len(self.calls)
        self.calls.append((offset, count))
        await asyncio.sleep(0)
        script = self.scripts.get(number)
        if script is not None:
            script(self)
        size = count if self.cap is None else min(count, self.cap)
        page = self.records[offset : offset + size]
        if number in self.short:
            page = page[: len(page) - self.short[number]]
        if self.empty_after is not None and number >= self.empty_after:
            page = []
        total = len(self.records) if self.claimed_total is None else self.claimed_total
        return page, total, (self.cap if self.says_cap else None)

    def endpoint(self, *, stable: bool = True) -> PagedEndpoint[int, Any]:
        def parse(reply: tuple[list[int], int, int | None]) -> Parsed[int]:
            return Parsed(*reply)

        return PagedEndpoint(self.fetch, parse, key=lambda record: record, stable=stable)


def paginate(source: PagedEndpoint[int, Any], **options: Any) -> Any:
    options.setdefault("limit", None)
    options.setdefault("page_size", 10)
    options.setdefault("max_page_size", 100)
    options.setdefault("prefetch", 4)
    return offset_paginator(source, **options)


def assert_exact(got: list[int], existing: list[int]) -> None:
    """Every record that existed throughout came out once, and nothing came out twice."""
    assert len(got) == len(set(got)), "a record came out twice"
    missing = set(existing) - set(got)
    assert not missing, f"{len(missing)} records never came out"


@pytest.mark.parametrize("prefetch", [1, 4, 8])
async def test_arrivals_after_the_first_page_are_neither_duplicated_nor_lost(prefetch: int) -> None:
    """40 records arriving after page 1 of a newest-first list: every old record once."""
    live = LiveList(300)
    existing = list(live.records)
    live.scripts[1] = lambda lst: lst.arrive(40)
    got = await paginate(live.endpoint(), prefetch=prefetch).to_list()
    assert_exact(got, existing)
    assert got == sorted(got, reverse=True), "the stream stays newest first"


@pytest.mark.parametrize("prefetch", [1, 4, 8])
@pytest.mark.parametrize("seed", range(8))
async def test_arrivals_between_every_page_keep_the_stream_exact(prefetch: int, seed: int) -> None:
    """Seeded arrivals before half the requests, now and then more than a page at once."""
    rng = random.Random(seed)
    live = LiveList(rng.randrange(150, 400))
    existing = list(live.records)
    for number in range(1, 80):
        if rng.random() < 0.5:
            burst = rng.choice([1, 2, 3, 5, 8]) if rng.random() < 0.9 else rng.choice([15, 40])
            live.scripts[number] = lambda lst, n=burst: lst.arrive(n)
    got = await paginate(live.endpoint(), prefetch=prefetch).to_list()
    assert_exact(got, existing)


async def test_a_list_growing_faster_than_it_is_read_raises() -> None:
    """More than a page arriving before every request: a clear error, not a chase forever."""
    live = LiveList(200)
    for number in range(2, 40):
        live.scripts[number] = lambda lst: lst.arrive(25)
    with pytest.raises(PagingError, match="moved while it was paged"):
        await paginate(live.endpoint(), prefetch=1).to_list()
    # Pages 0 to 3 (3 went out while 2 was parsed, and lost the place), then the search.
    bound = 4 + REALIGN_ATTEMPTS + MAX_SEARCH_PAGES
    assert len(live.calls) <= bound, "the search gives up after a bounded number of pages"


async def test_a_removal_before_the_position_is_found_again() -> None:
    """Records removed ahead of where the stream is: it searches and goes on exactly."""
    live = LiveList(100)
    existing = list(live.records)

    def remove(lst: LiveList) -> None:
        del lst.records[2:5]

    live.scripts[2] = remove
    got = await paginate(live.endpoint(), prefetch=1).to_list()
    removed = set(existing[2:5])
    assert_exact(got, [r for r in existing if r not in removed])


async def test_a_lost_anchor_raises_naming_the_change() -> None:
    """The record read last vanishes along with its neighbours: a clear error, no guess."""
    live = LiveList(100)

    def shuffle(lst: LiveList) -> None:
        del lst.records[:15]  # the first page's records, its last one among them
        random.Random(1).shuffle(lst.records)

    live.scripts[1] = shuffle
    with pytest.raises(PagingError, match=r"moved while it was paged.*100 -> 85") as caught:
        await paginate(live.endpoint(), prefetch=2).to_list()
    assert caught.value.total == 85
    assert caught.value.previous_total == 100
    # Pages 0 to 3 (prefetch 2, and one sent while page 1 was parsed), then one search.
    assert len(live.calls) <= 5, "one search: the page where the anchor belongs lacks it"


async def test_an_unstable_order_that_moves_raises() -> None:
    """A list sorted by a changing value: a moved anchor raises rather than re-aligns."""
    live = LiveList(100)
    live.scripts[1] = lambda lst: lst.arrive(3)
    with pytest.raises(PagingError, match="order depends on values that change"):
        await paginate(live.endpoint(stable=False), prefetch=1).to_list()


async def test_an_unstable_order_that_holds_still_reads_everything() -> None:
    """Without changes, an unstable-order list pages as usual."""
    live = LiveList(95)
    assert await paginate(live.endpoint(stable=False)).to_list() == list(range(95, 0, -1))


@pytest.mark.parametrize("prefetch", [1, 4])
async def test_a_short_page_mid_stream_is_not_the_end(prefetch: int) -> None:
    """One reply a record short before the total: the stream goes on from where it stopped."""
    live = LiveList(500)
    live.short[3] = 1
    got = await paginate(live.endpoint(), prefetch=prefetch).to_list()
    assert got == list(range(500, 0, -1))


@pytest.mark.parametrize("says_cap", [True, False])
async def test_a_server_capping_its_pages_is_read_whole(says_cap: bool) -> None:
    """A server serving 7 of the 30 asked: every record, and its page size adopted."""
    live = LiveList(200, cap=7, says_cap=says_cap)
    got = await paginate(live.endpoint(), page_size=30, prefetch=4).to_list()
    assert got == list(range(200, 0, -1))
    # A stated cap is adopted from the first reply; a silent one once seen twice (after
    # the first page, the window of 4, and the request sent while the second was parsed).
    later = [count for _, count in live.calls[1 if says_cap else 1 + 4 + 1 :]]
    assert later
    assert max(later) <= 7, "the smaller page size is adopted"


@pytest.mark.parametrize("prefetch", [1, 4])
@pytest.mark.parametrize("cap", [None, 7])
async def test_a_total_below_what_is_served_does_not_end_the_stream(
    prefetch: int, cap: int | None
) -> None:
    """A server whose total says 5 while it holds 237: every record, once, then the end."""
    live = LiveList(237, cap=cap)
    live.claimed_total = 5
    got = await paginate(live.endpoint(), page_size=10, prefetch=prefetch).to_list()
    assert got == list(range(237, 0, -1))
    # The end is known from an empty page: no more than a window of requests past it.
    assert max(offset for offset, _ in live.calls) <= 237 + 10 * prefetch


async def test_a_total_below_what_is_served_with_arrivals_stays_exact() -> None:
    """Arrivals at the head while the total understates the list: nothing lost or doubled."""
    live = LiveList(300)
    live.claimed_total = 3
    for n in range(1, 12):
        live.scripts[n] = lambda lst: lst.arrive(4)
    existing = list(live.records)
    got = await paginate(live.endpoint(), page_size=25, prefetch=4).to_list()
    assert_exact(got, existing)


async def test_a_total_below_what_is_served_still_stops_at_the_ceiling() -> None:
    """Past an understated total, full pages up to the ceiling are not taken as the end."""
    live = LiveList(150)
    live.claimed_total = 5
    stream = paginate(live.endpoint(), page_size=10, prefetch=2, ceiling=100)
    with pytest.raises(ResultWindowError):
        await stream.to_list()


async def test_an_empty_page_before_the_total_raises() -> None:
    """An empty page while the total says more: PagingError, not a silent end."""
    live = LiveList(100)
    live.empty_after = 3
    stream = paginate(live.endpoint(), prefetch=1)
    got: list[int] = []
    with pytest.raises(PagingError, match="came back empty although the total says 100"):
        async for record in stream:
            got.append(record)
    assert got == list(range(100, 100 - len(got), -1))


async def test_pages_without_a_key_do_not_overlap() -> None:
    """A stream without a natural key pages by position: no record is re-read."""
    live = LiveList(25)

    def parse(reply: tuple[list[int], int, int | None]) -> Parsed[int]:
        return Parsed(*reply)

    got = await paginate(PagedEndpoint(live.fetch, parse), prefetch=2).to_list()
    assert got == list(range(25, 0, -1))
    assert [offset for offset, _ in live.calls] == [0, 10, 20]


async def test_two_tasks_on_one_stream_raise_instead_of_sharing() -> None:
    """A second task calling __anext__ while the first waits gets RuntimeError."""
    live = LiveList(50)
    stream = aiter(paginate(live.endpoint(), prefetch=1))
    first = asyncio.create_task(anext(stream))
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already being iterated"):
        await anext(stream)
    got = [await first]
    got += [record async for record in stream]
    assert got == list(range(50, 0, -1))


async def test_a_list_growing_by_a_page_per_request_raises_instead_of_spinning() -> None:
    """Nine arrivals before every request of ten: nothing new per page, so PagingError."""
    live = LiveList(100)
    for number in range(2, 60):
        live.scripts[number] = lambda lst: lst.arrive(9)
    with pytest.raises(PagingError, match="grows ahead of the stream faster"):
        await paginate(live.endpoint(), prefetch=1).to_list()
    assert len(live.calls) < 20, "it gives up after a few pages with nothing new"
