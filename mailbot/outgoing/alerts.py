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
from mailbot.outgoing.notices import LetterRequest, send_letter
from mailbot.outgoing.outbox import Recipient

log = logging.getLogger(__name__)
FALLBACK_ROLES = ("lead", "coordinator")  # when nobody holds the role the alert is meant for


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
    sent = []
    for to in recipients:
        request = LetterRequest(
            letter, at, key=f"{key}\0{to.address}", to=to, automatic=False, auto_submitted="auto-generated",
            details=details or {},
        )  # fmt: skip
        if send_letter(session, app, case, request).queued:
            sent.append(to.address)
    if not sent:
        log.warning("%s: %s went to nobody: no one in the staff directory to send it to", case.ref, letter)
        records.log_event(session, case, "mailbot", f"{letter} not sent", at, "nobody in the staff directory")
    return sent
