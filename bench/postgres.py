"""A throwaway PostgreSQL inside a bench sandbox, set up the way a Debian server has it.

The cluster lives in the sandbox's /srv (a tmpfs that vanishes with it) and listens only
on its Unix socket in /run/postgresql (listen_addresses=''), where Debian's own
clusters listen; the app reaches it as its service user through peer authentication,
so no password is involved. PostgreSQL refuses to run as root: initdb, the server and
the admin commands run as the `postgres` system user (which Debian's package creates).
"""

import glob
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import pytest  # noqa: E402
from sandbox import Sandbox  # noqa: E402

SOCKET_DIR = "/run/postgresql"
DATA_DIR = "/srv/postgresql/data"
ADMIN = "postgres"


def postgresql_bin() -> str:
    """Debian's place for the server programs (the newest major version installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(Path(path).parts[-3]), reverse=True)
    if not found:
        pytest.fail("PostgreSQL not found under /usr/lib/postgresql: install it with "
                    "`apt-get install postgresql` (or run `make test`, which installs "
                    "everything the tests need)")
    return str(Path(found[0]).parent)


def as_admin(command: str) -> list[str]:
    return ["setpriv", f"--reuid={ADMIN}", f"--regid={ADMIN}", "--init-groups",
            "sh", "-ec", command]


def start_postgresql(sandbox: Sandbox) -> None:
    """initdb and start the server in the sandbox; returns once it accepts connections."""
    bin_dir = postgresql_bin()
    if sandbox.run(["id", ADMIN], check=False).returncode != 0:
        sandbox.sh(f"useradd --system --no-create-home --home-dir /nonexistent "
                   f"--shell /usr/sbin/nologin {ADMIN}")
    sandbox.sh(f"install -d -o {ADMIN} -g {ADMIN} -m 0700 {DATA_DIR}; "
               f"install -d -o {ADMIN} -g {ADMIN} -m 2775 {SOCKET_DIR}")
    # Local connections by peer (the OS user is the role), nothing over TCP; --no-sync:
    # a throwaway cluster need not wait for its files to reach the disk.
    sandbox.run(as_admin(f"{bin_dir}/initdb --pgdata={DATA_DIR} --username={ADMIN} "
                         "--auth-local=peer --auth-host=reject --encoding=UTF8 "
                         "--locale=C --no-sync >/dev/null"), timeout=120)
    server = sandbox.start("postgresql", as_admin(
        f"exec {bin_dir}/postgres -D {DATA_DIR} -c listen_addresses='' "
        f"-c unix_socket_directories={SOCKET_DIR}"))
    sandbox.wait_until("postgresql", lambda: sandbox.run(
        [f"{bin_dir}/pg_isready", "--quiet", "--host", SOCKET_DIR], check=False
    ).returncode == 0, watch=(("postgresql", server),))


def psql(sandbox: Sandbox, user: str, database: str, sql: str) -> str:
    """Run SQL as the OS user `user` (peer authentication: as the role of that name)."""
    command = (f"{postgresql_bin()}/psql --no-psqlrc --quiet --tuples-only "
               f"--set ON_ERROR_STOP=1 --host {SOCKET_DIR} --dbname {shlex.quote(database)}")
    return sandbox.run(["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups",
                        "sh", "-ec", command], input=sql).stdout


def create_database(sandbox: Sandbox, owner: str, database: str) -> str:
    """A role for the OS user `owner` and a database it owns; returns the SQLAlchemy URL
    the app's environment file gets (the form deploy/app.env.example documents)."""
    psql(sandbox, ADMIN, "postgres",
         f'CREATE ROLE "{owner}" LOGIN;\nCREATE DATABASE "{database}" OWNER "{owner}";\n')
    return f"postgresql+psycopg:///{database}?host={SOCKET_DIR}"
