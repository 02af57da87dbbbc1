"""``mailbot digest``: preview a week's digest as text or as an HTML file, or queue it to each lead still
without it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from mailbot.config.digest import DigestSettings
from mailbot.scheduled.digest.figures import gather
from mailbot.scheduled.digest.letter import DigestRun, leads, render_digest, send_digests
from mailbot.scheduled.digest.week import DigestWeek, digest_settings, latest_week, week_labelled

if TYPE_CHECKING:
    from mailbot.app import App


def run_digest_command(app: App, week: str | None, lead: str | None, out: Path | None, send: bool) -> str:
    """``mailbot digest --preview [--week W] [--lead ADDR] [--out FILE.html]`` or ``mailbot digest --send``.

    Without ``--week``, the latest digest whose send time has come. A preview sends nothing; ``--send`` queues
    the digest for each lead without it (the outbox flush sends it), never twice.
    """
    settings = digest_settings(app.config)
    zone = ZoneInfo(app.config.timezone)
    chosen = week_labelled(week, settings, zone) if week else latest_week(app.clock(), settings, zone)
    if send:
        return _sent_summary(send_digests(app, chosen, lead, settings))
    return preview(app, chosen, lead, out, settings)


def preview(app: App, week: DigestWeek, lead: str | None, out: Path | None, settings: DigestSettings) -> str:
    everyone = leads(app, lead)
    person = everyone[0] if everyone else None
    letter = render_digest(app, gather(app, week, settings), person, settings)
    if out is None:
        return letter.text
    out.write_text(letter.html or "", encoding="utf-8")
    seen_by = f"as {person.name} would see it" if person else "with names hidden (no lead in [staff])"
    return f"wrote {out}: digest {week.label}, {_span_text(week)}, {seen_by}; nothing was sent"


def _sent_summary(run: DigestRun) -> str:
    lines = [f"digest {run.week.label} ({_span_text(run.week)}):"]
    lines += [f"  queued for {address}" for address in run.sent]
    lines += [f"  {address} already had it; not sent again" for address in run.already]
    if not run.sent and not run.already:
        lines.append("  nobody has the role 'lead' in [staff]; nothing was sent")
    if run.sent:
        lines.append(
            "Digests are sent at the next outbox flush (`mailbot poll --once`, or the running `mailbot run`)."
        )
    return "\n".join(lines)


def _span_text(week: DigestWeek) -> str:
    start, end = week.span.start, week.span.end
    return f"{start:%a} {start.day} {start:%b} to {end:%a} {end.day} {end:%b %Y}"
