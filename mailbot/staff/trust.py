"""Does our receiving server vouch for a mail's From line? Read from its Authentication-Results (RFC 8601).

A mail counts as staff only when its From address is in the staff directory AND the server that received it
for us says that address is authentic: dmarc=pass for the From domain, or a DKIM or SPF pass for a domain
aligned with it. Pure: no DNS, no I/O; the receiving server has already done the checking.

Which header is read (the trust rule)
-------------------------------------
Only the single topmost Authentication-Results field written by a trusted server (its authserv-id is in
`trusted_authserv_ids`) is read; every field below it is ignored, even one with the same authserv-id.

- Servers prepend: the stamp our receiving server writes lies above every line of the message as the sender
  sent it, so a forged "Authentication-Results: mx.riverside.example; dmarc=pass" in the sender's own
  headers is always below the real one and is never read. Fields written above it come from our own
  downstream hops (a filter, a mailbox server), so skipping untrusted ones there is safe.
- Not "above the first Received:": Google Workspace, Exchange Online and Postfix with OpenDKIM all write
  their stamp just *below* the Received line of their own hop (see sisimai's lhost-googleworkspace-01,
  lhost-office365-06 and lhost-postfix-78 in shared/corpus), so that rule would refuse every genuine mail.
- One field, not the contiguous run: in Google's layout the sender's first header sits directly under the
  real stamp, so "the run of fields at the top" would take in a forged field placed there.

What this relies on: the trusted server stamps every mail it accepts (Google, Exchange Online and
OpenDMARC do), and, as RFC 8601 section 5 requires, removes fields that claim its own authserv-id when they
arrive from outside. Where a server writes separate fields per check (OpenDKIM and OpenDMARC), the topmost
is OpenDMARC's, which is the one that decides.

Exchange Online writes no authserv-id at all ("Authentication-Results: spf=pass (sender IP is …) …"),
against RFC 8601; list "microsoft365" in trusted_authserv_ids to trust the topmost such field.
"""

from __future__ import annotations

import email.utils
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from publicsuffixlist import PublicSuffixList

from mailbot.config.staff import Person, StaffDirectory
from mailbot.intake.parse import ParsedMail

# The trusted_authserv_ids entry that stands for Exchange Online's fields without an authserv-id.
MICROSOFT_365 = "microsoft365"
# Method names (IANA "Email Authentication Methods" plus vendors') that start a new result even when the
# writer forgot the ";" before it, as some OpenDKIM builds do between two dkim results.
_METHODS = frozenset(
    {
        "arc", "auth", "bimi", "compauth", "dkim", "dkim-adsp", "dkim-atps", "dmarc", "dnswl", "domainkeys",
        "iprev", "rrvs", "sender-id", "smime", "spf", "vbr",
    }
)  # fmt: skip
_HEADER = "authentication-results"


@dataclass(frozen=True)
class Verdict:
    vouched: bool
    method: str | None  # "dmarc" | "dkim" | "spf" when vouched
    reason: str  # one sentence for the audit trail or an alert


@dataclass(frozen=True)
class AuthResult:
    """One `method=result` entry, e.g. dkim=pass with header.d=riverside.example."""

    method: str
    result: str
    reason: str | None = None
    properties: tuple[tuple[str, str], ...] = ()  # ("header.d", "riverside.example"), ("action", "none")

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.properties if key == name), None)


@dataclass(frozen=True)
class AuthenticationResults:
    authserv_id: str | None  # None when the writer left it out (Exchange Online)
    results: tuple[AuthResult, ...]

    @property
    def writer(self) -> str:
        return self.authserv_id or "Microsoft 365 (no authserv-id)"


def sender_is_vouched(mail: ParsedMail, trusted_authserv_ids: frozenset[str]) -> Verdict:
    """Whether a trusted receiving server vouches for the From address; see the module's trust rule."""
    from_domain, problem = _from_domain(mail)
    if from_domain is None:
        return Verdict(False, None, problem)
    trusted = frozenset(i.lower() for i in trusted_authserv_ids)
    stamp = topmost_trusted(mail.header_all(_HEADER), trusted)
    if stamp is None:
        listed = ", ".join(sorted(trusted)) or "none configured"
        return Verdict(False, None, f"no Authentication-Results from a trusted server (trusted: {listed})")
    return judge(stamp, from_domain)


def forgery_reported(mail: ParsedMail, trusted_servers: frozenset[str]) -> str | None:
    """Why, when a trusted receiving server found DMARC failing for the From domain, or the mail has several
    From addresses: the From is forged, or at best unproven. None when no trusted server said so (no stamp, a
    pass, or no DMARC result at all)."""
    count = _from_count(mail)
    from_domain, problem = _from_domain(mail, count)
    if count > 1:  # the server may have judged one From while we read another: never proof
        return problem
    stamp = topmost_trusted(mail.header_all(_HEADER), frozenset(s.lower() for s in trusted_servers))
    if from_domain is None or stamp is None:
        return None
    failed = (r for r in stamp.results if r.method == "dmarc" and r.result == "fail")
    found = next((r for r in failed if _dmarc_domain(r) == from_domain), None)
    return _said(found, stamp) if found else None


