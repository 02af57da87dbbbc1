"""Does our receiving server vouch for the From line?

Messages laid out as Google Workspace, Exchange Online and Postfix with OpenDKIM/OpenDMARC really write them,
parsed by parse_mail, and the forgeries a sender could try."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mailbot.config.staff import StaffDirectory, load_staff
from mailbot.intake.parse import ParsedMail, parse_mail
from mailbot.staff.trust import (
    domains_aligned,
    is_trusted_staff,
    parse_authentication_results,
    sender_is_vouched,
)

SISIMAI = Path("sisimai-set-of-emails") / "maildir"
OURS = frozenset({"mx.riverside.example"})
GOOGLE = frozenset({"mx.google.com"})
MICROSOFT = frozenset({"microsoft365"})

# --- how the three kinds of receiving server lay a message out ------------------------------------------

_SENDERS_MESSAGE = """\
From: {from_}
To: complaints@riverside.example
Subject: Re: [CMP-2026-0042] Missed care visits
Date: Tue, 10 Mar 2026 09:14:02 +0000
Message-ID: <CAJx8fQ2w1@mail.riverside.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

#assign Tom
"""
PRIYA = "Priya Shah <priya.shah@riverside.example>"


def _bytes(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def google(stamp: str, forged: str = "", from_: str = PRIYA) -> bytes:
    """Google Workspace: its own hops' Received lines, ARC, then its stamp *below* the Received of its MX."""
    return _bytes(
        """\
Delivered-To: complaints@riverside.example
Received: by 2002:a05:7300:8a8e:b0:14c:a7c1:2f1 with SMTP id cq14csp2235915dyb;
        Tue, 10 Mar 2026 02:14:05 -0700 (PDT)
X-Received: by 2002:a17:907:7e9a:b0:a8a:8c4f:5b1 with SMTP id qb26mr1183366ejc.11.1741597445129;
        Tue, 10 Mar 2026 02:14:05 -0700 (PDT)
ARC-Authentication-Results: i=1; mx.google.com;
       dkim=pass header.i=@riverside.example header.s=google header.b=Kq3v9x2Z;
       dmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=riverside.example
Return-Path: <priya.shah@riverside.example>
Received: from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])
        by mx.google.com with SMTPS id a640c23a62f3a-a8a8c5b5b1bsor1180736166b.4.2026.03.10.02.14.04
        for <complaints@riverside.example>
        (Google Transport Security);
        Tue, 10 Mar 2026 02:14:05 -0700 (PDT)
Received-SPF: pass (google.com: domain of priya.shah@riverside.example designates 209.85.220.41 as
 permitted sender) client-ip=209.85.220.41;
"""
        + stamp
        + forged
        + """\
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;
        d=riverside.example; s=google; t=1741597444;
        h=to:subject:message-id:date:from:mime-version;
        bh=frcCV1k9oG9oKj3dpUqdJg1PxRT2RG+jWHRtcpkh7uU=;
        b=Kq3v9x2ZpQm1
"""
        + _SENDERS_MESSAGE.format(from_=from_)
    )


GOOGLE_PASS = """\
Authentication-Results: mx.google.com;
       dkim=pass header.i=@riverside.example header.s=google header.b=Kq3v9x2Z;
       spf=pass (google.com: domain of priya.shah@riverside.example designates 209.85.220.41 as permitted
 sender) smtp.mailfrom=priya.shah@riverside.example;
       dmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=riverside.example
"""


def microsoft(stamp: str, forged: str = "", from_: str = PRIYA) -> bytes:
    """Exchange Online: internal hops above; its stamp (no authserv-id) above the Received from outside."""
    return _bytes(
        """\
Received: from CWLP123MB5432.GBRP123.PROD.OUTLOOK.COM (2603:10a6:400:1a2::9) by
 LO2P123MB6789.GBRP123.PROD.OUTLOOK.COM with HTTPS; Tue, 10 Mar 2026 09:14:06 +0000
Received: from AM4PEPF00027A5F.eurprd04.prod.outlook.com (2603:10a6:20b:3c1::7)
 by CWLP123MB5432.GBRP123.PROD.OUTLOOK.COM (2603:10a6:400:1a2::9) with Microsoft
 SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id
 15.20.7918.28; Tue, 10 Mar 2026 09:14:05 +0000
"""
        + stamp
        + """\
Received-SPF: Pass (protection.outlook.com: domain of riverside.example
 designates 203.0.113.5 as permitted sender) receiver=protection.outlook.com;
 client-ip=203.0.113.5; helo=mail.riverside.example; pr=C
Received: from mail.riverside.example (203.0.113.5) by
 AM4PEPF00027A5F.mail.protection.outlook.com (10.167.16.71) with Microsoft SMTP
 Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.7918.13 via
 Frontend Transport; Tue, 10 Mar 2026 09:14:05 +0000
X-MS-Exchange-Organization-ExpirationStartTime: 10 Mar 2026 09:14:05.6712 (UTC)
"""
        + forged
        + _SENDERS_MESSAGE.format(from_=from_)
    )


