"""cattrs converters between GetResponse results and the models.

GetResponse's wire names are already snake_case, so the models read them as they are;
what this module adds is the few values whose wire form differs from the model's, such
as ``"yes"``/``"no"`` flags. Timestamps (``"YYYY-MM-DD HH:MM:SS"``, no offset) are read by
the shared ISO-8601 hook as naive datetimes. Keys a model does not declare are kept in its
``extra`` by the production converter and refused by the strict one.
"""

from __future__ import annotations

from typing import Any, Final

import cattrs

from .._convert import make_converter as make_base_converter
from .._extra import record_hook
from .._fastpath import make_fast_structure_fn
from .models import Message, MessageType, PeriodStats


def _structure_yes_no(value: Any, _: type) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"yes", "no"}:
        return value.lower() == "yes"
    msg = f"expected 'yes' or 'no', got {value!r}"
    raise ValueError(msg)


def _structure_message_type(value: Any, _: type) -> MessageType:
    if not isinstance(value, str):
        msg = f"expected a message type string, got {type(value).__name__}"
        raise TypeError(msg)
    return MessageType(value)


def configure_converter(converter: cattrs.Converter, *, fast: bool) -> cattrs.Converter:
    """Register GetResponse's hooks on *converter* (fresh from the shared ``make_converter``).

    Args:
        converter: The converter to configure; returned.
        fast: Read stats periods through a generated function.
    """
    # Registered by class so it takes precedence over the shared ``str`` hook, which
    # would otherwise match this str subclass first and leave a plain string.
    converter.register_structure_hook(MessageType, _structure_message_type)
    message_hook = record_hook(converter, Message, hooks={"time_travel": _structure_yes_no})
    converter.register_structure_hook(Message, message_hook)
    if fast:
        # Stats periods come by the hundred: a straight-line function reads them, with
        # the generic hook behind it for anything out of the ordinary.
        generic = converter.get_structure_hook(PeriodStats)
        converter.register_structure_hook(
            PeriodStats, make_fast_structure_fn(converter, PeriodStats, generic)
        )
    return converter


def make_converter(*, strict: bool = False) -> cattrs.Converter:
    """Return a GetResponse converter.

    Args:
        strict: Refuse keys a model does not declare (for tests); otherwise they are kept
            in each model's ``extra``, and stats periods are read through a generated
            function.
    """
    return configure_converter(make_base_converter(strict=strict), fast=not strict)


#: The converter decoding uses unless told otherwise.
CONVERTER: Final = make_converter()
