"""A complaints policy as typed, frozen data: its stages and timescales, the kinds of feedback it handles,
where it signposts and routes, and the dates each stage falls due."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from mailbot.policy.workdays import WorkingCalendar

UNITS = ("working", "calendar")
COUNTED = ("from_receipt", "from_acknowledgement")
HANDLING = ("case", "record")
REPLIES = ("acknowledgement", "thank_you", "none")

# What a letter must tell the complainant: the flag a policy file uses, and how `explain` describes it.
MUST_TELL = {
    "name_investigator": "name who is looking into the complaint",
    "proposed_response_date": "give the date the response is due",
    "actions_and_steps": "say what will be done to look into it",
    "complaints_procedure": "include the complaints procedure",
    "offer_advocate": "offer help from an advocate",
    "offer_formats_languages": "offer other formats, translation or interpreting",
    "offer_discussion": "offer to discuss the complaint (a meeting or a call)",
    "findings_and_learning": "set out the findings, the decision, any remedy and what was learnt",
    "escalation_route": "say how to take the complaint to the next stage",
    "reasons_for_extension": "explain why more time is needed and give the new date",
    "ombudsman_details": "give the contact details of the ombudsman or regulator to go to next",
}


@dataclass(frozen=True)
class Period:
    """A length of time as a policy states it: N working days, N calendar days or N months."""

    count: int
    unit: str  # "working" | "calendar" | "months"

    def __str__(self) -> str:
        plural = "" if self.count == 1 else "s"
        if self.unit == "months":
            return f"{self.count} month{plural}"
        return f"{self.count} {self.unit} day{plural}"

    def after(self, calendar: WorkingCalendar, start: datetime | date, *, receipt: bool = True) -> date:
        """The due date counted from ``start``: a receipt (the rules for the day of receipt apply) or, with
        ``receipt=False``, a day the organisation did something, counted from that very day."""
        if self.unit == "working":
            first = calendar.start_day(start) if receipt else calendar.local_date(start)
            return calendar.working_days_after(first, self.count)
        if self.unit == "calendar":
            return calendar.add_calendar_days(start, self.count)
        return calendar.add_calendar_months(start, self.count)


@dataclass(frozen=True)
class Acknowledgement:
    within: Period
    must_tell: tuple[str, ...]


@dataclass(frozen=True)
class Extension:
    """How much longer the response may take; ``limit`` None means the policy states no maximum."""

    limit: Period | None
    must_tell: tuple[str, ...]


@dataclass(frozen=True)
class Response:
    """``within`` None means the timescale is agreed with the complainant case by case."""

    within: Period | None
    counted: str  # "from_receipt" | "from_acknowledgement"
    label: str
    extension: Extension | None
    must_tell: tuple[str, ...]


@dataclass(frozen=True)
class Stage:
    name: str
    label: str
    handler: str
    different_handler_from_previous: bool
    handler_independent_of_subject: bool
    acknowledge: Acknowledgement | None
    respond: Response
    source: str


@dataclass(frozen=True)
class FeedbackKind:
    """A kind of feedback (compliment, concern, complaint...): a ``case`` that goes through the stages from
    ``starts_at``, or a ``record`` that is logged and answered with ``reply`` only."""

    name: str
    label: str
    handling: str
    reply: str
    starts_at: str | None
    route_to: str | None
    note: str


@dataclass(frozen=True)
class Signpost:
    """Somewhere the complainant can go after the last stage (or at any time, if ``any_time``)."""

    name: str
    when: str
    phone: str
    email: str
    post: str
    website: str
    note: str
    any_time: bool


@dataclass(frozen=True)
class TimeLimit:
    within: Period
    note: str


@dataclass(frozen=True)
class FollowUp:
    every: Period
    by: str | None
    note: str


@dataclass(frozen=True)
class RoutingNote:
    """A matter that goes somewhere other than the ordinary stages: to a role, to another procedure, or out
    of the complaints procedure altogether (``in_scope`` false)."""

    matter: str
    to: str | None
    procedure: str
    in_scope: bool
    note: str


@dataclass(frozen=True)
class Source:
    document: str
    section: str
    url: str


@dataclass(frozen=True)
class Role:
    name: str
    label: str


@dataclass(frozen=True)
class StageTimeline:
    """The dates for one stage. ``start_day`` is the day counting starts (see WorkingCalendar.start_day);
    ``acknowledgement_assumed`` is true when the response is counted from an acknowledgement not yet sent."""

    stage: Stage
    start_day: date
    acknowledge_due: date | None
    respond_due: date | None
    latest_extended_due: date | None
    acknowledgement_assumed: bool


@dataclass(frozen=True)
class Policy:
    name: str
    title: str
    source: Source
    calendar: WorkingCalendar
    roles: tuple[Role, ...]
    kinds: tuple[FeedbackKind, ...]
    stages: tuple[Stage, ...]
    after_final_stage: tuple[Signpost, ...]
    time_limit: TimeLimit | None
    follow_up: FollowUp | None
    routing: tuple[RoutingNote, ...]
    path: Path = field(compare=False)

    def stage(self, which: str | int) -> Stage:
        """A stage by name, or by position counted from 0 as in ``stages``."""
        return self.stages[self.stage_index(which)]

    def stage_index(self, which: str | int) -> int:
        names = [s.name for s in self.stages]
        if isinstance(which, int):
            if not 0 <= which < len(names):
                raise IndexError(f"policy {self.name} has stages 0 to {len(names) - 1}, not {which}")
            return which
        if which not in names:
            raise KeyError(f"policy {self.name} has no stage {which!r} (stages: {', '.join(names)})")
        return names.index(which)

    def next_stage(self, which: str | int) -> Stage | None:
        index = self.stage_index(which) + 1
        return self.stages[index] if index < len(self.stages) else None

    def kind(self, name: str) -> FeedbackKind:
        for kind in self.kinds:
            if kind.name == name:
                return kind
        known = ", ".join(k.name for k in self.kinds)
        raise KeyError(f"policy {self.name} has no kind {name!r} (kinds: {known})")

    def role_label(self, role: str) -> str:
        return next((r.label for r in self.roles if r.name == role), role)

    def timeline(
        self, stage: str | int, received: datetime | date, acknowledged: datetime | date | None = None
    ) -> StageTimeline:
        """The dates for ``stage`` of a complaint received (or escalated to it) at ``received``.

        Where the response is counted from the acknowledgement and ``acknowledged`` is None, the
        acknowledgement is assumed to go on its due date (the latest the policy allows), and
        ``acknowledgement_assumed`` is set. An acknowledgement counts from the local day it was sent, even a
        closed day, without the cut-off: when the organisation chooses to write must not push the response
        date later.
        """
        chosen = self.stage(stage)
        ack_due = chosen.acknowledge.within.after(self.calendar, received) if chosen.acknowledge else None
        assumed = chosen.respond.counted == "from_acknowledgement" and acknowledged is None
        respond_due = self._respond_due(chosen.respond, received, acknowledged or ack_due)
        return StageTimeline(
            chosen,
            self.calendar.start_day(received),
            ack_due,
            respond_due,
            self._latest_due(chosen.respond, respond_due),
            assumed,
        )

    def _respond_due(
        self, respond: Response, received: datetime | date, acknowledged: datetime | date | None
    ) -> date | None:
        if respond.within is None:
            return None
        if respond.counted == "from_receipt":
            return respond.within.after(self.calendar, received)
        assert acknowledged is not None  # loading refuses from_acknowledgement without an acknowledgement
        return respond.within.after(self.calendar, acknowledged, receipt=False)

    def _latest_due(self, respond: Response, respond_due: date | None) -> date | None:
        if respond_due is None or respond.extension is None or respond.extension.limit is None:
            return None
        return respond.extension.limit.after(self.calendar, respond_due, receipt=False)
