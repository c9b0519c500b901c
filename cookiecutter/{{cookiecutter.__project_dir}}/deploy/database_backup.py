"""Back up the app's database to stdout, or restore it from stdin, for deploy/release.sh.

release.sh runs this as the app's user, with shared/app.env read by systemd itself, so
it reaches the database exactly as the app does and root never opens the app's files.
It is what `make db-backup`, `make db-restore` and the backup before each migrating
deploy run:

    python deploy/database_backup.py dump > FILE
    python deploy/database_backup.py restore < FILE
{% if cookiecutter.database == 'postgresql' %}

A dump is pg_dump's custom format (compressed; `pg_restore --list FILE` shows what it
holds). A restore replaces everything in the database's public schema, in one
transaction: it applies completely, or not at all.
{% else %}

A dump is a SQLite database file (open it with `sqlite3 FILE`), made with SQLite's
online backup, so the app keeps serving while it runs. A restore copies it back the
same way: every connection sees the restored data at once.
{% endif %}
"""

import os
{% if cookiecutter.database == 'postgresql' %}
import shutil
import subprocess
import sys

from sqlalchemy.engine import make_url

# Debian's wrappers (postgresql-client-common), which run the newest installed client:
# pg_dump must be at least as new as the server it dumps.
PG_DUMP, PG_RESTORE, PSQL = "/usr/bin/pg_dump", "/usr/bin/pg_restore", "/usr/bin/psql"

# Before the dump's statements: what the restore replaces goes first, inside the same
# transaction, so tables that a later migration added do not survive it either.
# Requests wait for the restore's locks; the restore waits at most 10 s for theirs.
RESET_SCHEMA = (
    b"BEGIN;\nSET LOCAL lock_timeout = '10s';\nDROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"
)


def libpq_connection() -> tuple[str, dict[str, str]]:
    """DATABASE_URL for pg_dump, pg_restore and psql: the URL without SQLAlchemy's
    driver name, and the password in the environment, never on a command line (where
    any user's `ps` would show it)."""
    url = make_url(os.environ["DATABASE_URL"])
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    connection = url.set(drivername="postgresql", password=None)
    return connection.render_as_string(hide_password=False), env


def dump() -> int:
    connection, env = libpq_connection()
    # Without owners and grants: the backup restores as the app's user on any server.
    command = [
        PG_DUMP,
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        f"--dbname={connection}",
    ]
    return subprocess.run(command, env=env, check=False).returncode  # noqa: S603 - fixed program


def restore() -> int:
    connection, env = libpq_connection()
    # pg_restore writes the dump as SQL, which psql runs after RESET_SCHEMA. COMMIT is
    # sent only once pg_restore has read the whole backup: psql stops at the first
    # error, and a transaction it leaves open is rolled back.
    script = subprocess.Popen(  # noqa: S603 - fixed program and options
        [PG_RESTORE, "--no-owner", "--no-privileges", "--file=-"], stdout=subprocess.PIPE, env=env
    )
    psql = subprocess.Popen(  # noqa: S603 - fixed program and options
        [
            PSQL,
            "--quiet",
            "--no-psqlrc",
            "--set=ON_ERROR_STOP=1",
            "--output=/dev/null",
            f"--dbname={connection}",
        ],
        stdin=subprocess.PIPE,
        env=env,
    )
    try:
        psql.stdin.write(RESET_SCHEMA)
        shutil.copyfileobj(script.stdout, psql.stdin)
        if script.wait() == 0:
            psql.stdin.write(b"COMMIT;\n")
        else:
            print(
                "pg_restore could not read the whole backup: nothing was restored", file=sys.stderr
            )
        psql.stdin.close()
    except BrokenPipeError:
        pass  # psql stopped at an error, and says which
    script.kill()
    return psql.wait() or script.wait()
{% else %}
import sqlite3
import sys
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url


def database_file() -> Path:
    return Path(make_url(os.environ["DATABASE_URL"]).database)


def dump() -> int:
    path = database_file()
    # Next to the database (the one directory the app may write to), then streamed out.
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".backup") as copy:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        target = sqlite3.connect(copy.name)
        with target:
            source.backup(target)
        source.close()
        target.close()
        with open(copy.name, "rb") as made:
            while chunk := made.read(1 << 20):
                sys.stdout.buffer.write(chunk)
    return 0


def restore() -> int:
    path = database_file()
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".restore") as copy:
        while chunk := sys.stdin.buffer.read(1 << 20):
            copy.write(chunk)
        copy.flush()
        source = sqlite3.connect(f"file:{copy.name}?mode=ro", uri=True)
        try:
            checked = source.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as error:
            print(f"not a SQLite database ({error}): nothing was restored", file=sys.stderr)
            return 1
        if checked != "ok":
            print(f"the backup is damaged ({checked}): nothing was restored", file=sys.stderr)
            return 1
        target = sqlite3.connect(path, timeout=30)
        source.backup(target)
        source.close()
        target.close()
    return 0
{% endif %}


if __name__ == "__main__":
    commands = {"dump": dump, "restore": restore}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} dump > FILE | restore < FILE")
    sys.exit(commands[sys.argv[1]]())
