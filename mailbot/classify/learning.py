"""Learning from the organisation's own mail: the examples coordinators leave (``#kind`` corrections,
``mailbot eval`` labels) are kept in the database, and the kind model is retrained from them when they change,
in about a second, and saved beside the database."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from mailbot.classify.kind_model import Example, KindModel, can_train, load, save, train
from mailbot.db.models import KindExample
from mailbot.vocabulary import PERSON_KINDS

log = logging.getLogger(__name__)
MODEL_FILE = "kind-model.json"
LEARNT_KINDS = frozenset(str(kind) for kind in PERSON_KINDS)


def model_path(database_url: str, storage_dir: Path) -> Path:
    """Beside the SQLite file; for a server database, beside the attachment store."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).with_name(MODEL_FILE)
    return storage_dir.parent / MODEL_FILE


def add_example(
    session: Session, text: str, kind: str, source: str, at: datetime, case_id: int | None = None
) -> bool:
    """Keep one labelled text (a later label for the same text replaces the earlier); False for kinds the
    model does not learn (machines, mail on a case)."""
    if kind not in LEARNT_KINDS or not text.strip():
        return False
    digest = hashlib.sha256(text.encode()).hexdigest()
    # Deleted and added again, so the newest id marks the examples as changed (see Learner.version).
    session.execute(delete(KindExample).where(KindExample.sha256 == digest))
    session.add(
        KindExample(sha256=digest, text=text, kind=kind, source=source[:400], case_id=case_id, created_at=at)
    )
    return True


def examples(session: Session) -> list[Example]:
    rows = session.execute(select(KindExample.text, KindExample.kind).order_by(KindExample.id))
    return [Example(text, kind) for text, kind in rows]


def version(session: Session) -> str:
    count, newest = session.execute(select(func.count(KindExample.id), func.max(KindExample.id))).one()
    return f"{count}:{newest or 0}"


@dataclass
class Learner:
    """The kind model of one running bot: loaded from its file, retrained when the examples change."""

    path: Path
    sessions: sessionmaker[Session]
    _model: KindModel | None = field(default=None, init=False)
    _loaded: bool = field(default=False, init=False)
    _batch: bool = field(default=False, init=False)  # a batch of mail is being processed
    _checked: bool = field(default=False, init=False)  # and the examples were looked at for it
    _untrainable: str | None = field(default=None, init=False)  # the version too few examples were found at

    @contextmanager
    def batch(self) -> Iterator[None]:
        """While a batch of mail is processed, the examples are looked at once, not for every message (a
        #kind correction made during the batch counts from the next)."""
        self._batch, self._checked = True, False
        try:
            yield
        finally:
            self._batch = self._checked = False

    def model(self, save_retrained: bool = True) -> KindModel | None:
        """The current model; retrained first if the examples changed since it was trained."""
        if not self._loaded:
            self._model, self._loaded = load(self.path), True
        if self._checked:
            return self._model
        with self.sessions() as session:
            now, self._checked = version(session), self._batch
            if (self._model is not None and self._model.trained_on == now) or self._untrainable == now:
                return self._model
            found = examples(session)
        if not can_train(found):
            self._model, self._untrainable = None, now
            return None
        self._model = retrained(found, now)
        if save_retrained:
            save(self._model, self.path)
            log.info("kind model retrained on %d examples, saved to %s", len(found), self.path)
        return self._model


def retrained(found: list[Example], trained_on: str) -> KindModel:
    model = train(found)
    return KindModel(model.kinds, model.parts, model.coef, model.intercept, trained_on, model.examples)
