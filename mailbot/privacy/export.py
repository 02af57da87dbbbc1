"""Subject access (UK GDPR article 15): ``mailbot privacy export --address ADDR [--out FILE.zip]``.

One zip: ``index.html`` for the person to read, ``data.json`` for a machine, ``files/`` with the attachments
and ``mail/`` with their mail that is on no case, as received. Whether staff notes and internal mail go in
is a person's decision (``--notes include|withhold``); a withholding needs a reason. The export itself goes
in the audit trail of each of their cases and in the privacy log.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailbot.casefile import pages
from mailbot.cases import records
from mailbot.db.models import Case
from mailbot.errors import UserError
from mailbot.privacy import log, people
from mailbot.privacy.log import PrivacyAction
from mailbot.privacy.subject import (
    ExportedEvent,
    ExportedFile,
    ExportedMessage,
    Request,
    SubjectAccess,
    gather,
)

if TYPE_CHECKING:
    from mailbot.app import App

TEMPLATE = "privacy/export.html"
EXPORT_EVENT = str(PrivacyAction.EXPORT)


class ExportError(UserError):
    """An export asked for wrongly; says what would be accepted."""


@dataclass(frozen=True)
class ExportResult:
    out: Path
    access: SubjectAccess

    def lines(self) -> list[str]:
        a = self.access
        held = len(a.cases) + len(a.messages) + len(a.events) + len(a.other_mail)
        lines = [
            f"subject access export for {a.address} written to {self.out}: {counts(a)}",
            f"  {notes_decision(a)}",
        ]
        if a.withheld:
            lines.append(f"  {len(a.withheld)} item(s) withheld, each listed with its reason in index.html")
        if not held:
            lines.append("  nothing is held about this address")
        return lines


def export_person(
    app: App, given: str, actor: str, include_notes: bool, reason: str = "", out: Path | None = None
) -> ExportResult:
    address = people.person_address(given)
    reason = " ".join(reason.split())
    if not include_notes and not reason:
        raise ExportError("--notes withhold needs --reason: say which exemption applies (it is recorded)")
    out = out or Path(f"subject-access-{app.clock():%Y-%m-%d}-{_file_safe(address)}.zip")
    if out.suffix.lower() != ".zip" or not out.parent.is_dir():
        raise ExportError(f"--out {out}: name a .zip file in a folder that exists")
    request = Request(address, include_notes, reason, app.config.organisation.name, app.config.storage_dir,
                      app.clock(), _staff_addresses(app))  # fmt: skip
    with app.sessions() as session:
        access = gather(session, request)
        write_zip(out, access, index_html(app, access))
    _record(app, access, actor, out)
    return ExportResult(out, access)


def _file_safe(address: str) -> str:
    """An address as part of a file name: an address may hold '/' and other characters a path must not."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", address.replace("@", "-at-"))


def _staff_addresses(app: App) -> frozenset[str]:
    staff = app.config.staff
    listed = {a for person in staff.people for a in person.addresses} if staff else set()
    return frozenset(listed | app.config.own_addresses | set(app.config.forwarding.values()))


def index_html(app: App, access: SubjectAccess) -> str:
    return pages.render(app.config.cases.templates_dir, TEMPLATE, {"access": access})


def write_zip(out: Path, access: SubjectAccess, index: str) -> None:
    """Written beside ``out`` and renamed into place, 0600: it is all personal data."""
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("index.html", index)
        bundle.writestr("data.json", json.dumps(as_json(access), indent=2, ensure_ascii=False))
        for file in access.files:
            if file.data is not None:
                bundle.writestr(file.path, file.data)
        for mail in access.other_mail:
            bundle.writestr(mail.path, mail.raw)
    os.replace(partial, out)


def as_json(access: SubjectAccess) -> dict[str, Any]:
    return {
        "organisation": access.organisation,
        "address": access.address,
        "generated_at": access.generated_at.isoformat(),
        "staff_notes": {"included": access.notes_included, "reason": access.notes_reason},
        "cases": [_case(case) for case in access.cases],
        "messages": [_message(message) for message in access.messages],
        "audit_entries": [_event(event) for event in access.events],
        "mail_on_no_case": [
            {"file": m.path, "received_at": m.received_at.isoformat(), "state": m.state, "subject": m.subject}
            for m in access.other_mail
        ],
        "withheld": [
            {"case": w.case_ref, "date": w.date.isoformat(), "what": w.what, "why": w.why}
            for w in access.withheld
        ],
    }


def _case(case: Case) -> dict[str, Any]:
    data = records.as_dict(case, correspondence=False)
    data.update(
        subject=case.subject,
        closed_at=case.closed_at.isoformat() if case.closed_at else None,
        outcome=case.outcome,
        stages=[
            {
                "stage": r.stage,
                "started_at": r.started_at.isoformat(),
                "outcome": r.outcome,
                "acknowledge_due": str(r.acknowledge_due or ""),
                "respond_due": str(r.extended_to or r.respond_due or ""),
                "extension_reason": r.extension_reason,
            }
            for r in case.stages
        ],
    )
    return data


def _message(message: ExportedMessage) -> dict[str, Any]:
    return {
        "case": message.case_ref,
        "direction": message.direction,
        "kind": message.kind,
        "from": message.sender,
        "to": list(message.recipients),
        "subject": message.subject,
        "date": message.date.isoformat(),
        "text": message.text,
        "attachments": [_file(f) for f in message.files],
    }


def _file(file: ExportedFile) -> dict[str, Any]:
    return {
        "file": file.path if file.data is not None else None,
        "filename": file.filename,
        "content_type": file.content_type,
        "size": file.size,
        "sha256": file.sha256,
    }


def _event(event: ExportedEvent) -> dict[str, Any]:
    return {
        "case": event.case_ref,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "detail": event.detail,
    }


def counts(access: SubjectAccess) -> str:
    entries = "entry" if len(access.events) == 1 else "entries"
    return (
        f"{len(access.cases)} case(s), {len(access.messages)} message(s) and letter(s), "
        f"{len(access.files)} attachment(s), {len(access.events)} audit {entries}, "
        f"{len(access.other_mail)} mail(s) on no case, {len(access.withheld)} item(s) withheld"
    )


def notes_decision(access: SubjectAccess) -> str:
    decision = "included" if access.notes_included else "withheld"
    because = f" ({access.notes_reason})" if access.notes_reason else ""
    return f"staff notes and internal mail {decision}{because}"


def _record(app: App, access: SubjectAccess, actor: str, out: Path) -> None:
    """The export in each of their cases' audit trails and in the privacy log, once the file is written."""
    notes, at = notes_decision(access), app.clock()
    with app.sessions.begin() as session:
        for case in access.cases:
            records.log_event(session, case, actor, EXPORT_EVENT, at, f"for the complainant; {notes}")
        detail = f"{counts(access)}; {notes}; written to {out.name}"
        log.record(session, at, actor, PrivacyAction.EXPORT, detail, subject=access.address)
