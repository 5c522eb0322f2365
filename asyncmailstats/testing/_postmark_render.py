"""Rendering of the fake Postmark server's records as Postmark's JSON.

Every function takes the recipient pool (``PostmarkDataset.pool``) the records' indices
point into. Messages, opens and clicks are rendered to bytes once and the bytes kept on
the record; the fixed parts of opens and clicks (client, OS, place) are fragments
rendered once at import. Details, events and message dumps are built on demand.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from collections.abc import Callable, Sequence
from html import escape
from typing import Any, Final, TypeVar

from ..postmark._convert import CONVERTER
from ._postmark_data import (
    CLICK_PROFILES,
    EASTERN,
    GEO_KEYS,
    GEOS,
    KINDS,
    LINKS,
    OPEN_PROFILES,
    SENDERS,
    TICKS,
    ClickRecord,
    MessageRecord,
    OpenRecord,
    dumps,
    stamp,
)

M = TypeVar("M")

#: The recipient pool: address, display name (or ``None``), address as JSON.
Pool = Sequence[tuple[str, str | None, bytes]]

_BOUNCE_SUMMARY: Final = {
    "HardBounce": "The server was unable to deliver your message (ex: unknown user).",
    "SoftBounce": "The server could not temporarily deliver your message.",
    "SMTPApiError": "An error occurred while accepting an email through the SMTP API.",
}


def _profile_frag(row: tuple[str, ...]) -> bytes:
    names = ("Name", "Company", "Family")
    wire = {
        "Platform": row[6],
        "UserAgent": row[8],
        "Client": dict(zip(names, row[0:3], strict=True)),
        "OS": dict(zip(names, row[3:6], strict=True)),
    }
    return dumps(wire)[1:-1]


def _geo_frag(row: tuple[str, ...]) -> bytes:
    if not row[0]:
        return b'"Geo":{}'
    return b'"Geo":' + dumps(dict(zip((*GEO_KEYS, "IP"), row[:8], strict=True)))


_OPEN_FRAGS: Final = tuple(_profile_frag(p) for p in OPEN_PROFILES)
_CLICK_FRAGS: Final = tuple(_profile_frag(p) for p in CLICK_PROFILES)
_GEO_FRAGS: Final = tuple(_geo_frag(g) for g in GEOS)


def _addressee(pool: Pool, rcpt: int) -> dict[str, str | None]:
    address, name, _ = pool[rcpt]
    return {"Email": address, "Name": name}


def message_dict(pool: Pool, m: MessageRecord) -> dict[str, Any]:
    """Return *m* as the messages search lists it."""
    tag, subject, sender = KINDS[m.kind]
    wire: dict[str, Any] = {} if tag is None else {"Tag": tag}
    wire.update(
        MessageID=m.id,
        MessageStream=m.stream,
        To=[_addressee(pool, i) for i in m.to],
        Cc=[_addressee(pool, i) for i in m.cc],
        Bcc=[_addressee(pool, i) for i in m.bcc],
        Recipients=[pool[i][0] for i in m.everyone],
        ReceivedAt=stamp(m.ticks),
        From=SENDERS[sender][0],
        Subject=subject,
        Attachments=list(m.attachments),
        Status=m.status,
        TrackOpens=m.track_opens,
        TrackLinks=m.track_links,
        Metadata=dict(m.metadata or {}),
        Sandboxed=False,
    )
    return wire


def render_message(pool: Pool, m: MessageRecord) -> bytes:
    """Return *m* as JSON bytes (rendered the first time, then kept on the record)."""
    if m.raw is None:
        m.raw = dumps(message_dict(pool, m))
    return m.raw


def as_models(records: Sequence[Any], render_one: Callable[[Any], bytes], cls: type[M]) -> list[M]:
    """Decode each of *records*, as *render_one* renders it, to the library's model *cls*."""
    hook = CONVERTER.get_structure_hook(cls)
    return [hook(json.loads(render_one(record)), cls) for record in records]


def _message_frag(m: MessageRecord) -> bytes:
    if m.frag is None:
        tag = m.tag
        m.frag = b'"MessageID":"%s","MessageStream":"%s"%s' % (
            m.id.encode(),
            m.stream.encode(),
            b"" if tag is None else b',"Tag":' + dumps(tag),
        )
    return m.frag


def render_open(pool: Pool, o: OpenRecord) -> bytes:
    """Return *o* as the opens search lists it, as JSON bytes (kept on the record)."""
    if o.raw is None:
        o.raw = b"".join(
            (
                b'{"RecordType":"Open",',
                _message_frag(o.msg),
                b',"Recipient":',
                pool[o.rcpt][2],
                b',"ReceivedAt":"%s","FirstOpen":true,"ReadSeconds":%d,'
                % (stamp(o.ticks).encode(), max(o.read, 0)),
                _OPEN_FRAGS[o.profile],
                b",",
                _GEO_FRAGS[o.geo],
                b"}",
            )
        )
    return o.raw


def render_click(pool: Pool, c: ClickRecord) -> bytes:
    """Return *c* as the clicks search lists it, as JSON bytes (kept on the record)."""
    if c.raw is None:
        c.raw = b"".join(
            (
                b'{"RecordType":"Click","ClickLocation":"%s","OriginalLink":' % c.location.encode(),
                dumps(LINKS[c.link]),
                b",",
                _message_frag(c.msg),
                b',"Recipient":',
                pool[c.rcpt][2],
                b',"ReceivedAt":"%s",' % stamp(c.ticks).encode(),
                _CLICK_FRAGS[c.profile],
                b",",
                _GEO_FRAGS[c.geo],
                b"}",
            )
        )
    return c.raw


