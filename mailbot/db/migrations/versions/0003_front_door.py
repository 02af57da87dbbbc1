"""front door: spam quarantine release, kind model examples, information requests

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("released_by", sa.String(length=320), nullable=True))
    op.create_table(
        "kind_example",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("source", sa.String(length=400), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_kind_example_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kind_example")),
        sa.UniqueConstraint("sha256", name=op.f("uq_kind_example_sha256")),
    )
    op.create_table(
        "information_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("law", sa.String(length=60), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("latest_due", sa.Date(), nullable=True),
        sa.Column("forwarded_to", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_information_request_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_information_request")),
        sa.UniqueConstraint("case_id", name=op.f("uq_information_request_case_id")),
    )


def downgrade() -> None:
    op.drop_table("information_request")
    op.drop_table("kind_example")
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_column("released_by")
        batch_op.drop_column("released_at")
