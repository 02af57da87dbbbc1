"""IMAP intake: fetch new messages into the database, then mark them in the mailbox once committed.

Mail is never deleted or expunged. Progress lives in the database (UIDVALIDITY and the last UID per
folder), so the mailbox's flags are a courtesy to the people who read it, not the record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mailbot import auth, tls
from mailbot.config.servers import MailboxConfig
from mailbot.db.models import InboundMessage, MailboxState
from mailbot.errors import MailbotError
from mailbot.intake.arrivals import PROCESSED_KEYWORD, SHUNTED_KEYWORD, Clock, Ledger, store_batch
from mailbot.vocabulary import InboundState

log = logging.getLogger(__name__)


class MailboxError(MailbotError):
    """The mailbox could not be reached or used; says which mailbox and why."""


class MailboxLoginError(MailboxError):
    pass


@dataclass
class IntakeReport:
    mailbox: str
    fetched: int = 0
    baseline: int | None = None  # set on first contact: messages left alone because they were already there


# --- connection -------------------------------------------------------------------------------------------


def authenticate(client: IMAPClient, box: MailboxConfig) -> None:
    """The one seam for login methods: a password, or an OAuth2 token (SASL XOAUTH2)."""
    if box.oauth is not None:
        _token_login(client, box)
        return
    if box.password is None:
        raise MailboxLoginError(
            f"mailbox {box.name!r}: environment variable {box.password_env} "
            "(named by password_env) is not set"
        )
    try:
        client.login(box.username, box.password)
    except LoginError as exc:
        raise MailboxLoginError(f"mailbox {box.name!r}: login as {box.username} refused: {exc}") from None


def _token_login(client: IMAPClient, box: MailboxConfig) -> None:
    """XOAUTH2 with the cached token; a refused token is replaced once (revoked early, or clocks differ)."""
    assert box.oauth is not None
    source = auth.source_for(box.oauth)
    try:
        token = source.token()
        try:
            client.oauth2_login(box.username, token)
            return
        except LoginError:
            token = source.renew()
        client.oauth2_login(box.username, token)
    except auth.TokenError as exc:
        raise MailboxLoginError(str(exc)) from None
    except LoginError as exc:
        advice = auth.explain_refusal(box.oauth, token, str(exc), "imap")
        raise MailboxLoginError(
            f"mailbox {box.name!r}: {box.host} refused the token for {box.username}: {advice}"
        ) from None


@contextmanager
def connect(box: MailboxConfig) -> Iterator[IMAPClient]:
    """A logged-in client that always logs out, whatever happens inside."""
    context = None if box.tls == "none" else tls.client_context()
    try:
        client = IMAPClient(box.host, port=box.port, ssl=box.tls == "tls", ssl_context=context, timeout=60)
    except (OSError, IMAPClientError) as exc:
        raise MailboxError(f"mailbox {box.name!r}: cannot connect to {box.host}:{box.port}: {exc}") from None
    with client:
        if box.tls == "starttls":
            client.starttls(context)
        authenticate(client, box)
        client.normalise_times = False  # keep INTERNALDATE timezone-aware
        yield client


# --- intake -----------------------------------------------------------------------------------------------


def fetch_new(
    client: IMAPClient, box: MailboxConfig, sessions: sessionmaker[Session], clock: Clock
) -> IntakeReport:
    """Store every message that arrived since the last poll. On first contact, only note where we start."""
    ledger = Ledger(sessions, clock)
    info = client.select_folder(box.folder)
    uidvalidity = int(info[b"UIDVALIDITY"])
    state = _state(ledger, box)
    if state is None or state.uidvalidity != uidvalidity:
        return _set_baseline(ledger, client, box, uidvalidity, info, replaced=state)
    report = IntakeReport(box.name)
    for batch in _batches(_new_uids(client, state.last_uid), box.batch_size):
        report.fetched += store_batch(ledger, client, box, uidvalidity, batch, send_allowed=True)
    return report


def import_since(
    client: IMAPClient, box: MailboxConfig, since: date, sessions: sessionmaker[Session], clock: Clock
) -> int:
    """Record mail received since a date as cases without sending anything (the backlog on first use)."""
    ledger = Ledger(sessions, clock)
    info = client.select_folder(box.folder)
    uidvalidity = int(info[b"UIDVALIDITY"])
    if _state(ledger, box) is None:
        _set_baseline(ledger, client, box, uidvalidity, info, replaced=None)
    uids = sorted(int(u) for u in client.search(["SINCE", since]))
    stored = 0
    for batch in _batches(uids, box.batch_size):
        stored += store_batch(ledger, client, box, uidvalidity, batch, send_allowed=False)
    return stored


def _state(ledger: Ledger, box: MailboxConfig) -> MailboxState | None:
    with ledger.sessions() as session:
        return session.scalars(
            select(MailboxState).where(MailboxState.mailbox == box.name, MailboxState.folder == box.folder)
        ).first()


def _set_baseline(
    ledger: Ledger,
    client: IMAPClient,
    box: MailboxConfig,
    uidvalidity: int,
    info: dict,
    replaced: MailboxState | None,
) -> IntakeReport:
    highest = _highest_uid(client, info)
    count = len(client.search(["ALL"]))
    with ledger.sessions.begin() as session:
        if replaced is not None:
            session.delete(session.merge(replaced))
            session.flush()
            log.warning(
                "mailbox %s folder %s: UIDVALIDITY changed (%s -> %s); starting again from the newest "
                "message; use `mailbot import --since` to record anything missed",
                box.name,
                box.folder,
                replaced.uidvalidity,
                uidvalidity,
            )
        session.add(
            MailboxState(
                mailbox=box.name,
                folder=box.folder,
                uidvalidity=uidvalidity,
                last_uid=highest,
                baseline_uid=highest,
                first_seen_at=ledger.clock(),
            )
        )
    log.info("mailbox %s: first contact; %d message(s) already there are left alone", box.name, count)
    return IntakeReport(box.name, baseline=count)


def _highest_uid(client: IMAPClient, info: dict) -> int:
    if b"UIDNEXT" in info:
        return int(info[b"UIDNEXT"]) - 1
    uids = client.search(["ALL"])
    return max(uids) if uids else 0


def _new_uids(client: IMAPClient, last_uid: int) -> list[int]:
    # "UID n:*" always matches the newest message even when its UID is below n, hence the filter.
    return sorted(int(u) for u in client.search(["UID", f"{last_uid + 1}:*"]) if int(u) > last_uid)


def _batches(uids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(uids), size):
        yield uids[start : start + size]


def mark_done(client: IMAPClient, box: MailboxConfig, sessions: sessionmaker[Session], clock: Clock) -> int:
    """Flag (or move) what has been processed or shunted, now that it is committed."""
    ledger = Ledger(sessions, clock)
    info = client.select_folder(box.folder)
    rows = _unmarked(ledger, box, int(info[b"UIDVALIDITY"]))
    for keyword, state in (
        (PROCESSED_KEYWORD, InboundState.PROCESSED),
        (SHUNTED_KEYWORD, InboundState.SHUNTED),
    ):
        uids = [uid for uid, row_state in rows if row_state == state]
        if uids:
            client.add_flags(uids, [keyword], silent=True)
    processed = [uid for uid, state in rows if state == InboundState.PROCESSED]
    if box.processed_folder and processed:
        _move(client, processed, box.processed_folder)
    _set_marked(ledger, box, [uid for uid, _ in rows])
    return len(rows)


def _unmarked(ledger: Ledger, box: MailboxConfig, uidvalidity: int) -> list[tuple[int, str]]:
    with ledger.sessions() as session:
        return [
            (r.uid, r.state)
            for r in session.execute(
                select(InboundMessage.uid, InboundMessage.state).where(
                    InboundMessage.mailbox == box.name,
                    InboundMessage.folder == box.folder,
                    InboundMessage.uidvalidity == uidvalidity,
                    InboundMessage.marked_at.is_(None),
                    InboundMessage.state.in_((InboundState.PROCESSED, InboundState.SHUNTED)),
                )
            )
        ]


def _move(client: IMAPClient, uids: list[int], folder: str) -> None:
    """MOVE where the server has it; otherwise only the keyword stays (we never delete to emulate a move)."""
    if not client.folder_exists(folder):
        client.create_folder(folder)
    if client.has_capability("MOVE"):
        client.move(uids, folder)
    else:
        log.warning("server has no MOVE; messages stay in place with the %s keyword", PROCESSED_KEYWORD)


def _set_marked(ledger: Ledger, box: MailboxConfig, uids: list[int]) -> None:
    if not uids:
        return
    # One UPDATE: loading the rows to set a date read every message's raw bytes back (200 MB for 10,000).
    with ledger.sessions.begin() as session:
        session.execute(
            update(InboundMessage)
            .where(
                InboundMessage.mailbox == box.name,
                InboundMessage.folder == box.folder,
                InboundMessage.uid.in_(uids),
                InboundMessage.marked_at.is_(None),
            )
            .values(marked_at=ledger.clock())
            .execution_options(synchronize_session=False)
        )


def check_login(box: MailboxConfig) -> str:
    """Log in and select the folder; returns a one-line description for ``check-config``."""
    with connect(box) as client:
        info = client.select_folder(box.folder, readonly=True)
        return (
            f"{box.name}: logged in to {box.host}:{box.port} as {box.username}; {box.folder} has "
            f"{int(info[b'EXISTS'])} message(s)"
        )
