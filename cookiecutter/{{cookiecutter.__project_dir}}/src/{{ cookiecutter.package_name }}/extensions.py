"""The database: SQLAlchemy bound to the app, Alembic migrations, the /healthz check.

Both objects are made here without an app and bound to one in create_app(), so models
and views can import them without importing the app (no circular imports).
"""

import logging
{% if cookiecutter.database == 'sqlite' %}
import sqlite3
{% endif %}

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
{% if cookiecutter.database == 'sqlite' %}
from sqlalchemy import Engine, MetaData, event, text
{% else %}
from sqlalchemy import MetaData, text
{% endif %}
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase

logger = logging.getLogger(__name__)


class Base(DeclarativeBase):
    # Constraints and indexes get predictable names instead of ones the database makes
    # up: a later migration can then drop or alter them by name, on every database.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


class DatabaseUnavailable(RuntimeError):
    """The database did not answer /healthz's query."""


def ping_database() -> None:
    """/healthz's check: `SELECT 1` through the app's own pool, so it fails exactly when
    requests would, and quickly when the database is unreachable (the timeouts are in
    config.py). The reason shown is short: /healthz is public, while the full error
    (host names, ports) goes to the app's log."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        logger.warning("database check failed: %s", error)
        cause = type(getattr(error, "orig", None) or error).__name__
        raise DatabaseUnavailable(f"SELECT 1 failed ({cause}); see the app's log") from None
{% if cookiecutter.database == 'sqlite' %}


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(connection, _record) -> None:
    """Every new SQLite connection, before its first query:
    - WAL: readers no longer wait for a writer, nor a writer for readers, so requests in
      several app-server processes do not queue behind each other (the file keeps this
      mode once set: on later connections it is a quick check);
    - foreign_keys: SQLite ignores FOREIGN KEY constraints unless each connection asks."""
    if isinstance(connection, sqlite3.Connection):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
{% endif %}
