"""What follows from a letter's fate, beyond the outbox row: an acknowledgement sent sets its case's
acknowledged date; a letter to a complainant refused for good (a 550 at RCPT) or given up on is put on the
case and told at once to its coordinator, or to the leads when it has none, because the complainant has not
heard and nobody else would know.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.util import identity_key

from mailbot.app import App
from mailbot.cases import records, stages
from mailbot.db.models import Case, Outbox, StageRecord
from mailbot.outgoing import alerts
from mailbot.outgoing.outbox import Recipient
from mailbot.outgoing.smtp import DeliveryHooks

ACKNOWLEDGING = ("acknowledgement", "thank_you")
UNDELIVERABLE = "undeliverable"  # the case flag a bounce sets too


def delivery_hooks(app: App) -> DeliveryHooks:
    return DeliveryHooks(
        on_sent=lambda session, row: acknowledgement_sent(app, session, row),
        on_failed=lambda session, row: letter_failed(app, session, row),
    )


def acknowledgement_sent(app: App, session: Session, row: Outbox) -> None:
    if row.purpose not in ACKNOWLEDGING or row.case_id is None or row.sent_at is None:
        return
    if identity_key(Case, row.case_id) in session.identity_map:
        # The session holds the case: change it there, so what it holds stays true.
        return _acknowledged_in_session(app, session, row.case_id, row.sent_at)
    # The usual case, once a letter a delivery run: the dates read and written as plain statements, the
    # stage rule (``stages.mark_acknowledged``) applied to them; the ORM's load and flush cost more.
    connection = session.connection()  # nothing pending in the session touches a case it does not hold
    found = connection.execute(_DATES, {"the_case": row.case_id}).first()
    if found is None or found.acknowledged_at is not None:
        return
    record = _record_dates(found)
    case = _CaseDates(found.stage, None, found.response_due, [record] if record else [])
    due = stages.mark_acknowledged(case, app.policies[found.policy], row.sent_at)  # type: ignore[arg-type]
    dates = {"acknowledged_at": case.acknowledged_at, "response_due": case.response_due}
    connection.execute(_CASE_DATES, {"the_case": row.case_id, **dates})
    if record is not None and found.record_acknowledged_at is None:
        dates = {"acknowledged_at": record.acknowledged_at, "respond_due": record.respond_due}
        connection.execute(_STAGE_DATES, {"the_record": found.record_id, **dates})
    _log_acknowledged(session, row.case_id, row.sent_at, due)


def _acknowledged_in_session(app: App, session: Session, case_id: int, sent_at: datetime) -> None:
    # The case and its stages in one statement: marking it acknowledged reads the current stage.
    case = session.get(Case, case_id, options=[joinedload(Case.stages)])
    if case is None or case.acknowledged_at is not None:
        return
    due = stages.mark_acknowledged(case, app.policies[case.policy], sent_at)
    _log_acknowledged(session, case_id, sent_at, due)


def _log_acknowledged(session: Session, case_id: int, sent_at: datetime, due: date | None) -> None:
    detail = f"response due {due}" if due else ""
    records.log_event_on(session, case_id, "mailbot", "acknowledged", sent_at, detail)


def _record_dates(found: Row[Any]) -> _StageDates | None:
    if found.record_id is None:  # a recorded case: no stage
        return None
    return _StageDates(
        found.stage, found.started_at, found.record_acknowledged_at, found.respond_due, found.extended_to
    )


@dataclass
class _StageDates:
    """What ``stages.mark_acknowledged`` reads and sets on a stage record."""

    stage: str
    started_at: datetime
    acknowledged_at: datetime | None
    respond_due: date | None
    extended_to: date | None


@dataclass
class _CaseDates:
    """What ``stages.mark_acknowledged`` reads and sets on a case, with its current stage record."""

    stage: str
    acknowledged_at: datetime | None
    response_due: date | None
    stages: list[_StageDates]


_cases, _stages = Case.__table__, StageRecord.__table__
_DATES = (
    select(
        *(_cases.c[name] for name in ("policy", "stage", "acknowledged_at", "response_due")),
        _stages.c.id.label("record_id"),
        _stages.c.acknowledged_at.label("record_acknowledged_at"),
        *(_stages.c[name] for name in ("started_at", "respond_due", "extended_to")),
    )
    .select_from(
        _cases.outerjoin(_stages, and_(_stages.c.case_id == _cases.c.id, _stages.c.stage == _cases.c.stage))
    )
    .where(_cases.c.id == bindparam("the_case"))
)
_CASE_DATES = update(_cases).where(_cases.c.id == bindparam("the_case"))
_STAGE_DATES = update(_stages).where(_stages.c.id == bindparam("the_record"))


def letter_failed(app: App, session: Session, row: Outbox) -> None:
    """A letter to the complainant will not arrive: flag the case, record why, tell a person."""
    case = session.get(Case, row.case_id) if row.case_id is not None else None
    if case is None or case.complainant_address.lower() not in {r.lower() for r in row.recipients}:
        return  # letters to staff: a failed alert about a failed alert would only loop
    now, address, said = app.clock(), case.complainant_address, row.last_error or ""
    case.flags = sorted({*(case.flags or []), UNDELIVERABLE})
    records.log_event(session, case, "mailbot", f"{row.purpose} not delivered", now, f"to {address}: {said}")
    why = "the mail server refused it" if said[:1] == "5" else "it could not be sent before we gave up trying"
    details = {
        "letter": row.purpose,
        "address": address,
        "server_said": said,
        "why": why,
        "outbox_id": row.id,
    }
    key = f"undelivered:{row.id}"
    alerts.alert(session, app, case, "alert_undelivered", who_to_tell(app, case), now, key, details)


def who_to_tell(app: App, case: Case) -> list[Recipient]:
    """The case's coordinator; without one, the leads (or whoever the staff directory falls back to)."""
    if case.coordinator:
        return alerts.coordinator_of(app, case)
    return alerts.people_for(app, "lead")
