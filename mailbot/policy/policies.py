"""Complaints policies as data: load and check a policy file from ``rules/policies/``, and work out from it
when each stage must be acknowledged and answered."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from mailbot.errors import UserError
from mailbot.policy.workdays import NATIONS, WorkingCalendar

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

_POLICY_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*\Z")


class PolicyError(UserError):
    """A mistake in a policy file, naming the file, the key path and what would be accepted."""

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        self.path, self.key, self.message = str(path), key, message
        super().__init__(f"{path}: {key}: {message}" if key else f"{path}: {message}")


# ----------------------------------------------------------------------------------------------------
# The policy as typed, frozen data


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


# ----------------------------------------------------------------------------------------------------
# Loading


def load_policy(path: Path) -> Policy:
    """Read and check one policy file; any mistake raises PolicyError naming the file and the key."""
    path = Path(path)
    return _policy(_Table(path, "", _read_toml(path)))


def check_policy_file(path: Path) -> Policy:
    """The same as load_policy: what ``mailbot policy check FILE`` runs."""
    return load_policy(path)


def load_policies(directory: Path) -> dict[str, Policy]:
    """Every ``*.toml`` policy in ``directory``, by name; two files with the same name are an error."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PolicyError(directory, "", "not a directory of policy files")
    found: dict[str, Policy] = {}
    for path in sorted(directory.glob("*.toml")):
        policy = load_policy(path)
        if policy.name in found:
            raise PolicyError(
                path,
                "name",
                f"{_show(policy.name)} is already the name of the policy in "
                f"{found[policy.name].path}; each policy needs a name of its own",
            )
        found[policy.name] = policy
    return found


def find_policy(name: str, directory: Path) -> Policy:
    policies = load_policies(directory)
    if name not in policies:
        found = ", ".join(sorted(policies))
        raise PolicyError(directory, "", f"no policy named {_show(name)} (found: {found})")
    return policies[name]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as err:
        raise PolicyError(path, "", f"cannot read the file: {err.strerror or err}") from err
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(path, "", f"not valid TOML: {err}") from err


