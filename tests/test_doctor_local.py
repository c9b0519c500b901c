"""`make doctor-local` reads the files that decide each answer and names them in its fixes."""

import json
import shutil
from pathlib import Path

import pytest
from conftest import require_tool, run
from test_generated_project import fresh_copy, tool_env

pytestmark = pytest.mark.slow

SOCKET = "/run/my-flask-app/app.sock"


@pytest.fixture(scope="module")
def bootstrapped(rendered, tmp_path_factory):
    """A bootstrapped copy of the default project with the given app server, made once."""
    projects: dict[str, Path] = {}

    def get(app_server: str) -> Path:
        if app_server not in projects:
            workdir = tmp_path_factory.mktemp("local")
            project = fresh_copy(rendered(app_server=app_server), workdir)
            make = require_tool("make", "make")
            boot = run([make, "bootstrap"], cwd=project, env=tool_env())
            assert boot.returncode == 0, boot.stdout + boot.stderr
            projects[app_server] = project
        return projects[app_server]

    return get


def doctor_local(project: Path) -> dict[str, dict]:
    result = run([str(project / ".venv/bin/python"), "deploy/doctor.py", "--local", "--json"],
                 cwd=project, env=tool_env())
    report = {r["check"]: r for r in json.loads(result.stdout)}
    assert (result.returncode == 0) == all(r["ok"] for r in report.values()), result.stdout
    return report


def edited(path: Path, old: str, new: str):
    original = path.read_text()
    assert old in original
    path.write_text(original.replace(old, new))
    return original


@pytest.mark.parametrize("app_server", ["gunicorn", "uwsgi"])
def test_a_fresh_checkout_is_all_ok(bootstrapped, app_server):
    assert all(r["ok"] for r in doctor_local(bootstrapped(app_server)).values())


@pytest.mark.parametrize(("app_server", "relative"), [
    ("gunicorn", "deploy/systemd/my-flask-app.socket"),
    ("gunicorn", "deploy/nginx/my-flask-app.conf"),
    ("uwsgi", "deploy/systemd/my-flask-app.socket"),
    ("uwsgi", "deploy/uwsgi.ini"),  # uWSGI binds its own socket too, and fails when it differs
])
def test_a_socket_path_that_differs_is_named_with_its_file(bootstrapped, app_server, relative):
    project = bootstrapped(app_server)
    path = project / relative
    original = edited(path, SOCKET, "/run/my-flask-app/other.sock")
    try:
        check = doctor_local(project)["socket path"]
    finally:
        path.write_text(original)
    assert not check["ok"]
    assert f"{path} uses /run/my-flask-app/other.sock" in check["detail"]
    assert check["fix"].startswith(f"set {SOCKET} back in {relative},"), check["fix"]


def test_gunicorn_bind_is_not_checked_because_the_socket_unit_replaces_it(bootstrapped):
    project = bootstrapped("gunicorn")
    config = project / "deploy/gunicorn.conf.py"
    original = edited(config, f'bind = ["unix:{SOCKET}"]', 'bind = ["unix:/tmp/elsewhere.sock"]')
    try:
        assert doctor_local(project)["socket path"]["ok"]
    finally:
        config.write_text(original)


def test_a_locked_package_missing_from_the_venv_gets_one_fix(bootstrapped):
    project = bootstrapped("gunicorn")
    site_packages = next((project / ".venv/lib").glob("python3*/site-packages"))
    for path in site_packages.glob("blinker*"):
        shutil.rmtree(path)
    report = doctor_local(project)
    assert "blinker missing (locked" in report["venv matches uv.lock"]["detail"]
    assert "No module named 'blinker'" in report["app imports"]["detail"]
    assert report["venv matches uv.lock"]["fix"].startswith("make bootstrap")
    assert report["app imports"]["fix"].startswith("make bootstrap")
    boot = run(["make", "bootstrap"], cwd=project, env=tool_env())
    assert boot.returncode == 0, boot.stdout + boot.stderr
    assert all(r["ok"] for r in doctor_local(project).values())


def test_a_postgresql_checkout_is_all_ok_once_env_names_the_database(rendered, tmp_path):
    """psycopg needs tzdata on Windows only: the venv rightly lacks it. The app cannot
    load without DATABASE_URL, which `make doctor-local` reads from .env as `make run` does."""
    project = fresh_copy(rendered(database="postgresql"), tmp_path)
    make = require_tool("make", "make")
    boot = run([make, "bootstrap"], cwd=project, env=tool_env())
    assert boot.returncode == 0, boot.stdout + boot.stderr

    # Silent and without make's directory lines (printed when this runs under `make test`).
    missing = run([make, "-s", "--no-print-directory", "doctor-local", "JSON=1"], cwd=project,
                  env=tool_env())
    report = {r["check"]: r for r in json.loads(missing.stdout)}
    assert [name for name, r in report.items() if not r["ok"]] == ["app imports"], report
    assert "DATABASE_URL is not set" in report["app imports"]["detail"]

    (project / ".env").write_text("DATABASE_URL=postgresql+psycopg:///my_flask_app\n")
    ok = run([make, "doctor-local"], cwd=project, env=tool_env())
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ok       app imports: my_flask_app.wsgi:app loads" in ok.stdout
