"""The opens and clicks methods of :class:`~._api.PostmarkAPI`, as a mixin.

A mixin because the whole class would not fit one module (see :mod:`._api_base`). The
opens and clicks searches take the same filters and page the same way, and so do the
opens and clicks of one message: each pair shares one body here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypeVar

from ._api_base import APIBase
from ._args import Params, encode_message_id, event_filters
from ._wire import CLICKS, OPENS, Listing

if TYPE_CHECKING:
    from .._paging import Paginator
    from .models import Click, Open, Platform

T = TypeVar("T")

_OPENS_HINT: Final = "narrow it with filters (tag, recipient, country, …) or use open_history()"
_CLICKS_HINT: Final = "narrow it with filters (tag, recipient, country, …) or use click_history()"
_ONE_MESSAGE_HINT: Final = "one message's events cannot be narrowed further"


class EventMethods(APIBase):
    """The opens and clicks streams of :class:`PostmarkAPI`."""

    __slots__ = ()

    def _events(
        self,
        listing: Listing[T],
        filters: Params,
        narrow_hint: str,
        *,
        limit: int | None,
        page_size: int | None,
        prefetch: int,
    ) -> Paginator[T]:
        """Stream the records of *listing* (opens or clicks) that match *filters*."""
        return self._list(
            listing,
            lambda offset, count: listing.request(filters, count=count, offset=offset),
            narrow_hint=narrow_hint,
            limit=limit,
            page_size=page_size,
            prefetch=prefetch,
        )

    def _events_of(
        self,
        listing: Listing[T],
        message_id: str,
        *,
        limit: int | None,
        page_size: int | None,
        prefetch: int,
    ) -> Paginator[T]:
        """Stream the records of *listing* (opens or clicks) of one message."""
        encode_message_id(message_id)
        return self._list(
            listing,
            lambda offset, count: listing.message_request(message_id, count=count, offset=offset),
            narrow_hint=_ONE_MESSAGE_HINT,
            limit=limit,
            page_size=page_size,
            prefetch=prefetch,
        )

    def opens(
        self,
        *,
        recipient: str | None = None,
        tag: str | None = None,
        message_stream: str | None = None,
        client_name: str | None = None,
        client_company: str | None = None,
        client_family: str | None = None,
        os_name: str | None = None,
        os_family: str | None = None,
        os_company: str | None = None,
        platform: Platform | str | None = None,
        country: str | None = None,
        region: str | None = None,
        city: str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        prefetch: int = 4,
    ) -> Paginator[Open]:
        """Stream recorded opens, newest first.

        Postmark serves only the first 10 000 results of this search: a stream that
        reaches them raises :class:`~asyncmailstats.ResultWindowError` (naming the total)
        instead of stopping silently. Narrow the filters, or use :meth:`open_history`.

        Args:
            recipient: Only opens by this address.
            tag: Only opens of messages with this tag.
            message_stream: Only this stream (Postmark's default: ``outbound``).
            client_name: E-mail client name, e.g. ``"Gmail"``.
            client_company: Client maker, e.g. ``"Google"``.
            client_family: Client family, e.g. ``"Chrome"``.
            os_name: Full operating-system name, e.g. ``"OS X 10.9 Mavericks"``.
            os_family: Operating-system family, e.g. ``"Windows"``.
            os_company: Operating-system maker, e.g. ``"Microsoft Corporation"``.
            platform: ``webmail``, ``desktop`` or ``mobile`` (a :class:`Platform` or a
                string).
            country: Country name, e.g. ``"Denmark"``.
            region: Region name, e.g. ``"New York"``.
            city: City name.
            limit: Yield at most this many opens.
            page_size: Opens per request, 1 to 500 (the default).
            prefetch: Pages in flight at once (1 = sequential).

        Returns:
            A :class:`~asyncmailstats.Paginator` of :class:`Open`.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: A filter is empty or a paging argument is out of range.
        """
        filters = event_filters(
            recipient=recipient,
            tag=tag,
            message_stream=message_stream,
            client_name=client_name,
            client_company=client_company,
            client_family=client_family,
            os_name=os_name,
            os_family=os_family,
            os_company=os_company,
            platform=platform,
            country=country,
            region=region,
            city=city,
        )
        return self._events(
            OPENS, filters, _OPENS_HINT, limit=limit, page_size=page_size, prefetch=prefetch
        )

    def message_opens(
        self,
        message_id: str,
        *,
        limit: int | None = None,
        page_size: int | None = None,
        prefetch: int = 4,
    ) -> Paginator[Open]:
        """Stream the recorded opens of one message.

        Postmark keeps the first open per recipient.

        Args:
            message_id: The message's ``MessageID``.
            limit: Yield at most this many opens.
            page_size: Opens per request, 1 to 500 (the default).
            prefetch: Pages in flight at once (1 = sequential).

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: *message_id* is empty or a paging argument is out of range.
        """
        return self._events_of(
            OPENS, message_id, limit=limit, page_size=page_size, prefetch=prefetch
        )

    def clicks(
        self,
        *,
        recipient: str | None = None,
        tag: str | None = None,
        message_stream: str | None = None,
        client_name: str | None = None,
        client_company: str | None = None,
        client_family: str | None = None,
        os_name: str | None = None,
        os_family: str | None = None,
        os_company: str | None = None,
        platform: Platform | str | None = None,
        country: str | None = None,
        region: str | None = None,
        city: str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        prefetch: int = 4,
    ) -> Paginator[Click]:
        """Stream recorded clicks on tracked links, newest first.

        Postmark serves only the first 10 000 results of this search: a stream that
        reaches them raises :class:`~asyncmailstats.ResultWindowError` (naming the total)
        instead of stopping silently. Narrow the filters, or use :meth:`click_history`.

        Args:
            recipient: Only clicks by this address.
            tag: Only clicks in messages with this tag.
            message_stream: Only this stream (Postmark's default: ``outbound``).
            client_name: Browser name, e.g. ``"Chrome 120.0"``.
            client_company: Browser maker, e.g. ``"Google"``.
            client_family: Browser family, e.g. ``"Chrome"``.
            os_name: Full operating-system name, e.g. ``"Windows 10"``.
            os_family: Operating-system family, e.g. ``"Windows"``.
            os_company: Operating-system maker, e.g. ``"Microsoft Corporation"``.
            platform: ``webmail``, ``desktop`` or ``mobile`` (a :class:`Platform` or a
                string).
            country: Country name, e.g. ``"Denmark"``.
            region: Region name, e.g. ``"New York"``.
            city: City name.
            limit: Yield at most this many clicks.
            page_size: Clicks per request, 1 to 500 (the default).
            prefetch: Pages in flight at once (1 = sequential).

        Returns:
            A :class:`~asyncmailstats.Paginator` of :class:`Click`.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: A filter is empty or a paging argument is out of range.
        """
        filters = event_filters(
            recipient=recipient,
            tag=tag,
            message_stream=message_stream,
            client_name=client_name,
            client_company=client_company,
            client_family=client_family,
            os_name=os_name,
            os_family=os_family,
            os_company=os_company,
            platform=platform,
            country=country,
            region=region,
            city=city,
        )
        return self._events(
            CLICKS, filters, _CLICKS_HINT, limit=limit, page_size=page_size, prefetch=prefetch
        )

    def message_clicks(
        self,
        message_id: str,
        *,
        limit: int | None = None,
        page_size: int | None = None,
        prefetch: int = 4,
    ) -> Paginator[Click]:
        """Stream the recorded clicks of one message (one per recipient and link).

        Args:
            message_id: The message's ``MessageID``.
            limit: Yield at most this many clicks.
            page_size: Clicks per request, 1 to 500 (the default).
            prefetch: Pages in flight at once (1 = sequential).

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: *message_id* is empty or a paging argument is out of range.
        """
        return self._events_of(
            CLICKS, message_id, limit=limit, page_size=page_size, prefetch=prefetch
        )
