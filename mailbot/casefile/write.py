"""``mailbot cases file REF --out FILE.html|FILE.pdf``: the case file gathered, rendered, written 0600."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mailbot.casefile import pages
from mailbot.casefile.gather import CaseFile, gather_case_file
from mailbot.casefile.pdf import print_pdf
from mailbot.db.models import Case
from mailbot.errors import UserError
from mailbot.private_files import write_private

if TYPE_CHECKING:
    from mailbot.app import App

FORMATS = (".html", ".pdf")
TEMPLATE = "casefile/casefile.html"


class CaseFileError(UserError):
    """The case file asked for wrongly (an output name it cannot write)."""


def case_file(app: App, case: Case) -> CaseFile:
    policy = app.policies.get(case.policy)
    if policy is None:
        raise CaseFileError(
            f"{case.ref} was handled under policy {case.policy!r}, which is not in "
            f"{app.config.cases.policies_dir} (available: {', '.join(sorted(app.policies))})"
        )
    return gather_case_file(
        case, policy, app.config.staff, app.config.storage_dir, app.config.organisation.name,
        app.config.timezone, app.clock(),
    )  # fmt: skip


def render_case_file(app: App, file: CaseFile, printable: bool = False) -> str:
    return pages.render(app.config.cases.templates_dir, TEMPLATE, {"file": file, "printable": printable})


def write_case_file(app: App, case: Case, out: Path) -> str:
    """Write the file; returns what to tell the person."""
    kind = out.suffix.lower()
    if kind not in FORMATS:
        raise CaseFileError(f"--out {out}: name a .html or .pdf file (e.g. {case.ref}.pdf)")
    if not out.parent.is_dir():
        raise CaseFileError(f"--out {out}: folder {out.parent} does not exist")
    file = case_file(app, case)
    html = render_case_file(app, file, printable=kind == ".pdf")
    if kind == ".pdf":
        print_pdf(html, out)
    else:
        write_private(out, html.encode("utf-8"))
    return (
        f"{case.ref}: case file written to {out} ({len(file.items)} message(s) and letter(s), "
        f"{len(file.attachments)} attachment(s))"
    )
