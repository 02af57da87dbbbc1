"""Which case a mail belongs to: by the Message-ID chain, or by a written reference — each way from a party to
the case only. Also recognises a mail we have already handled (the same mail in two mailboxes, or fetched
twice)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from mailbot.cases.parties import is_party
from mailbot.cases.reference import ReferenceFormat
from mailbot.classify import ThreadMatch
from mailbot.db.models import Case, Correspondence, InboundMessage
from mailbot.db.notes import transaction_notes
from mailbot.intake.parse import ParsedMail
from mailbot.vocabulary import CaseStatus, InboundState

__all__ = [
    "ThreadLookup", "find_thread", "is_party", "known_message", "reused_message_id",
]  # fmt: skip

# The cases one mail's Message-ID chain may name; a chain built to name more is still looked at no further.
CASES_BY_CHAIN = 20
_WHERE = {"references": "In-Reply-To/References headers"}


@dataclass(frozen=True)
class ThreadLookup:
    """The case a mail threads into (if any); when it named a case its sender is no party to, why it was
    refused and which case that was (for the coordinator: nothing of that case reaches the sender)."""

    match: ThreadMatch | None
    refused: str | None = None
    quoted: str | None = None  # the reference of the case refused


def find_thread(
    session: Session, mail: ParsedMail, refs: ReferenceFormat, staff: bool = False
) -> ThreadLookup:
    """Match by Message-ID chain first; then by a reference in the subject, the body or a plus-address.

    Every way passes the same check: the sender is a party to that case, or staff our server vouches for.
    Anyone can copy a reference or a Message-ID into a mail, and must not thereby read or steer someone
    else's case.
    """
    sender = mail.sender.email if mail.sender else ""
    refused = None
    for matched_by, case in _cases_named(session, mail, refs):
        if staff or is_party(session, case, sender):
            return ThreadLookup(ThreadMatch(case.ref, matched_by))
        refused = refused or ThreadLookup(None, _refusal(case, matched_by, sender), case.ref)
    repeat = _repeated_on(session, mail, sender)
    if repeat is None:
        return refused or ThreadLookup(None)
    refusal = refused or ThreadLookup(None)
    return ThreadLookup(ThreadMatch(repeat.ref, "repeat"), refusal.refused, refusal.quoted)


def _repeated_on(session: Session, mail: ParsedMail, sender: str) -> Case | None:
    """The open case of this sender that already holds a mail saying exactly this (the same subject, text
    and attachments) under another Message-ID: a complaint sent twice, or resent by a client, is one
    complaint, recorded on its case, not a second case and a second acknowledgement."""
    if not sender:
        return None
    found = {"sender": sender.lower(), "content": content_hash(mail)}
    asked_before = transaction_notes(session).pop(REPEAT_ASKED, {})
    key = (found["sender"], found["content"])
    if key in asked_before:  # answered with the earlier copies, by the same statement (nothing written since)
        case_id = asked_before[key]
    else:
        case_id = session.connection().execute(_REPEATED_ON, found).scalar()
    return session.get(Case, case_id) if case_id is not None else None


# Built once, as plain statements on the tables: the hot path asks them of every new mail, and building an
# ORM statement cost more than running it; the rows are loaded as objects only when there are any (rarely).
_cases, _messages = Case.__table__, InboundMessage.__table__
_REPEATED_ON = (
    select(_cases.c.id)
    .join(_messages, _messages.c.case_id == _cases.c.id)
    .where(
        _cases.c.complainant_address == bindparam("sender"),
        _cases.c.status.in_((CaseStatus.OPEN, CaseStatus.REQUEST)),
        _messages.c.content_sha256 == bindparam("content"),
    )
    .order_by(_cases.c.id)
    .limit(1)
)


def _refusal(case: Case, matched_by: str, sender: str) -> str:
    where = _WHERE.get(matched_by, matched_by)
    who = sender or "an unknown sender"
    return f"{case.ref} quoted in the {where} by {who}, who is not a party to that case"


def _cases_named(session: Session, mail: ParsedMail, refs: ReferenceFormat) -> Iterator[tuple[str, Case]]:
    for case in cases_by_message_ids(session, (*mail.in_reply_to, *mail.references)):
        yield "references", case
    for matched_by, ref in _written_references(mail, refs):
        case = case_by_reference(session, ref)
        if case is not None:
            yield matched_by, case


def _written_references(mail: ParsedMail, refs: ReferenceFormat) -> list[tuple[str, str]]:
    found = [("subject", ref) for ref in refs.find_all(mail.subject)]
    found += [("body", ref) for ref in refs.find_all(mail.text[:20000])]
    plus = [a.email.split("@")[0].partition("+")[2] for a in (*mail.to, *mail.cc)]
    found += [("plus_address", ref) for tag in plus for ref in refs.find_all(tag)]
    return found


def cases_by_message_ids(session: Session, message_ids: tuple[str, ...]) -> list[Case]:
    """The cases whose correspondence carries one of these ids, the latest mail's case first."""
    if not message_ids:
        return []
    latest = (
        select(Correspondence.case_id, func.max(Correspondence.id).label("last"))
        .where(Correspondence.message_id.in_(message_ids))
        .group_by(Correspondence.case_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(Case).join(latest, latest.c.case_id == Case.id).order_by(latest.c.last.desc())
            .limit(CASES_BY_CHAIN)
        )
    )  # fmt: skip


