"""What classification hands on: the thread a mail belongs to (from the cases code) and the verdict."""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.vocabulary import (
    FEEDBACK_KINDS,
    MACHINE_KINDS,
    NO_REPLY_FLAG,
    SILENT_KINDS,
    UNSURE_KIND_FLAG,
    Kind,
)

KINDS = frozenset(kind.value for kind in Kind)  # plain strings: rules files name them, messages list them
# Flags that forbid an automatic mail whatever the kind (set by rules/classify.toml).
# "bulk_marks": one mark of mass mail on what otherwise reads as a person's mail (borderline: nobody is
# written to automatically, the coordinator is told).
OWN_ADDRESS_FLAG = "own_address"
SILENCING_FLAGS = frozenset({OWN_ADDRESS_FLAG, "suppress_auto_reply", "bulk_marks", NO_REPLY_FLAG})


@dataclass(frozen=True)
class ThreadMatch:
    """An existing case this mail answers; found by the cases code, only read here."""

    case_ref: str
    matched_by: str  # "references" | "subject" | "body" | "plus_address"


@dataclass(frozen=True)
class Finding:
    """One indicator found: its category, the words as written, where, and what surrounds them."""

    category: str
    category_name: str
    words: str
    where: str
    negated: bool = False
    already_reported: bool = False
    # Raised by the statistical backstop, not a named indicator: its probability of a disclosure, and
    # `words` are then the mail's n-grams that weighed most, already quoted.
    statistical: float | None = None

    def describe(self) -> str:
        if self.statistical is not None:
            return (
                f"{self.category_name}: raised by the statistical screen, not a named indicator "
                f"(probability {self.statistical:.2f}); the words that weighed most: {self.words} "
                f"in the {self.where}"
            )
        notes = [*(["preceded by a negation"] if self.negated else []),
                 *(["the writer says it was already reported"] if self.already_reported else [])]  # fmt: skip
        suffix = f" ({'; '.join(notes)})" if notes else ""
        return f"{self.category_name}: “{self.words}” in the {self.where}{suffix}"


@dataclass(frozen=True)
class Classification:
    kind: str
    flags: tuple[str, ...]
    rules_hit: tuple[str, ...]
    rules_missed: tuple[str, ...]
    safeguarding: tuple[Finding, ...] = ()  # what the safeguarding screening found, for the alert
    confidence: float = 1.0  # how sure the kind is, 0..1; rules about machines and headers are sure
    reasons: tuple[str, ...] = ()  # how rules and the kind model came to the kind, for `classify --json`
    model_features: tuple[tuple[str, float], ...] = ()  # the n-grams that pushed the model hardest

    @property
    def unsure(self) -> bool:
        return UNSURE_KIND_FLAG in self.flags

    @property
    def is_machine(self) -> bool:
        return self.kind in MACHINE_KINDS

    @property
    def may_auto_reply(self) -> bool:
        return self.may_auto_reply_but_for(frozenset())

    def may_auto_reply_but_for(self, flags: frozenset[str]) -> bool:
        """Whether the mail may be answered automatically if ``flags`` did not silence it."""
        return self.kind not in SILENT_KINDS and not (SILENCING_FLAGS - flags).intersection(self.flags)

    @property
    def is_new_feedback(self) -> bool:
        return self.kind in FEEDBACK_KINDS