MICROSOFT_PASS = """\
Authentication-Results: spf=pass (sender IP is 203.0.113.5)
 smtp.mailfrom=riverside.example; dkim=pass (signature was verified)
 header.d=riverside.example;dmarc=pass action=none
 header.from=riverside.example;compauth=pass reason=100
"""


def postfix(stamp: str, forged: str = "", from_: str = PRIYA) -> bytes:
    """Postfix with OpenDKIM/OpenDMARC milters: the milters' fields go just below Postfix's own Received."""
    return _bytes(
        """\
Return-Path: <priya.shah@riverside.example>
Delivered-To: complaints@riverside.example
Received: from mx.riverside.example
	by imap.riverside.example with LMTP
	id 8HkQKb1n7WVyBwAA0J78UA
	(envelope-from <priya.shah@riverside.example>)
	for <complaints@riverside.example>; Tue, 10 Mar 2026 09:14:06 +0000
Received: from mail-out.riverside.example (mail-out.riverside.example [203.0.113.5])
	by mx.riverside.example (Postfix) with ESMTPS id 4Tv9Xk0QZqz9sRq
	for <complaints@riverside.example>; Tue, 10 Mar 2026 09:14:05 +0000 (GMT)
"""
        + stamp
        + """\
DKIM-Filter: OpenDKIM Filter v2.11.0 mx.riverside.example 4Tv9Xk0QZqz9sRq
"""
        + forged
        + """\
Received: from [192.168.1.23] (unknown [198.51.100.77])
	by mail-out.riverside.example (Postfix) with ESMTPSA id 4Tv9Xj6Wbvz1x
	for <complaints@riverside.example>; Tue, 10 Mar 2026 09:14:03 +0000 (GMT)
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=riverside.example; s=mail;
	t=1741597443; bh=frcCV1k9oG9oKj3dpUqdJg1PxRT2RG+jWHRtcpkh7uU=; h=From:To:Subject:Date;
	b=AbCdEf12GhIj
"""
        + _SENDERS_MESSAGE.format(from_=from_)
    )


OPENDMARC_PASS = """\
Authentication-Results: mx.riverside.example; dmarc=pass (p=quarantine dis=none) header.from=riverside.example
"""
OPENDKIM_PASS = """\
Authentication-Results: mx.riverside.example;
	dkim=pass (2048-bit key; unprotected) header.d=riverside.example header.i=@riverside.example
	header.a=rsa-sha256 header.s=mail header.b=AbCdEf12;
	dkim-atps=neutral
"""


def verdict_for(raw: bytes, trusted: frozenset[str]) -> tuple[bool, str | None, str]:
    verdict = sender_is_vouched(parse_mail(raw), trusted)
    return verdict.vouched, verdict.method, verdict.reason


# --- vouched for --------------------------------------------------------------------------------------


def test_google_workspace_dmarc_pass() -> None:
    vouched, method, reason = verdict_for(google(GOOGLE_PASS), GOOGLE)
    assert (vouched, method) == (True, "dmarc")
    assert reason == "dmarc=pass for riverside.example by mx.google.com"


def test_exchange_online_dmarc_pass_without_authserv_id() -> None:
    vouched, method, reason = verdict_for(microsoft(MICROSOFT_PASS), MICROSOFT)
    assert (vouched, method) == (True, "dmarc")
    assert reason == "dmarc=pass for riverside.example by Microsoft 365 (no authserv-id)"


def test_exchange_online_older_form_with_stray_domains() -> None:
    # Before 2020 Exchange Online wrote the recipient's domain as a bare word after some results.
    stamp = """\
Authentication-Results: spf=pass (sender IP is 203.0.113.5)
 smtp.mailfrom=riverside.example; riverside.example; dkim=pass (signature was verified)
 header.d=riverside.example;riverside.example; dmarc=pass action=none
 header.from=riverside.example;
"""
    assert verdict_for(microsoft(stamp), MICROSOFT)[:2] == (True, "dmarc")


def test_exchange_online_stamp_is_not_trusted_unless_configured() -> None:
    vouched, _, reason = verdict_for(microsoft(MICROSOFT_PASS), OURS)
    assert not vouched
    assert reason == "no Authentication-Results from a trusted server (trusted: mx.riverside.example)"


