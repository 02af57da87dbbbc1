"""Erasure (UK GDPR article 17): ``mailbot privacy erase --address ADDR``. Every case the person complained in
is purged as the retention schedule would purge it (its figures stay), their mail on no case is emptied, and
their address leaves the audit entries of other cases and the privacy log.

An open case, or one on legal hold, is refused unless ``--force`` comes with a reason: erasing a complaint
still being handled, or one under a claim, is a person's decision, and the reason is recorded. Their mail on
someone else's case is part of that person's record too; it is listed for a person to decide, not erased.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, func
from sqlalchemy.orm import Session

from mailbot.cases import records, stages
from mailbot.db.models import Case, CaseParty, InboundMessage, Outbox
from mailbot.errors import UserError
from mailbot.privacy import log, people, scrub
from mailbot.privacy.log import PrivacyAction
from mailbot.privacy.scrub import Removed
from mailbot.vocabulary import CaseStatus

if TYPE_CHECKING:
    from mailbot.app import App

ERASED = "(erased)"
# A case still being handled: open at a stage, or answered and waiting for the complainant to escalate or not.
STILL_HANDLED = (CaseStatus.OPEN, "responded")


class ErasureRefused(UserError):
    """An erasure that needs a person's decision (``--force --reason``) or names nobody we hold."""


@dataclass
class Erasure:
    address: str
    removed: Removed = field(default_factory=Removed)
    files_deleted: int = 0
    elsewhere: list[str] = field(default_factory=list)  # other people's cases their mail is on

    def lines(self) -> list[str]:
        files = f"{self.files_deleted} attachment file(s) deleted"
        lines = [f"erased {self.address}: {self.removed.summary()}, {files}"]
        if self.removed.cases:
            lines.append(f"  cases purged: {', '.join(self.removed.cases)} (their figures are kept)")
        if self.elsewhere:
            lines.append(
                f"  also on other people's cases, not erased (their record too; a person decides): "
                f"{', '.join(self.elsewhere)}"
            )
        lines.append("  the mailbox itself is untouched: delete their mail there by hand if it must go too")
        return lines


def erase_person(app: App, given: str, actor: str, force: bool = False, reason: str = "") -> Erasure:
    address = people.person_address(given)
    reason = " ".join(reason.split())
    if force and not reason:
        raise ErasureRefused("--force needs --reason: say why this erasure goes ahead (it is recorded)")
    erasure = Erasure(address)
    with app.sessions.begin() as session:
        cases = people.cases_of(session, address)
        _refuse_unless_decided(cases, force)
        own, at = {case.id for case in cases}, app.clock()
        why = f"erasure of the complainant's data: {reason or 'requested'}" + (" (forced)" if force else "")
        expired = [(case, why) for case in cases if case.purged_at is None]
        _close_what_is_still_handled(session, cases, at)
        erasure.removed += scrub.purge_cases(session, expired, at)
        erasure.removed += _mail_on_no_case(session, address, at)
        erasure.elsewhere = _unname_elsewhere(session, address, own)
        log.forget_subject(session, address)
        detail = f"{erasure.removed.summary()}; cases: {', '.join(erasure.removed.cases) or 'none'}; {why}"
        log.record(session, at, actor, PrivacyAction.ERASURE, detail)
    erasure.files_deleted = scrub.delete_blobs(app.sessions, app.config.storage_dir, erasure.removed.blobs)
    scrub.settle(app.engine)
    return erasure


def _refuse_unless_decided(cases: list[Case], force: bool) -> None:
    blocking = [
        f"{c.ref} ({'on legal hold: ' + (c.hold_reason or '') if c.held_at else 'still ' + c.status})"
        for c in cases
        if c.purged_at is None and (c.held_at is not None or c.status in STILL_HANDLED)
    ]
    if blocking and not force:
        raise ErasureRefused(
            f"not erased: {'; '.join(blocking)}. Close the case or lift the hold first, or erase anyway "
            "with --force --reason 'why'"
        )


def _close_what_is_still_handled(session: Session, cases: list[Case], at: datetime) -> None:
    """A forced erasure ends the handling of an open case: with the complaint's words gone there is nothing
    to investigate or answer, and reminders and the digest would otherwise chase an empty case for ever."""
    for case in cases:
        if case.purged_at is None and case.status in STILL_HANDLED:
            stages.close(case, at)
            records.log_event(session, case, "mailbot", "closed", at, "its personal data was erased")


def _mail_on_no_case(session: Session, address: str, at: datetime) -> Removed:
    removed = Removed()
    messages = [row.id for row in people.mail_on_no_case(session, address)]
    removed.messages = scrub.empty_messages(session, InboundMessage.id.in_(messages))
    letters = and_(Outbox.case_id.is_(None), Outbox.recipient == address)
    removed.letters = scrub.empty_letters(session, letters, at)
    return removed


def _unname_elsewhere(session: Session, address: str, own: set[int]) -> list[str]:
    """Their address leaves other cases' audit entries; the cases their mail is on are returned, untouched."""
    for event in people.events_naming(session, address):
        if event.case_id in own:
            continue
        event.actor = ERASED if event.actor.lower() == address else event.actor
        event.detail = _without(event.detail, address)
    # Where they were a party to someone else's case (an advocate, a relative), they are one no longer.
    session.execute(delete(CaseParty).where(func.lower(CaseParty.address) == address))
    refs = {e.case.ref for e in people.correspondence_of(session, address) if e.case_id not in own}
    return sorted(refs)


def _without(text: str, address: str) -> str:
    lowered, start, parts = text.lower(), 0, []
    while (found := lowered.find(address, start)) != -1:
        parts += [text[start:found], ERASED]
        start = found + len(address)
    return "".join([*parts, text[start:]])