def is_trusted_staff(mail: ParsedMail, directory: StaffDirectory) -> tuple[Person | None, Verdict]:
    """The staff member who sent this mail, only when the From is theirs and our server vouches for it."""
    verdict = sender_is_vouched(mail, directory.trusted_authserv_ids)
    person = directory.person_for(mail.sender.email) if mail.sender and mail.sender.email else None
    return (person if verdict.vouched else None), verdict


def topmost_trusted(values: Iterable[str], trusted: frozenset[str]) -> AuthenticationResults | None:
    """The first field, from the top, written by a trusted server; `values` in header order."""
    for value in values:
        parsed = parse_authentication_results(value)
        key = parsed.authserv_id if parsed.authserv_id is not None else MICROSOFT_365
        if key in trusted:
            return parsed
    return None


# --- judging one stamp ----------------------------------------------------------------------------------


def judge(stamp: AuthenticationResults, from_domain: str) -> Verdict:
    """dmarc for the From domain decides when it passed or failed; otherwise an aligned DKIM or SPF pass."""
    dmarc = [r for r in stamp.results if r.method == "dmarc" and _dmarc_domain(r) == from_domain]
    # "none" (no policy published), "bestguesspass" (Exchange Online's guess) and errors decide nothing.
    if failed := next((r for r in dmarc if r.result == "fail"), None):
        return Verdict(False, None, _said(failed, stamp))
    if passed := next((r for r in dmarc if r.result == "pass"), None):
        return Verdict(True, "dmarc", _said(passed, stamp))
    if aligned := _aligned_pass(stamp, from_domain):
        reason = f"{_said(aligned, stamp)}, aligned with the From domain {from_domain}"
        return Verdict(True, aligned.method, reason)
    seen = "; ".join(_summary(r) for r in stamp.results if r.method in _DOMAIN_OF) or "no dmarc, dkim or spf"
    return Verdict(False, None, f"no pass aligned with {from_domain} from {stamp.writer} ({seen})")


def _aligned_pass(stamp: AuthenticationResults, from_domain: str) -> AuthResult | None:
    """A DKIM pass, else an SPF pass, for a domain aligned with the From domain (what DMARC would check)."""
    for method in ("dkim", "spf"):
        for result in stamp.results:
            if result.method == method and result.result == "pass":
                domain = _DOMAIN_OF[method](result)
                if domain and domains_aligned(domain, from_domain):
                    return result
    return None


def _said(result: AuthResult, stamp: AuthenticationResults) -> str:
    return f"{_summary(result)} by {stamp.writer}"


def _summary(result: AuthResult) -> str:
    domain_of = _DOMAIN_OF.get(result.method)
    found = domain_of(result) if domain_of else None
    return f"{result.method}={result.result}" + (f" for {found}" if found else "")


def _dmarc_domain(result: AuthResult) -> str | None:
    return _domain(result.get("header.from"))


def _dkim_domain(result: AuthResult) -> str | None:
    # header.d is the signing domain; header.i (an identity within it) is what some servers write instead.
    return _domain(result.get("header.d")) or _domain(result.get("header.i"))


def _spf_domain(result: AuthResult) -> str | None:
    return _domain(result.get("smtp.mailfrom"))


# The domain each vouching method speaks for: the From domain (dmarc), the signer (dkim), the envelope (spf).
_DOMAIN_OF = {"dmarc": _dmarc_domain, "dkim": _dkim_domain, "spf": _spf_domain}


def _from_domain(mail: ParsedMail, count: int | None = None) -> tuple[str | None, str]:
    """The one From domain to check, or why there is none; several From addresses are never vouched for,
    since a receiving server may have judged a different one from the one we would read. ``count``: the
    From addresses, when the caller counted them already."""
    if (count := _from_count(mail) if count is None else count) > 1:
        return None, f"the mail names {count} From addresses; only one can be vouched for"
    domain = _domain(mail.sender.email if mail.sender else None)
    return (domain, "") if domain else (None, "the From line has no usable address")


def _from_count(mail: ParsedMail) -> int:
    """How many From addresses the mail names, in how many From fields, whichever is more."""
    fields = mail.header_all("from")
    # Only parts with an "@" count: a decoded display name "Shah, Priya" splits into a stray "Shah".
    addresses = [a for _, a in email.utils.getaddresses(list(fields)) if "@" in a]
    return max(len(fields), len(addresses))


# --- domains and alignment ------------------------------------------------------------------------------


def domains_aligned(one: str, other: str) -> bool:
    """DMARC's relaxed alignment: the same organisational domain, found with the Public Suffix List, so that
    mail.riverside.example aligns with riverside.example but riverside.org.uk never with another.org.uk."""
    one, other = _idna(one), _idna(other)
    return one == other or organisational_domain(one) == organisational_domain(other)


