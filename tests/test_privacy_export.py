"""Subject access on real servers, SQLite and PostgreSQL: the export holds every message and letter of one
person across their cases, their attachments and their failed mail, and nothing of anyone else's; staff notes
go in or stay out as a person decides, with the reason written down; the export is in the audit trail."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.db.models import Case, Correspondence, PrivacyLog
from mailbot.privacy.subject import INTERNAL, THIRD_PARTY, Request, _withheld_because
from mailbot.testing import Dovecot, SmtpCapture
from tests.privacy_scenario import BOB_WORDS, JANE, NOTE, PHOTO, TOKENS, build, invoke
from tests.test_routing_e2e import STAFF


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app(extra=STAFF)


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def test_the_export_holds_all_of_one_persons_mail_and_letters_and_nothing_of_anyone_elses(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:  # fmt: skip
    world = build(app, dovecot, smtp_server, monkeypatch)
    out = tmp_path / "jane.zip"

    status, printed, _ = invoke(app, capsys, "privacy", "export", "--address", JANE, "--notes", "include",
                                "--out", str(out))  # fmt: skip

    assert status == 0 and f"written to {out}" in printed
    files = members(out)
    data = json.loads(files["data.json"])
    assert [c["ref"] for c in data["cases"]] == list(world.jane)
    with app.sessions() as session:
        held = session.scalars(select(Correspondence).join(Case).where(Case.complainant_address == JANE))
        theirs = {
            (c.case.ref, c.subject, c.new_text) for c in held if JANE in (c.from_address, *c.to_addresses)
        }
    assert len(theirs) >= 5
    assert {(m["case"], m["subject"], m["text"]) for m in data["messages"]} >= theirs
    kinds = [(m["direction"], m["kind"]) for m in data["messages"] if JANE in (m["from"], *m["to"])]
    assert kinds.count(("in", "complaint")) == 2 and kinds.count(("out", "acknowledgement")) == 2
    assert ("out", "outcome") in kinds
    everything = b"\n".join(files.values())
    assert TOKENS["message"].encode() in everything and TOKENS["letter"].encode() in everything
    assert NOTE.encode() in everything  # notes included, as asked
    [diary] = [n for n in files if n.startswith("files/") and TOKENS["attachment"] in n]
    assert files[diary] == f"diary entries {TOKENS['attachment']}".encode()
    assert PHOTO in files.values()
    [failed] = [n for n in files if n.startswith("mail/")]  # the message that failed processing
    assert TOKENS["traceback"].encode() in files[failed]
    for word in BOB_WORDS:
        assert word.encode() not in everything, f"{word} (someone else's) is in Jane's export"
    index = files["index.html"].decode()
    assert "Your information held by Riverside Care Trust" in index and world.jane[1] in index
    assert f'href="{diary}"' in index


def test_notes_withheld_need_a_reason_which_is_recorded_with_the_export(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:  # fmt: skip
    world = build(app, dovecot, smtp_server, monkeypatch)
    out = tmp_path / "jane.zip"
    status, _, err = invoke(app, capsys, "privacy", "export", "--address", JANE, "--notes", "withhold",
                            "--out", str(out))  # fmt: skip
    assert status == 2 and "--notes withhold needs --reason" in err and not out.exists()

    reason = "Schedule 2 para 2: the investigation is not finished"
    status, printed, _ = invoke(app, capsys, "privacy", "export", "--address", JANE, "--notes", "withhold",
                                "--reason", reason, "--out", str(out))  # fmt: skip

    assert status == 0 and f"withheld ({reason})" in printed
    files = members(out)
    assert NOTE.encode() not in b"\n".join(files.values())
    withheld = json.loads(files["data.json"])["withheld"]
    assert {"case": world.jane[0], "what": "note", "why": "a staff note"}.items() <= withheld[-1].items()
    assert any(w["why"] == INTERNAL for w in withheld)  # the coordinator's mail and the notices to staff
    assert reason in files["index.html"].decode()
    with app.sessions() as session:
        [entry] = session.scalars(select(PrivacyLog)).all()
        assert (entry.action, entry.subject) == ("subject access export", JANE)
        assert reason in entry.detail and "jane.zip" in entry.detail
        for ref in world.jane:
            case = session.scalars(select(Case).where(Case.ref == ref)).one()
            assert case.events[-1].action == "subject access export" and reason in case.events[-1].detail
        bob = session.scalars(select(Case).where(Case.ref == world.bob)).one()
        assert "subject access export" not in [e.action for e in bob.events]


def test_someone_who_is_not_held_gets_an_empty_export_saying_so(
    app: App, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "nobody.zip"
    status, printed, _ = invoke(app, capsys, "privacy", "export", "--address", "nobody@example.com",
                                "--notes", "include", "--out", str(out))  # fmt: skip
    assert status == 0 and "nothing is held about this address" in printed
    assert json.loads(members(out)["data.json"])["messages"] == []
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_on_their_case_another_persons_mail_is_withheld_and_internal_mail_follows_the_notes_decision() -> (
    None
):
    """The rule for one message on the person's own case (a unit test of one function)."""
    now = datetime(2026, 11, 30, tzinfo=UTC)
    request = Request(JANE, False, "not finished", "Org", Path("."), now, frozenset({"priya@org.example"}))

    def entry(direction: str, kind: str, sender: str, to: list[str]) -> Correspondence:
        return Correspondence(direction=direction, kind=kind, from_address=sender, to_addresses=to)

    assert _withheld_because(entry("in", "complaint", JANE, ["complaints@org.example"]), request) is None
    assert _withheld_because(entry("out", "outcome", "complaints@org.example", [JANE]), request) is None
    assert _withheld_because(entry("in", "reply", "tom@example.com", []), request) == THIRD_PARTY
    assert _withheld_because(entry("in", "staff_reply", "priya@org.example", []), request) == INTERNAL
    assert (
        _withheld_because(entry("out", "notify_coordinator", "c@org", ["priya@org.example"]), request)
        == INTERNAL
    )
    included = Request(JANE, True, "", "Org", Path("."), now, frozenset())
    assert _withheld_because(entry("in", "staff_reply", "priya@org.example", []), included) is None
