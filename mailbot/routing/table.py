"""The routing policy in one place: a classified message goes to the handler of the first row whose condition
holds, read from the top. The order is the policy: machines before people, staff before complainants, a case
already open before a new one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailbot.routing import by_staff, machines, new_case, on_case, outside, requests, safeguarding, spam
from mailbot.routing.context import Routing
from mailbot.staff import staffmail
from mailbot.vocabulary import FEEDBACK_KINDS, MACHINE_KINDS, ON_A_CASE, Kind


def is_spam(r: Routing) -> bool:
    return r.kind == Kind.SPAM


def is_a_bounce(r: Routing) -> bool:
    return r.kind == Kind.BOUNCE


def is_a_disclosure_in_mail_marked_as_a_machines(r: Routing) -> bool:
    """One header of mass mail or an auto-reply (Precedence: bulk, Auto-Submitted, List-Id) can sit on what a
    person wrote: a residents' list, a web form, a careless client. A disclosure in it is never left alone."""
    # Our own alerts quote disclosures, and staff's own lists carry safeguarding training: they open nothing.
    ours = "own_address" in r.verdict.flags or r.staff.person is not None
    return r.kind in (Kind.BULK, Kind.AUTO_REPLY) and safeguarding.is_disclosure(r) and not ours


def as_a_persons_mail(r: Routing) -> str:
    """Opened (or added to its case) with the lead alerted; the kind stays a machine's, so nobody is written
    to automatically and the coordinator's notice says so."""
    return on_case.add_to_case(r) if r.case is not None else new_case.open_new_case(r)


def is_from_a_machine(r: Routing) -> bool:
    return r.kind in MACHINE_KINDS


def is_vouched_staff_on_a_case(r: Routing) -> bool:
    return r.staff.person is not None and r.case is not None


def is_vouched_staff_commands_without_a_case(r: Routing) -> bool:
    return r.staff.person is not None and r.case is None and staffmail.has_commands(r.text)


def is_unvouched_staff_on_a_case(r: Routing) -> bool:
    """A staff address our server does not vouch for, on a case: not staff mail, but worth a warning."""
    return r.staff.claimed and r.staff.person is None and r.case is not None and not is_from_a_machine(r)


def is_unvouched_staff_naming_a_case(r: Routing) -> bool:
    """A staff address our server does not vouch for, naming a case it is no party to (a forged reply to a
    coordinator's notification, or a colleague writing from outside): reported, never acted on."""
    return r.staff.claimed and r.staff.person is None and r.case is None and r.lookup.quoted is not None


def asks_to_escalate_its_case(r: Routing) -> bool:
    # A mail sent again word for word (cases/threading: "repeat") asks nothing new: it goes on its case.
    repeat = r.lookup.match is not None and r.lookup.match.matched_by == "repeat"
    return r.kind == Kind.ESCALATION and r.case is not None and not repeat


def belongs_on_its_case(r: Routing) -> bool:
    return r.kind in ON_A_CASE and r.case is not None


def is_new_feedback(r: Routing) -> bool:
    """New feedback, or mail meant for a case that threads into none (it is taken as a new complaint)."""
    return r.kind in FEEDBACK_KINDS or r.kind in ON_A_CASE


def is_a_matter_outside_the_procedure(r: Routing) -> bool:
    return is_new_feedback(r) and outside.outside_procedure(r) is not None


def always(_r: Routing) -> bool:
    return True


def leave_for_a_person(r: Routing) -> str:
    return f"left for a person: {r.kind}"


@dataclass(frozen=True)
class Route:
    when: Callable[[Routing], bool]
    then: Callable[[Routing], str]


ROUTES = (
    Route(is_spam, spam.hold_in_quarantine),
    Route(is_a_bounce, machines.link_bounce),
    Route(is_a_disclosure_in_mail_marked_as_a_machines, as_a_persons_mail),
    Route(is_from_a_machine, machines.leave_alone),
    Route(is_vouched_staff_on_a_case, by_staff.relay_or_run_commands),
    Route(is_vouched_staff_commands_without_a_case, by_staff.refuse_commands_without_a_case),
    Route(is_unvouched_staff_naming_a_case, by_staff.report_unvouched_quote),
    Route(asks_to_escalate_its_case, on_case.escalate),
    Route(belongs_on_its_case, on_case.add_to_case),
    Route(requests.is_a_request, requests.record_request),
    Route(is_a_matter_outside_the_procedure, outside.record_outside_procedure),
    Route(is_new_feedback, new_case.open_new_case),
    Route(always, leave_for_a_person),
)


def choose(r: Routing) -> Route:
    return next(row for row in ROUTES if row.when(r))


def route(r: Routing) -> str:
    """Act on the message; returns the outcome stored on it."""
    if is_unvouched_staff_on_a_case(r):
        # Reported to the coordinator, then routed like anyone's mail: the claim alone grants nothing.
        by_staff.warn_unvouched(r)
    return choose(r).then(r)
