"""The parts of a policy file, each read and checked from its own table: roles, stages and their timescales,
kinds of feedback, signposts, the time limit, follow-up and routing."""

from __future__ import annotations

from mailbot.config.reader import TomlReader, as_written, is_identifier
from mailbot.policy.model import (
    COUNTED,
    HANDLING,
    MUST_TELL,
    REPLIES,
    UNITS,
    Acknowledgement,
    Extension,
    FeedbackKind,
    FollowUp,
    Period,
    Response,
    Role,
    RoutingNote,
    Signpost,
    Stage,
    TimeLimit,
)


def roles_from(t: TomlReader) -> tuple[Role, ...]:
    declared = t.required_table("roles")
    for name in declared.table:
        if not is_identifier(name):
            raise declared.error(name, "a role's name is lower case letters, digits and _")
    return tuple(Role(name, declared.text(name)) for name in declared.table)


def _role(t: TomlReader, name: str, roles: tuple[Role, ...], required: bool = True) -> str | None:
    """A reference to a role, which must be declared under [roles]: this catches misspelt role names."""
    if not required and not t.has(name):
        return None
    role = t.identifier(name)
    declared = [r.name for r in roles]
    if role not in declared:
        raise t.error(
            name,
            f"unknown role {as_written(role)}: declare it under [roles] (declared: {', '.join(declared)})",
        )
    return role


def _period(t: TomlReader) -> Period:
    """``days`` with ``unit``, or ``months``."""
    if t.has("months"):
        for other in ("days", "unit"):
            if t.has(other):
                raise t.error(other, "give either days with a unit, or months, not both")
        return Period(t.positive("months"), "months")
    return Period(t.positive("days"), t.choice("unit", UNITS))


def stages_from(t: TomlReader, roles: tuple[Role, ...]) -> tuple[Stage, ...]:
    stages: list[Stage] = []
    for index, table in enumerate(t.tables("stages")):
        stage = _stage(table, roles, index)
        if stage.name in (s.name for s in stages):
            raise table.error("name", f"{as_written(stage.name)} is already the name of an earlier stage")
        stages.append(stage)
    return tuple(stages)


def _stage(t: TomlReader, roles: tuple[Role, ...], index: int) -> Stage:
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
    acknowledge = _acknowledgement(t.optional_table("acknowledge"))
    respond_table = t.required_table("respond")
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


def _acknowledgement(t: TomlReader | None) -> Acknowledgement | None:
    if t is None:
        return None
    t.allow("days", "unit", "months", "must_tell")
    return Acknowledgement(_period(t), t.choices("must_tell", MUST_TELL))


def _response(t: TomlReader) -> Response:
    t.allow("days", "unit", "months", "by_agreement", "counted", "label", "must_tell", "extension")
    agreed = t.flag("by_agreement")
    if agreed and (t.has("days") or t.has("months")):
        raise t.error("by_agreement", "a response whose time is agreed case by case has no days or months")
    return Response(
        within=None if agreed else _period(t),
        counted=t.choice("counted", COUNTED),
        label=t.text("label", "Response"),
        extension=_extension(t.optional_table("extension")),
        must_tell=t.choices("must_tell", MUST_TELL),
    )


def _extension(t: TomlReader | None) -> Extension | None:
    if t is None:
        return None
    t.allow("days", "unit", "months", "no_maximum", "must_tell")
    if t.flag("no_maximum"):
        if t.has("days") or t.has("months"):
            raise t.error("no_maximum", "an extension with no maximum has no days or months")
        return Extension(None, t.choices("must_tell", MUST_TELL))
    return Extension(_period(t), t.choices("must_tell", MUST_TELL))


def kinds_from(t: TomlReader, stages: tuple[Stage, ...], roles: tuple[Role, ...]) -> tuple[FeedbackKind, ...]:
    return tuple(_kind(name, table, stages, roles) for name, table in t.named_tables("kinds"))


def _kind(name: str, t: TomlReader, stages: tuple[Stage, ...], roles: tuple[Role, ...]) -> FeedbackKind:
    t.allow("label", "handling", "reply", "starts_at", "route_to", "note")
    if not is_identifier(name):
        raise t.make_error(t.path, t.prefix, "a kind's name is lower case letters, digits and _")
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


def signpost_from(t: TomlReader) -> Signpost:
    t.allow("name", "when", "phone", "email", "post", "website", "note", "any_time")
    email, website = t.text("email", ""), t.text("website", "")
    if email and "@" not in email:
        raise t.error("email", f"expected an email address, got {as_written(email)}")
    if website and not website.startswith(("https://", "http://")):
        raise t.error("website", f"expected an address starting https://, got {as_written(website)}")
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


def time_limit_from(t: TomlReader | None) -> TimeLimit | None:
    if t is None:
        return None
    t.allow("days", "unit", "months", "note")
    return TimeLimit(_period(t), t.text("note", ""))


def follow_up_from(t: TomlReader | None, roles: tuple[Role, ...]) -> FollowUp | None:
    if t is None:
        return None
    t.allow("days", "unit", "months", "by", "note")
    return FollowUp(_period(t), _role(t, "by", roles, required=False), t.text("note", ""))


def routing_from(tables: list[TomlReader], roles: tuple[Role, ...]) -> tuple[RoutingNote, ...]:
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
            raise t.error("matter", f"{as_written(note.matter)} already has a routing note")
        if note.to is None and not note.procedure:
            raise t.error("to", 'say where the matter goes: a role in "to", another "procedure", or both')
        notes.append(note)
    return tuple(notes)
