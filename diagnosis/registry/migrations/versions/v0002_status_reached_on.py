"""Versions keep the day their stage is known to be reached (read from the stage date written).

Coverage over time counts a stage on a date only once it is reached; reading
the written stage date ("avril 2025") on every query was slow, so the last day
it designates is stored, and filled for the rows already there.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from diagnosis.registry.model import stage_date_end

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``versions.status_reached_on`` and fill it from ``status_date``."""
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("status_reached_on", sa.Date, nullable=True))
    versions = sa.table(
        "versions",
        sa.column("id", sa.Integer),
        sa.column("status_date", sa.String),
        sa.column("status_reached_on", sa.Date),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(versions.c.id, versions.c.status_date).where(versions.c.status_date.is_not(None))
    ).all()
    for version_id, written in rows:
        reached = stage_date_end(written)
        if reached is not None:
            bind.execute(
                versions.update()
                .where(versions.c.id == version_id)
                .values(status_reached_on=reached)
            )


def downgrade() -> None:
    """Drop ``versions.status_reached_on``."""
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("status_reached_on")
