"""Rules on header fields and MIME structure: how machines say they are machines (RFC 3834, RFC 3464, ARF)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mailbot.classify.rules import MailContext, Param, Rule, any_search, compile_patterns, register
from mailbot.intake.parse import ParsedMail

_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?([\w.-]+)", re.IGNORECASE)


@register
class HeaderRule(Rule):
    """Any of the named header fields is present (and, when `matches` is given, one value matches)."""

    type_name = "header"
    parameters: Mapping[str, Param] = {
        "headers": Param(list, required=True, help="header field names, any of which may hit"),
        "matches": Param(list, help="regular expressions; without them, presence alone hits"),
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        self.headers = tuple(params["headers"])
        self.matches = compile_patterns(params.get("matches", ()))

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        values = [value for name in self.headers for value in mail.header_all(name)]
        if not self.matches:
            return bool(values)
        return any(any_search(self.matches, value) for value in values)


@register
class AutoSubmittedRule(Rule):
    """RFC 3834: Auto-Submitted with any value but "no" (optionally only the listed values)."""

    type_name = "auto_submitted"
    parameters: Mapping[str, Param] = {
        "values": Param(list, help='only these values, e.g. ["auto-replied"]; default: anything but "no"'),
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        self.values = frozenset(value.lower() for value in params.get("values", ()))

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        keywords = {_keyword(value) for value in mail.header_all("auto-submitted")} - {"no", ""}
        return bool(keywords & self.values) if self.values else bool(keywords)


def _keyword(value: str) -> str:
    """ "auto-generated (failure); owner-email=..." -> "auto-generated"."""
    return re.split(r"[\s;(]", value.strip(), maxsplit=1)[0].lower()


@register
class ContentTypeRule(Rule):
    """The mail (or, with `anywhere`, any part of it) has one of the content types, e.g. a DSN report."""

    type_name = "content_type"
    parameters: Mapping[str, Param] = {
        "types": Param(list, required=True, help='MIME types, e.g. ["multipart/report"]'),
        "report_types": Param(list, help="for multipart/report, only these report-type values"),
        "anywhere": Param(bool, help="also look at the parts inside the mail"),
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        self.types = frozenset(value.lower() for value in params["types"])
        self.report_types = frozenset(value.lower() for value in params.get("report_types", ()))
        self.anywhere = bool(params.get("anywhere", False))

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        if mail.content_type in self.types and self._report_type_fits(mail):
            return True
        return self.anywhere and any(part.content_type in self.types for part in mail.attachments)

    def _report_type_fits(self, mail: ParsedMail) -> bool:
        if not self.report_types:
            return True
        found = _REPORT_TYPE.search(mail.header("content-type") or "")
        return bool(found) and found.group(1).lower() in self.report_types


@register
class NullReturnPathRule(Rule):
    """Return-Path: <> — the null reverse-path that delivery reports are sent from (RFC 5321 4.5.5)."""

    type_name = "null_return_path"

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        return mail.return_path == ""