def test_opendmarc_pass() -> None:
    assert verdict_for(postfix(OPENDMARC_PASS + OPENDKIM_PASS), OURS)[:2] == (True, "dmarc")


def test_dkim_aligned_pass() -> None:
    vouched, method, reason = verdict_for(postfix(OPENDKIM_PASS), OURS)
    assert (vouched, method) == (True, "dkim")
    assert reason == (
        "dkim=pass for riverside.example by mx.riverside.example, "
        "aligned with the From domain riverside.example"
    )


def test_dkim_pass_for_a_subdomain_is_aligned() -> None:
    stamp = "Authentication-Results: mx.riverside.example; dkim=pass header.d=mail.riverside.example\n"
    assert verdict_for(postfix(stamp), OURS)[:2] == (True, "dkim")


def test_dkim_identity_alone_is_enough() -> None:
    stamp = "Authentication-Results: mx.riverside.example; dkim=pass header.i=priya.shah@riverside.example\n"
    assert verdict_for(postfix(stamp), OURS)[:2] == (True, "dkim")


def test_spf_aligned_pass() -> None:
    stamp = (
        "Authentication-Results: mx.riverside.example;\n"
        "\tspf=pass (mx.riverside.example: domain of bounces.riverside.example designates 203.0.113.5 as\n"
        "\tpermitted sender) smtp.mailfrom=bounces.riverside.example\n"
    )
    vouched, method, reason = verdict_for(postfix(stamp), OURS)
    assert (vouched, method) == (True, "spf")
    assert "spf=pass for bounces.riverside.example" in reason


def test_no_dmarc_policy_falls_back_to_aligned_dkim() -> None:
    # dmarc=none: the domain publishes no DMARC record, so the server decided nothing; DKIM still proves it.
    stamp = (
        "Authentication-Results: mx.google.com; dkim=pass header.i=@riverside.example header.s=google;\n"
        "       dmarc=none header.from=riverside.example\n"
    )
    assert verdict_for(google(stamp), GOOGLE)[:2] == (True, "dkim")


def test_an_untrusted_filter_above_ours_is_skipped() -> None:
    # A filter inside the organisation wrote its own field after our MX; ours is still the one read.
    above = "Authentication-Results: spamfilter.internal; dkim=fail header.d=riverside.example\n"
    raw = postfix(OPENDMARC_PASS).replace(b"Return-Path:", _bytes(above) + b"Return-Path:")
    assert verdict_for(raw, OURS)[:2] == (True, "dmarc")


def test_names_are_compared_without_regard_to_case() -> None:
    stamp = "Authentication-Results: MX.Riverside.Example; DMARC=Pass header.from=Riverside.Example\n"
    assert verdict_for(postfix(stamp, from_="P Shah <P.Shah@RIVERSIDE.example>"), OURS)[:2] == (True, "dmarc")


# --- not vouched for ----------------------------------------------------------------------------------


def test_forged_from_with_no_stamp() -> None:
    raw = _bytes(
        "Received: from evil.example (evil.example [192.0.2.66])\n\tby mx.riverside.example (Postfix)\n"
        + _SENDERS_MESSAGE.format(from_=PRIYA)
    )
    vouched, method, reason = verdict_for(raw, OURS)
    assert (vouched, method) == (False, None)
    assert reason.startswith("no Authentication-Results from a trusted server")


def test_stamp_from_an_untrusted_server() -> None:
    stamp = "Authentication-Results: mail.evil.example; dmarc=pass header.from=riverside.example\n"
    assert not verdict_for(postfix(stamp), OURS)[0]


def test_dmarc_fail() -> None:
    stamp = (
        "Authentication-Results: mx.riverside.example; dmarc=fail (p=quarantine dis=quarantine)"
        " header.from=riverside.example\n"
    )
    vouched, _, reason = verdict_for(postfix(stamp), OURS)
    assert not vouched
    assert reason == "dmarc=fail for riverside.example by mx.riverside.example"


def test_dmarc_fail_decides_over_a_dkim_pass_in_the_same_field() -> None:
    stamp = (
        "Authentication-Results: mx.riverside.example; dkim=pass header.d=riverside.example;\n"
        "\tdmarc=fail header.from=riverside.example\n"
    )
    assert not verdict_for(postfix(stamp), OURS)[0]


