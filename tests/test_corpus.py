"""Every message of the shared third-party corpus parses and classifies; machines are recognised as machines.

Run `pytest tests/test_corpus.py -k summary -s` to see the detection rates.
"""

from __future__ import annotations

import mailbox
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from mailbot.classify import Classification, RuleChain, classify, load_chain
from mailbot.intake.parse import ParsedMail, UnparseableMail, parse_mail
from tests.corpus import corpus_location

CORPUS = corpus_location()
RULES = Path(__file__).resolve().parents[1] / "rules" / "classify.toml"

# Skipped where the corpus is absent, failed under MAILBOT_REQUIRE_CORPUS=1.
pytestmark = pytest.mark.usefixtures("corpus_dir")

_NOT_MAIL_NAMES = {"LICENSE", "SOURCE.md", "NOTICE", "README.md"}
# Bodies without headers and expected-output files: inputs for quote tests, not mails.
_NOT_MAIL_DIRS = ("email-reply-parser/", "talon/signature/")
_NOT_MAIL_ENDINGS = (".html", "_reply_text")
_MBOXES = (
    "sisimai-set-of-emails/mailbox/mbox-0",
    "sisimai-set-of-emails/mailbox/mbox-1",
    "cpython-test_email/mailbox_01.mbox",
)
# A digest body that cpython's tests use as a payload: it has no header fields at all.
KNOWN_UNPARSEABLE = frozenset({"cpython-test_email/msg_19.txt"})

# Labels from the corpus itself (file names and folders, see each SOURCE.md), not from our rules.
_SISIMAI_MACHINE = re.compile(r"^(lhost|rhost|rfc3464|rfc3834|arf|make-test|issue)-|^rb-issue-368-bug")
_DSN_ELSEWHERE = re.compile(
    r"^(flanker/bounce/|mikel-mail/emails/multipart_report_emails/|cpython-test_email/msg_(05|16|25|43)\.txt$"
    r"|mail-parser/mail_malformed_2$|mikel-mail/emails/mime_emails/raw_email_with_mimepart_without_content)"
)
_OTHER_MACHINE = re.compile(r"^(flanker/complaints/|flanker/disposition-notification\.eml$)")
_REQUIRED = re.compile(r"(^|/)(lhost|rfc3834|arf)-")  # the brief: none of these may ever look like feedback
_HUMAN = re.compile(
    r"^(talon/standard_replies/.*\.eml|talon/reply-quotations-share-block\.eml"
    r"|django-helpdesk/.*\.eml|sisimai-set-of-emails/maildir/not/is-not-bounce-.*)$"
)


@dataclass(frozen=True)
class Outcome:
    mail: ParsedMail | None
    verdict: Classification | None


def message_ids() -> Iterator[str]:
    for path in sorted(CORPUS.rglob("*")):
        relative = path.relative_to(CORPUS).as_posix()
        if path.is_file() and _is_mail_file(relative):
            yield relative
    for relative in _MBOXES:
        if (CORPUS / relative).is_file():
            yield from (f"{relative}#{index}" for index in range(len(_mbox_members(relative))))


def _is_mail_file(relative: str) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return (
        name not in _NOT_MAIL_NAMES
        and not relative.startswith(_NOT_MAIL_DIRS)
        and not name.endswith(_NOT_MAIL_ENDINGS)
        and relative not in _MBOXES
    )


@cache
def _mbox_members(relative: str) -> tuple[bytes, ...]:
    box = mailbox.mbox(CORPUS / relative, create=False)
    try:
        # mailbox_01.mbox has an unquoted "From " line in a body, which splits off an empty "message".
        return tuple(raw for raw in map(box.get_bytes, box.keys()) if raw.strip())
    finally:
        box.close()


def raw_bytes(message_id: str) -> bytes:
    relative, _, index = message_id.partition("#")
    return _mbox_members(relative)[int(index)] if index else (CORPUS / relative).read_bytes()


@cache
def chain() -> RuleChain:
    return load_chain(RULES)


@cache
def outcome(message_id: str) -> Outcome:
    try:
        mail = parse_mail(raw_bytes(message_id))
    except UnparseableMail:
        return Outcome(None, None)
    return Outcome(mail, classify(mail, chain()))


