"""Spam verdicts count only where our own receiving server wrote them (classify/spam.py)."""

from __future__ import annotations

from mailbot.classify import classify, load_chain
from mailbot.classify.rspamd import verdict_of
from mailbot.classify.spam import barracuda, dmarc, microsoft365, proofpoint, rspamd, spamassassin, verdicts
from mailbot.intake.parse import parse_mail
from tests.test_classify import RULES

OURS = frozenset({"mx.riverside.example"})
SA_OURS = [
    ("X-Spam-Checker-Version", "SpamAssassin 4.0.0 (2022-12-13) on mx.riverside.example"),
    ("X-Spam-Level", "***********"),
    ("X-Spam-Status", "Yes, score=11.2 required=5.0 tests=BAYES_99 version=4.0.0"),
]
SENDERS = [("From", "someone@example.net"), ("Subject", "Hello")]


def test_spamassassin_on_our_server_is_believed() -> None:
    verdict = spamassassin([*SA_OURS, *SENDERS], OURS)
    assert verdict is not None and verdict.spam
    assert verdict.source == "spamassassin on mx.riverside.example"


def test_spamassassin_on_another_server_counts_for_nothing() -> None:
    assert spamassassin([*SA_OURS, *SENDERS], frozenset({"mx.elsewhere.example"})) is None


def test_a_flag_the_sender_wrote_below_our_servers_block_is_not_read() -> None:
    ours = [SA_OURS[0], ("X-Spam-Status", "No, score=0.4 required=5.0 version=4.0.0")]
    forged = [*ours, *SENDERS, ("X-Spam-Flag", "YES"), ("X-Spam-Status", "Yes, score=99.0")]
    verdict = spamassassin(forged, OURS)
    assert verdict is not None and not verdict.spam


def test_a_checker_line_the_sender_wrote_with_no_stamp_of_ours_above_is_topmost_but_names_their_host() -> (
    None
):
    forged = [*SENDERS, ("X-Spam-Checker-Version", "SpamAssassin 4.0.0 on mx.attacker.example"),
              ("X-Spam-Flag", "YES")]  # fmt: skip
    assert spamassassin(forged, OURS) is None


def test_rspamd_on_our_server() -> None:
    headers = [("X-Spamd-Result", "default: True [16.40 / 15.00]; GTUBE(0.00)[]"),
               ("X-Rspamd-Server", "mx.riverside.example"), *SENDERS]  # fmt: skip
    verdict = rspamd(headers, OURS)
    assert verdict is not None and verdict.spam
    clean = [("X-Spamd-Result", "default: False [1.20 / 15.00]"), ("X-Rspamd-Server", "mx.riverside.example")]
    assert rspamd(clean, OURS).spam is False  # type: ignore[union-attr]


def test_microsoft_365_only_where_it_is_trusted() -> None:
    headers = [("X-MS-Exchange-Organization-SCL", "9"), ("X-Forefront-Antispam-Report", "SCL:9;SFV:SPM;"),
               *SENDERS]  # fmt: skip
    assert microsoft365(headers, OURS) is None
    verdict = microsoft365(headers, OURS | {"microsoft365"})
    assert verdict is not None and verdict.spam and verdict.detail == "SCL 9, SFV SPM"
    ham = [("X-MS-Exchange-Organization-SCL", "1"), ("X-Forefront-Antispam-Report", "SCL:1;SFV:NSPM;")]
    assert microsoft365(ham, frozenset({"microsoft365"})).spam is False  # type: ignore[union-attr]


def test_dmarc_fail_is_spam_only_under_a_reject_or_quarantine_policy() -> None:
    def stamp(result: str) -> list[tuple[str, str]]:
        return [("Authentication-Results", f"mx.riverside.example; spf=fail; {result} header.from=x.example")]

    assert dmarc(stamp("dmarc=fail (p=REJECT sp=REJECT dis=NONE)"), OURS).spam  # type: ignore[union-attr]
    assert dmarc(stamp("dmarc=fail (p=QUARANTINE)"), OURS).spam  # type: ignore[union-attr]
    assert dmarc(stamp("dmarc=fail action=oreject"), OURS).spam  # type: ignore[union-attr]
    assert dmarc(stamp("dmarc=fail (p=none)"), OURS).spam is False  # type: ignore[union-attr]
    assert dmarc(stamp("dmarc=pass"), OURS) is None
    # A stamp claiming to be ours below the real one (servers prepend) is never read.
    real, forged = stamp("dmarc=pass")[0], stamp("dmarc=fail (p=REJECT)")[0]
    assert dmarc([real, *SENDERS, forged], OURS) is None


