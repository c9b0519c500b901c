"""Alembic's environment: how `flask db ...` (Flask-Migrate) runs the migrations.

They run on the app's own engine, so they reach the database DATABASE_URL names with
the app's settings, and compare against the app's models (models.py) when
`make db-migrate` writes a new one.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
# Logging as alembic.ini says; the app's own loggers keep working.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

migrate = current_app.extensions["migrate"]
engine = migrate.db.engine
target_metadata = migrate.db.metadata

# The advisory lock that lets one migration run at a time (any fixed number, "migr").
MIGRATION_LOCK = 0x6D696772


def lift_timeouts() -> None:
    """Inside the migrations' transaction, on PostgreSQL: no statement timeout (config.py
    stops an app query after 5 s, but a migration may rightly take longer, e.g. to build
    an index), and a lock timeout instead. A migration that waits for a table another
    transaction holds would make every request on that table wait behind it; after 5 s
    it fails instead, its transaction is rolled back, and it can be run again.

    Before that, one run at a time: where several start together (each new Kubernetes
    pod runs `flask db upgrade` first), the others wait here until the first commits,
    then read the version it left and find nothing to do. The lock ends with the
    transaction."""
    if context.get_context().dialect.name == "postgresql":
        context.execute("SET LOCAL statement_timeout = 0")
        context.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.execute("SET LOCAL lock_timeout = '5s'")


def run_migrations_offline() -> None:
    """`flask db upgrade --sql`: print the SQL instead of running it (for a database
    administrator to review or run)."""
    context.configure(
        url=engine.url.render_as_string(hide_password=True),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        lift_timeouts()
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty_migrations(context, revision, directives) -> None:
        # `make db-migrate` with no model changes writes no empty migration.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    # Migrate(...)'s own arguments (create_app() turns on batch mode for SQLite) win.
    configure_args = {"process_revision_directives": skip_empty_migrations}
    configure_args.update(migrate.configure_args)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, **configure_args)
        # One transaction for every pending migration: on PostgreSQL, whose schema
        # changes are transactional, a failing migration leaves nothing half done.
        with context.begin_transaction():
            lift_timeouts()
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