def _show(value: object) -> str:
    """A value as it would be written in the TOML file, for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _one_of(options: Iterable[str]) -> str:
    return "one of " + ", ".join(_show(o) for o in options)


_REQUIRED: Any = object()


class _Table:
    """One TOML table being read: each value is checked as it is taken, with its full key path at hand."""

    def __init__(self, path: Path, where: str, data: Mapping[str, Any]) -> None:
        self.path, self.where, self.data = path, where, data

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def error(self, name: str, message: str) -> PolicyError:
        return PolicyError(self.path, self.key(name), message)

    def allow(self, *accepted: str) -> None:
        """Unknown keys are errors: a misspelt key would otherwise be silently ignored."""
        for name in self.data:
            if name not in accepted:
                raise self.error(name, f"unknown key (accepted here: {', '.join(accepted)})")

    def has(self, name: str) -> bool:
        return name in self.data

    def value(self, name: str, expected: str, default: Any = _REQUIRED) -> Any:
        if name in self.data:
            return self.data[name]
        if default is _REQUIRED:
            raise self.error(name, f"missing: expected {expected}")
        return default

    def text(self, name: str, default: Any = _REQUIRED) -> str:
        value = self.value(name, "some text", default)
        if not isinstance(value, str) or (self.has(name) and not value.strip()):
            raise self.error(name, f"expected some text, got {_show(value)}")
        return value

    def whole(self, name: str) -> int:
        value = self.value(name, "a positive whole number")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.error(name, f"expected a positive whole number, got {_show(value)}")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.value(name, "true or false", default)
        if not isinstance(value, bool):
            raise self.error(name, f"expected true or false, got {_show(value)}")
        return value

    def choice(self, name: str, options: Iterable[str], default: Any = _REQUIRED) -> str:
        options = tuple(options)
        value = self.value(name, _one_of(options), default)
        if value not in options:
            raise self.error(name, f"expected {_one_of(options)}, got {_show(value)}")
        return value

    def identifier(self, name: str) -> str:
        value = self.value(name, "a name in lower case letters, digits and _")
        if not (isinstance(value, str) and _IDENTIFIER.match(value)):
            raise self.error(name, f"expected a name in lower case letters, digits and _, got {_show(value)}")
        return value

    def flags(self, name: str, allowed: Iterable[str]) -> tuple[str, ...]:
        allowed = tuple(allowed)
        items = self.value(name, "a list", [])
        if not isinstance(items, list):
            raise self.error(name, f"expected a list such as [{_show(allowed[0])}], got {_show(items)}")
        for index, item in enumerate(items):
            if item not in allowed:
                raise self.error(f"{name}[{index}]", f"expected {_one_of(allowed)}, got {_show(item)}")
        return tuple(items)

    def table(self, name: str, required: bool = True) -> _Table | None:
        value = self.value(name, f"a [{self.key(name)}] table", _REQUIRED if required else None)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.error(name, f"expected a [{self.key(name)}] table, got {_show(value)}")
        return _Table(self.path, self.key(name), value)

    def tables(self, name: str, required: bool = True) -> list[_Table]:
        """An array of tables, ``[[name]]`` in the file; ``required`` means at least one."""
        items = self.value(name, f"at least one [[{self.key(name)}]] table", _REQUIRED if required else [])
        if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
            raise self.error(name, f"expected [[{self.key(name)}]] tables, got {_show(items)}")
        if required and not items:
            raise self.error(name, f"expected at least one [[{self.key(name)}]] table, got none")
        return [_Table(self.path, f"{self.key(name)}[{i}]", item) for i, item in enumerate(items)]

    def named_tables(self, name: str) -> list[tuple[str, _Table]]:
        """A table of tables, ``[name.first]``, ``[name.second]`` in the file; at least one."""
        outer = self.table_of(name)
        if not outer.data:
            raise self.error(name, f"expected at least one [{self.key(name)}.<name>] table, got none")
        return [(key, outer.table_of(key)) for key in outer.data]

    def table_of(self, name: str) -> _Table:
        """A table that must be there."""
        table = self.table(name)
        assert table is not None  # table() raises when a required table is missing
        return table


def _policy(t: _Table) -> Policy:
    t.allow(
        "name",
        "title",
        "source",
        "nation",
        "timezone",
        "cutoff",
        "roles",
        "kinds",
        "stages",
        "after_final_stage",
        "time_limit",
        "follow_up",
        "routing",
    )
    roles = _roles(t)
    stages = _stages(t, roles)
    return Policy(
        name=_policy_name(t),
        title=t.text("title"),
        source=_source(t),
        calendar=_calendar(t),
        roles=roles,
        kinds=_kinds(t, stages, roles),
        stages=stages,
        after_final_stage=tuple(_signpost(s) for s in t.tables("after_final_stage")),
        time_limit=_time_limit(t.table("time_limit", required=False)),
        follow_up=_follow_up(t.table("follow_up", required=False), roles),
        routing=_routing(t.tables("routing", required=False), roles),
        path=t.path,
    )


def _policy_name(t: _Table) -> str:
    name = t.text("name")
    if not _POLICY_NAME.match(name):
        raise t.error(
            "name", f'expected lower case letters, digits and hyphens (e.g. "wivey-cares"), got {_show(name)}'
        )
    return name


def _source(t: _Table) -> Source:
    source = t.table_of("source")
    source.allow("document", "section", "url")
    return Source(source.text("document"), source.text("section", ""), source.text("url", ""))


def _calendar(t: _Table) -> WorkingCalendar:
    nation = t.choice("nation", NATIONS)
    try:
        return WorkingCalendar(nation, t.text("timezone", "Europe/London"), _cutoff(t))
    except ValueError as err:
        raise t.error("timezone", str(err)) from err


def _cutoff(t: _Table) -> time | None:
    """A TOML time (17:00:00) or, since TOML 1.0 insists on seconds, the friendlier "17:00"."""
    value = t.value("cutoff", "a time of day", None)
    if value is None or isinstance(value, time):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d\d:\d\d", value):
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise t.error("cutoff", f'expected a time of day such as "17:00", got {_show(value)}')


def _roles(t: _Table) -> tuple[Role, ...]:
    table = t.table_of("roles")
    for name in table.data:
        if not _IDENTIFIER.match(name):
            raise table.error(name, "a role's name is lower case letters, digits and _")
    return tuple(Role(name, table.text(name)) for name in table.data)


def _role(t: _Table, name: str, roles: tuple[Role, ...], required: bool = True) -> str | None:
    """A reference to a role, which must be declared under [roles]: this catches misspelt role names."""
    if not required and not t.has(name):
        return None
    role = t.identifier(name)
    declared = [r.name for r in roles]
    if role not in declared:
        raise t.error(
            name, f"unknown role {_show(role)}: declare it under [roles] (declared: {', '.join(declared)})"
        )
    return role


def _period(t: _Table) -> Period:
    """``days`` with ``unit``, or ``months``."""
    if t.has("months"):
        for other in ("days", "unit"):
            if t.has(other):
                raise t.error(other, "give either days with a unit, or months, not both")
        return Period(t.whole("months"), "months")
    return Period(t.whole("days"), t.choice("unit", UNITS))


def _stages(t: _Table, roles: tuple[Role, ...]) -> tuple[Stage, ...]:
    stages: list[Stage] = []
    for index, table in enumerate(t.tables("stages")):
        stage = _stage(table, roles, index)
        if stage.name in (s.name for s in stages):
            raise table.error("name", f"{_show(stage.name)} is already the name of an earlier stage")
        stages.append(stage)
    return tuple(stages)


def _stage(t: _Table, roles: tuple[Role, ...], index: int) -> Stage:
    t.allow(
        "name",
        "label",
        "handler",
        "different_handler_from_previous",
        "handler_independent_of_subject",
        "acknowledge",
        "respond",
        "source",
    )
    different = t.flag("different_handler_from_previous")
    if different and index == 0:
        raise t.error(
            "different_handler_from_previous", "the first stage has no previous handler; expected false"
        )
    acknowledge = _acknowledgement(t.table("acknowledge", required=False))
    respond_table = t.table_of("respond")
    respond = _response(respond_table)
    if respond.counted == "from_acknowledgement" and acknowledge is None:
        raise respond_table.error(
            "counted",
            "the response is counted from the acknowledgement, but the "
            "stage has no [acknowledge] time; add one or count from_receipt",
        )
    return Stage(
        name=t.identifier("name"),
        label=t.text("label"),
        handler=_role(t, "handler", roles) or "",
        different_handler_from_previous=different,
        handler_independent_of_subject=t.flag("handler_independent_of_subject"),
        acknowledge=acknowledge,
        respond=respond,
        source=t.text("source", ""),
    )


def _acknowledgement(t: _Table | None) -> Acknowledgement | None:
    if t is None:
        return None
    t.allow("days", "unit", "months", "must_tell")
    return Acknowledgement(_period(t), t.flags("must_tell", MUST_TELL))


def _response(t: _Table) -> Response:
    t.allow("days", "unit", "months", "by_agreement", "counted", "label", "must_tell", "extension")
    agreed = t.flag("by_agreement")
    if agreed and (t.has("days") or t.has("months")):
        raise t.error("by_agreement", "a response whose time is agreed case by case has no days or months")
    return Response(
        within=None if agreed else _period(t),
        counted=t.choice("counted", COUNTED),
        label=t.text("label", "Response"),
        extension=_extension(t.table("extension", required=False)),
        must_tell=t.flags("must_tell", MUST_TELL),
    )


def _extension(t: _Table | None) -> Extension | None:
    if t is None:
        return None
    t.allow("days", "unit", "months", "no_maximum", "must_tell")
    if t.flag("no_maximum"):
        if t.has("days") or t.has("months"):
            raise t.error("no_maximum", "an extension with no maximum has no days or months")
        return Extension(None, t.flags("must_tell", MUST_TELL))
    return Extension(_period(t), t.flags("must_tell", MUST_TELL))


def _kinds(t: _Table, stages: tuple[Stage, ...], roles: tuple[Role, ...]) -> tuple[FeedbackKind, ...]:
    return tuple(_kind(name, table, stages, roles) for name, table in t.named_tables("kinds"))


def _kind(name: str, t: _Table, stages: tuple[Stage, ...], roles: tuple[Role, ...]) -> FeedbackKind:
    t.allow("label", "handling", "reply", "starts_at", "route_to", "note")
    if not _IDENTIFIER.match(name):
        raise PolicyError(t.path, t.where, "a kind's name is lower case letters, digits and _")
    handling = t.choice("handling", HANDLING)
    if handling == "record" and t.has("starts_at"):
        raise t.error("starts_at", 'only a kind handled as a "case" starts at a stage')
    stage_names = [s.name for s in stages]
    starts_at = t.choice("starts_at", stage_names, stage_names[0]) if handling == "case" else None
    return FeedbackKind(
        name=name,
        label=t.text("label"),
        handling=handling,
        reply=t.choice("reply", REPLIES, "acknowledgement"),
        starts_at=starts_at,
        route_to=_role(t, "route_to", roles, required=False),
        note=t.text("note", ""),
    )


def _signpost(t: _Table) -> Signpost:
    t.allow("name", "when", "phone", "email", "post", "website", "note", "any_time")
    email, website = t.text("email", ""), t.text("website", "")
    if email and "@" not in email:
        raise t.error("email", f"expected an email address, got {_show(email)}")
    if website and not website.startswith(("https://", "http://")):
        raise t.error("website", f"expected an address starting https://, got {_show(website)}")
    return Signpost(
        t.text("name"),
        t.text("when", ""),
        t.text("phone", ""),
        email,
        t.text("post", ""),
        website,
        t.text("note", ""),
        t.flag("any_time"),
    )


def _time_limit(t: _Table | None) -> TimeLimit | None:
    if t is None:
        return None
    t.allow("days", "unit", "months", "note")
    return TimeLimit(_period(t), t.text("note", ""))


def _follow_up(t: _Table | None, roles: tuple[Role, ...]) -> FollowUp | None:
    if t is None:
        return None
    t.allow("days", "unit", "months", "by", "note")
    return FollowUp(_period(t), _role(t, "by", roles, required=False), t.text("note", ""))


def _routing(tables: list[_Table], roles: tuple[Role, ...]) -> tuple[RoutingNote, ...]:
    notes: list[RoutingNote] = []
    for t in tables:
        t.allow("matter", "to", "procedure", "in_scope", "note")
        note = RoutingNote(
            t.identifier("matter"),
            _role(t, "to", roles, required=False),
            t.text("procedure", ""),
            t.flag("in_scope", True),
            t.text("note", ""),
        )
        if note.matter in (n.matter for n in notes):
            raise t.error("matter", f"{_show(note.matter)} already has a routing note")
        if note.to is None and not note.procedure:
            raise t.error("to", 'say where the matter goes: a role in "to", another "procedure", or both')
        notes.append(note)
    return tuple(notes)


# ----------------------------------------------------------------------------------------------------
# explain: the whole timeline in words, for a complaints manager to check against the written policy


def explain(policy: Policy, received: datetime) -> str:
    """Every stage in order with its dates, who handles it and what must be said, then where to go next.

    For each stage after the first, the complainant is assumed to escalate on the day the previous stage's
    response is due (the output says so).
    """
    lines = _heading(policy, received)
    escalated: datetime | date = received
    for index in range(len(policy.stages)):
        if index:
            previous = policy.timeline(index - 1, escalated)
            escalated, note = _escalation(previous)
            lines += ["", *_stage_heading(policy, index), f"  {note}"]
        else:
            lines += ["", *_stage_heading(policy, index)]
        lines += _stage_dates(policy, policy.timeline(index, escalated))
    return "\n".join([*lines, "", *_after_lines(policy), *_general_lines(policy)]) + "\n"


def _day(d: date) -> str:
    return f"{d:%a} {d.day} {d:%b %Y}"


def _heading(policy: Policy, received: datetime) -> list[str]:
    cal = policy.calendar
    cutoff = (
        f"mail after {cal.cutoff:%H:%M} counts from the next working day" if cal.cutoff else "no cut-off time"
    )
    source = ", ".join(p for p in (policy.source.document, policy.source.section) if p)
    local = cal.local_time(received)
    return [
        f"Complaints timeline: {policy.title} ({policy.name})",
        f"Source: {source}",
        f"Working days: {NATIONS[cal.nation]} bank holidays ({cal.nation}); local time {cal.timezone}; "
        f"{cutoff}.",
        f"Received: {_day(local.date())} {local:%H:%M}; counting starts {_day(cal.start_day(received))}.",
    ]


def _escalation(previous: StageTimeline) -> tuple[date, str]:
    label = previous.stage.label
    if previous.respond_due is not None:
        return previous.respond_due, (
            f"Assumes the complainant escalates on {_day(previous.respond_due)}, "
            f"the day the {label} response is due."
        )
    day = previous.acknowledge_due or previous.start_day
    return day, (
        f"The {label} response has no fixed date; assumes the complainant escalates on {_day(day)}, "
        f"the day {label} {'is acknowledged' if previous.acknowledge_due else 'starts'}."
    )


def _stage_heading(policy: Policy, index: int) -> list[str]:
    stage = policy.stages[index]
    rules = [f"handled by {policy.role_label(stage.handler)}"]
    if stage.different_handler_from_previous:
        rules.append(f"someone other than whoever handled {policy.stages[index - 1].label}")
    if stage.handler_independent_of_subject:
        rules.append("not anyone connected with the subject of the complaint")
    source = f" [{stage.source}]" if stage.source else ""
    return [f"{stage.label} ({stage.name}){source}: {'; '.join(rules)}."]


def _stage_dates(policy: Policy, tl: StageTimeline) -> list[str]:
    stage = tl.stage
    lines = _acknowledge_lines(stage.acknowledge, tl.acknowledge_due)
    lines += _respond_lines(stage.respond, tl)
    return lines + _extension_lines(stage.respond, tl.latest_extended_due)


def _must(what: str, flags: tuple[str, ...]) -> list[str]:
    return [f"    {what} must: {'; '.join(MUST_TELL[f] for f in flags)}."] if flags else []


def _acknowledge_lines(ack: Acknowledgement | None, due: date | None) -> list[str]:
    if ack is None or due is None:
        return ["  Acknowledgement: the policy sets no time."]
    return [
        f"  Acknowledgement due {_day(due)}: {ack.within} from receipt.",
        *_must("The acknowledgement", ack.must_tell),
    ]


def _respond_lines(respond: Response, tl: StageTimeline) -> list[str]:
    if respond.within is None or tl.respond_due is None:
        line = f"  {respond.label}: timescale agreed with the complainant; no fixed date."
    elif respond.counted == "from_receipt":
        line = f"  {respond.label} due {_day(tl.respond_due)}: {respond.within} from receipt."
    else:
        assumed = tl.acknowledgement_assumed and tl.acknowledge_due
        sent = f", assumed sent {_day(tl.acknowledge_due)}" if assumed and tl.acknowledge_due else ""
        line = (
            f"  {respond.label} due {_day(tl.respond_due)}: {respond.within} from the acknowledgement{sent}."
        )
    return [line, *_must(f"The {respond.label.lower()}", respond.must_tell)]


def _extension_lines(respond: Response, latest: date | None) -> list[str]:
    extension = respond.extension
    if extension is None:
        return ["  Extension: none provided for."]
    if extension.limit is None or latest is None:
        line = "  Extension: allowed, with no maximum stated."
    else:
        line = f"  Latest with extension: {_day(latest)} (at most {extension.limit} more)."
    return [line, *_must("A letter extending the time", extension.must_tell)]


def _after_lines(policy: Policy) -> list[str]:
    return [
        "After the final stage, the complainant can go to:",
        *(_signpost_line(s) for s in policy.after_final_stage),
    ]


def _signpost_line(s: Signpost) -> str:
    details = [
        f"{label} {value}"
        for label, value in (("phone", s.phone), ("email", s.email), ("post", s.post), ("website", s.website))
        if value
    ]
    when = f" ({s.when})" if s.when else ""
    anytime = "; may be contacted at any time, not only after the last stage" if s.any_time else ""
    return f"  - {s.name}{when}{': ' + '; '.join(details) if details else ''}{anytime}"


def _general_lines(policy: Policy) -> list[str]:
    limit = policy.time_limit
    lines = [
        f"Time limit for making a complaint: {limit.within}{f' ({limit.note})' if limit.note else ''}."
        if limit
        else "Time limit for making a complaint: none stated."
    ]
    if policy.follow_up:
        by = f", by {policy.role_label(policy.follow_up.by)}" if policy.follow_up.by else ""
        lines.append(f"Follow-up after closure: every {policy.follow_up.every}{by}.")
    lines.append("Kinds of feedback: " + "; ".join(_kind_text(policy, k) for k in policy.kinds) + ".")
    return lines + [_routing_line(policy, note) for note in policy.routing]


def _kind_text(policy: Policy, kind: FeedbackKind) -> str:
    if kind.handling == "case":
        return f"{kind.label}: a case starting at {policy.stage(kind.starts_at or 0).label}"
    reply = {"thank_you": "thank-you sent", "acknowledgement": "acknowledged", "none": "no reply"}[kind.reply]
    passed = f", passed to {policy.role_label(kind.route_to)}" if kind.route_to else ""
    return f"{kind.label}: recorded, {reply}{passed}"


def _routing_line(policy: Policy, note: RoutingNote) -> str:
    parts = [f"to {policy.role_label(note.to)}"] if note.to else []
    parts += [f"under {note.procedure}"] if note.procedure else []
    if not note.in_scope:
        parts.append("outside this complaints procedure")
    elif note.procedure:
        parts.append("and may also go through this complaints procedure")
    parts += [note.note] if note.note else []
    return f"Routing: {note.matter.replace('_', ' ')}: {'; '.join(parts)}."
