"""The digest's chart of twelve weeks' volumes: a bar per week, a segment per kind, drawn as table cells of a
width in pixels, because Outlook draws cells but not CSS bars."""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.scheduled.digest.figures import WeekVolume
from mailbot.vocabulary import FEEDBACK_KINDS, Kind

CHART_WIDTH = 360  # pixels for the busiest week's bar
KIND_COLOURS = {
    Kind.COMPLAINT: "#b42318",
    Kind.CONCERN: "#dc6803",
    Kind.COMMENT: "#1570ef",
    Kind.COMPLIMENT: "#039855",
    Kind.OUT_OF_SCOPE: "#98a2b3",
}


@dataclass(frozen=True)
class Bar:
    """One segment of a week's bar."""

    kind: str
    count: int
    width: int
    colour: str


def chart(volumes: tuple[WeekVolume, ...]) -> list[tuple[WeekVolume, list[Bar]]]:
    busiest = max((v.total for v in volumes), default=0) or 1
    kinds = [*FEEDBACK_KINDS, Kind.OUT_OF_SCOPE]
    return [
        (v, [Bar(k, v.counts[k], max(2, round(CHART_WIDTH * v.counts[k] / busiest)), KIND_COLOURS[k])
             for k in kinds if v.counts.get(k)])
        for v in volumes
    ]  # fmt: skip
