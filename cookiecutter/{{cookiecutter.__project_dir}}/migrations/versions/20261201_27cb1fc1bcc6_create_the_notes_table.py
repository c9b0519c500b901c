"""Create the notes table.

Revision ID: 27cb1fc1bcc6
Revises:
Create Date: 2026-12-01 21:06:42.524236

Written by `flask db migrate` from models.py, then tidied by hand: autogenerate writes a
first draft, and a person reads it before it runs on a server.
"""

import sqlalchemy as sa
from alembic import op

# Revision identifiers, used by Alembic to order the migrations.
revision = "27cb1fc1bcc6"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), nullable=False),
        # The length models.NOTE_MAX_LENGTH allows (VARCHAR(500) on PostgreSQL; SQLite
        # does not enforce lengths, the app does).
        sa.Column("text", sa.String(length=500), nullable=False),
        # No server default: the app sets it (models.utc_now), the same on every database.
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        # Named by the naming convention in extensions.py, like every later constraint.
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )


def downgrade():
    # Drops every note with the table: `make db-downgrade` asks for a revision on purpose.
    op.drop_table("notes")
