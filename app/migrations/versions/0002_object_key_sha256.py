"""Add object_key and sha256 to documents, and an index on created_at.

Both columns start nullable: existing rows get their object_key in 0003, and rows stored
before this revision have no checksum.

Revision ID: 0002_object_key_sha256
Revises: 0001_create_documents
Create Date: 2025-01-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_object_key_sha256"
down_revision: str | Sequence[str] | None = "0001_create_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("object_key", sa.Text(), nullable=True))
    op.add_column("documents", sa.Column("sha256", sa.CHAR(length=64), nullable=True))
    op.create_index("ix_documents_created_at", "documents", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_documents_created_at", table_name="documents")
    op.drop_column("documents", "sha256")
    op.drop_column("documents", "object_key")