def test_dkim_pass_for_another_domain() -> None:
    stamp = (
        "Authentication-Results: mx.google.com;\n"
        "       dkim=pass header.i=@evil.example header.s=s1 header.b=ZZZZ;\n"
        "       spf=pass (google.com: domain of x@evil.example designates 192.0.2.66 as permitted sender)"
        " smtp.mailfrom=x@evil.example;\n"
        "       dmarc=none header.from=riverside.example\n"
    )
    vouched, _, reason = verdict_for(google(stamp), GOOGLE)
    assert not vouched
    assert reason == (
        "no pass aligned with riverside.example from mx.google.com "
        "(dkim=pass for evil.example; spf=pass for evil.example; dmarc=none for riverside.example)"
    )


def test_dmarc_pass_for_another_from_domain() -> None:
    stamp = "Authentication-Results: mx.riverside.example; dmarc=pass header.from=evil.example\n"
    assert not verdict_for(postfix(stamp), OURS)[0]


def test_a_neighbouring_public_suffix_domain_is_not_aligned() -> None:
    # With "last two labels" another.org.uk would align with riverside.org.uk; the Public Suffix List knows.
    stamp = "Authentication-Results: mx.riverside.example; dkim=pass header.d=another.org.uk\n"
    from_ = "Priya Shah <priya.shah@riverside.org.uk>"
    assert not verdict_for(postfix(stamp, from_=from_), OURS)[0]
    stamp = "Authentication-Results: mx.riverside.example; dkim=pass header.d=mail.riverside.org.uk\n"
    assert verdict_for(postfix(stamp, from_=from_), OURS)[0]


def test_forged_stamp_below_our_own_is_never_read() -> None:
    # The sender wrote a "pass" under our authserv-id; our MX's real stamp, above it, says fail.
    real = "Authentication-Results: mx.riverside.example; dmarc=fail header.from=riverside.example\n"
    forged = "Authentication-Results: mx.riverside.example; dmarc=pass header.from=riverside.example\n"
    vouched, _, reason = verdict_for(postfix(real, forged=forged), OURS)
    assert not vouched
    assert reason == "dmarc=fail for riverside.example by mx.riverside.example"


def test_forged_stamp_directly_beneath_googles_is_never_read() -> None:
    # In Google's layout the sender's first header sits right under the real stamp: only the topmost counts.
    real = (
        "Authentication-Results: mx.google.com;\n"
        "       spf=softfail (google.com: domain of transitioning priya.shah@riverside.example does not\n"
        " designate 192.0.2.66 as permitted sender) smtp.mailfrom=priya.shah@riverside.example;\n"
        "       dmarc=none header.from=riverside.example\n"
    )
    forged = "Authentication-Results: mx.google.com; dkim=pass header.d=riverside.example\n"
    vouched, _, reason = verdict_for(google(real, forged=forged), GOOGLE)
    assert not vouched
    assert "spf=softfail for riverside.example" in reason


def test_forged_stamp_beneath_exchange_onlines_is_never_read() -> None:
    real = """\
Authentication-Results: spf=fail (sender IP is 192.0.2.66)
 smtp.mailfrom=riverside.example; dkim=none (message not signed)
 header.d=none;dmarc=fail action=quarantine
 header.from=riverside.example;compauth=fail reason=000
"""
    assert not verdict_for(microsoft(real, forged=MICROSOFT_PASS), MICROSOFT)[0]


def test_two_from_addresses_are_never_vouched_for() -> None:
    from_ = "Priya Shah <priya.shah@riverside.example>, Mallory <mallory@evil.example>"
    vouched, _, reason = verdict_for(google(GOOGLE_PASS, from_=from_), GOOGLE)
    assert not vouched
    assert reason == "the mail names 2 From addresses; only one can be vouched for"


def test_an_encoded_name_with_a_comma_is_still_one_address() -> None:
    from_ = "=?utf-8?Q?Shah=2C_Priy=C3=A4?= <priya.shah@riverside.example>"
    assert verdict_for(google(GOOGLE_PASS, from_=from_), GOOGLE)[:2] == (True, "dmarc")


def test_exchange_online_best_guess_is_not_a_pass() -> None:
    stamp = """\
Authentication-Results: spf=none (sender IP is 192.0.2.66)
 smtp.mailfrom=riverside.example; dkim=none (message not signed)
 header.d=none;dmarc=bestguesspass action=none
 header.from=riverside.example;compauth=pass reason=109
"""
    assert not verdict_for(microsoft(stamp), MICROSOFT)[0]


# --- who is trusted staff -----------------------------------------------------------------------------


