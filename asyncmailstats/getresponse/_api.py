"""``GetResponseAPI``: the GetResponse API 1.5 (JSON-RPC) methods."""

from __future__ import annotations

import itertools
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Collection,
    Iterable,
    Mapping,
)
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

from .._closing import AsyncClosing
from .._fanout import Failure, FanOut, fan_out
from .._text import check_encodable
from .._validate import check_int
from ..exceptions import SessionClosedError
from ._jsonrpc import ApiKey, encode_call
from ._wire import (
    GET_LINKS,
    GET_MESSAGE_STATS,
    GET_MESSAGES,
    Batch,
    BatchPacker,
    StatsOutcome,
    call_request,
    check_grouping,
    check_id,
    decode_result,
    decode_stats_batch,
    link_list,
    links_conditions,
    message_list,
    messages_conditions,
    stats_conditions,
    stats_series,
    time_condition,
)
from .models import Grouping, Link, Message, MessageStatsSeries, MessageType, TimeRange

if TYPE_CHECKING:
    from .._client import ProviderClient
    from .._http import Response

T = TypeVar("T")

#: The most calls ``message_stats_many()`` puts in one batch.
MAX_BATCH_SIZE: Final = 1000
#: Batches ``message_stats_many()`` keeps in flight unless told otherwise.
DEFAULT_BATCH_CONCURRENCY: Final = 4

TimeCondition = TimeRange | Mapping[str, Any]
TextCondition = str | Mapping[str, str]


