"""``explain``: a policy's whole timeline in words, for a complaints manager to check against the written
policy."""

from __future__ import annotations

from datetime import date, datetime

from mailbot.policy.model import (
    MUST_TELL,
    Acknowledgement,
    FeedbackKind,
    Policy,
    Response,
    RoutingNote,
    Signpost,
    StageTimeline,
)
from mailbot.policy.workdays import NATIONS


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
