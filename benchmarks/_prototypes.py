"""Prototype structuring paths, measured against the production converter.

Nothing here is used by the library. Each prototype returns the same objects as the
production hook for the same input (the profile benchmark checks equality before
timing), so its speed says what a change to the converter could gain.

``structure_open`` is the straight-line shape a generated hook could take for a record
whose fields are nearly always present: read each key once with ``dict.get`` (absent
and ``null`` both give the field's ``None`` default), keep the cheap ``type(v) is str``
checks, and call the class with direct keywords instead of collecting a ``res`` dict
and unpacking ``**res``. ``structure_open_shared`` also shares the ``ClientInfo`` and
``OSInfo`` instances of equal values. ``stats_series_fast`` is GetResponse's period loop
with its hook looked up once and an ``int`` fast path.
"""

from __future__ import annotations

from typing import Any

from asyncmailstats._convert import (
    _structure_bool,
    _structure_int,
    _structure_str,
    parse_datetime,
)
from asyncmailstats.getresponse._convert import make_lenient_converter
from asyncmailstats.getresponse._wire import period_start
from asyncmailstats.getresponse.models import Grouping, MessageStatsSeries, PeriodStats
from asyncmailstats.postmark.models import ClientInfo, Geo, Open, OSInfo, Platform

_PLATFORMS = {member.value: member for member in Platform}


# The slow paths defer to the production hooks, so the semantics are the same.


def _text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    return _structure_str(value, str)


def _required_text(value: Any) -> str:
    if type(value) is str:
        return value
    return _structure_str(value, str)


def _object(value: Any, name: str) -> dict[str, Any] | None:
    if value is None or type(value) is dict:
        return value
    msg = f"expected an object for {name}, got {type(value).__name__}"
    raise TypeError(msg)


def _platform(value: Any) -> Platform | None:
    if value is None:
        return None
    member = _PLATFORMS.get(value) if type(value) is str else None
    if member is not None:
        return member
    if not isinstance(value, str):
        msg = f"expected a string for Platform, got {type(value).__name__}"
        raise TypeError(msg)
    return Platform(value)


def _bool(value: Any) -> bool | None:
    if value is None or type(value) is bool:
        return value
    return _structure_bool(value, bool)


def _int(value: Any) -> int | None:
    if value is None or type(value) is int:
        return value
    return _structure_int(value, int)


def _client(value: Any) -> ClientInfo | None:
    d = _object(value, "ClientInfo")
    if d is None:
        return None
    g = d.get
    return ClientInfo(name=_text(g("Name")), company=_text(g("Company")), family=_text(g("Family")))


def _os(value: Any) -> OSInfo | None:
    d = _object(value, "OSInfo")
    if d is None:
        return None
    g = d.get
    return OSInfo(name=_text(g("Name")), company=_text(g("Company")), family=_text(g("Family")))


def _geo(value: Any) -> Geo | None:
    d = _object(value, "Geo")
    if d is None:
        return None
    g = d.get
    return Geo(
        country_iso_code=_text(g("CountryISOCode")),
        country=_text(g("Country")),
        region_iso_code=_text(g("RegionISOCode")),
        region=_text(g("Region")),
        city=_text(g("City")),
        zip=_text(g("Zip")),
        coords=_text(g("Coords")),
        ip=_text(g("IP")),
    )


def structure_open(o: Any) -> Open:
    """Structure one wire open the straight-line way (see the module docstring)."""
    if type(o) is not dict:
        msg = f"expected an object for Open, got {type(o).__name__}"
        raise TypeError(msg)
    g = o.get
    return Open(
        message_id=_required_text(o["MessageID"]),
        received_at=parse_datetime(o["ReceivedAt"]),
        recipient=_required_text(o["Recipient"]),
        record_type=_text(g("RecordType")),
        message_stream=_text(g("MessageStream")),
        tag=_text(g("Tag")),
        first_open=_bool(g("FirstOpen")),
        read_seconds=_int(g("ReadSeconds")),
        platform=_platform(g("Platform")),
        user_agent=_text(g("UserAgent")),
        client=_client(g("Client")),
        os=_os(g("OS")),
        geo=_geo(g("Geo")),
    )


def _geo_inline(value: Any) -> Geo | None:
    d = _object(value, "Geo")
    if d is None:
        return None
    g = d.get
    s = _structure_str
    return Geo(
        country_iso_code=v if (v := g("CountryISOCode")) is None or type(v) is str else s(v, str),
        country=v if (v := g("Country")) is None or type(v) is str else s(v, str),
        region_iso_code=v if (v := g("RegionISOCode")) is None or type(v) is str else s(v, str),
        region=v if (v := g("Region")) is None or type(v) is str else s(v, str),
        city=v if (v := g("City")) is None or type(v) is str else s(v, str),
        zip=v if (v := g("Zip")) is None or type(v) is str else s(v, str),
        coords=v if (v := g("Coords")) is None or type(v) is str else s(v, str),
        ip=v if (v := g("IP")) is None or type(v) is str else s(v, str),
    )


