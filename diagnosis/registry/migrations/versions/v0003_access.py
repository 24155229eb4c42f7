"""Users' rights and shared work: grants, drafts and their revisions, decisions, contracts.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``grants``, ``drafts``, ``draft_revisions``, ``decisions`` and ``contracts``."""
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("scope_level", sa.String(12), nullable=False),
        sa.Column("scope_code", sa.String(8), nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(200), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_grants_user", "grants", ["user_id"])
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("region", sa.String(8), nullable=True),
        sa.Column("department", sa.String(8), nullable=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(200), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column(
            "perimeter_id",
            sa.String(80),
            sa.ForeignKey("perimeters.perimeter_id"),
            nullable=True,
        ),
    )
    op.create_table(
        "draft_revisions",
        sa.Column("draft_id", sa.Integer, sa.ForeignKey("drafts.id"), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("codes", sa.Text, nullable=False),
        sa.Column("saved_by", sa.String(200), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("region", sa.String(8), nullable=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("parties", sa.Text, nullable=False),
        sa.Column("option", sa.String(80), nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=False),
    )
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "perimeter_id",
            sa.String(80),
            sa.ForeignKey("perimeters.perimeter_id"),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("signature", sa.Date, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=False),
    )
    op.create_index("ix_contracts_perimeter", "contracts", ["perimeter_id"])


def downgrade() -> None:
    """Drop the tables of this revision."""
    op.drop_index("ix_contracts_perimeter", table_name="contracts")
    for table in ("contracts", "decisions", "draft_revisions", "drafts"):
        op.drop_table(table)
    op.drop_index("ix_grants_user", table_name="grants")
    op.drop_table("grants")
