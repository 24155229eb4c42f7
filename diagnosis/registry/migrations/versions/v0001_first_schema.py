"""The first schema: sources, perimeters, versions, members, splits, shares, audit.

Revision ID: 0001
Revises: none
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables of the first schema."""
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("scope_level", sa.String(12), nullable=False),
        sa.Column("scope_code", sa.String(8), nullable=False),
        sa.Column("referential_vintage", sa.String(60), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_perimeters", sa.Integer, nullable=False),
    )
    op.create_table(
        "perimeters",
        sa.Column("perimeter_id", sa.String(80), primary_key=True),
        sa.Column("created_source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=False),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "perimeter_id",
            sa.String(80),
            sa.ForeignKey("perimeters.perimeter_id"),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("status", sa.String(20), nullable=True),
        sa.Column("status_label", sa.String(300), nullable=True),
        sa.Column("status_date", sa.String(60), nullable=True),
        sa.Column("external_id", sa.String(120), nullable=True),
        sa.Column("referential_vintage", sa.String(60), nullable=False),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=False),
        sa.Column("closed_by_source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=True),
    )
    op.create_index("ix_versions_validity", "versions", ["valid_from", "valid_to"])
    op.create_index("ix_versions_perimeter", "versions", ["perimeter_id"])
    op.create_table(
        "version_members",
        sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), primary_key=True),
        sa.Column("code", sa.String(10), primary_key=True),
    )
    op.create_table(
        "version_splits",
        sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), primary_key=True),
        sa.Column("code", sa.String(10), primary_key=True),
        sa.Column("declared_code", sa.String(10), nullable=False),
    )
    op.create_table(
        "version_shares",
        sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), primary_key=True),
        sa.Column("code", sa.String(10), primary_key=True),
        sa.Column("share", sa.Float, nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=True),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
    )


def downgrade() -> None:
    """Drop every table (an empty database)."""
    for table in (
        "audit",
        "version_shares",
        "version_splits",
        "version_members",
        "versions",
        "perimeters",
        "sources",
    ):
        op.drop_table(table)
