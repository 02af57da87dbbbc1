"""The digest letter to each lead: rendered from the ``digest`` template (names only for the roles allowed
them) and queued once per lead and week under a sent-notice key; the outbox flush sends it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from mailbot.config.digest import DigestSettings
from mailbot.config.staff import Person
from mailbot.db.installation import message_id_key
from mailbot.outgoing.letters import Letter
from mailbot.outgoing.once import already_claimed, send_once
from mailbot.outgoing.outbox import Recipient, Threading, compose, outgoing_message_id, queue, refusal_reason
from mailbot.scheduled.digest.chart import KIND_COLOURS, chart
from mailbot.scheduled.digest.figures import DigestFigures, gather
from mailbot.scheduled.digest.week import DigestError, DigestWeek, digest_settings, latest_week
from mailbot.scheduled.report import KIND_LABELS
from mailbot.vocabulary import FEEDBACK_KINDS, OUTCOMES

if TYPE_CHECKING:
    from mailbot.app import App

log = logging.getLogger(__name__)


def can_see_names(lead: Person | None, settings: DigestSettings) -> bool:
    return lead is not None and bool(set(lead.roles) & settings.names_visible_to)


def render_digest(app: App, figures: DigestFigures, lead: Person | None, settings: DigestSettings) -> Letter:
    context = {
        "organisation": app.config.organisation,
        "figures": figures,
        "week": figures.week,
        "lead": lead,
        "show_names": can_see_names(lead, settings),
        "kinds": FEEDBACK_KINDS,
        "kind_labels": KIND_LABELS,
        "kind_colours": KIND_COLOURS,
        "outcomes": OUTCOMES,
        "chart": chart(figures.volumes),
        "busiest": max((v.total for v in figures.volumes), default=0),
    }
    return app.letters.render("digest", context)


def leads(app: App, only: str | None = None) -> tuple[Person, ...]:
    everyone = app.config.staff.with_role("lead") if app.config.staff else ()
    if only is None:
        return everyone
    chosen = tuple(p for p in everyone if only.strip().lower() in p.addresses)
    if not chosen:
        listed = ", ".join(p.primary for p in everyone) or "nobody has the role 'lead' in [staff]"
        raise DigestError(f"--lead: {only} is not a lead (leads: {listed})")
    return chosen


def digest_key(lead: Person, week: DigestWeek) -> str:
    return f"digest:{lead.primary}:{week.label}"


@dataclass(frozen=True)
class DigestRun:
    week: DigestWeek
    sent: tuple[str, ...] = ()  # the leads this run queued a digest for
    already: tuple[str, ...] = ()  # the leads who had this week's digest already


def send_digests(
    app: App, week: DigestWeek, only: str | None = None, settings: DigestSettings | None = None
) -> DigestRun:
    """Queue the week's digest to each lead who has not had it; figures are gathered only if one is due."""
    settings = settings or digest_settings(app.config)
    chosen = leads(app, only)
    if not chosen:
        log.warning("weekly digest %s: nobody has the role 'lead' in [staff]", week.label)
        return DigestRun(week)
    with app.sessions() as session:
        done = already_claimed(session, (digest_key(p, week) for p in chosen))
    waiting = [p for p in chosen if digest_key(p, week) not in done]
    already = [p.primary for p in chosen if p not in waiting]
    if not waiting:
        return DigestRun(week, (), tuple(already))
    figures = gather(app, week, settings)
    sent = [p.primary for p in waiting if queue_digest(app, figures, p, settings)]
    already += [p.primary for p in waiting if p.primary not in sent]
    return DigestRun(week, tuple(sent), tuple(already))


def send_due_digests(app: App, settings: DigestSettings | None = None) -> DigestRun:
    """The scheduled job, and the catch-up on start: the latest digest whose time has come, to any lead still
    without it. Only the latest: after three weeks down a lead gets this week's, not three."""
    settings = settings or digest_settings(app.config)
    week = latest_week(app.clock(), settings, ZoneInfo(app.config.timezone))
    run = send_digests(app, week, settings=settings)
    log.info(
        "weekly digest %s: queued for %d lead(s), %d had it", week.label, len(run.sent), len(run.already)
    )
    return run


def queue_digest(app: App, figures: DigestFigures, lead: Person, settings: DigestSettings) -> bool:
    """Queue one lead's digest; False when it was queued before (the sent-notice key is already there)."""
    now, week = app.clock(), figures.week
    letter = render_digest(app, figures, lead, settings)
    return send_once(
        app.sessions,
        digest_key(lead, week),
        now,
        lambda session: _queue(session, app, letter, lead, week, now),
    )


def _queue(session: Session, app: App, letter: Letter, lead: Person, week: DigestWeek, now: datetime) -> int:
    key, domain = message_id_key(session), app.config.organisation.domain
    message_id = outgoing_message_id(key, "digest", f"digest-{week.label}", lead.primary, domain)
    to = Recipient(lead.name, lead.primary)
    message = compose(app.config, to, letter, message_id, Threading(), now, auto_submitted="auto-generated")
    row = queue(
        session, app.config, purpose="digest", mailbox=app.config.mailboxes[0].name, message=message,
        recipients=[lead.primary], now=now, case_id=None, automatic=False,
        blocked=refusal_reason(app.config, lead.primary),
    )  # fmt: skip
    return row.id