def test_a_live_rspamd_answer() -> None:
    assert verdict_of({"action": "reject", "score": 16.4, "required_score": 15}).spam
    assert not verdict_of({"action": "no action", "score": 0.3, "required_score": 15}).spam
    assert not verdict_of({"action": "add header", "score": 6.2, "required_score": 15}).spam
    assert verdict_of({"action": "add header"}, ("reject", "add header")).spam


def test_the_chain_holds_spam_only_with_a_trusted_verdict() -> None:
    raw = (
        b"X-Spam-Checker-Version: SpamAssassin 4.0.0 (2022-12-13) on mx.riverside.example\n"
        b"X-Spam-Flag: YES\nFrom: a@example.net\nSubject: Offer\n\nBuy now.\n"
    )
    chain = load_chain(RULES)
    assert classify(parse_mail(raw), chain, trusted_servers=OURS).kind == "spam"
    assert classify(parse_mail(raw), chain).kind != "spam"
    assert [v.spam for v in verdicts(parse_mail(raw), OURS)] == [True]


def test_microsoft_365_fields_above_our_servers_stamp_were_written_on_our_side() -> None:
    # Exchange Online behind our own gateway: its verdict lies above the stamp mx.riverside.example wrote,
    # so it counts although "microsoft365" is not listed; the same fields a sender wrote below do not.
    ms_spam = [("X-MS-Exchange-Organization-SCL", "9"), ("X-Forefront-Antispam-Report", "SCL:9;SFV:SPM;")]
    stamp = [("Authentication-Results", "mx.riverside.example; spf=pass smtp.mailfrom=example.net")]
    received = [("Received", "from mail.example.net (mail.example.net [192.0.2.7]) by mx.riverside.example "
                             "with ESMTPS id 4Xyz; Mon, 30 Nov 2026 09:00:00 +0000")]  # fmt: skip
    for ours in (stamp, received):
        verdict = microsoft365([*ms_spam, *ours, *SENDERS], OURS)
        assert verdict is not None and verdict.spam and verdict.detail == "SCL 9, SFV SPM"
        assert microsoft365([*ours, *SENDERS, *ms_spam], OURS) is None
    elsewhere = [("Received", "from a.example by mx.elsewhere.example; Mon, 30 Nov 2026 09:00:00 +0000")]
    assert microsoft365([*ms_spam, *elsewhere, *SENDERS], OURS) is None


def test_amavis_spamassassin_fields_above_our_servers_stamp_count_and_a_senders_copy_below_does_not() -> None:
    # amavisd-new writes X-Spam-Flag/Score/Level/Status and no X-Spam-Checker-Version: where its block lies
    # above the stamp of our own receiving server it was written on our side; the same fields below were not.
    amavis = [("X-Virus-Scanned", "amavisd-new at riverside.example"), ("X-Spam-Flag", "YES"),
              ("X-Spam-Score", "12.3"), ("X-Spam-Level", "************"),
              ("X-Spam-Status", "Yes, score=12.3 required=6.31 tests=[BAYES_99=3.5]")]  # fmt: skip
    received = [("Received", "from mail.example.net (mail.example.net [192.0.2.7]) by mx.riverside.example "
                             "with ESMTPS id 4Xyz; Mon, 30 Nov 2026 09:00:00 +0000")]  # fmt: skip
    verdict = spamassassin([*amavis, *received, *SENDERS], OURS)
    assert verdict is not None and verdict.spam and verdict.source.startswith("spamassassin")
    assert spamassassin([*received, *SENDERS, *amavis], OURS) is None  # the sender's own copy
    assert spamassassin([*amavis, *SENDERS], OURS) is None  # no stamp of ours: nothing is ours
    ham = [("X-Spam-Flag", "NO"), ("X-Spam-Status", "No, score=0.2 required=6.31")]
    assert spamassassin([*ham, *received, *SENDERS], OURS).spam is False  # type: ignore[union-attr]


def test_rspamd_without_its_server_field_counts_only_above_our_servers_stamp() -> None:
    fields = [("X-Spamd-Result", "default: True [16.40 / 15.00]"), ("X-Rspamd-Action", "add header")]
    stamp = [("Authentication-Results", "mx.riverside.example; spf=fail smtp.mailfrom=example.net")]
    verdict = rspamd([*fields, *stamp, *SENDERS], OURS)
    assert verdict is not None and verdict.spam and verdict.source.startswith("rspamd")
    assert rspamd([*stamp, *SENDERS, *fields], OURS) is None


