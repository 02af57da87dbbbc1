"""``mailbot cases``: list and show cases, the case file, and the staff actions on one (escalate, extend,
outcome, close, a legal hold, correcting the complainant's details)."""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from mailbot.cli.opening import UsageError, opened_app
from mailbot.vocabulary import CaseStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailbot.app import App
    from mailbot.db.models import Case

# The statuses `cases list --status` accepts.
LISTABLE_STATUSES = (CaseStatus.OPEN, CaseStatus.CLOSED, CaseStatus.RECORDED)


def cmd_cases_list(args: argparse.Namespace) -> int:
    from mailbot.cases import records

    with opened_app(args) as app, app.sessions() as session:
        found = records.list_cases(session, args.status)
        if args.json:
            print(json.dumps([records.as_dict(c, correspondence=False) for c in found], indent=2))
        elif not found:
            print("none")
        for case in [] if args.json else found:
            print(records.one_line(case))
    return 0


def cmd_cases_show(args: argparse.Namespace) -> int:
    from mailbot.casefile.reading import describe_full
    from mailbot.cases import records

    with opened_app(args) as app, app.sessions() as session:
        case = _find_case(session, args.ref)
        if args.json:
            print(json.dumps(records.as_dict(case), indent=2))
        elif args.full or args.quoted:
            print(describe_full(session, case, quoted=args.quoted))
        else:
            print(records.describe(case))
    return 0


def cmd_cases_file(args: argparse.Namespace) -> int:
    from mailbot.casefile.write import write_case_file

    with opened_app(args) as app, app.sessions() as session:
        print(write_case_file(app, _find_case(session, args.ref), args.out))
    return 0


def cmd_cases_hold(args: argparse.Namespace) -> int:
    from mailbot.privacy import hold

    change = hold.lift_hold if args.lift else hold.place_hold
    return _on_case(
        args, lambda s, app, case, actor: change(s, case, actor, args.reason, app.clock()), letters=False
    )


def cmd_cases_correct(args: argparse.Namespace) -> int:
    from mailbot.privacy.correct import correct_complainant

    return _on_case(
        args,
        lambda s, app, case, actor: correct_complainant(
            s, case, actor, app.clock(), args.name, args.address, args.reason or ""
        ),
        letters=False,
    )


def _find_case(session: Session, ref: str) -> Case:
    from mailbot.cases.threading import case_by_reference

    case = case_by_reference(session, ref)
    if case is None:
        raise UsageError(f"no case {ref!r} (see `mailbot cases list`)")
    return case


def cmd_cases_escalate(args: argparse.Namespace) -> int:
    from mailbot.cases import actions

    return _on_case(args, lambda s, app, case, actor: actions.escalate_case(s, app, case, actor, app.clock()))


def cmd_cases_extend(args: argparse.Namespace) -> int:
    from mailbot.cases import actions

    return _on_case(
        args,
        lambda s, app, case, actor: actions.extend_case(
            s, app, case, args.by, args.reason, args.agreed, actor, app.clock()
        ),
    )


def cmd_cases_outcome(args: argparse.Namespace) -> int:
    from mailbot.cases import actions

    return _on_case(
        args,
        lambda s, app, case, actor: actions.record_case_outcome(
            s, app, case, args.decision, app.clock(), actor, args.reasons, args.remedy, args.actions
        ),
    )


def cmd_cases_close(args: argparse.Namespace) -> int:
    from mailbot.cases import actions

    return _on_case(args, lambda s, app, case, actor: actions.close_case(s, case, actor, app.clock()))


def cmd_cases_add_party(args: argparse.Namespace) -> int:
    """Someone who may write on the case and receive its letters besides the complainant (an advocate)."""
    from mailbot.cases import parties

    with opened_app(args) as app, app.sessions.begin() as session:
        case = _find_case(session, args.ref)
        print(
            parties.add_party(session, case, args.address, args.name, f"cli:{getpass.getuser()}", app.clock())
        )
    return 0


def _on_case(
    args: argparse.Namespace, change: Callable[[Session, App, Case, str], str], letters: bool = True
) -> int:
    """Apply one staff action to a case in one transaction; its letter goes at the next outbox flush. With
    ``--dry-run`` the very same action runs, what it would send is shown, and the transaction is undone."""
    if getattr(args, "dry_run", False):
        return _dry_run(args, change)
    with opened_app(args) as app, app.sessions.begin() as session:
        print(change(session, app, _find_case(session, args.ref), f"cli:{getpass.getuser()}"))
    if letters:
        print(
            "Letters are sent at the next outbox flush (`mailbot poll --once`, or the running `mailbot run`)."
        )
    return 0


def _dry_run(args: argparse.Namespace, change: Callable[[Session, App, Case, str], str]) -> int:
    from mailbot.cli.previews import letters_queued_since, newest_outbox_id

    with opened_app(args) as app, app.sessions() as session:
        try:
            case = _find_case(session, args.ref)
            before = newest_outbox_id(session)
            said = change(session, app, case, f"cli:{getpass.getuser()}")
            session.flush()
            previews = letters_queued_since(session, before)
        finally:
            session.rollback()
    print(f"dry run, nothing changed or sent; it would do: {said}")
    for preview in previews:
        print(preview)
    if not previews:
        print("letters: none")
    return 0