def case_by_message_ids(session: Session, message_ids: tuple[str, ...]) -> Case | None:
    return next(iter(cases_by_message_ids(session, message_ids)), None)


def case_by_reference(session: Session, ref: str) -> Case | None:
    """The case with this reference, whatever its case. The reference as written, in capitals and in small
    letters are looked up first, on the index of references; only a reference none of those finds costs a
    scan of every case's reference."""
    written = {ref, ref.upper(), ref.lower()}
    found = session.scalars(select(Case).where(Case.ref.in_(written))).first()
    if found is not None:
        return found
    return session.scalars(select(Case).where(func.lower(Case.ref) == ref.lower())).first()


# --- the same mail again -----------------------------------------------------------------------------------


def content_hash(mail: ParsedMail) -> str:
    """What a mail says: its subject, text and attachments, not the trace headers that differ between two
    mailboxes' copies of it."""
    digest = hashlib.sha256()
    for part in (mail.subject, mail.text, mail.html or ""):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for item in mail.attachments:
        digest.update(hashlib.sha256(item.payload).digest())
    return digest.hexdigest()


def known_message(session: Session, inbound: InboundMessage) -> InboundMessage | None:
    """An earlier copy of the same mail: the same Message-ID from the same sender saying the same thing (or,
    without a Message-ID, the same bytes). A Message-ID alone proves nothing: anyone can reuse one."""
    return earlier_copies(session, inbound)[0]


def reused_message_id(session: Session, inbound: InboundMessage) -> InboundMessage | None:
    """An earlier mail with this one's Message-ID that is not the same mail (another sender, other words)."""
    return earlier_copies(session, inbound)[1]


def earlier_copies(session: Session, inbound: InboundMessage) -> tuple[InboundMessage | None, ...]:
    """``known_message`` and ``reused_message_id`` together, from one query: (the same mail, an earlier
    mail with this Message-ID). The hot path asks both of every message."""
    if inbound.message_id is None:
        return _earlier(session, inbound, InboundMessage.sha256 == inbound.sha256), None
    # The question ``find_thread`` asks next of a new mail (a complaint sent again word for word) is asked in
    # the same statement: one round trip fewer for every message. Its answer is kept for that one use.
    sender = (inbound.sender or "").lower()
    asked = {"message_id": inbound.message_id, "this": inbound.id, "sender": sender,
             "content": inbound.content_sha256}  # fmt: skip
    ids = []
    for what, found in session.connection().execute(_BY_MESSAGE_ID_AND_REPEAT, asked):
        if what == _REPEAT:
            transaction_notes(session)[REPEAT_ASKED] = {(sender, inbound.content_sha256): found}
        else:
            ids.append(found)
    if not ids:  # the usual answer: no ORM query at all
        return None, None
    candidates = session.scalars(
        select(InboundMessage).where(InboundMessage.id.in_(ids)).order_by(InboundMessage.id)
    ).all()
    # The same sender and content; rows stored before migration 0002 carry neither, and for them the
    # Message-ID decides, as it did then.
    this = (inbound.sender, inbound.content_sha256)
    same = (c for c in candidates if c.content_sha256 is None or (c.sender, c.content_sha256) == this)
    return next(same, None), next(iter(candidates), None)


# Built once, as ``_REPEATED_ON``: every message is asked it. The earlier mails with this Message-ID, in the
# order they came, then one row with the open case this sender's same words went to (``_REPEATED_ON``'s
# answer: the first such case, or NULL).
_COPY, _REPEAT = 0, 1
_copies = select(literal(_COPY).label("what"), _messages.c.id.label("found")).where(
    _messages.c.message_id == bindparam("message_id"),
    _messages.c.id != bindparam("this"),
    or_(_messages.c.state == InboundState.PROCESSED, _messages.c.case_id.is_not(None)),
)
_repeat = select(literal(_REPEAT).label("what"), _REPEATED_ON.scalar_subquery().label("found"))
_BY_MESSAGE_ID_AND_REPEAT = union_all(_copies, _repeat).order_by("what", "found")
REPEAT_ASKED = "repeated complaint asked"  # transaction_notes: {(sender, content hash): case id or None}


def _earlier(session: Session, inbound: InboundMessage, *same: ColumnElement[bool]) -> InboundMessage | None:
    return session.scalars(
        select(InboundMessage)
        .where(
            *same,
            InboundMessage.id != inbound.id,
            or_(InboundMessage.state == InboundState.PROCESSED, InboundMessage.case_id.is_not(None)),
        )
        .order_by(InboundMessage.id)
        .limit(1)
    ).first()
