"""The case record: inbound messages, cases, correspondence, attachments, the outbox and the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from mailbot.vocabulary import CaseStatus, InboundState, OutboxState

# Named constraints so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores instants as UTC and always returns them timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class MailboxState(Base):
    """Where intake has got to in one folder of one mailbox."""

    __tablename__ = "mailbox_state"
    __table_args__ = (UniqueConstraint("mailbox", "folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(100))
    folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    baseline_uid: Mapped[int] = mapped_column(BigInteger)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WorkerLease(Base):
    """Which worker reads a mailbox ("mailbox:NAME") or runs a scheduled job ("job:ID"), until when:
    renewed while it works, taken over once it expires."""

    __tablename__ = "worker_lease"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InboundMessage(Base):
    """One message fetched from a mailbox, with its progress: fetched -> processed | shunted. Its bytes are
    in InboundRaw."""

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("mailbox", "folder", "uidvalidity", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(100))
    folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # With message_id, what makes a mail the same mail as another (cases/threading.known_message): a reused
    # Message-ID from another sender, or with other words, is a message in its own right.
    sender: Mapped[str | None] = mapped_column(String(320))
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())  # the server's INTERNALDATE
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(20), default=InboundState.FETCHED.value, index=True)
    send_allowed: Mapped[bool] = mapped_column(default=True)
    kind: Mapped[str | None] = mapped_column(String(30))
    rules_hit: Mapped[list[str] | None] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    marked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    # A person released it from the spam quarantine: processed again as ordinary mail, spam verdicts ignored.
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    released_by: Mapped[str | None] = mapped_column(String(320))

    stored: Mapped[InboundRaw | None] = relationship(cascade="all, delete-orphan")
    # ``InboundMessage(raw=...)`` and ``message.raw`` work as before the bytes moved; intake and processing
    # write and read them a piece at a time instead (intake/arrivals.py), as a big message needs.
    raw: AssociationProxy[bytes] = association_proxy("stored", "raw", creator=lambda raw: InboundRaw(raw=raw))


class InboundRaw(Base):
    """An inbound message's bytes as the server held them: written once, never changed. Apart from its
    InboundMessage row, which changes as the message is processed, because SQLite rewrites the whole row on
    every update: a 40 MB message kept in the row cost 80 MB of memory at each change of its state."""

    __tablename__ = "inbound_raw"

    inbound_id: Mapped[int] = mapped_column(
        ForeignKey("inbound_message.id"), primary_key=True, autoincrement=False
    )
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class ReferenceCounter(Base):
    """The last case sequence number issued in a year."""

    __tablename__ = "reference_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer)


class Case(Base):
    __tablename__ = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    policy: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=CaseStatus.OPEN.value)
    mailbox: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(Text)
    complainant_name: Mapped[str] = mapped_column(String(300))
    complainant_address: Mapped[str] = mapped_column(String(320), index=True)
    coordinator: Mapped[str | None] = mapped_column(String(320))  # the staff address looking after the case
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    acknowledge_due: Mapped[date | None] = mapped_column(Date)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    response_due: Mapped[date | None] = mapped_column(Date)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    outcome: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    service: Mapped[str | None] = mapped_column(String(200))  # e.g. "home care, Northwich", for reports
    learning: Mapped[str | None] = mapped_column(Text)  # the learning or actions recorded at the outcome
    people_named: Mapped[list[str]] = mapped_column(JSON, default=list)  # staff the complaint is about
    follow_up_due: Mapped[date | None] = mapped_column(Date)
    # A legal hold keeps the case from retention purges and erasure until a person lifts it.
    held_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    held_by: Mapped[str | None] = mapped_column(String(320))
    hold_reason: Mapped[str | None] = mapped_column(Text)
    # When its personal data was removed (retention or erasure); the anonymised row stays for the figures.
    purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    correspondence: Mapped[list[Correspondence]] = relationship(
        back_populates="case", order_by="Correspondence.id"
    )
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")
    stages: Mapped[list[StageRecord]] = relationship(back_populates="case", order_by="StageRecord.id")
    parties: Mapped[list[CaseParty]] = relationship(order_by="CaseParty.id")  # besides the complainant


class CaseParty(Base):
    """Someone a coordinator added to a case (an advocate, a relative acting for the complainant): besides the
    complainant, the only address that may thread mail into the case or receive a letter about it."""

    __tablename__ = "case_party"
    __table_args__ = (UniqueConstraint("case_id", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    address: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(300), default="")
    added_by: Mapped[str] = mapped_column(String(320))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StageRecord(Base):
    """One stage of a case under its policy: the dates due, any extension, and what actually happened."""

    __tablename__ = "case_stage"
    __table_args__ = (UniqueConstraint("case_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    acknowledge_due: Mapped[date | None] = mapped_column(Date)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    respond_due: Mapped[date | None] = mapped_column(Date)
    extended_to: Mapped[date | None] = mapped_column(Date)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extension_agreed: Mapped[bool] = mapped_column(default=False)
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(String(40))
    handler: Mapped[str | None] = mapped_column(String(320))

    case: Mapped[Case] = relationship(back_populates="stages")


class Correspondence(Base):
    """One mail on a case, in or out, with its new text apart from the quoted history."""

    __tablename__ = "correspondence"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    kind: Mapped[str] = mapped_column(String(30))
    from_address: Mapped[str] = mapped_column(String(320))
    to_addresses: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(Text)
    date: Mapped[datetime] = mapped_column(UtcDateTime())
    new_text: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))

    case: Mapped[Case] = relationship(back_populates="correspondence")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="correspondence")


class Attachment(Base):
    """A file received with a mail; the bytes live on disk under their SHA-256."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    correspondence_id: Mapped[int] = mapped_column(ForeignKey("correspondence.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)

    correspondence: Mapped[Correspondence] = relationship(back_populates="attachments")


