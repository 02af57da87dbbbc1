"""One letter handed to the SMTP server in steps, so that what can be known about its fate is known.

Until the final "." of DATA the server has nothing: a failure is temporary (try again) or a refusal (the
server said no). After it the server may have taken the letter, so a lost connection or a missing answer
leaves the outcome *unknown*, never temporary. aiosmtplib's ``data()`` waits for the "354" and for the final
reply with one timeout and cannot say which of the two it was waiting for when it gave up, so the message is
written here in two steps: DATA with the command timeout, then the message and its "." with the final-reply
timeout (RFC 5321, 4.5.3.2.6: ten minutes). ``before_final_dot`` is awaited between the two, to record that
the letter is about to leave (with the other letters of its wave), and may still call it off.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import aiosmtplib
from aiosmtplib import SMTPResponse

SMTP_FAILURES = (aiosmtplib.SMTPException, OSError)
_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # the server answered 250 to the final "."
    TEMPORARY = "temporary"  # not taken (4xx, or the connection failed before the final "."): try again later
    REFUSED = "refused"  # not taken, for good (5xx)
    UNKNOWN = "unknown"  # the letter went; the server's answer did not come back
    CALLED_OFF = "called off"  # ``before_final_dot`` said no: nothing was sent and the row is not ours


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    reply: str


@dataclass(frozen=True)
class Timeouts:
    command: float  # connect, MAIL, RCPT, DATA: how long a server may take to answer a command
    final_reply: float  # after the final ".": how long a server may take to take the letter


def _answered(code: int, text: str) -> Attempt:
    """A server's "no": 4xx may pass, 5xx will not."""
    return Attempt(Outcome.TEMPORARY if 400 <= code < 500 else Outcome.REFUSED, f"{code} {text}")


async def hand_over(
    client: aiosmtplib.SMTP,
    sender: str,
    recipients: Sequence[str],
    raw: bytes,
    timeouts: Timeouts,
    before_final_dot: Callable[[], Awaitable[bool]],
) -> Attempt:
    """Send one letter over a connected client. MAIL, RCPT and DATA first; then, if ``before_final_dot``
    agrees, the message, its final "." and the wait for the server's answer."""
    try:
        refused = await _envelope(client, sender, recipients, timeouts.command)
        ready = await client.execute_command(b"DATA", timeout=timeouts.command)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        await _reset(client, timeouts.command)
        mildest = min(exc.recipients, key=lambda r: r.code)  # one 4xx among them: worth trying again
        return _answered(mildest.code, mildest.message)
    except aiosmtplib.SMTPResponseException as exc:
        await _reset(client, timeouts.command)
        return _answered(exc.code, exc.message)
    except SMTP_FAILURES as exc:
        client.close()
        return Attempt(Outcome.TEMPORARY, f"connection: {exc or type(exc).__name__}")
    if ready.code != 354:
        await _reset(client, timeouts.command)
        return _answered(ready.code, ready.message)
    if not await before_final_dot():
        client.close()  # a server drops a message whose final "." never came
        return Attempt(Outcome.CALLED_OFF, "not sent: the letter's claim was lost before it was handed over")
    return await _final_reply(client, raw, timeouts.final_reply, refused)


async def _envelope(
    client: aiosmtplib.SMTP, sender: str, recipients: Sequence[str], timeout: float
) -> dict[str, SMTPResponse]:
    """MAIL and RCPT; the recipients the server refused, or SMTPRecipientsRefused when it refused them all."""
    await client.mail(sender, timeout=timeout)
    refused: list[aiosmtplib.SMTPRecipientRefused] = []
    for recipient in recipients:
        try:
            await client.rcpt(recipient, timeout=timeout)
        except aiosmtplib.SMTPRecipientRefused as exc:
            refused.append(exc)
    if refused and len(refused) == len(recipients):
        raise aiosmtplib.SMTPRecipientsRefused(refused)
    return {exc.recipient: SMTPResponse(exc.code, exc.message) for exc in refused}


async def _final_reply(
    client: aiosmtplib.SMTP, raw: bytes, timeout: float, refused: dict[str, SMTPResponse]
) -> Attempt:
    protocol = client.protocol
    if protocol is None:
        return Attempt(Outcome.TEMPORARY, "connection: lost before the message was sent")
    try:
        protocol.write(data_block(raw))
        reply = await protocol.read_response(timeout=timeout)
    except SMTP_FAILURES as exc:
        client.close()  # the conversation is out of step now; the next letter opens a new one
        return Attempt(Outcome.UNKNOWN, f"no answer after the final '.': {exc or type(exc).__name__}")
    if reply.code != 250:
        return _answered(reply.code, reply.message)
    said = "; ".join(f"{address}: {r.code} {r.message}" for address, r in refused.items())
    accepted = f"{reply.code} {reply.message}"
    return Attempt(Outcome.ACCEPTED, f"{accepted} (refused: {said})" if said else accepted)


def data_block(raw: bytes) -> bytes:
    """The message as DATA carries it (RFC 5321, 4.5.2): CRLF line ends, a leading "." doubled, then "."."""
    text = _LINE_ENDS.sub(b"\r\n", raw)
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    return _LEADING_DOT.sub(b"..", text) + b".\r\n"


async def _reset(client: aiosmtplib.SMTP, timeout: float) -> None:
    """RSET after a refusal, so the connection can carry the next letter; a failure here only closes it."""
    try:
        await client.rset(timeout=timeout)
    except SMTP_FAILURES:
        client.close()
