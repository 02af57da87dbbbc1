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
    BULK = "bulk"
    OUT_OF_SCOPE = "out_of_scope"


# New feedback, in the order reports list it.
FEEDBACK_KINDS: tuple[Kind, ...] = (Kind.COMPLAINT, Kind.CONCERN, Kind.COMMENT, Kind.COMPLIMENT)
# Mail written by machines: never answered, never a case.
MACHINE_KINDS: tuple[Kind, ...] = (Kind.AUTO_REPLY, Kind.BOUNCE, Kind.BULK)
# Mail that belongs on an existing case when it threads to one.
ON_A_CASE: tuple[Kind, ...] = (Kind.REPLY, Kind.ESCALATION, Kind.STAFF_REPLY)
# Kinds that never draw an automatic mail: machines (mail loops), our own staff, and mail we do not handle.
SILENT_KINDS: tuple[Kind, ...] = (*MACHINE_KINDS, Kind.STAFF_REPLY, Kind.OUT_OF_SCOPE)


class InboundState(StrEnum):
    """A stored inbound message: fetched, then processed or shunted (kept with its traceback)."""

    FETCHED = "fetched"
    PROCESSED = "processed"
    SHUNTED = "shunted"


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
