"""The running bot's parts, built once from the configuration and passed to every stage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from mailbot.cases.reference import ReferenceFormat
from mailbot.classify import Classification, RuleChain, ThreadMatch, classify, load_chain
from mailbot.classify.learning import Learner, model_path
from mailbot.classify.rspamd import ask
from mailbot.classify.safeguarding import Screening, load_screening
from mailbot.config.settings import Config
from mailbot.db.session import make_engine, make_sessionmaker, upgrade
from mailbot.errors import UserError
from mailbot.intake.parse import ParsedMail
from mailbot.outgoing.letters import Letters
from mailbot.policy import Policy, load_policies


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    policies: dict[str, Policy]
    chain: RuleChain
    screening: Screening
    letters: Letters
    references: ReferenceFormat
    clock: Callable[[], datetime] = field(default=utc_now)
    learner: Learner | None = None

    def policy_for(self, mailbox: str) -> Policy:
        return self.policies[self.config.mailbox(mailbox).policy]

    def classify(
        self,
        mail: ParsedMail,
        thread: ThreadMatch | None,
        raw: bytes = b"",
        released: bool = False,
        save_model: bool = True,
    ) -> Classification:
        """The verdict on one mail with everything the bot knows: its rules, trusted spam verdicts (not for
        mail a person released from quarantine), the local rspamd, the kind model."""
        spam = self.config.spam
        live = (
            ask(spam.rspamd_url, raw, spam.rspamd_timeout_seconds, spam.rspamd_spam_actions)
            if spam.rspamd_url and raw and not released
            else ()
        )
        return classify(
            mail, self.chain, thread, self.config.own_addresses, self.screening,
            trusted_servers=frozenset() if released else spam.trusted_servers,
            live_verdicts=() if released else live, judge_junk=not released,
            model=self.learner.model(save_model) if self.learner else None,
        )  # fmt: skip

    def close(self) -> None:
        self.engine.dispose()


class SetupError(UserError):
    """The configuration names something that is not there (a policy, a rules file)."""


def build_app(config: Config, migrate: bool = True, clock: Callable[[], datetime] = utc_now) -> App:
    """Load policies, rules and templates and open the database (bringing its schema up to date)."""
    policies = load_policies(config.cases.policies_dir)
    for mailbox in config.mailboxes:
        if mailbox.policy not in policies:
            raise SetupError(
                f"{config.path}: mailbox {mailbox.name!r}: policy {mailbox.policy!r} not found in "
                f"{config.cases.policies_dir} (available: {', '.join(sorted(policies))})"
            )
    engine = make_engine(config.database_url)
    if migrate:
        upgrade(engine)
    app = App(
        config,
        engine,
        make_sessionmaker(engine),
        policies,
        load_chain(config.cases.classify_rules),
        load_screening(config.cases.safeguarding_rules, config.cases.safeguarding_model),
        Letters(config.cases.templates_dir),
        ReferenceFormat(config.cases.reference_format),
        clock,
    )
    app.learner = Learner(model_path(config.database_url, config.storage_dir), app.sessions)
    return app
