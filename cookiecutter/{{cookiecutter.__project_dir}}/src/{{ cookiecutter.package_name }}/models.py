"""The database tables, as SQLAlchemy models.

After changing a model, `make db-migrate MSG="what changed"` writes the migration that
brings a database from the old tables to the new ones (review it: autogenerate cannot
tell a renamed column from a dropped one and a new one), and `make db-upgrade` runs it.
"""

from datetime import UTC, datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

# The longest note the page accepts; the column holds exactly this much.
NOTE_MAX_LENGTH = 500


def utc_now() -> datetime:
    return datetime.now(UTC)


class Note(db.Model):
    """A line of text anyone can add on /notes: the smallest real write and read, which
    the tests and the deploy checks use to prove the database works end to end."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(NOTE_MAX_LENGTH))
    # Set by the app, in UTC, so every database stores the same value.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
