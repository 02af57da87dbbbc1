"""What classification hands on: the thread a mail belongs to (from the cases code) and the verdict."""

from __future__ import annotations

from dataclasses import dataclass

FEEDBACK_KINDS = frozenset({"complaint", "concern", "compliment", "comment"})
MACHINE_KINDS = frozenset({"auto_reply", "bounce", "bulk"})
KINDS = FEEDBACK_KINDS | MACHINE_KINDS | {"reply", "escalation", "staff_reply", "out_of_scope"}
# Kinds that never draw an automatic mail: machines (mail loops), our own staff, and mail we do not handle.
_SILENT_KINDS = MACHINE_KINDS | {"staff_reply", "out_of_scope"}
# Flags that forbid an automatic mail whatever the kind (set by rules/classify.toml).
SILENCING_FLAGS = frozenset({"own_address", "suppress_auto_reply"})


@dataclass(frozen=True)
class ThreadMatch:
    """An existing case this mail answers; found by the cases code, only read here."""

    case_ref: str
    matched_by: str  # "references" | "subject" | "body" | "plus_address"


@dataclass(frozen=True)
class Classification:
    kind: str
    flags: tuple[str, ...]
    rules_hit: tuple[str, ...]
    rules_missed: tuple[str, ...]

    @property
    def is_machine(self) -> bool:
        return self.kind in MACHINE_KINDS

    @property
    def may_auto_reply(self) -> bool:
        return self.kind not in _SILENT_KINDS and not SILENCING_FLAGS.intersection(self.flags)

    @property
    def is_new_feedback(self) -> bool:
        return self.kind in FEEDBACK_KINDS
