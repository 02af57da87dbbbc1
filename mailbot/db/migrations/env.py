"""Alembic environment: runs migrations on the engine mailbot hands over (no alembic.ini needed)."""

from alembic import context

from mailbot.db.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
