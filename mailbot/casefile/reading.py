"""``mailbot cases show REF --full``: the case as ``cases show`` lists it, then each message's and letter's
own words (without the history it quotes; with it on request) and its attachments."""

from __future__ import annotations

import textwrap

from sqlalchemy.orm import Session

from mailbot.cases import records
from mailbot.db.models import Case, Correspondence, InboundMessage
from mailbot.intake.parse import UnparseableMail, parse_mail

INDENT = "      "


def describe_full(session: Session, case: Case, quoted: bool = False) -> str:
    lines = [records.describe(case)]
    if case.purged_at:
        lines.append(f"  personal data purged on {case.purged_at:%Y-%m-%d}; no messages or letters are held")
    for number, entry in enumerate(case.correspondence, 1):
        lines += ["", _heading(number, entry), _indented(entry.new_text or "(no text)")]
        lines += [
            f"{INDENT}attachment: {a.filename} ({a.content_type}, {a.size} bytes, sha256 {a.sha256})"
            for a in entry.attachments
        ]
        if quoted and entry.inbound_id is not None:
            lines += [f"{INDENT}--- the whole text as received, with what it quotes ---",
                      _indented(whole_text(session, entry))]  # fmt: skip
    return "\n".join(lines)


def _heading(number: int, entry: Correspondence) -> str:
    verb = "received" if entry.direction == "in" else "sent"
    sender, to = entry.from_address or "-", ", ".join(entry.to_addresses or []) or "-"
    return (
        f"  [{number}] {verb} {entry.date:%Y-%m-%d %H:%M} UTC, {entry.kind}, from {sender} to {to}\n"
        f"{INDENT}subject: {entry.subject}"
    )


def _indented(text: str) -> str:
    return textwrap.indent(text.strip("\n"), INDENT, lambda _line: True)


def whole_text(session: Session, entry: Correspondence) -> str:
    """The message's text parsed again from its stored bytes, quoted history and all."""
    inbound = session.get(InboundMessage, entry.inbound_id)
    if inbound is None or not inbound.raw:
        return "(the message as received is no longer held)"
    try:
        return parse_mail(inbound.raw).text or "(no text)"
    except UnparseableMail as exc:
        return f"(cannot be read again: {exc})"
