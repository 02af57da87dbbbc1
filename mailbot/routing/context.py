"""What routing knows about one message: the mail and its verdict, the case it threads into, and whether a
member of staff sent it. Every handler reads the same frozen ``Routing``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.cases import threading
from mailbot.cases.threading import ThreadLookup
from mailbot.classify import Classification
from mailbot.db.models import Case, InboundMessage
from mailbot.intake.parse import ParsedMail
from mailbot.intake.quotes import new_text
from mailbot.outgoing import alerts
from mailbot.outgoing.outbox import Threading
from mailbot.staff import staffmail


@dataclass(frozen=True)
class Routing:
    session: Session
    app: App
    inbound: InboundMessage
    mail: ParsedMail
    verdict: Classification
    lookup: ThreadLookup
    case: Case | None
    staff: staffmail.StaffCheck
    note: str | None = None  # for the coordinator: e.g. the Message-ID was reused by another mail

    @property
    def kind(self) -> str:
        return self.verdict.kind

    @property
    def on_case(self) -> Case:
        """The case the mail threads into: the table hands a mail to a case's handler only when it has one."""
        if self.case is None:
            raise LookupError(f"message {self.key} threads into no case")
        return self.case

    @property
    def now(self) -> datetime:
        return self.app.clock()

    @property
    def actor(self) -> str:
        return self.mail.sender.email if self.mail.sender else "unknown sender"

    @cached_property
    def text(self) -> str:
        """The mail's new text without quoted history: worked out once, used by every step."""
        return new_text(self.mail)

    @cached_property
    def attachments(self) -> list[dict[str, str]]:
        """The mail's attachments as a notice to staff lists them."""
        return alerts.attachment_list(self.mail.attachments)

    @property
    def sender_address(self) -> str:
        return self.mail.sender.email if self.mail.sender else ""

    @cached_property
    def quoted_case(self) -> Case | None:
        """The case the mail named but may not thread into (its sender is not a party to it)."""
        quoted = self.lookup.quoted
        return threading.case_by_reference(self.session, quoted) if quoted else None

    @property
    def thread(self) -> Threading:
        """Our letters answer this mail (notices.within_case keeps only References to the case's mails)."""
        return Threading(self.mail.message_id, self.mail.references)

    @property
    def key(self) -> str:
        return self.mail.message_id or self.inbound.sha256
