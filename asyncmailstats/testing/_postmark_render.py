"""Rendering of the fake Postmark server's records as Postmark's JSON.

Messages, opens and clicks are rendered to bytes once and the bytes kept on the record;
the fixed parts of opens and clicks (client, OS, place) are pre-rendered fragments.
Details, events and message dumps are built on demand.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from html import escape
from typing import Any, Final

from ._postmark_data import (
    _CLICK_PROFILES,
    _GEO_KEYS,
    _KINDS,
    _LINKS,
    _OPEN_PROFILES,
    _SENDERS,
    EASTERN,
    TICKS,
    _Click,
    _dumps,
    _Message,
    _Open,
    _stamp,
    _State,
)

_BOUNCE_SUMMARY: Final = {
    "HardBounce": "The server was unable to deliver your message (ex: unknown user).",
    "SoftBounce": "The server could not temporarily deliver your message.",
    "SMTPApiError": "An error occurred while accepting an email through the SMTP API.",
}


class _Rendering(_State):
    """Turn records into Postmark's wire objects: search items, details, dumps."""

    def _addressee(self, rcpt: int) -> dict[str, str | None]:
        address, name, _ = self._pool[rcpt]
        return {"Email": address, "Name": name}

    def _message_dict(self, m: _Message) -> dict[str, Any]:
        tag, subject, sender = _KINDS[m.kind]
        wire: dict[str, Any] = {} if tag is None else {"Tag": tag}
        wire.update(
            MessageID=m.id,
            MessageStream=m.stream,
            To=[self._addressee(i) for i in m.to],
            Cc=[self._addressee(i) for i in m.cc],
            Bcc=[self._addressee(i) for i in m.bcc],
            Recipients=[self._pool[i][0] for i in m.everyone],
            ReceivedAt=_stamp(m.ticks),
            From=_SENDERS[sender][0],
            Subject=subject,
            Attachments=list(m.attachments),
            Status=m.status,
            TrackOpens=m.track_opens,
            TrackLinks=m.track_links,
            Metadata=dict(m.metadata or {}),
            Sandboxed=False,
        )
        return wire

    def _render_message(self, m: _Message) -> bytes:
        if m.raw is None:
            m.raw = _dumps(self._message_dict(m))
        return m.raw

    @staticmethod
    def _frag(m: _Message) -> bytes:
        if m.frag is None:
            tag = m.tag
            m.frag = b'"MessageID":"%s","MessageStream":"%s"%s' % (
                m.id.encode(),
                m.stream.encode(),
                b"" if tag is None else b',"Tag":' + _dumps(tag),
            )
        return m.frag

    def _render_open(self, o: _Open) -> bytes:
        if o.raw is None:
            o.raw = b"".join(
                (
                    b'{"RecordType":"Open",',
                    self._frag(o.msg),
                    b',"Recipient":',
                    self._pool[o.rcpt][2],
                    b',"ReceivedAt":"%s","FirstOpen":true,"ReadSeconds":%d,'
                    % (_stamp(o.ticks).encode(), max(o.read, 0)),
                    self._open_frags[o.profile],
                    b",",
                    self._geo_frags[o.geo],
                    b"}",
                )
            )
        return o.raw

    def _render_click(self, c: _Click) -> bytes:
        if c.raw is None:
            c.raw = b"".join(
                (
                    b'{"RecordType":"Click","ClickLocation":"%s","OriginalLink":'
                    % c.location.encode(),
                    _dumps(_LINKS[c.link]),
                    b",",
                    self._frag(c.msg),
                    b',"Recipient":',
                    self._pool[c.rcpt][2],
                    b',"ReceivedAt":"%s",' % _stamp(c.ticks).encode(),
                    self._click_frags[c.profile],
                    b",",
                    self._geo_frags[c.geo],
                    b"}",
                )
            )
        return c.raw

    def _details(self, m: _Message) -> dict[str, Any]:
        wire = self._message_dict(m)
        _, subject, _ = _KINDS[m.kind]
        name = self._pool[m.to[0]][1] or "there"
        links = [_LINKS[i] for i in m.links]
        text = f"Hi {name},\n\n{subject}\n\n" + "\n".join(links) + "\n\n-- \nAcme\n"
        html = (
            f"<html><body><p>Hi {escape(name)},</p><p>{escape(subject)}</p>"
            + "".join(f'<p><a href="{escape(u)}">{escape(u)}</a></p>' for u in links)
            + "</body></html>"
        )
        events: list[tuple[int, dict[str, Any]]] = []
        for kind, rcpt, ticks in m.events:
            events.append((ticks, self._event(m, kind, rcpt, ticks)))
        for o in m.opens:
            client = _OPEN_PROFILES[o.profile][0]
            summary = {"Summary": f"Viewed using {client}"}
            events.append((o.ticks, self._event_dict(o.rcpt, "Opened", o.ticks, summary)))
        for c in m.clicks:
            details = {
                "Summary": f"Clicked using {_CLICK_PROFILES[c.profile][0]}",
                "Link": _LINKS[c.link],
                "ClickLocation": c.location,
            }
            events.append((c.ticks, self._event_dict(c.rcpt, "LinkClicked", c.ticks, details)))
        events.sort(key=lambda pair: pair[0])
        wire.update(
            TextBody=text,
            HtmlBody=html,
            Body=self._dump(m),
            MessageEvents=[event for _, event in events],
        )
        return wire

    def _event_dict(
        self, rcpt: int, kind: str, ticks: int, details: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "Recipient": self._pool[rcpt][0],
            "Type": kind,
            "ReceivedAt": _stamp(ticks),
            "Details": details,
        }

    def _event(self, m: _Message, kind: str, rcpt: int, ticks: int) -> dict[str, Any]:
        if kind in _BOUNCE_SUMMARY:
            bounce_id = str(1_000_000_000 + m.seq * 1000 + rcpt % 1000)
            details = {"Summary": _BOUNCE_SUMMARY[kind], "BounceID": bounce_id}
            return self._event_dict(rcpt, "Bounced", ticks, details)
        if kind == "SpamComplaint":
            details = {"Origin": "Recipient", "SuppressSending": "True"}
            return self._event_dict(rcpt, "SubscriptionChanged", ticks, details)
        domain = self._pool[rcpt][0].rpartition("@")[2]
        reply = "smtp;421 4.7.0 Try again later" if kind == "Transient" else "smtp;250 2.0.0 OK"
        details = {
            "DeliveryMessage": reply,
            "DestinationServer": f"mx.{domain} (203.0.113.25)",
            "DestinationIP": "203.0.113.25",
        }
        return self._event_dict(rcpt, kind, ticks, details)

    def _dump(self, m: _Message) -> str:
        if m.seq % 20 == 19:  # Postmark no longer has the source of some messages
            return ""
        _, subject, sender = _KINDS[m.kind]
        seconds = m.ticks // TICKS
        date = email.utils.format_datetime(dt.datetime.fromtimestamp(seconds, EASTERN))
        to = ", ".join(self._pool[i][0] for i in m.to)
        return (
            f"Received: from acme.example (203.0.113.1) by mtasv.net\r\n"
            f"From: {_SENDERS[sender][0]}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{m.id}@mtasv.net>\r\nDate: {date}\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=UTF-8\r\n\r\n{subject}\r\n"
        )


def _profile_frag(row: tuple[str, ...]) -> bytes:
    names = ("Name", "Company", "Family")
    wire = {
        "Platform": row[6],
        "UserAgent": row[8],
        "Client": dict(zip(names, row[0:3], strict=True)),
        "OS": dict(zip(names, row[3:6], strict=True)),
    }
    return _dumps(wire)[1:-1]


def _geo_frag(row: tuple[str, ...]) -> bytes:
    if not row[0]:
        return b'"Geo":{}'
    return b'"Geo":' + _dumps(dict(zip((*_GEO_KEYS, "IP"), row[:8], strict=True)))
