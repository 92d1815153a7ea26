"""Backfill documents.object_key ('documents/' || id) and make it NOT NULL.

A data migration: rows written before 0002 have no object_key; the key convention gives it.
The downgrade only relaxes the constraint: the backfilled keys are correct data and stay.

Revision ID: 0003_backfill_object_key
Revises: 0002_object_key_sha256
Create Date: 2025-01-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_backfill_object_key"
down_revision: str | Sequence[str] | None = "0002_object_key_sha256"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE documents SET object_key = 'documents/' || id::text WHERE object_key IS NULL"
        )
    )
    op.alter_column("documents", "object_key", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    op.alter_column("documents", "object_key", existing_type=sa.Text(), nullable=True)
