"""The shipped locks match the generated pyproject.toml for every app server, database
and Python."""

import os
import re
import sys

import pytest
from conftest import require_tool, run

APP_SERVERS = [("gunicorn", "nginx"), ("uwsgi", "nginx"), ("mod_wsgi", "apache")]
# One lock per app server and database (locks/<app server>[-<database>].uv.lock).
LOCKS = [(app, web, database) for database in ("none", "postgresql", "sqlite")
         for app, web in APP_SERVERS]
LOCK_IDS = [app if database == "none" else f"{app}-{database}" for app, _, database in LOCKS]
# uv only checks a lock with an interpreter that satisfies requires-python; the test
# machine's is 3.11 (Debian 12), and uv must never try to download another.
UV_ENV = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
SYSTEM_PYTHON = getattr(sys, "_base_executable", sys.executable)


def lock_lines(text: str) -> list[str]:
    """The requirements without comments. The "# via" notes list the project by its
    name, sorted among the packages: the lock's placeholder name sorts differently."""
    return [line for line in text.splitlines() if not line.lstrip().startswith("#")]


@pytest.mark.parametrize(("app_server", "web_server", "database"), LOCKS, ids=LOCK_IDS)
def test_lock_is_current_and_requirements_match_it(rendered, app_server, web_server, database):
    uv = require_tool("uv", "uv (pip: part of the test dependencies)")
    project = rendered(app_server=app_server, web_server=web_server, python_version="3.11",
                       project_slug="lock-check", database=database)
    # --check fails when uv.lock no longer satisfies pyproject.toml: run `make relock`.
    check = run([uv, "lock", "--check", "--python", SYSTEM_PYTHON], cwd=project, env=UV_ENV)
    assert check.returncode == 0, check.stderr
    exported = run([uv, "export", "--frozen", "--all-groups", "--no-emit-project", "--quiet"],
                   cwd=project, env=UV_ENV)
    assert exported.returncode == 0, exported.stderr
    assert lock_lines(exported.stdout) == lock_lines(
        (project / "requirements-dev.txt").read_text())


@pytest.mark.parametrize("python_version", ["3.12", "3.13"])
@pytest.mark.parametrize("app_server", ["gunicorn", "uwsgi"])
def test_a_newer_minimum_python_cannot_change_the_lock(rendered, app_server, python_version):
    """One lock serves every python_version: it holds no Python-version fork or marker, so
    raising requires-python leaves the resolution as it is; only that line differs."""
    base = rendered(app_server=app_server, python_version="3.11")
    newer = rendered(app_server=app_server, python_version=python_version)
    base_lock = (base / "uv.lock").read_text()
    newer_lock = (newer / "uv.lock").read_text()
    assert not re.search(r"python_(full_)?version|resolution-markers", base_lock)
    assert f'requires-python = ">={python_version}"' in newer_lock
    assert newer_lock.replace(f">={python_version}", ">=3.11") == base_lock


# What runs on the Linux servers only: a Windows developer's venv leaves these out.
LINUX_ONLY = {"gunicorn", "pyuwsgi", "ansible-core", "cryptography", "cffi"}


@pytest.mark.parametrize(("app_server", "web_server", "database"), LOCKS, ids=LOCK_IDS)
def test_the_lock_installs_on_windows_without_the_linux_only_packages(
        rendered, tmp_path, app_server, web_server, database):
    """What bootstrap.ps1's pip path installs, resolved for Windows: every package has a
    hash-checked distribution there (pyuwsgi has no Windows build at all; psycopg's
    binary wheels exist for Windows too)."""
    uv = require_tool("uv", "uv (pip: part of the test dependencies)")
    project = rendered(app_server=app_server, web_server=web_server, database=database)
    plan = run([uv, "pip", "install", "--dry-run", "--python-platform", "x86_64-pc-windows-msvc",
                "--python-version", "3.11", "--require-hashes", "--no-deps",
                "-r", "requirements-dev.txt", "--target", str(tmp_path / "windows")],
               cwd=project, env=UV_ENV)
    assert plan.returncode == 0, plan.stderr
    planned = set(re.findall(r"^ \+ ([a-z0-9_.-]+)==", plan.stdout + plan.stderr, re.MULTILINE))
    assert {"flask", "pytest", "ruff", "uv"} <= planned
    if database != "none":
        assert {"flask-sqlalchemy", "flask-migrate", "sqlalchemy"} <= planned
    if database == "postgresql":
        assert {"psycopg", "psycopg-binary", "pytest-postgresql"} <= planned
    assert not planned & LINUX_ONLY, planned & LINUX_ONLY