@pytest.fixture
def directory() -> StaffDirectory:
    table = {
        "domains": ["riverside.example"],
        "trusted_authserv_ids": ["mx.google.com"],
        "person": [
            {"name": "Priya Shah", "addresses": ["priya.shah@riverside.example"], "roles": ["coordinator"]}
        ],
    }
    return load_staff(table, Path("config.toml"))


def test_staff_member_vouched_for(directory: StaffDirectory) -> None:
    person, verdict = is_trusted_staff(parse_mail(google(GOOGLE_PASS)), directory)
    assert person is not None and person.name == "Priya Shah"
    assert verdict.vouched


def test_staff_address_not_vouched_for(directory: StaffDirectory) -> None:
    person, verdict = is_trusted_staff(parse_mail(postfix(OPENDMARC_PASS)), directory)
    assert person is None
    assert not verdict.vouched


def test_vouched_sender_who_is_not_staff(directory: StaffDirectory) -> None:
    raw = google(GOOGLE_PASS, from_="Someone <someone.else@riverside.example>")
    person, verdict = is_trusted_staff(parse_mail(raw), directory)
    assert person is None
    assert verdict.vouched  # authentic, but not in the directory: the caller treats them as the public


# --- reading RFC 8601 ---------------------------------------------------------------------------------


def test_comments_and_quoted_strings() -> None:
    parsed = parse_authentication_results(
        'mx.riverside.example 1; dkim=pass (good; really = (nested) \\) yes) reason="signed; ok"'
        ' header.d="riverside.example" header.b=Ab+/; spf=pass smtp.mailfrom="priya shah"@riverside.example'
    )
    assert parsed.authserv_id == "mx.riverside.example"
    dkim, spf = parsed.results
    assert (dkim.method, dkim.result, dkim.reason) == ("dkim", "pass", "signed; ok")
    assert dkim.properties == (("header.d", "riverside.example"), ("header.b", "Ab+/"))
    assert spf.get("smtp.mailfrom") == "priya shah@riverside.example"


def test_none_and_missing_semicolons() -> None:
    assert parse_authentication_results("mx.riverside.example; none").results == ()
    # OpenDKIM has been seen writing two results with no ";" between them.
    parsed = parse_authentication_results(
        "mx.riverside.example;\tdkim=pass header.d=a.example\tdkim=fail header.d=riverside.example"
    )
    assert [(r.result, r.get("header.d")) for r in parsed.results] == [
        ("pass", "a.example"),
        ("fail", "riverside.example"),
    ]


def test_garbage_never_raises() -> None:
    for value in ("", ";;;", "((((", '"open', "=pass", "dkim=", "x; =; ==; dkim=pass (", "mx; spf=pass ; ;"):
        parse_authentication_results(value)


def test_alignment() -> None:
    assert domains_aligned("riverside.example", "RIVERSIDE.example")
    assert domains_aligned("mail.riverside.example", "riverside.example")
    assert domains_aligned("a.riverside.example", "b.riverside.example")
    assert not domains_aligned("riverside.example.evil.example", "riverside.example")
    assert not domains_aligned("another.nhs.uk", "riverside.nhs.uk")
    assert domains_aligned("xn--bcher-kva.example", "bücher.example")


# --- real messages from the shared corpus ---------------------------------------------------------------


@pytest.fixture
def corpus_mail(corpus_dir: Path) -> Callable[[str], ParsedMail]:
    """A message of the sisimai set; the corpus fixture skips, or fails in CI, where the corpus is absent."""
    return lambda name: parse_mail((corpus_dir / SISIMAI / name).read_bytes())


def test_real_google_workspace_message(corpus_mail: Callable[[str], ParsedMail]) -> None:
    mail = corpus_mail("dos/lhost-googleworkspace-01.eml")
    verdict = sender_is_vouched(mail, GOOGLE)
    assert (verdict.vouched, verdict.method) == (True, "dmarc")
    assert verdict.reason == "dmarc=pass for googlemail.com by mx.google.com"


def test_real_exchange_online_message(corpus_mail: Callable[[str], ParsedMail]) -> None:
    mail = corpus_mail("bsd/lhost-office365-06.eml")
    assert sender_is_vouched(mail, MICROSOFT).vouched
    assert not sender_is_vouched(mail, GOOGLE).vouched


def test_real_postfix_opendkim_message(corpus_mail: Callable[[str], ParsedMail]) -> None:
    # The stamp is on the original message, enclosed in a bounce; below Postfix's own Received line.
    enclosed = corpus_mail("bsd/lhost-postfix-78.eml").forwarded[0]
    verdict = sender_is_vouched(enclosed, frozenset({"xp1.example.co.jp"}))
    assert (verdict.vouched, verdict.method) == (True, "dkim")
