"""The words of the complaints domain, defined once: kinds of mail, the states of a message, a letter and a
case, outcomes, and the matters kept outside the procedure.

Each is a ``StrEnum``, so a member is the very string stored in the database and written in rules and
templates (``Kind.COMPLAINT == "complaint"``); code compares against members, never bare strings.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What a message is, as classification decides it."""

    COMPLAINT = "complaint"
    CONCERN = "concern"
    COMMENT = "comment"
    COMPLIMENT = "compliment"
    REPLY = "reply"  # from the complainant, on a case
    ESCALATION = "escalation"  # the complainant asks for the next stage
    STAFF_REPLY = "staff_reply"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    BULK = "bulk"  # newsletters, mailing lists and system notifications
    SPAM = "spam"  # junk by the verdict of our own receiving server: held in quarantine, never answered
    SUBJECT_ACCESS = "subject_access"  # a request for one's own personal data (UK GDPR article 15)
    FOI = "foi"  # a freedom of information request (FOIA 2000, FOISA 2002)
    OUT_OF_SCOPE = "out_of_scope"


# New feedback, in the order reports list it.
FEEDBACK_KINDS: tuple[Kind, ...] = (Kind.COMPLAINT, Kind.CONCERN, Kind.COMMENT, Kind.COMPLIMENT)
# Requests with their own law and clock: recorded, forwarded to their officer, never a complaints stage.
REQUEST_KINDS: tuple[Kind, ...] = (Kind.SUBJECT_ACCESS, Kind.FOI)
# What a person may write to us new: the kinds the kind model chooses between (with the rules).
PERSON_KINDS: tuple[Kind, ...] = (*FEEDBACK_KINDS, *REQUEST_KINDS, Kind.OUT_OF_SCOPE)
# Mail written by machines: never answered, never a case.
MACHINE_KINDS: tuple[Kind, ...] = (Kind.AUTO_REPLY, Kind.BOUNCE, Kind.BULK, Kind.SPAM)
# Mail that belongs on an existing case when it threads to one.
ON_A_CASE: tuple[Kind, ...] = (Kind.REPLY, Kind.ESCALATION, Kind.STAFF_REPLY)
# Kinds that never draw an automatic mail: machines (mail loops), our own staff, and mail we do not handle.
SILENT_KINDS: tuple[Kind, ...] = (*MACHINE_KINDS, Kind.STAFF_REPLY, Kind.OUT_OF_SCOPE)


class InboundState(StrEnum):
    """A stored inbound message: fetched, then processed or shunted (kept with its traceback); purged once its
    bytes and text are removed under the retention schedule or an erasure (the row stays, so the same mail in
    the mailbox is never fetched and recorded again)."""

    FETCHED = "fetched"
    PROCESSED = "processed"
    SHUNTED = "shunted"
    QUARANTINED = "quarantined"  # spam: kept, unanswered, until a person releases it (`mailbot spam release`)
    PURGED = "purged"


class OutboxState(StrEnum):
    """A letter in the outbox."""

    PENDING = "pending"  # waiting for delivery (or for its next attempt)
    SENDING = "sending"  # claimed by a delivery run
    SENT = "sent"
    FAILED = "failed"  # refused for good, or given up on
    HELD = "held"  # fate unknown (interrupted mid-send): a person decides
    SUPPRESSED = "suppressed"  # never sent: the address may not receive automatic mail
    BUNDLED = "bundled"  # a notice to staff in a flood: never sent on its own, listed in the hour's notice


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    RECORDED = "recorded"  # compliments and the like: recorded without a complaints procedure
    OUT_OF_SCOPE = "out_of_scope"  # a matter outside the procedure, forwarded
    REQUEST = "request"  # a subject access or FOI request on its own statutory clock, with its officer


# The stage of an item the policy records without a complaints procedure.
RECORDED_STAGE = "recorded"


class Outcome(StrEnum):
    UPHELD = "upheld"
    PARTLY_UPHELD = "partly upheld"
    NOT_UPHELD = "not upheld"


OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)


class ForwardedMatter(StrEnum):
    """Matters a policy may keep outside its complaints procedure and forward to whoever handles them."""

    STAFF_MATTER = "staff_matter"
    BUSINESS_DISPUTE = "business_dispute"


FORWARDED_MATTERS: tuple[ForwardedMatter, ...] = tuple(ForwardedMatter)


# Flags the front door sets on a mail and its case.
NO_REPLY_FLAG = "no_reply_address"  # a person wrote from an address that takes no replies: send nothing
ANONYMOUS_FLAG = "anonymous"
UNSURE_KIND_FLAG = "unsure_kind"  # the kind is a guess: kind-neutral letters until a coordinator's #kind

# The audit-trail action of each safeguarding alert; its detail starts "<category keys>: " (the digest
# counts them).
SAFEGUARDING_ALERT_EVENT = "safeguarding alert"