class Outbox(Base):
    """A rendered outgoing mail. pending -> sending -> sent | failed; held when the outcome is unknown.

    A row in ``sending`` names the process holding it (``claimed_by``); ``handed_over_at`` is set just
    before the final "." of DATA, so after a crash a row without it is known not to have left.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    purpose: Mapped[str] = mapped_column(String(40))
    automatic: Mapped[bool] = mapped_column(default=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    mailbox: Mapped[str] = mapped_column(String(100))
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    # The first recipient as one mailbox (lower case, no +tag: checked.same_mailbox), for the daily cap.
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(20), default=OutboxState.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # mailbot.worker: host:pid:start:run
    handed_over_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    deliver_until: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    smtp_response: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    filed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Who is filing the copy in the Sent folder, so two workers never append it twice.
    filing_claimed_by: Mapped[str | None] = mapped_column(String(200))
    filing_claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CaseEvent(Base):
    """The audit trail: who changed what on a case, when, and from which message."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[str] = mapped_column(Text, default="")
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))

    case: Mapped[Case] = relationship(back_populates="events")


class SentNotice(Base):
    """A scheduled notice that has gone (a reminder, a breach alert, a weekly digest), under a key such as
    ``digest:lead@x:2026-W48``: the unique key is what makes a restart, a second runner or a catch-up send it
    once only."""

    __tablename__ = "sent_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))


class Installation(Base):
    """This installation's secret, made at random by the migration that creates the table: it keys our
    outgoing Message-IDs so that nobody can compute one from a case reference (see outgoing/outbox.py). Kept
    in the database, not the configuration file, so it travels with the cases it protects."""

    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    message_id_key: Mapped[str] = mapped_column(String(64))


class KindExample(Base):
    """A mail's text with the kind a person gave it (a ``#kind`` correction, a ``mailbot eval`` label): what
    the kind model learns from. One row per text; a later label for the same text replaces the earlier."""

    __tablename__ = "kind_example"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # of the text
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(400))  # "#kind by priya@…", "eval labels.csv:12"
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InformationRequest(Base):
    """A subject access or freedom of information request recorded on its case, with its own statutory
    clock: due (one calendar month; twenty working days) and, where the law allows, the latest it may be
    extended to."""

    __tablename__ = "information_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), unique=True)
    law: Mapped[str] = mapped_column(String(60))  # "UK GDPR art. 15", "FOIA 2000 s.10", "FOISA 2002 s.10"
    received_on: Mapped[date] = mapped_column(Date)
    due: Mapped[date] = mapped_column(Date)
    latest_due: Mapped[date | None] = mapped_column(Date)
    forwarded_to: Mapped[str | None] = mapped_column(String(320))


class PrivacyLog(Base):
    """What was done with personal data beyond a single case: each subject access export, erasure, purge
    run, correction and legal hold, by whom and why; the record of disposal the Records Management Code asks
    for."""

    __tablename__ = "privacy_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(
        String(320)
    )  # the address an export was for; None once erased
    detail: Mapped[str] = mapped_column(Text, default="")