OUTSIDE = (
    "Received",
    "from mail.example.net (mail.example.net [192.0.2.7]) by mx.riverside.example (Postfix) "
    "with ESMTPS id 4Xyz; Mon, 30 Nov 2026 09:00:00 +0000",
)
AMAVIS_BACK = (
    "Received",
    "from localhost (localhost [127.0.0.1]) by mx.riverside.example (Postfix) with ESMTP "
    "id 4Xz0; Mon, 30 Nov 2026 09:00:02 +0000",
)
AMAVIS_IN = (
    "Received",
    "from mx.riverside.example ([127.0.0.1]) by localhost (mx.riverside.example "
    "[127.0.0.1]) (amavisd-new, port 10024) with ESMTP id q1; Mon, 30 Nov 2026 09:00:01 +0000",
)
AMAVIS_SPAM = [
    ("X-Virus-Scanned", "Debian amavisd-new at mx.riverside.example"),
    ("X-Spam-Flag", "YES"),
    ("X-Spam-Status", "Yes, score=11.8 tagged_above=-999 required=6.31 tests=[BAYES_99=3.5]"),
]


def test_a_verdict_between_our_servers_own_hops_counts() -> None:
    # amavisd-new behind Postfix: the filter's fields lie between Postfix's hop back from loopback (on top)
    # and the stamp where Postfix took the mail from outside; both hops are our server's own.
    verdict = spamassassin([AMAVIS_BACK, *AMAVIS_SPAM, AMAVIS_IN, OUTSIDE, *SENDERS], OURS)
    assert verdict is not None and verdict.spam
    # A hop that only names loopback in HELO, from a real outside address, is the outside stamp itself.
    helo = ("Received", "from localhost (unknown [203.0.113.5]) by mx.riverside.example (Postfix) id 1")
    assert spamassassin([helo, *SENDERS, *AMAVIS_SPAM], OURS) is None


def test_microsoft_365_in_front_of_our_gateway_counts_only_from_microsofts_network_and_inbound() -> None:
    eop = (
        "Received",
        "from EUR05-AM6-obe.outbound.protection.outlook.com (mail-am6eur05on2061.outbound."
        "protection.outlook.com [40.107.22.61]) by mx.riverside.example (Postfix) id 6T",
    )
    inbound = [
        ("X-MS-Exchange-Organization-SCL", "9"),
        ("X-Forefront-Antispam-Report", "SCL:9;SFV:SPM;DIR:INB;"),
    ]
    verdict = microsoft365([eop, *inbound, *SENDERS], OURS)
    assert verdict is not None and verdict.spam
    # The same fields under a stamp of mail taken straight from the sender's host are the sender's.
    assert microsoft365([OUTSIDE, *inbound, *SENDERS], OURS) is None
    # A sender's own tenant sending out through Microsoft: an outbound report counts for nothing.
    outbound = [("X-Forefront-Antispam-Report", "SCL:5;SFV:SPM;DIR:OUT;")]
    assert microsoft365([eop, *outbound, *SENDERS], OURS) is None
    # Only the run of Microsoft's fields right under the stamp: not a copy further down.
    assert microsoft365([eop, *SENDERS, *inbound], OURS) is None


def test_barracuda_and_proofpoint_behind_our_server_count_only_above_its_stamp() -> None:
    cuda = [
        ("X-Barracuda-Spam-Score", "7.62"),
        ("X-Barracuda-Spam-Flag", "YES"),
        ("X-Barracuda-Spam-Status", "Yes, SCORE=7.62 using global scores of TAG_LEVEL=3.5 tests=URI"),
    ]
    verdict = barracuda([*cuda, OUTSIDE, *SENDERS], OURS)
    assert verdict is not None and verdict.spam and verdict.detail == "Yes, SCORE=7.62"
    assert barracuda([OUTSIDE, *SENDERS, *cuda], OURS) is None
    clean = [("X-Barracuda-Spam-Status", "No, SCORE=0.00 using global scores of TAG_LEVEL=3.5 tests=")]
    assert barracuda([*clean, OUTSIDE], OURS).spam is False  # type: ignore[union-attr]
    pp = [("X-Proofpoint-Spam-Details", "rule=spam policy=default score=99 spamscore=99 phishscore=76")]
    verdict = proofpoint([*pp, OUTSIDE, *SENDERS], OURS)
    assert verdict is not None and verdict.spam and verdict.detail == "rule=spam"
    assert proofpoint([OUTSIDE, *SENDERS, *pp], OURS) is None
    ham = [("X-Proofpoint-Spam-Details", "rule=notspam policy=default score=0 spamscore=0")]
    assert proofpoint([*ham, OUTSIDE], OURS).spam is False  # type: ignore[union-attr]
