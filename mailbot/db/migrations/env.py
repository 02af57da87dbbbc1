"""Alembic environment: runs migrations on the engine mailbot hands over (no alembic.ini needed)."""

from alembic import context
from sqlalchemy import text

from mailbot.db.models import Base

# Several workers starting at once on one PostgreSQL each bring the schema up to date: the first takes this
# lock for its transaction, the others wait, then find nothing left to do.
MIGRATION_LOCK = 0x6D61696C626F74  # "mailbot"

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.run_migrations()