def details(pool: Pool, m: MessageRecord) -> dict[str, Any]:
    """Return what ``/messages/outbound/{id}/details`` answers for *m*."""
    wire = message_dict(pool, m)
    _, subject, _ = KINDS[m.kind]
    name = pool[m.to[0]][1] or "there"
    links = [LINKS[i] for i in m.links]
    text = f"Hi {name},\n\n{subject}\n\n" + "\n".join(links) + "\n\n-- \nAcme\n"
    html = (
        f"<html><body><p>Hi {escape(name)},</p><p>{escape(subject)}</p>"
        + "".join(f'<p><a href="{escape(u)}">{escape(u)}</a></p>' for u in links)
        + "</body></html>"
    )
    events: list[tuple[int, dict[str, Any]]] = []
    for kind, rcpt, ticks in m.events:
        events.append((ticks, _event(pool, m, kind, rcpt, ticks)))
    for o in m.opens:
        summary = {"Summary": f"Viewed using {OPEN_PROFILES[o.profile][0]}"}
        events.append((o.ticks, _event_dict(pool, o.rcpt, "Opened", o.ticks, summary)))
    for c in m.clicks:
        clicked = {
            "Summary": f"Clicked using {CLICK_PROFILES[c.profile][0]}",
            "Link": LINKS[c.link],
            "ClickLocation": c.location,
        }
        events.append((c.ticks, _event_dict(pool, c.rcpt, "LinkClicked", c.ticks, clicked)))
    events.sort(key=lambda pair: pair[0])
    wire.update(
        TextBody=text,
        HtmlBody=html,
        Body=dump(pool, m),
        MessageEvents=[event for _, event in events],
    )
    return wire


def _event_dict(
    pool: Pool, rcpt: int, kind: str, ticks: int, info: dict[str, str]
) -> dict[str, Any]:
    return {"Recipient": pool[rcpt][0], "Type": kind, "ReceivedAt": stamp(ticks), "Details": info}


def _event(pool: Pool, m: MessageRecord, kind: str, rcpt: int, ticks: int) -> dict[str, Any]:
    if kind in _BOUNCE_SUMMARY:
        bounce_id = str(1_000_000_000 + m.seq * 1000 + rcpt % 1000)
        info = {"Summary": _BOUNCE_SUMMARY[kind], "BounceID": bounce_id}
        return _event_dict(pool, rcpt, "Bounced", ticks, info)
    if kind == "SpamComplaint":
        info = {"Origin": "Recipient", "SuppressSending": "True"}
        return _event_dict(pool, rcpt, "SubscriptionChanged", ticks, info)
    domain = pool[rcpt][0].rpartition("@")[2]
    reply = "smtp;421 4.7.0 Try again later" if kind == "Transient" else "smtp;250 2.0.0 OK"
    info = {
        "DeliveryMessage": reply,
        "DestinationServer": f"mx.{domain} (203.0.113.25)",
        "DestinationIP": "203.0.113.25",
    }
    return _event_dict(pool, rcpt, kind, ticks, info)


def dump(pool: Pool, m: MessageRecord) -> str:
    """Return the raw source ``/messages/outbound/{id}/dump`` answers for *m*."""
    if m.seq % 20 == 19:  # Postmark no longer has the source of some messages
        return ""
    _, subject, sender = KINDS[m.kind]
    seconds = m.ticks // TICKS
    date = email.utils.format_datetime(dt.datetime.fromtimestamp(seconds, EASTERN))
    to = ", ".join(pool[i][0] for i in m.to)
    return (
        f"Received: from acme.example (203.0.113.1) by mtasv.net\r\n"
        f"From: {SENDERS[sender][0]}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{m.id}@mtasv.net>\r\nDate: {date}\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=UTF-8\r\n\r\n{subject}\r\n"
    )


#: The server's message streams: the two outbound ones the data is sent through, and the
#: inbound stream every Postmark server has.
_STREAM_LISTING: Final = (
    ("outbound", "Default Transactional Stream", "Transactional"),
    ("broadcast", "Broadcasts", "Broadcasts"),
    ("inbound", "Default Inbound Stream", "Inbound"),
)
#: The ``MessageStreamType`` values ``/message-streams`` accepts, lower-cased.
STREAM_TYPES: Final = frozenset({"all", *(kind.lower() for _, _, kind in _STREAM_LISTING)})


def stream_listing(stream_type: str, server_id: int, created: dt.datetime) -> list[dict[str, Any]]:
    """Return the message streams of *stream_type* (any case) as ``/message-streams`` lists them."""
    listed = []
    for stream_id, name, kind in _STREAM_LISTING:
        if stream_type.lower() not in {"all", kind.lower()}:
            continue
        listed.append(
            {
                "ID": stream_id,
                "ServerID": server_id,
                "Name": name,
                "Description": None,
                "MessageStreamType": kind,
                "CreatedAt": created.astimezone(EASTERN).isoformat(),
                "UpdatedAt": None,
                "ArchivedAt": None,
                "ExpectedPurgeDate": None,
                "SubscriptionManagementConfiguration": {"UnsubscribeHandlingType": "None"},
            }
        )
    return listed
