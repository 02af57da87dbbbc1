"""The digest's chart of twelve weeks' volumes: a bar per week, a segment per kind, drawn as table cells of a
width in pixels, because Outlook draws cells but not CSS bars."""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.scheduled.digest.figures import WeekVolume
from mailbot.scheduled.report import KINDS

CHART_WIDTH = 360  # pixels for the busiest week's bar
KIND_COLOURS = {
    "complaint": "#b42318",
    "concern": "#dc6803",
    "comment": "#1570ef",
    "compliment": "#039855",
    "out_of_scope": "#98a2b3",
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
    kinds = [*KINDS, "out_of_scope"]
    return [
        (v, [Bar(k, v.counts[k], max(2, round(CHART_WIDTH * v.counts[k] / busiest)), KIND_COLOURS[k])
             for k in kinds if v.counts.get(k)])
        for v in volumes
    ]  # fmt: skip
