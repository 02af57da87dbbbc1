"""Spam verdicts, read only from what our own receiving server wrote into the header.

Anyone can write "X-Spam-Flag: YES" into a mail, so a verdict counts only where the server that received
the mail for us wrote it, under the same rule as staff/trust.py for Authentication-Results:

- SpamAssassin names the host it ran on ("X-Spam-Checker-Version: SpamAssassin 4.0.0 (…) on mx.example");
  rspamd writes "X-Rspamd-Server: mx.example". The topmost such field must name a trusted server, and the
  verdict is read from the run of that filter's own fields written around it (SpamAssassin writes its
  X-Spam-* fields as one block, and deletes any it finds first), never from a field further down: a sender's
  forged "X-Spam-Flag: YES" lies below our server's block, since servers prepend. Where the filter wrote no
  such field (amavisd-new runs SpamAssassin without a checker line; rspamd's milter can leave out its
  server), its fields count only above our own receiving server's stamp, as for Microsoft 365 below.
- Microsoft 365 (Exchange Online) removes X-MS-Exchange-Organization-* fields from mail arriving from outside
  and stamps X-Forefront-Antispam-Report above the sender's fields: the topmost of each is read when
  "microsoft365" is a trusted server (as for its Authentication-Results without an authserv-id). Otherwise
  only fields above our own receiving server's stamp (its Authentication-Results or Received) count: servers
  prepend, so whatever lies above that stamp was written on our side of it (Exchange Online behind our
  gateway), and a sender's own copy of the fields lies below.
- Microsoft 365 in front of our gateway: where our server's stamp says Microsoft's own network handed it the
  mail (the connecting address in Exchange Online's published ranges, which no sender can choose), the
  Microsoft fields directly beneath that stamp were written by Exchange Online on the way in (an inbound
  verdict, DIR:INB: a sender's own tenant writes DIR:OUT and strips its X-MS-Exchange-Organization-* fields).
- Gateways behind our receiving server (Barracuda, Proofpoint): their fields count only above its stamp.
- Our server's stamp is where it took the mail from outside: the hops a content filter makes back into the
  same server (amavisd-new's "from localhost ([127.0.0.1])") are ours, so a verdict between them counts.
- DMARC: the topmost Authentication-Results from a trusted server says dmarc=fail and the domain's published
  policy is reject or quarantine (the owner of the From domain asked for such mail to be refused).

Pure: no DNS, no I/O. A live rspamd's answer (spam/rspamd.py) arrives as a ``SpamVerdict`` too.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mailbot.classify.rules import MailContext, Param, Rule, register
from mailbot.intake.parse import ParsedMail
from mailbot.staff.trust import MICROSOFT_365, parse_authentication_results

SOURCES = ("spamassassin", "rspamd", "microsoft365", "barracuda", "proofpoint", "dmarc", "rspamd_live")
MS_SPAM_SCL = 5  # Microsoft: SCL 5-6 spam, 7-9 high-confidence spam; -1 bypassed, 0-1 not spam
_CHECKER_HOST = re.compile(r"\bon\s+([A-Za-z0-9.-]+)\s*$")
_SPAMD_RESULT = re.compile(r"^\s*default:\s*(true|false)\b", re.IGNORECASE)
_DMARC_FAIL = re.compile(r"\bdmarc\s*=\s*fail\b([^;]*)", re.IGNORECASE)
_DMARC_POLICY = re.compile(
    r"\b(?:p|policy\.dmarc|policy\.published-domain-policy)\s*=\s*(reject|quarantine)\b"
    r"|\baction\s*=\s*(reject|oreject|quarantine|pct\.quarantine)\b",
    re.IGNORECASE,
)
_SPAM_ACTIONS = frozenset({"reject", "add header", "add_header", "rewrite subject", "rewrite_subject"})
# Exchange Online Protection's sending ranges, as Microsoft publishes them ("Exchange Online Protection IP
# addresses"): mail our server took from one of these came through Microsoft's network.
MICROSOFT_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("40.92.0.0/15", "40.107.0.0/16", "52.100.0.0/14", "104.47.0.0/17", "2a01:111:f400::/48",
              "2a01:111:f403::/49")
)  # fmt: skip
_MICROSOFT_FIELDS = ("x-ms-exchange-organization-", "x-forefront-antispam-report", "x-microsoft-antispam")
_PROOFPOINT_SPAM = frozenset({"spam", "phish", "malware", "suspect"})


@dataclass(frozen=True)
class SpamVerdict:
    """What one filter said: which filter, on which server, spam or not, and the words that showed it."""

    source: str
    spam: bool
    detail: str


def verdicts(mail: ParsedMail, trusted: frozenset[str]) -> tuple[SpamVerdict, ...]:
    """Every verdict our trusted servers wrote into this mail (spam or not)."""
    trusted = frozenset(server.lower() for server in trusted)
    found = (
        spamassassin(mail.headers, trusted),
        rspamd(mail.headers, trusted),
        microsoft365(mail.headers, trusted),
        barracuda(mail.headers, trusted),
        proofpoint(mail.headers, trusted),
        dmarc(mail.headers, trusted),
    )
    return tuple(verdict for verdict in found if verdict is not None)


def spamassassin(headers: Sequence[tuple[str, str]], trusted: frozenset[str]) -> SpamVerdict | None:
    at = _first(headers, "x-spam-checker-version")
    host = _checker_host(headers[at][1]) if at is not None else None
    if at is not None and host in trusted:
        return _spamassassin(dict(_block(headers, at, ("x-spam-",))), f"spamassassin on {host}")
    # amavisd-new runs SpamAssassin and writes no checker line: its fields count where they lie above our own
    # receiving server's stamp, as Microsoft 365's do (written on our side of it; a sender's lie below).
    above = headers[: _our_stamp(headers, trusted)]
    at = _first_of(above, ("x-spam-flag", "x-spam-status"))
    if at is None:
        return None
    return _spamassassin(dict(_block(above, at, ("x-spam-",))), "spamassassin above our server's stamp")


def _spamassassin(block: Mapping[str, str], source: str) -> SpamVerdict:
    flag = block.get("x-spam-flag", "").strip().lower() == "yes"
    status = block.get("x-spam-status", "")
    spam = flag or status.strip().lower().startswith("yes")
    return SpamVerdict(source, spam, status.split(" tests=")[0].strip() or "X-Spam-Flag")


def rspamd(headers: Sequence[tuple[str, str]], trusted: frozenset[str]) -> SpamVerdict | None:
    at = _first(headers, "x-rspamd-server")
    host = headers[at][1].strip().lower() if at is not None else None
    if at is not None and host in trusted:
        return _rspamd(dict(_block(headers, at, ("x-spam", "x-rspamd-"))), f"rspamd on {host}")
    # rspamd's milter can be set to leave out X-Rspamd-Server: then, as above, only above our stamp.
    above = headers[: _our_stamp(headers, trusted)]
    at = _first_of(above, ("x-spamd-result", "x-rspamd-action"))
    if at is None:
        return None
    return _rspamd(dict(_block(above, at, ("x-spam", "x-rspamd-"))), "rspamd above our server's stamp")


def _rspamd(block: Mapping[str, str], source: str) -> SpamVerdict:
    result = _SPAMD_RESULT.match(block.get("x-spamd-result", ""))
    action = block.get("x-rspamd-action", "").strip().lower()
    spam = any((
        bool(result) and result.group(1).lower() == "true",
        action in _SPAM_ACTIONS,
        block.get("x-spam", "").strip().lower() == "yes",
        block.get("x-spam-status", "").strip().lower().startswith("yes"),
    ))  # fmt: skip
    detail = block.get("x-spamd-result", action or "X-Spam").split(";")[0].strip()
    return SpamVerdict(source, spam, detail)


def microsoft365(headers: Sequence[tuple[str, str]], trusted: frozenset[str]) -> SpamVerdict | None:
    if MICROSOFT_365 not in trusted:
        headers = [*headers[: _our_stamp(headers, trusted)], *_microsoft_in_front(headers, trusted)]
    scl = _topmost(headers, "x-ms-exchange-organization-scl")
    report = _forefront(_topmost(headers, "x-forefront-antispam-report") or "")
    if scl is None and not report:
        return None
    levels = [_int(scl), _int(report.get("SCL"))]
    spam = report.get("SFV") == "SPM" or any(level is not None and level >= MS_SPAM_SCL for level in levels)
    shown = f"SCL {scl if scl is not None else report.get('SCL', '?')}" + (
        f", SFV {report['SFV']}" if "SFV" in report else ""
    )
    return SpamVerdict("microsoft365", spam, shown.strip())


def _microsoft_in_front(headers: Sequence[tuple[str, str]], trusted: frozenset[str]) -> list[tuple[str, str]]:
    """Microsoft's fields directly beneath our server's stamp, where that stamp took the mail from Microsoft's
    network and the verdict is for mail coming in (see the module's docstring); otherwise none."""
    at = _our_stamp(headers, trusted)
    if at >= len(headers) or headers[at][0].lower() != "received" or not _from_microsoft(headers[at][1]):
        return []
    run = list(itertools.takewhile(lambda f: f[0].lower().startswith(_MICROSOFT_FIELDS), headers[at + 1 :]))
    report = _forefront(_topmost(run, "x-forefront-antispam-report") or "DIR:INB")
    return run if report.get("DIR") == "INB" else []


def _from_microsoft(received: str) -> bool:
    found = _RECEIVED_ADDRESS.search(received.split(" by ", 1)[0])
    try:
        address = ipaddress.ip_address(found.group(1)) if found else None
    except ValueError:
        return False
    return address is not None and any(address in network for network in MICROSOFT_NETWORKS)


def barracuda(headers: Sequence[tuple[str, str]], trusted: frozenset[str]) -> SpamVerdict | None:
    """A Barracuda gateway behind our receiving server: its fields above our server's stamp."""
    above = headers[: _our_stamp(headers, trusted)]
    flag, status = _topmost(above, "x-barracuda-spam-flag"), _topmost(above, "x-barracuda-spam-status")
    if flag is None and status is None:
        return None
    spam = (flag or "").strip().lower() == "yes" or (status or "").strip().lower().startswith("yes")
    return SpamVerdict(
        "barracuda", spam, (status or "").split(" using ")[0].strip() or "X-Barracuda-Spam-Flag"
    )


def proofpoint(headers: Sequence[tuple[str, str]], trusted: frozenset[str]) -> SpamVerdict | None:
    """A Proofpoint gateway behind our receiving server: the rule its X-Proofpoint-Spam-Details names."""
    details = _topmost(headers[: _our_stamp(headers, trusted)], "x-proofpoint-spam-details")
    if details is None:
        return None
    rule = re.search(r"\brule=([\w-]+)", details)
    name = rule.group(1).lower() if rule else "none"
    return SpamVerdict("proofpoint", name in _PROOFPOINT_SPAM, f"rule={name}")


def dmarc(headers: Sequence[tuple[str, str]], trusted: frozenset[str]) -> SpamVerdict | None:
    """dmarc=fail where the From domain's owner published reject or quarantine; a fail under p=none is not
    spam (the domain asked for nothing to be done), and neither is a pass."""
    value = _topmost_trusted_stamp(headers, trusted)
    if value is None:
        return None
    failed = _DMARC_FAIL.search(value)
    if failed is None:
        return None
    policy = _DMARC_POLICY.search(failed.group(1))
    if policy is None:
        return SpamVerdict("dmarc", False, "dmarc=fail, no reject or quarantine policy")
    return SpamVerdict("dmarc", True, f"dmarc=fail, policy {(policy.group(1) or policy.group(2)).lower()}")


# --- reading the header ---------------------------------------------------------------------------------


def _first(headers: Sequence[tuple[str, str]], name: str) -> int | None:
    return next((i for i, (key, _value) in enumerate(headers) if key.lower() == name), None)


def _first_of(headers: Sequence[tuple[str, str]], names: tuple[str, ...]) -> int | None:
    return next((i for i, (key, _value) in enumerate(headers) if key.lower() in names), None)


def _topmost(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    at = _first(headers, name)
    return headers[at][1] if at is not None else None


def _block(
    headers: Sequence[tuple[str, str]], at: int, prefixes: tuple[str, ...]
) -> Iterator[tuple[str, str]]:
    """The fields of one filter written together around ``at``: the unbroken run whose names share its
    prefixes. The first of a name wins (the topmost)."""

    def ours(index: int) -> bool:
        return headers[index][0].lower().startswith(prefixes)

    start, end = at, at
    while start > 0 and ours(start - 1):
        start -= 1
    while end + 1 < len(headers) and ours(end + 1):
        end += 1
    for key, value in reversed(headers[start : end + 1]):  # reversed, so dict() keeps the topmost
        yield key.lower(), value


def _checker_host(value: str) -> str | None:
    found = _CHECKER_HOST.search(value.strip())
    return found.group(1).lower().rstrip(".") if found else None


def _forefront(value: str) -> dict[str, str]:
    """ "CIP:1.2.3.4;SCL:9;SFV:SPM;…" -> {"CIP": "1.2.3.4", "SCL": "9", "SFV": "SPM"}."""
    pairs = (part.split(":", 1) for part in value.split(";") if ":" in part)
    return {key.strip().upper(): item.strip().upper() for key, item in pairs}


def _int(value: str | None) -> int | None:
    try:
        return int(value.strip()) if value is not None else None
    except ValueError:
        return None


def _topmost_trusted_stamp(headers: Sequence[tuple[str, str]], trusted: frozenset[str]) -> str | None:
    """The raw value of the first Authentication-Results, from the top, that a trusted server wrote (the
    policy is in a comment, which the parsed form leaves out)."""
    for key, value in headers:
        if key.lower() != "authentication-results":
            continue
        writer = parse_authentication_results(value).authserv_id or MICROSOFT_365
        if writer in trusted:
            return value
    return None


def _our_stamp(headers: Sequence[tuple[str, str]], trusted: frozenset[str]) -> int:
    """Where the topmost stamp our own receiving server wrote as it took the mail from outside lies (0 when
    there is none): an Authentication-Results naming it, or a Received saying it took the mail ("by
    mx.example") from anywhere but itself (a content filter's hop back from loopback is ours)."""
    if not trusted:
        return 0  # no stamp names one of no servers
    return _our_stamp_in(tuple(headers), frozenset(trusted))


@functools.lru_cache(maxsize=2)  # each filter's verdict asks it of the same mail's headers
def _our_stamp_in(headers: tuple[tuple[str, str], ...], trusted: frozenset[str]) -> int:
    for index, (key, value) in enumerate(headers):
        name = key.lower()
        if name == "authentication-results" and parse_authentication_results(value).authserv_id in trusted:
            return index
        by = _RECEIVED_BY.search(value) if name == "received" else None
        if by is not None and by.group(1).lower() in trusted and not _internal_hop(value):
            return index
    return 0


def _internal_hop(received: str) -> bool:
    """Our server handing the mail to itself: the connecting address it recorded is its own loopback (an
    address the server writes, unlike the name a sender gives in HELO)."""
    found = _RECEIVED_ADDRESS.search(received.split(" by ", 1)[0])
    if found is None:
        return False
    try:
        return ipaddress.ip_address(found.group(1)).is_loopback
    except ValueError:
        return False


_RECEIVED_BY = re.compile(r"\bby\s+([A-Za-z0-9.-]+?)\.?(?=[\s;(]|$)", re.IGNORECASE)
# The connecting address a Received records: "[192.0.2.7]", "(192.0.2.7)", "[IPv6:2001:db8::1]".
_RECEIVED_ADDRESS = re.compile(r"[\[(](?:IPv6:)?([0-9a-fA-F:.]*[0-9a-fA-F])[\])]")


# --- the rule classify.toml names --------------------------------------------------------------------


@register
class SpamVerdictRule(Rule):
    """A trusted receiving server (or the local rspamd) says the mail is spam."""

    type_name = "spam_verdict"
    parameters: Mapping[str, Param] = {
        "sources": Param(list, help=f"which verdicts count (default all): {', '.join(SOURCES)}"),
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        sources = tuple(params.get("sources", SOURCES))
        if unknown := set(sources) - set(SOURCES):
            raise ValueError(f"'sources' has {sorted(unknown)}; accepted: {', '.join(SOURCES)}")
        self.sources = sources

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        return any(v.spam and _source_key(v) in self.sources for v in context.spam_verdicts)


def _source_key(verdict: SpamVerdict) -> str:
    return verdict.source.split(" ", 1)[0]
