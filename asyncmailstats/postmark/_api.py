"""The public Postmark client: outbound messages, opens, clicks and stats.

:class:`PostmarkAPI` is built from mixins (see :mod:`._api_base` for why): its opens and
clicks come from :mod:`._api_events`, its stats from :mod:`._api_stats`; the messages
and the history streams are here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

from .._paging import PagedEndpoint, PageSource, Paginator, check_paging
from .._validate import check_int
from . import _wire
from ._api_events import EventMethods
from ._api_stats import StatsMethods
from ._args import Params, check_range, message_filters, start_instant
from ._streams import history_pages, window_pages
from .models import TrackLinks

if TYPE_CHECKING:
    from .._http import Response
    from .models import (
        Click,
        MessageStream,
        MessageStreamType,
        Open,
        OutboundMessage,
        OutboundMessageDetails,
        StatusFilter,
    )

T = TypeVar("T")

#: The largest page Postmark serves (and the default page size).
MAX_PAGE_SIZE: Final = _wire.MAX_PAGE_SIZE
#: ``count + offset`` may not exceed this on Postmark's list endpoints.
OFFSET_CEILING: Final = _wire.OFFSET_CEILING
#: Messages whose opens or clicks are read at once by the history streams by default.
DEFAULT_HISTORY_CONCURRENCY: Final = 8

_ONE_SECOND: Final = dt.timedelta(seconds=1)


def _opens_tracked(message: OutboundMessage) -> bool:
    return message.track_opens is not False


def _links_tracked(message: OutboundMessage) -> bool:
    return message.track_links != TrackLinks.NONE


class PostmarkAPI(EventMethods, StatsMethods):
    """Read a Postmark server's sent messages, opens, clicks and statistics.

    Get one from :meth:`asyncmailstats.Session.postmark`; constructing it does no I/O.
    Arguments are checked when a method is called, also for streams (returned without
    awaiting), so bad input fails before any request is sent.

    Dates: a :class:`datetime.date` is sent as ``YYYY-MM-DD``; an aware
    :class:`datetime.datetime` is converted to US Eastern time (Postmark reads filters
    as Eastern time) and sent to the second; a naive datetime is refused as ambiguous.
    Date bounds are inclusive, and must fall between 1900-01-01 and 9998-12-31 (for a
    datetime: its day in Eastern time); anything else is a ``ValueError`` at the call.

    Stats: :meth:`outbound_overview` and the day series (:meth:`sent_counts` to
    :meth:`click_locations`) each read one ``GET /stats/outbound…`` endpoint. Stats are
    kept per day in Eastern time, so their ranges are dates. Every stats method takes
    the same keyword arguments:

    - ``tag``: only messages with this tag.
    - ``from_date``: first day (inclusive); all time when neither date is given.
    - ``to_date``: last day (inclusive).
    - ``message_stream``: only this stream. When ``None`` no stream is sent and
      Postmark counts every stream of the server (the Messages API, by contrast,
      defaults to the ``outbound`` stream).

    and raises, before any request, ``TypeError`` when a bound is not a
    :class:`datetime.date` (datetimes are refused: stats are kept per day), and
    ``ValueError`` when *from_date* is after *to_date*, a date is outside 1900-01-01 to
    9998-12-31, or a filter is empty.

    Args:
        client: The provider client that sends requests (made by the session).
        retention_days: The server's message retention: how far back
            :meth:`outbound_messages` reads when no ``from_date`` is given; 1 to
            36 500 days.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<PostmarkAPI {self._client.base_url}>"

    @property
    def retention_days(self) -> int:
        """How many days back ``outbound_messages()`` reads when no ``from_date`` is given."""
        return self._retention_days

    # ------------------------------------------------------------------ messages

    def _search(self, filters: Params) -> PagedEndpoint[OutboundMessage, Response]:
        """Return the messages search with *filters* (dates included) as a paged endpoint."""
        return self._paged(
            lambda offset, count: _wire.MESSAGES.request(filters, count=count, offset=offset),
            _wire.MESSAGES.parse,
            _wire.MESSAGES.key,
        )

    def _message_range(self, from_date: object, to_date: object) -> tuple[dt.date, dt.date]:
        """Validate the range of :meth:`outbound_messages`; return it with its defaults.

        The upper bound is frozen now. Postmark may read ``todate=HH:MM:SS`` as the whole
        second, so the current second is left out: a message arriving while the stream
        runs would shift the offsets of the newest window.
        """
        lower, upper = check_range(from_date, to_date)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0) - _ONE_SECOND
        if upper is None:
            upper = now
        if lower is None:
            retained = now - dt.timedelta(days=self._retention_days)
            lower = min(retained, start_instant(upper))
        return lower, upper

    def outbound_messages(
        self,
        *,
        recipient: str | None = None,
        from_email: str | None = None,
        tag: str | None = None,
        status: StatusFilter | str | None = None,
        subject: str | None = None,
        message_stream: str | None = None,
        metadata: Mapping[str, str] | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        prefetch: int = 4,
    ) -> Paginator[OutboundMessage]:
        """Stream sent messages, newest first, past Postmark's 10 000-result ceiling.

        The date range is read in windows of at most 10 000 messages, newest window
        first. Each window is probed with a request for its first page, which tells its
        total and is not requested again; a window over the ceiling is cut into slices of
        about 8 000 messages, themselves cut again while over it. The probes of the next
        few windows go out while one is read. The upper bound is fixed when this method
        is called — *to_date*, or else the second before the call — so messages sent
        while the stream runs are not part of it, and none is yielded twice.

        Args:
            recipient: Only messages to this address (To, Cc or Bcc).
            from_email: Only messages from this sender address.
            tag: Only messages with this tag.
            status: ``queued``, ``sent`` or ``processed`` (a :class:`StatusFilter` or
                its string).
            subject: Only messages with this subject.
            message_stream: Only this stream (Postmark's default: ``outbound``).
            metadata: One ``{key: value}`` the message's metadata must contain.
            from_date: Start of the range (a date or an aware datetime); by default
                ``retention_days`` before now.
            to_date: End of the range, inclusive; by default the second before the call.
            limit: Yield at most this many messages.
            page_size: Messages per request, 1 to 500 (the default).
            prefetch: Pages in flight at once within a window (1 = sequential).

        Returns:
            A :class:`~asyncmailstats.Paginator` of :class:`OutboundMessage`.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: A datetime is naive, a date is outside 1900-01-01 to 9998-12-31,
                *from_date* is after *to_date*, *status* is unknown, or a paging argument
                is out of range.
        """
        filters = message_filters(
            recipient=recipient,
            from_email=from_email,
            tag=tag,
            status=status,
            subject=subject,
            message_stream=message_stream,
            metadata=metadata,
        )
        lower, upper = self._message_range(from_date, to_date)
        size = check_paging(limit, page_size, MAX_PAGE_SIZE, prefetch)

        def open_pages(lim: int | None) -> PageSource[OutboundMessage]:
            pages = window_pages(
                self._search, filters, lower, upper, page_size=size, prefetch=prefetch, limit=lim
            )
            return cast("PageSource[OutboundMessage]", pages)

        return Paginator(open_pages, limit=limit)

    async def message_details(self, message_id: str) -> OutboundMessageDetails:
        """Return one sent message with its bodies and events.

        Args:
            message_id: The message's ``MessageID``.

        Raises:
            NotFoundError: Postmark does not know the message (or no longer keeps it).
            ValueError: *message_id* is empty.
            TypeError: *message_id* is not a string.
        """
        request = _wire.details_request(message_id)
        return await self._call(request, _wire.decode_details)

    async def message_dump(self, message_id: str) -> str:
        """Return the raw source of a sent message (``""`` when no longer available).

        Args:
            message_id: The message's ``MessageID``.

        Raises:
            NotFoundError: Postmark does not know the message.
            ValueError: *message_id* is empty.
            TypeError: *message_id* is not a string.
        """
        request = _wire.dump_request(message_id)
        return await self._call(request, _wire.decode_dump)

    async def message_streams(
        self,
        stream_type: MessageStreamType | str = "All",
        *,
        include_archived: bool = False,
    ) -> tuple[MessageStream, ...]:
        """Return the server's message streams (``GET /message-streams``).

        Args:
            stream_type: ``All`` (default), ``Transactional``, ``Broadcasts`` or
                ``Inbound`` (any case).
            include_archived: List archived streams too.

        Raises:
            TypeError: *stream_type* is not a string or *include_archived* not a bool.
            ValueError: *stream_type* is none of those.
        """
        request = _wire.message_streams_request(stream_type, include_archived=include_archived)
        return await self._call(request, _wire.decode_message_streams)

    # ------------------------------------------------------------------ history

    def _history(
        self,
        events: Callable[[str], Paginator[T]],
        tracked: Callable[[OutboundMessage], bool],
        concurrency: object,
        limit: int | None,
        **search: Any,
    ) -> Paginator[T]:
        """Stream the *events* of every *tracked* message the messages *search* finds."""
        messages = self.outbound_messages(**search)
        workers = check_int("concurrency", concurrency, 1)

        async def fetch_all(message_id: str) -> Sequence[T]:
            return await events(message_id).to_list()

        def open_pages(_: int | None) -> PageSource[T]:
            pages = history_pages(aiter(messages), fetch_all, tracked, concurrency=workers)
            return cast("PageSource[T]", pages)

        return Paginator(open_pages, limit=limit)

    def open_history(
        self,
        *,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        recipient: str | None = None,
        from_email: str | None = None,
        tag: str | None = None,
        status: StatusFilter | str | None = None,
        subject: str | None = None,
        message_stream: str | None = None,
        metadata: Mapping[str, str] | None = None,
        concurrency: int = DEFAULT_HISTORY_CONCURRENCY,
        limit: int | None = None,
    ) -> Paginator[Open]:
        """Stream every recorded open of the messages sent in a date range.

        Unlike :meth:`opens`, this has no 10 000-result ceiling: it streams the messages
        (as :meth:`outbound_messages` does) and reads the opens of each, *concurrency*
        messages at a time. Messages sent without open tracking are skipped. Every open
        is yielded once; opens of different messages may interleave.

        Args:
            from_date: Start of the range of send dates; by default ``retention_days``
                before now.
            to_date: End of the range, inclusive; by default the second before the call.
            recipient: Only messages to this address.
            from_email: Only messages from this sender address.
            tag: Only messages with this tag.
            status: ``queued``, ``sent`` or ``processed``.
            subject: Only messages with this subject.
            message_stream: Only this stream.
            metadata: One ``{key: value}`` the message's metadata must contain.
            concurrency: Messages whose opens are read at once.
            limit: Yield at most this many opens.

        Returns:
            A :class:`~asyncmailstats.Paginator` of :class:`Open`.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: An argument is out of range or the dates are inconsistent.
        """
        return self._history(
            self.message_opens,
            _opens_tracked,
            concurrency,
            limit,
            from_date=from_date,
            to_date=to_date,
            recipient=recipient,
            from_email=from_email,
            tag=tag,
            status=status,
            subject=subject,
            message_stream=message_stream,
            metadata=metadata,
        )

    def click_history(
        self,
        *,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        recipient: str | None = None,
        from_email: str | None = None,
        tag: str | None = None,
        status: StatusFilter | str | None = None,
        subject: str | None = None,
        message_stream: str | None = None,
        metadata: Mapping[str, str] | None = None,
        concurrency: int = DEFAULT_HISTORY_CONCURRENCY,
        limit: int | None = None,
    ) -> Paginator[Click]:
        """Stream every recorded click of the messages sent in a date range.

        Like :meth:`open_history`, for clicks: there is no 10 000-result ceiling, and
        messages sent with link tracking off (``TrackLinks`` ``None``) are skipped
        without a request. Every click is yielded once.

        Args:
            from_date: Start of the range of send dates; by default ``retention_days``
                before now.
            to_date: End of the range, inclusive; by default the second before the call.
            recipient: Only messages to this address.
            from_email: Only messages from this sender address.
            tag: Only messages with this tag.
            status: ``queued``, ``sent`` or ``processed``.
            subject: Only messages with this subject.
            message_stream: Only this stream.
            metadata: One ``{key: value}`` the message's metadata must contain.
            concurrency: Messages whose clicks are read at once.
            limit: Yield at most this many clicks.

        Returns:
            A :class:`~asyncmailstats.Paginator` of :class:`Click`.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: An argument is out of range or the dates are inconsistent.
        """
        return self._history(
            self.message_clicks,
            _links_tracked,
            concurrency,
            limit,
            from_date=from_date,
            to_date=to_date,
            recipient=recipient,
            from_email=from_email,
            tag=tag,
            status=status,
            subject=subject,
            message_stream=message_stream,
            metadata=metadata,
        )
