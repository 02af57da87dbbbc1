"""The outbox: letters become complete MIME messages, written as rows in the same transaction as the case.

Nothing is sent from here; ``smtp.py`` delivers what is queued. Every automatic mail passes one guard that
refuses our own addresses, no-reply style addresses and more than the daily cap to one address. Every
header value is written from a checked value (``mailbot.checked``), whatever Python's own header handling.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, formataddr

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from mailbot import checked
from mailbot.config.settings import Config
from mailbot.db.models import Outbox
from mailbot.db.notes import transaction_notes
from mailbot.db.rows import write_new
from mailbot.outgoing import wire
from mailbot.outgoing.letters import Letter
from mailbot.outgoing.wire import WireLetter

NO_REPLY = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]daemon|postmaster|bounces?|auto[-_.]?reply)([+\-._].*)?@",
    re.IGNORECASE,
)
HELD_STATES = ("pending", "sending", "sent", "held")
QUEUED = "letters queued"  # transaction_notes: the Message-IDs queued in this transaction


@dataclass(frozen=True)
class Recipient:
    name: str
    address: str


@dataclass(frozen=True)
class Threading:
    """What an outgoing mail answers: the Message-ID it replies to and the chain before it."""

    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


def outgoing_message_id(key: bytes, purpose: str, ref: str, cause: str, domain: str) -> str:
    """Deterministic, so the same letter for the same cause can only ever be queued once; keyed with this
    installation's secret (``db.installation.message_id_key``), so nobody can compute the id of a letter
    from a case reference and the letter's name, and so thread into a case by guessing. It names neither."""
    digest = hmac.new(key, f"{purpose}\0{ref}\0{cause}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{digest}@{domain}"


def compose(
    config: Config,
    to: Recipient,
    letter: Letter,
    message_id: str,
    thread: Threading,
    now: datetime,
    auto_submitted: str | None = "auto-replied",
) -> WireLetter:
    """The letter as a MIME message. Names, subject and thread ids pass ``checked`` first: a value that came
    in a mail can neither add a header line nor make a line a strict server refuses (over 998 characters)."""
    org = config.organisation
    sender_name = checked.header_text(org.from_name, checked.SUBJECT_LIMIT)
    headers = [
        wire.header("From", formataddr((sender_name, org.from_address))),
        wire.header("To", _to_header(to)),
        wire.header("Subject", checked.subject(letter.subject)),
        wire.header("Date", format_datetime(now)),
        wire.header("Message-ID", f"<{message_id}>"),
        *_thread_headers(thread),
    ]
    if auto_submitted:  # RFC 3834: "auto-replied" answers a mail, "auto-generated" (alerts) does not
        headers.append(wire.header("Auto-Submitted", auto_submitted))
        headers.append(wire.header("X-Auto-Response-Suppress", "All"))  # no out-of-office replies (Exchange)
    return WireLetter(message_id, wire.message_bytes(b"".join(headers), letter.text, letter.html))


def _to_header(to: Recipient) -> str:
    address = checked.address(to.address)
    if address is None:  # queued as suppressed (no usable address): the header names nobody
        return "undisclosed-recipients:;"
    return formataddr((checked.display_name(to.name), address))


def _thread_headers(thread: Threading) -> list[bytes]:
    answered = checked.message_id(thread.in_reply_to)
    headers = [wire.header("In-Reply-To", f"<{answered}>")] if answered else []
    chain = [checked.message_id(m) for m in (*thread.references, *([answered] if answered else []))]
    # Long chains are trimmed from the oldest end, as clients do; 20 ids of at most 250 characters fold into
    # lines well under 998.
    unique = list(dict.fromkeys(m for m in chain if m))[-20:]
    if unique:
        headers.append(wire.folded_ids("References", [f"<{m}>" for m in unique]))
    return headers


def refusal_reason(config: Config, address: str) -> str | None:
    """Why no mail at all should go to this address, or None."""
    address = address.strip().lower()
    if checked.address(address) is None:
        return "no usable address"
    if is_own_address(config, address):
        return "our own address"
    if NO_REPLY.match(address):
        return "a no-reply or system address"
    return None


def is_own_address(config: Config, address: str) -> bool:
    """One of our mailboxes, compared as mailboxes: ``Complaints+loop@`` is ``complaints@``, a loop all the
    same."""
    return checked.same_mailbox(address) in {checked.same_mailbox(own) for own in config.own_addresses}


def automatic_block_reason(session: Session, config: Config, address: str, now: datetime) -> str | None:
    """Why an automatic mail must not go to this address, or None when it may."""
    refused = refusal_reason(config, address)
    if refused:
        return refused
    # One mailbox, however it is written: target+1@ and Target+2@ count against target@'s cap.
    mailbox = checked.same_mailbox(address)
    sent_today = _sent_today(session, mailbox, now)
    cap = config.delivery.max_automatic_per_address_per_day
    if sent_today is not None and sent_today >= cap:
        return f"daily cap of {cap} automatic mails to this address reached"
    return None


def _sent_today(session: Session, mailbox: str, now: datetime) -> int | None:
    """Asked on the session's connection, without flushing what is pending: queue() writes each outbox row
    at once, so every letter that counts is in the table already."""
    since = {"mailbox": mailbox, "since": now - timedelta(days=1)}
    return session.connection().execute(_SENT_SINCE, since).scalar()


# Built once, on the table (a plain statement, not the ORM's): every automatic letter asks it.
_outbox = Outbox.__table__
_SENT_SINCE = select(func.count(_outbox.c.id)).where(
    _outbox.c.automatic.is_(True),
    _outbox.c.state.in_(HELD_STATES),
    _outbox.c.recipient == bindparam("mailbox"),
    _outbox.c.created_at > bindparam("since"),
)


def queue(
    session: Session,
    config: Config,
    *,
    purpose: str,
    mailbox: str,
    message: WireLetter,
    recipients: list[str],
    now: datetime,
    case_id: int | None,
    automatic: bool = True,
    blocked: str | None = None,
) -> Outbox:
    """Write the message to the outbox (state ``suppressed`` with the reason when it must not go)."""
    # Written at once, not flushed with everything pending: the case it belongs to has its id, so is written.
    row = write_new(
        session,
        Outbox,
        message_id=message.message_id,
        purpose=purpose,
        automatic=automatic,
        case_id=case_id,
        mailbox=mailbox,
        sender=config.organisation.from_address,
        recipients=recipients,
        recipient=checked.same_mailbox(recipients[0]) if recipients else "",
        raw=message.raw,
        state="suppressed" if blocked else "pending",
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        deliver_until=now + timedelta(hours=config.delivery.give_up_after_hours),
        last_error=blocked,
    )
    queued_here(session).add(row.message_id)
    return row


def queued_here(session: Session) -> set[str]:
    """The Message-IDs of the letters queued in this transaction (forgotten when it ends)."""
    return transaction_notes(session).setdefault(QUEUED, set())


def sent_with_message_id(session: Session, message_ids: tuple[str, ...]) -> Outbox | None:
    """Our outgoing mail with one of these Message-IDs (a bounce quotes the one it returns)."""
    if not message_ids:
        return None
    return session.scalars(
        select(Outbox).where(Outbox.message_id.in_(message_ids)).order_by(Outbox.id)
    ).first()
