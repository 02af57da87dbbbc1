"""Alerts to staff — a safeguarding disclosure, an elected member's letter, a bounce, a matter outside the
complaints procedure. They are never capped (a safeguarding lead must hear of every disclosure) and go only to
the staff directory or a configured address."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.cases import records
from mailbot.db.models import Case
from mailbot.intake.bodies import Attachment
from mailbot.intake.store import sanitise_filename
from mailbot.outgoing import bundles
from mailbot.outgoing.notices import LetterRequest
from mailbot.outgoing.outbox import Recipient

log = logging.getLogger(__name__)
FALLBACK_ROLES = ("lead", "coordinator")  # when nobody holds the role the alert is meant for
# Characters of what the sender wrote that a notice to staff quotes; the case and the mailbox hold all of it.
# A 10 MB body once made a 21.8 MB notification (the text part and the HTML part each carried it whole).
EXCERPT_LIMIT = 10_000
# Alerts the hourly bundling may hold only as repeats: the safeguarding lead hears of every new disclosure
# at once, however many came from one sender this hour (see outgoing/bundles.py).
HELD_ONLY_WHEN_REPEATED = frozenset({"alert_safeguarding"})


def people_for(app: App, role: str | None) -> list[Recipient]:
    """Everyone holding the role, else the leads, else the coordinators."""
    staff = app.config.staff
    if staff is None:
        return []
    for wanted in (role, *FALLBACK_ROLES) if role else FALLBACK_ROLES:
        people = staff.with_role(wanted)
        if people:
            return [Recipient(p.name, p.primary) for p in people]
    return []


def coordinator_of(app: App, case: Case) -> list[Recipient]:
    if case.coordinator:
        person = app.config.staff.person_for(case.coordinator) if app.config.staff else None
        return [Recipient(person.name if person else "", case.coordinator)]
    return people_for(app, "coordinator")


def alert(
    session: Session, app: App, case: Case, letter: str, recipients: Iterable[Recipient], at: datetime,
    key: str, details: dict[str, Any] | None = None,
) -> list[str]:  # fmt: skip
    """Queue the alert to each recipient; returns the addresses it went to (none is logged on the case)."""
    disclosure = _disclosure(letter, details or {})
    details = with_excerpt(details or {})
    sent = []
    for to in recipients:
        request = LetterRequest(
            letter, at, key=f"{key}\0{to.address}", to=to, automatic=False, auto_submitted="auto-generated",
            details=details,
        )  # fmt: skip
        if bundles.send_or_bundle(session, app, case, request, disclosure).queued:
            sent.append(to.address)
    if not sent:
        log.warning("%s: %s went to nobody: no one in the staff directory to send it to", case.ref, letter)
        records.log_event(session, case, "mailbot", f"{letter} not sent", at, "nobody in the staff directory")
    return sent


def _disclosure(letter: str, details: dict[str, Any]) -> Any:
    """What makes one safeguarding alert the same as another: the whole text and what was found in it."""
    if letter not in HELD_ONLY_WHEN_REPEATED:
        return None
    return {"text": details.get("original_text", ""), "findings": details.get("findings", [])}


def with_excerpt(details: dict[str, Any]) -> dict[str, Any]:
    """The sender's words cut to an excerpt (``text_cut`` says so), for every alert that quotes them."""
    text = details.get("original_text")
    if not isinstance(text, str):
        return details
    shown = excerpt(text)
    return {**details, "original_text": shown, "text_cut": len(shown) < len(text.rstrip())}


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """The start of a text, at most ``limit`` characters, cut at a space where there is one near the end."""
    text = text.rstrip()
    if len(text) <= limit:
        return text
    space = text.rfind(" ", limit - 200, limit)
    return text[: space if space > 0 else limit].rstrip()


def attachment_list(attachments: Iterable[Attachment]) -> list[dict[str, str]]:
    """What came attached, as a notice lists it: the name as stored, the type and the size."""
    return [
        {"name": sanitise_filename(a.filename), "type": a.content_type, "size": _size(len(a.payload))}
        for a in attachments
    ]


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{count / 1024:.0f} KB"
    return f"{count / (1024 * 1024):.1f} MB"
