"""EmailConsul's wire format: response envelopes and the converters that read them.

EmailConsul names fields in snake_case, so the models need no rename hooks; this module
adds the ``{"data": [...], "meta": {...}}`` envelopes around them. The production
converter keeps keys a model does not know in its ``extra`` (and ignores them in the
envelopes, which are paging bookkeeping); the strict one (for tests) refuses them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Generic, TypeVar

import attrs

from .._convert import make_converter as make_base_converter
from .._fastpath import make_fast_structure_fn
from .models import DeliveryDay, LinkStat, LinkTimeseriesPoint, PixelTimeseriesPoint

if TYPE_CHECKING:
    import cattrs

T = TypeVar("T")


@attrs.frozen(slots=True)
class Meta:
    """The paging block of a list response."""

    count: int
    """How many items the query matches in all."""
    offset: int | None = None
    """The offset this page starts at, as the server understood it."""
    limit: int | None = None
    """The page size the server applied."""


@attrs.frozen(slots=True)
class PagedBody(Generic[T]):
    """A list response with paging: ``{"data": [...], "meta": {...}}``."""

    data: tuple[T, ...]
    """The items of this page."""
    meta: Meta
    """Where the page sits in the whole result."""


@attrs.frozen(slots=True)
class SeriesBody(Generic[T]):
    """A time-series response without paging: ``{"data": [...]}``."""

    data: tuple[T, ...]
    """Every point of the series."""


#: The records that come by the page: the production converter reads them through
#: straight-line functions with the generic hooks behind them.
_RECORDS: Final = (LinkStat, LinkTimeseriesPoint, PixelTimeseriesPoint, DeliveryDay)


def configure_converter(converter: cattrs.Converter, *, fast: bool) -> cattrs.Converter:
    """Register EmailConsul's hooks on *converter* (fresh from the shared ``make_converter``).

    Args:
        converter: The converter to configure; returned.
        fast: Read the records that come by the page through generated functions.
    """
    if fast:
        for cls in _RECORDS:
            generic = converter.get_structure_hook(cls)
            converter.register_structure_hook(cls, make_fast_structure_fn(converter, cls, generic))
    return converter


def make_converter(*, strict: bool = False) -> cattrs.Converter:
    """Return an EmailConsul converter.

    Args:
        strict: Refuse keys a model does not declare (for tests); otherwise they are kept
            in each record's ``extra``, and the records are read through generated
            functions.
    """
    return configure_converter(make_base_converter(strict=strict), fast=not strict)


#: The converter every EmailConsul response goes through.
CONVERTER: Final = make_converter()
