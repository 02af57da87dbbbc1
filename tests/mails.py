"""Realistic test mail, built with the standard library."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid


def mail(
    sender: str = "jane.doe@example.net",
    name: str = "Jane Doe",
    subject: str = "Missed care visits",
    body: str | None = None,
    to: str = "complaints@riverside.example",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
    date: datetime | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = formataddr((name, sender))
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(date or datetime.now(UTC))
    message["Message-ID"] = message_id or make_msgid(domain="example.net")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for key, value in (headers or {}).items():
        message[key] = value
    message.set_content(body or COMPLAINT)
    return message.as_bytes()


COMPLAINT = """Dear Sir or Madam,

I want to make a formal complaint about the care my mother receives at home. Her carers have missed
three visits in the last fortnight, including on Tuesday evening when she was left without her tea or
her medication. Nobody rang to tell us. This is not acceptable and I am very unhappy with the service.

Please tell me what you will do about it.

Jane Doe
"""