def organisational_domain(domain: str) -> str:
    """The registrable domain ("riverside.org.uk" for "mail.riverside.org.uk"); a public suffix is its own."""
    return _public_suffixes().privatesuffix(domain) or domain


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # reads the list shipped inside the package, once


def _domain(value: str | None) -> str | None:
    """The domain in a property value: "riverside.example", "@riverside.example", "priya@riverside.example",
    "<bounce@riverside.example>"; None for "none", "<>" or anything without a dot."""
    if not value:
        return None
    domain = value.strip().strip("<>").rpartition("@")[2].strip().rstrip(".").lower()
    if "." not in domain or any(c.isspace() for c in domain):
        return None
    return _idna(domain)


def _idna(domain: str) -> str:
    """Compare A-labels: a DKIM header.d is "xn--…" while a parsed From may hold the Unicode form."""
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return domain.lower()


# --- parsing RFC 8601 -----------------------------------------------------------------------------------


def parse_authentication_results(value: str) -> AuthenticationResults:
    """Parse one field's value, tolerating what real servers write: comments anywhere, quoted strings, a
    missing authserv-id (Exchange Online), stray words between results (Exchange Online's older form puts the
    recipient's domain there), a missing ";" between results, and "none". Never raises."""
    segments = _segments(value)
    first = _items(segments[0]) if segments else []
    authserv_id = None
    if first and first[0][1] is None:  # a bare word first: the authserv-id, maybe followed by a version
        authserv_id = first[0][0].lower()
        first = first[1:]
        if first and first[0][1] is None and first[0][0].isdigit():
            first = first[1:]
    results = [r for items in (first, *map(_items, segments[1:])) for r in _results(items)]
    return AuthenticationResults(authserv_id, tuple(results))


_Token = tuple[str, str]  # (kind, text); kind is "word", "quoted", ";" or "="
_Item = tuple[str, str | None]  # ("header.d", "riverside.example") or a bare word: ("alum.mit.edu", None)


def _results(items: list[_Item]) -> list[AuthResult]:
    found: list[tuple[str, str, list[_Item]]] = []
    for key, value in items:
        if value is None:
            continue  # a bare word is no result: "none", or Exchange Online's recipient domain
        method = key.partition("/")[0].strip()  # "dkim/1=pass": a method version
        if not found or (method in _METHODS and "." not in key):
            if "." not in key and key != "reason":
                found.append((method, value.lower(), []))
            continue
        found[-1][2].append((key, value))
    return [_result(method, result, extras) for method, result, extras in found]


def _result(method: str, result: str, extras: list[_Item]) -> AuthResult:
    reason = next((v for k, v in extras if k == "reason"), None)
    properties = tuple((k, v or "") for k, v in extras if k != "reason")
    return AuthResult(method, result, reason, properties)


def _items(tokens: list[_Token]) -> list[_Item]:
    items: list[_Item] = []
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        if kind == "=":
            index += 1  # "=" with nothing before it: skip
        elif index + 1 < len(tokens) and tokens[index + 1][0] == "=":
            value, index = _value(tokens, index + 2)
            items.append((text.lower(), value))
        else:
            items.append((text, None))
            index += 1
    return items


def _value(tokens: list[_Token], index: int) -> tuple[str, int]:
    if index >= len(tokens) or tokens[index][0] not in ("word", "quoted"):
        return "", index  # "header.from=;" as Exchange Online writes for an empty From
    kind, text = tokens[index]
    following = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
    if kind == "quoted" and following[0] == "word" and following[1].startswith("@"):
        return text + following[1], index + 2  # "first last"@riverside.example
    return text, index + 1


def _segments(value: str) -> list[list[_Token]]:
    segments: list[list[_Token]] = [[]]
    for token in _tokens(value):
        if token[0] == ";":
            segments.append([])
        else:
            segments[-1].append(token)
    return [s for s in segments if s]


def _tokens(text: str) -> Iterator[_Token]:
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace() or char == ")":  # a stray ")" is dropped rather than trusted
            index += 1
        elif char == "(":
            index = _end_of_comment(text, index)
        elif char == '"':
            quoted, index = _quoted_string(text, index)
            yield "quoted", quoted
        elif char in ";=":
            yield char, char
            index += 1
        else:
            end = index
            while end < len(text) and not text[end].isspace() and text[end] not in ';=()"':
                end += 1
            yield "word", text[index:end]
            index = end


def _end_of_comment(text: str, index: int) -> int:
    """Comments nest and may hold quoted pairs ("\\)"); an unclosed one runs to the end."""
    depth = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        index += 1
        if depth == 0:
            return index
    return index


def _quoted_string(text: str, index: int) -> tuple[str, int]:
    out: list[str] = []
    index += 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            out.append(text[index + 1])
            index += 2
        elif char == '"':
            return "".join(out), index + 1
        else:
            out.append(char)
            index += 1
    return "".join(out), index
