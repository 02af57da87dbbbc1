"""Mail from a staff address: when our server vouches for it, a reply on a case is relayed or run as commands
and commands naming no case are refused; when it does not, the coordinator of the case it names is told."""

from __future__ import annotations

from mailbot.config.staff import Person
from mailbot.routing.context import Routing
from mailbot.staff import staffmail


def relay_or_run_commands(r: Routing) -> str:
    received = staffmail.Received(r.session, r.app, r.inbound, r.mail, _vouched(r), r.on_case)
    return staffmail.handle(received)


def refuse_commands_without_a_case(r: Routing) -> str:
    return staffmail.no_case_for_commands(r.session, r.app, r.inbound, r.mail, _vouched(r))


def warn_unvouched(r: Routing) -> None:
    staffmail.warn_unvouched(r.session, r.app, r.on_case, r.mail, r.staff, r.key, r.text)


def report_unvouched_quote(r: Routing) -> str:
    """A staff address our server does not vouch for, naming a case it is no party to: the claim grants
    nothing (no command, no relay, no new case from a colleague's address); the case's coordinator is told."""
    case = r.quoted_case
    if case is None:  # the table sends only mail that named a case here
        raise LookupError(f"message {r.key} names no case")
    staffmail.warn_unvouched(r.session, r.app, case, r.mail, r.staff, r.key, r.text)
    told = "its coordinator was told; nothing changed"
    return f"unverified staff mail naming {case.ref} from {r.actor}: {told}"


def _vouched(r: Routing) -> Person:
    if r.staff.person is None:  # the table sends only vouched-for staff mail here
        raise LookupError(f"message {r.key} is not from staff our server vouches for")
    return r.staff.person
