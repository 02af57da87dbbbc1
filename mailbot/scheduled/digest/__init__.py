"""The weekly digest for each lead: what came in, what is open and how long it has left, what is overdue or at
risk, deadlines kept, what closed and what was learnt, flags and follow-ups, and twelve weeks of volumes.

Which week (``week``), the figures counted in SQL (``figures``), the volume chart (``chart``), the letter
rendered and queued once to each lead (``letter``), and ``mailbot digest`` (``command``). Exported here: what
the scheduler and the command line call.
"""

from mailbot.scheduled.digest.command import run_digest_command
from mailbot.scheduled.digest.letter import send_due_digests
from mailbot.scheduled.digest.week import digest_settings

__all__ = ["digest_settings", "run_digest_command", "send_due_digests"]