async def _each(items: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


class StatsOutcomes(AsyncClosing):
    """The outcomes of ``message_stats_many()``: an async iterator, also a context manager.

    Leaving early (``break``, an exception, :meth:`aclose`, cancellation) cancels the
    batches still in flight.
    """

    def __init__(self, outcomes: AsyncGenerator[StatsOutcome, None]) -> None:
        self._outcomes = outcomes

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StatsOutcome:
        return await anext(self._outcomes)

    async def aclose(self) -> None:
        """Stop: cancel the batches in flight and stop reading message IDs."""
        await self._outcomes.aclose()


class GetResponseAPI:
    """The GetResponse API 1.5 (JSON-RPC) methods for one API key.

    Get one from :meth:`asyncmailstats.Session.getresponse`. The API key travels inside
    every JSON-RPC body; it never appears in a repr, a log record or an error.
    """

    def __init__(self, client: ProviderClient, *, api_key: str) -> None:
        self._client = client
        # The key travels inside every JSON body: text UTF-8 cannot carry is refused now.
        # It is held masked and put into a body only by the transport; the client
        # redacts it from every error (before cutting), so decoding needs no copy of it.
        self._api_key = ApiKey(check_encodable("api_key", api_key))
        self._call_ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"<GetResponseAPI {self._client.base_url}>"

    async def _call(
        self, method: str, conditions: Mapping[str, Any], convert: Callable[[Any], T]
    ) -> T:
        """Send one call and return ``convert(result)``; conversion is part of decoding."""
        call_id = next(self._call_ids)
        request = call_request(method, self._api_key, conditions, call_id=call_id)

        def decode(response: Response) -> T:
            return convert(decode_result(response, method=method, call_id=call_id))

        return await self._client.call(request, decode)

    async def message_stats(
        self,
        message_id: str,
        *,
        grouping: Grouping | str = Grouping.DAILY,
        created_on: TimeCondition | None = None,
    ) -> MessageStatsSeries:
        """Return one message's stats, period by period (``get_message_stats``).

        Args:
            message_id: The message ID.
            grouping: ``hourly``, ``daily`` (default), ``monthly`` or ``yearly``.
            created_on: A :class:`TimeRange` (or ``{"FROM": …, "TO": …}`` / ``{"AT": …}``)
                passed on as the method's ``created_on`` condition.

        Returns:
            The periods with any activity, oldest first.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: An empty ID, an unknown grouping or a bad time condition.
            NotFoundError: GetResponse does not know the message (``Missing message``).
        """
        message_id = check_id(message_id, "message_id")
        checked = check_grouping(grouping)
        created = None if created_on is None else time_condition(created_on, "created_on")
        return await self._call(
            GET_MESSAGE_STATS,
            stats_conditions(message_id, grouping=checked, created_on=created),
            partial(stats_series, message_id=message_id, grouping=checked),
        )

    def message_stats_many(
        self,
        message_ids: Iterable[str] | AsyncIterable[str],
        *,
        grouping: Grouping | str = Grouping.DAILY,
        created_on: TimeCondition | None = None,
        batch_size: int = 100,
        concurrency: int = DEFAULT_BATCH_CONCURRENCY,
        ordered: bool = False,
    ) -> StatsOutcomes:
        """Fetch the stats of many messages in JSON-RPC batches.

        IDs are read lazily and packed into batches of up to *batch_size* calls (and
        under GetResponse's 1 MiB request limit); up to *concurrency* batches are in
        flight at once, through the session's limiter and retry path.

        Args:
            message_ids: Message IDs, as an iterable or an async iterable. A
                collection (list, tuple, set, the keys of a mapping…) is checked whole
                before anything is sent; other iterables are checked as they are read,
                and a bad ID raises from the iteration.
            grouping: ``hourly``, ``daily`` (default), ``monthly`` or ``yearly``.
            created_on: A time condition passed on to every call.
            batch_size: Calls per batch, 1 to :data:`MAX_BATCH_SIZE`.
            concurrency: Batches in flight at once.
            ordered: Yield outcomes in input order instead of as batches finish.

        Returns:
            An async iterator of :class:`~asyncmailstats.Outcome` — one per ID, with the
            ID as ``item``. A call's own error (``NotFoundError`` for an unknown
            message) is that outcome's ``error``; when a whole batch fails (after
            retries) every ID in it gets the batch's error. If the session closes,
            :class:`~asyncmailstats.SessionClosedError` is raised from the iteration.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: An empty ID in a list, an unknown grouping, a bad time
                condition, or a count out of range.
        """
        if isinstance(message_ids, str | bytes) or not isinstance(
            message_ids, Iterable | AsyncIterable
        ):
            msg = f"message_ids must be an iterable of IDs, got {type(message_ids).__name__}"
            raise TypeError(msg)
        if isinstance(message_ids, Collection):
            for message_id in message_ids:
                check_id(message_id, "each of message_ids")
        checked = check_grouping(grouping)
        created = None if created_on is None else time_condition(created_on, "created_on")
        batch_size = check_int("batch_size", batch_size, 1, MAX_BATCH_SIZE)
        # fan_out() checks concurrency and ordered, here, before anything runs.
        batches = self._stats_batches(message_ids, checked, created, batch_size)
        send = partial(self._send_stats_batch, grouping=checked)
        return StatsOutcomes(
            _flatten(fan_out(send, batches, concurrency=concurrency, ordered=ordered))
        )

    async def _stats_batches(
        self,
        message_ids: Iterable[Any] | AsyncIterable[Any],
        grouping: Grouping,
        created_on: Mapping[str, str] | None,
        batch_size: int,
    ) -> AsyncIterator[Batch]:
        packer = BatchPacker(max_calls=batch_size)
        async for item in _each(message_ids):
            message_id = check_id(item, "each of message_ids")
            call_id = next(self._call_ids)
            conditions = stats_conditions(message_id, grouping=grouping, created_on=created_on)
            call = encode_call(GET_MESSAGE_STATS, self._api_key, conditions, call_id=call_id)
            for batch in packer.add(message_id, call_id, call):
                yield batch
        for batch in packer.flush():
            yield batch

    async def _send_stats_batch(self, batch: Batch, *, grouping: Grouping) -> list[StatsOutcome]:
        decode = partial(decode_stats_batch, batch=batch, grouping=grouping)
        return await self._client.call(batch.request(), decode)

    async def messages(
        self,
        *,
        campaigns: Iterable[str] | None = None,
        type: MessageType | str | None = None,  # noqa: A002 - GetResponse's condition name
        subject: TextCondition | None = None,
        name: TextCondition | None = None,
        created_on: TimeCondition | None = None,
        send_on: TimeCondition | None = None,
    ) -> list[Message]:
        """Return the messages matching every given condition (``get_messages``).

        GetResponse does not page this method: the whole result comes in one reply.

        Args:
            campaigns: Campaign IDs (any of them).
            type: ``newsletter``, ``autoresponder``, ``ab_test`` or ``draft``; without
                it GetResponse returns newsletters and autoresponders.
            subject: A string (``EQUALS``) or a mapping of uppercase text operators
                (``EQUALS``, ``NOT_EQUALS``, ``CONTAINS``, ``NOT_CONTAINS``, ``MATCHES``)
                to text; ``CONTAINS`` takes ``%`` and ``_`` wildcards.
            name: Like *subject*, on the message's name.
            created_on: A :class:`TimeRange` or a mapping of ``FROM``/``TO``/``AT``.
            send_on: Like *created_on*, on the sending day (newsletters only).

        Returns:
            The messages in the order GetResponse listed them.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: An unknown type, an unknown or lowercase operator, an empty ID.
        """
        conditions = messages_conditions(
            campaigns=campaigns,
            type=type,
            subject=subject,
            name=name,
            created_on=created_on,
            send_on=send_on,
        )
        return await self._call(GET_MESSAGES, conditions, message_list)

    async def links(
        self, *, messages: Iterable[str] | None = None, url: TextCondition | None = None
    ) -> list[Link]:
        """Return the click-tracked links matching every given condition (``get_links``).

        Messages sent with click tracking off have no links.

        Args:
            messages: Message IDs (any of them).
            url: A string (``EQUALS``) or a mapping of uppercase text operators to text.

        Returns:
            The links in the order GetResponse listed them.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: An unknown or lowercase operator, an empty ID.
        """
        conditions = links_conditions(messages=messages, url=url)
        return await self._call(GET_LINKS, conditions, link_list)


async def _flatten(
    batches: FanOut[Batch, list[StatsOutcome]],
) -> AsyncGenerator[StatsOutcome, None]:
    async with batches:
        async for outcome in batches:
            if outcome.error is None:
                for item in outcome.value or ():
                    yield item
            elif isinstance(outcome.error, SessionClosedError):
                raise outcome.error
            else:
                for message_id in outcome.item.message_ids:
                    yield Failure(message_id, error=outcome.error)