def machine_label(message_id: str) -> bool:
    relative = message_id.partition("#")[0]
    name = relative.rsplit("/", 1)[-1]
    if relative.startswith("sisimai-set-of-emails/mailbox/"):
        return True  # both mboxes hold bounces
    if relative.startswith("sisimai-set-of-emails/"):
        return bool(_SISIMAI_MACHINE.match(name))
    return bool(_DSN_ELSEWHERE.match(relative) or _OTHER_MACHINE.match(relative))


MESSAGES = tuple(message_ids())
# Without the corpus one placeholder stands in, so the test is reported as skipped (or failed), not left out.
_PARAMETERS = MESSAGES or (pytest.param("", id="corpus-missing"),)


@pytest.mark.parametrize("message_id", _PARAMETERS)
def test_message_parses_and_classifies(message_id: str) -> None:
    result = outcome(message_id)
    if result.mail is None:
        assert message_id in KNOWN_UNPARSEABLE, f"{message_id} raised UnparseableMail"
        return
    assert result.verdict is not None
    if machine_label(message_id):
        assert not result.verdict.is_new_feedback, f"machine mail taken for feedback: {result.verdict}"
        assert not result.verdict.may_auto_reply, f"machine mail would be answered: {result.verdict}"


def test_summary_rates() -> None:
    """Detection rates for the README; the thresholds are what was measured, less a little headroom."""
    counts = _rates()
    for line in _report(counts):
        print(line)
    assert counts["unparseable"] <= len(KNOWN_UNPARSEABLE)
    assert counts["machine_recognised"] / counts["machine_labelled"] >= 0.995
    assert counts["required_recognised"] == counts["required_labelled"]
    assert counts["rfc3834_auto_reply"] == counts["rfc3834_labelled"]
    assert counts["human_taken_for_machine"] == 0


def _rates() -> Counter[str]:
    counts: Counter[str] = Counter(messages=len(MESSAGES))
    for message_id in MESSAGES:
        verdict = outcome(message_id).verdict
        if verdict is None:
            counts["unparseable"] += 1
        elif machine_label(message_id):
            _count_machine(counts, message_id, verdict)
        elif _HUMAN.match(message_id):
            counts["human_labelled"] += 1
            counts["human_taken_for_machine"] += verdict.is_machine
    return counts


def _count_machine(counts: Counter[str], message_id: str, verdict: Classification) -> None:
    counts["machine_labelled"] += 1
    counts["machine_recognised"] += verdict.is_machine
    if _REQUIRED.search(message_id) or _DSN_ELSEWHERE.match(message_id):
        counts["required_labelled"] += 1
        counts["required_recognised"] += verdict.is_machine and not verdict.may_auto_reply
    if "/rfc3834-" in message_id:
        counts["rfc3834_labelled"] += 1
        counts["rfc3834_auto_reply"] += verdict.kind == "auto_reply"
    counts[f"kind:{verdict.kind}"] += 1


def _report(counts: Counter[str]) -> list[str]:
    kinds = ", ".join(f"{key[5:]} {n}" for key, n in sorted(counts.items()) if key.startswith("kind:"))
    return [
        f"messages: {counts['messages']} (unparseable: {counts['unparseable']})",
        f"machine mail recognised: {counts['machine_recognised']}/{counts['machine_labelled']} ({kinds})",
        f"lhost/rfc3834/arf/DSN never feedback, never answered: "
        f"{counts['required_recognised']}/{counts['required_labelled']}",
        f"RFC 3834 auto-replies called auto_reply: "
        f"{counts['rfc3834_auto_reply']}/{counts['rfc3834_labelled']}",
        f"human mail taken for a machine: {counts['human_taken_for_machine']}/{counts['human_labelled']}",
    ]


def test_folded_in_reply_to_of_cpython_msg_48() -> None:
    mail = outcome("cpython-test_email/msg_48.txt").mail
    assert mail is not None
    assert mail.in_reply_to == ("somelonglonglonglonglongunwrappablemessageidtoreplyto@mail.foo.bar",)


def test_bounce_exposes_the_returned_message() -> None:
    """The lead can match a bounce to the outbound mail it returns by the enclosed Message-ID."""
    mail = outcome("sisimai-set-of-emails/maildir/bsd/lhost-sendgrid-01.eml").mail
    assert mail is not None and mail.forwarded
    assert mail.forwarded[0].message_id == "F9B4AEED-722D-47FD-929E-3625AF2161BB@example.jp"