def _agent_inline(cls: type[Any], value: Any) -> Any:
    d = _object(value, cls.__name__)
    if d is None:
        return None
    g = d.get
    s = _structure_str
    return cls(
        name=v if (v := g("Name")) is None or type(v) is str else s(v, str),
        company=v if (v := g("Company")) is None or type(v) is str else s(v, str),
        family=v if (v := g("Family")) is None or type(v) is str else s(v, str),
    )


def structure_open_inline(o: Any) -> Open:
    """Like :func:`structure_open` with the ``str`` checks inlined (no call per field).

    This is what generated source could look like: each optional string is one
    conditional expression, and only a value of another type calls the slow hook.
    """
    if type(o) is not dict:
        msg = f"expected an object for Open, got {type(o).__name__}"
        raise TypeError(msg)
    g = o.get
    s = _structure_str
    return Open(
        message_id=v if type(v := o["MessageID"]) is str else s(v, str),
        received_at=parse_datetime(o["ReceivedAt"]),
        recipient=v if type(v := o["Recipient"]) is str else s(v, str),
        record_type=v if (v := g("RecordType")) is None or type(v) is str else s(v, str),
        message_stream=v if (v := g("MessageStream")) is None or type(v) is str else s(v, str),
        tag=v if (v := g("Tag")) is None or type(v) is str else s(v, str),
        first_open=_bool(g("FirstOpen")),
        read_seconds=v if (v := g("ReadSeconds")) is None or type(v) is int else _int(v),
        platform=_platform(g("Platform")),
        user_agent=v if (v := g("UserAgent")) is None or type(v) is str else s(v, str),
        client=_agent_inline(ClientInfo, g("Client")),
        os=_agent_inline(OSInfo, g("OS")),
        geo=_geo_inline(g("Geo")),
    )


# -- shared nested values -------------------------------------------------------------------

_SHARED_LIMIT = 4096
_shared: dict[tuple[type, tuple[Any, ...]], Any] = {}


def _shared_agent(cls: type[Any], value: Any) -> Any:
    """Return one shared instance per distinct (Name, Company, Family) of a frozen class.

    Clients and operating systems come from a small vocabulary, and the models are
    frozen, so equal values can be the same object: a dict lookup replaces a hook call
    and an ``__init__``. The table is bounded; when full it starts over.
    """
    d = _object(value, cls.__name__)
    if d is None:
        return None
    g = d.get
    key = (cls, (g("Name"), g("Company"), g("Family")))
    found = _shared.get(key)
    if found is None:
        name, company, family = key[1]
        found = cls(name=_text(name), company=_text(company), family=_text(family))
        if len(_shared) >= _SHARED_LIMIT:
            _shared.clear()
        _shared[key] = found
    return found


def structure_open_shared(o: Any) -> Open:
    """Like :func:`structure_open`, with shared ``ClientInfo`` / ``OSInfo`` instances."""
    if type(o) is not dict:
        msg = f"expected an object for Open, got {type(o).__name__}"
        raise TypeError(msg)
    g = o.get
    return Open(
        message_id=_required_text(o["MessageID"]),
        received_at=parse_datetime(o["ReceivedAt"]),
        recipient=_required_text(o["Recipient"]),
        record_type=_text(g("RecordType")),
        message_stream=_text(g("MessageStream")),
        tag=_text(g("Tag")),
        first_open=_bool(g("FirstOpen")),
        read_seconds=_int(g("ReadSeconds")),
        platform=_platform(g("Platform")),
        user_agent=_text(g("UserAgent")),
        client=_shared_agent(ClientInfo, g("Client")),
        os=_shared_agent(OSInfo, g("OS")),
        geo=_geo(g("Geo")),
    )


# -- GetResponse periods ----------------------------------------------------------------------


def _fast_int(value: Any, cls: type) -> int:
    if type(value) is int:
        return value
    return _structure_int(value, cls)


def _period_converter() -> Any:
    converter = make_lenient_converter()
    converter.register_structure_hook(int, _fast_int)
    return converter


_PERIOD_HOOK = _period_converter().get_structure_hook(PeriodStats)


def stats_series_fast(result: Any, *, message_id: str, grouping: Grouping) -> MessageStatsSeries:
    """Like ``getresponse._wire.stats_series`` with the hook looked up once and ints fast.

    The production function calls ``converter.structure`` (dispatch plus a wrapper) for
    every period, and every counter goes through the full ``int`` hook; here the
    ``PeriodStats`` hook is fetched once and an ``int`` that is already an ``int`` is
    returned as it is.
    """
    periods = []
    for period, counters in result.items():
        data = {**counters, "period": period, "start": period_start(period, grouping)}
        periods.append(_PERIOD_HOOK(data, PeriodStats))
    periods.sort(key=lambda p: p.start)
    return MessageStatsSeries(message_id=message_id, grouping=grouping, periods=tuple(periods))
