"""Extending a subject access request's clock: UK GDPR art. 12(3) lets a controller take up to two further
months where a request is complex or one of many, provided the requester is told, with the reasons, within
the first month. A freedom of information request has no such extension for complexity (FOIA 2000 s.10(3)
allows time only to consider the public interest, which is the FOI officer's decision), so it is refused with
that reason."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.cases import records
from mailbot.cases.guards import ActionRefused
from mailbot.cases.statutory import extended_due
from mailbot.db.models import Case, InboundMessage, InformationRequest
from mailbot.outgoing.notices import LetterRequest, LetterStatus, send_letter
from mailbot.vocabulary import CaseStatus, Kind

LETTER = "request_extended"
EVENT = "request extended"


def letter_details(kind: str, law: str, due: date, latest_due: date | None) -> dict[str, object]:
    """What the request letters say: the request's name (English and Welsh), its law and dates."""
    welsh = "cais am wybodaeth bersonol" if kind == Kind.SUBJECT_ACCESS else "cais rhyddid gwybodaeth"
    return {"request": request_name(kind), "cais": welsh, "kind": kind, "law": law, "due": due,
            "latest_due": latest_due}  # fmt: skip


def request_name(kind: str) -> str:
    return "subject access request" if kind == Kind.SUBJECT_ACCESS else "freedom of information request"


def extend_request(
    session: Session, app: App, case: Case, days: int | None, reason: str, actor: str, at: datetime,
    inbound: InboundMessage | None = None,
) -> str:  # fmt: skip
    """Move a subject access request's due date on by ``days`` calendar days (None: as far as the law
    allows), record why, and tell the requester before the first month is out."""
    row = _request(session, case)
    calendar = app.policies[case.policy].calendar
    new_due = _new_due(case, row, days, calendar.local_date(at), calendar.nation)
    old_due, row.due = row.due, new_due
    records.log_event(session, case, actor, EVENT, at, f"from {old_due} to {new_due}: {reason}", inbound)
    details = {**letter_details(case.kind, row.law, new_due, row.latest_due), "old_due": old_due,
               "reason": reason}  # fmt: skip
    result = send_letter(
        session, app, case,
        LetterRequest(LETTER, at, key=f"{new_due}", automatic=False, auto_submitted=None, details=details,
                      actor=actor),
    )  # fmt: skip
    told = (
        f"{LETTER} letter queued to {', '.join(result.recipients)}"
        if result.status is LetterStatus.QUEUED
        else f"{LETTER} not sent ({result.reason or result.status.value}): tell the requester yourself"
    )
    return f"{case.ref} {request_name(case.kind)} now due {new_due} (was {old_due}); {told}"


def _request(session: Session, case: Case) -> InformationRequest:
    row = session.scalar(select(InformationRequest).where(InformationRequest.case_id == case.id))
    if case.status != CaseStatus.REQUEST or row is None:
        raise ActionRefused(f"{case.ref} is not an open subject access or freedom of information request")
    return row


def _new_due(case: Case, row: InformationRequest, days: int | None, today: date, nation: str) -> date:
    if row.latest_due is None:
        raise ActionRefused(
            f"{case.ref} is a freedom of information request: {row.law} allows no extension for a complex "
            "request; more time to consider the public interest (FOIA 2000 s.10(3)) is the FOI officer's "
            "decision, recorded with `#note`"
        )
    if today > row.due:
        raise ActionRefused(
            f"{case.ref} was due {row.due}: the requester must be told of an extension, with the reasons, "
            "within the first month (UK GDPR art. 12(3)), so it can no longer be extended"
        )
    if days is not None and days < 1:
        raise ActionRefused("give the number of days to extend by (1 or more), or none for the most allowed")
    new_due = extended_due(row.due, days, row.latest_due, nation)
    if new_due <= row.due:
        raise ActionRefused(f"{case.ref} is already due {row.due}, the latest the law allows")
    return new_due
