{% if cookiecutter.database == 'postgresql' %}
import glob
import os
import shutil
import socket
from pathlib import Path

import pytest
from flask_migrate import upgrade
from pytest_postgresql import factories

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def find_pg_ctl() -> str | None:
    """PostgreSQL's pg_ctl: $PG_CTL, else Debian's and Ubuntu's place for it (newest
    version first), else the PATH (macOS, other systems)."""
    candidates = [os.environ.get("PG_CTL", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    candidates.append(shutil.which("pg_ctl") or "")
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


PG_CTL = find_pg_ctl()


def pytest_configure(config):
    if PG_CTL is None:
        pytest.exit(
            "The tests start a throwaway PostgreSQL server and need its programs: install "
            "them (Debian or Ubuntu: `sudo apt-get install postgresql`), or set PG_CTL to "
            "the path of pg_ctl",
            returncode=1,
        )


if PG_CTL and hasattr(os, "geteuid") and os.geteuid() == 0:
    # PostgreSQL refuses to run as root (CI often is root): run it as nobody, through
    # a wrapper that keeps pytest-postgresql's own calls unchanged.
    os.environ["REAL_PG_CTL"] = PG_CTL
    PG_CTL = str(Path(__file__).with_name("pg_ctl_as_nobody.sh"))

# One server for the whole run, in a temporary directory, on a free port on 127.0.0.1.
# Its data is thrown away afterwards, so it need not survive a crash: without fsync each
# test's new database is made about a third faster.
postgresql_proc = factories.postgresql_proc(
    executable=PG_CTL, postgres_options="-c fsync=off -c full_page_writes=off"
)
# A new empty database for each test (the fixture named `postgresql`), dropped after it.
postgresql = factories.postgresql("postgresql_proc")


@pytest.fixture
def database_url(postgresql) -> str:
    info = postgresql.info
    return f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{info.dbname}"


@pytest.fixture
def unreachable_database_url() -> str:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/tests"
{% elif cookiecutter.database == 'sqlite' %}
from pathlib import Path

import pytest
from flask_migrate import upgrade

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@pytest.fixture
def database_url(tmp_path) -> str:
    """A new database file for each test."""
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
def unreachable_database_url(tmp_path) -> str:
    """A file in a directory that does not exist: SQLite cannot open it."""
    return f"sqlite:///{tmp_path / 'missing' / 'test.sqlite3'}"
{% else %}
import pytest

from {{ cookiecutter.package_name }} import create_app
{% endif %}
{% if cookiecutter.database != 'none' %}


@pytest.fixture
def migrations() -> str:
    return str(MIGRATIONS)


@pytest.fixture(autouse=True)
def database_environment(monkeypatch, database_url) -> None:
    """Every app a test makes, with create_app() too, uses the test's own database."""
    monkeypatch.setenv("DATABASE_URL", database_url)


@pytest.fixture
def app():
    app = create_app({"TESTING": True, "SECRET_KEY": "test-only-key"})
    with app.app_context():
        # The tables come from the migrations, as on the servers.
        upgrade(directory=str(MIGRATIONS))
    yield app
    with app.app_context():
        # Return every connection, so the test's database can be dropped.
        db.engine.dispose()
{% else %}


@pytest.fixture
def app():
    return create_app({"TESTING": True, "SECRET_KEY": "test-only-key"})
{% endif %}


@pytest.fixture
def client(app):
    return app.test_client()
