"""Subject lines as mail clients write them: the reply and forward prefixes each language's Outlook adds."""

from __future__ import annotations

import re

# Reply and forward prefixes as Outlook writes them in the sender's language (English, German, Scandinavian,
# Dutch, Finnish, Polish; FW/WG/TR/RV/Doorst/VB/VL/PD forwards). A reference is found wherever it stands in
# a subject, so threading does not need them stripped; a case's subject is kept without them.
REPLY_PREFIXES = (
    "re",
    "aw",
    "sv",
    "antw",
    "vs",
    "odp",
    "fw",
    "fwd",
    "wg",
    "tr",
    "rv",
    "doorst",
    "vb",
    "vl",
    "pd",
)
_PREFIXES = re.compile(
    r"^(?:\s*(?:" + "|".join(REPLY_PREFIXES) + r")(?:\s*\[\d+\])?\s*[:\uff1a])+\s*", re.IGNORECASE
)


def without_reply_prefixes(subject: str) -> str:
    """``AW: SV: Re[2]: Missed visits`` -> ``Missed visits``; a subject of prefixes alone stays as it is."""
    return _PREFIXES.sub("", subject) or subject
