"""Requests with their own law: a subject access request or a freedom of information request is recorded as
an item on its own statutory clock (cases/statutory.py), forwarded to the officer named in [forwarding]
(``subject_access``, ``foi``; else the leads), and acknowledged with its own letter. It never enters the
complaints stages: its deadline is the law's, not the complaints policy's."""

from __future__ import annotations

from mailbot.cases import records, requests
from mailbot.cases.statutory import RequestClock, foi_clock, subject_access_clock
from mailbot.db.models import Case, InformationRequest
from mailbot.outgoing import alerts
from mailbot.outgoing.outbox import Recipient
from mailbot.routing.answer import answer
from mailbot.routing.context import Routing
from mailbot.routing.opening import complainant, may_answer, open_case
from mailbot.vocabulary import REQUEST_KINDS, CaseStatus, Kind

LETTER = "request_received"
FORWARD_LETTER = "forward_request"


def is_a_request(r: Routing) -> bool:
    return r.kind in REQUEST_KINDS and r.case is None


def record_request(r: Routing) -> str:
    policy = r.app.policy_for(r.inbound.mailbox)
    case = open_case(r, policy, r.kind, complainant(r))
    case.status = CaseStatus.REQUEST
    clock = _clock(r, policy.calendar.nation, policy.calendar.local_date(r.inbound.received_at))
    officer = r.app.config.forwarding.get(r.kind)
    r.session.add(
        InformationRequest(
            case_id=case.id, law=clock.law, received_on=policy.calendar.local_date(r.inbound.received_at),
            due=clock.due, latest_due=clock.latest_due, forwarded_to=officer,
        )
    )  # fmt: skip
    due = f"due {clock.due}" + (f" (extendable to {clock.latest_due})" if clock.latest_due else "")
    records.log_event(r.session, case, "mailbot", "request recorded", r.now, f"{clock.law}: {due}", r.inbound)
    forwarded = _forward(r, case, clock, officer)
    sent = _acknowledge(r, case, clock)
    return f"recorded {case.ref} as {r.kind} ({clock.law}), {due}; forwarded to {forwarded}; {sent}"


def _clock(r: Routing, nation: str, received_on: object) -> RequestClock:
    make = subject_access_clock if r.kind == Kind.SUBJECT_ACCESS else foi_clock
    return make(received_on, nation)  # type: ignore[arg-type]


def _forward(r: Routing, case: Case, clock: RequestClock, officer: str | None) -> str:
    people = [Recipient("", officer)] if officer else alerts.people_for(r.app, "lead")
    details = {
        **letter_details(r.kind, clock), "original_text": r.text, "sender": r.actor,
        "acknowledged": r.inbound.send_allowed and may_answer(r),
    }  # fmt: skip
    sent = alerts.alert(r.session, r.app, case, FORWARD_LETTER, people, r.now, r.key, details)
    return ", ".join(sent) or "nobody (set [forwarding] " + r.kind + ")"


def _acknowledge(r: Routing, case: Case, clock: RequestClock) -> str:
    if not r.inbound.send_allowed:
        return "imported without acknowledgement"
    if not may_answer(r):
        records.log_event(
            r.session, case, "mailbot", "not acknowledged", r.now, "no automatic mail", r.inbound
        )
        return "no acknowledgement (the mail must not be answered automatically)"
    return answer(r, case, LETTER, automatic=True, details=letter_details(r.kind, clock))


def letter_details(kind: str, clock: RequestClock) -> dict[str, object]:
    """What the request letters say: the request's name (English and Welsh), its law and dates."""
    return requests.letter_details(kind, clock.law, clock.due, clock.latest_due)
