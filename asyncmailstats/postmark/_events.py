"""Postmark's opens and clicks searches, and the opens and clicks of one message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .._paging import offset_paginator
from . import _decode, _wire
from ._base import APIBase, click_key, open_key

if TYPE_CHECKING:
    from .._paging import Paginator
    from .models import Click, Open, Platform

_OPENS_HINT: Final = "narrow it with filters (tag, recipient, country, …) or use open_history()"
_CLICKS_HINT: Final = "narrow it with filters (tag, recipient, country, …) or use click_history()"
_ONE_MESSAGE_HINT: Final = "one message's events cannot be narrowed further"


class EventMethods(APIBase):
    """The opens and clicks streams of :class:`PostmarkAPI`."""

    __slots__ = ()

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
        filters = _wire.event_filters(
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

        endpoint = self._paged(
            lambda offset, count: _wire.opens_request(filters, count=count, offset=offset),
            _decode.parse_opens,
            open_key,
        )
        return offset_paginator(
            endpoint,
            limit=limit,
            page_size=page_size,
            max_page_size=_wire.MAX_PAGE_SIZE,
            prefetch=prefetch,
            ceiling=_wire.OFFSET_CEILING,
            narrow_hint=_OPENS_HINT,
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
        _wire.encode_message_id(message_id)

        endpoint = self._paged(
            lambda offset, count: _wire.message_opens_request(
                message_id, count=count, offset=offset
            ),
            _decode.parse_opens,
            open_key,
        )
        return offset_paginator(
            endpoint,
            limit=limit,
            page_size=page_size,
            max_page_size=_wire.MAX_PAGE_SIZE,
            prefetch=prefetch,
            ceiling=_wire.OFFSET_CEILING,
            narrow_hint=_ONE_MESSAGE_HINT,
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
        filters = _wire.event_filters(
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

        endpoint = self._paged(
            lambda offset, count: _wire.clicks_request(filters, count=count, offset=offset),
            _decode.parse_clicks,
            click_key,
        )
        return offset_paginator(
            endpoint,
            limit=limit,
            page_size=page_size,
            max_page_size=_wire.MAX_PAGE_SIZE,
            prefetch=prefetch,
            ceiling=_wire.OFFSET_CEILING,
            narrow_hint=_CLICKS_HINT,
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
        _wire.encode_message_id(message_id)

        endpoint = self._paged(
            lambda offset, count: _wire.message_clicks_request(
                message_id, count=count, offset=offset
            ),
            _decode.parse_clicks,
            click_key,
        )
        return offset_paginator(
            endpoint,
            limit=limit,
            page_size=page_size,
            max_page_size=_wire.MAX_PAGE_SIZE,
            prefetch=prefetch,
            ceiling=_wire.OFFSET_CEILING,
            narrow_hint=_ONE_MESSAGE_HINT,
        )
