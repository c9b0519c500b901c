"""The generated project works: bootstrap, its own tests, lint and `make serve`."""

import contextlib
import glob
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import workflows
from conftest import (
    VENV_BIN,
    assert_pre_commit_passed_offline,
    commit_all,
    ctrl_c_reaches_it,
    free_port,
    git,
    locked_requirements,
    require_tool,
    run,
    stop_with_ctrl_c,
)

pytestmark = pytest.mark.slow

# A secret key the generated app accepts outside debug mode (32 characters or more).
SERVE_KEY = "serve-test-key-" + "0" * 32

# The defaults, plus the other app servers on other web servers and Python versions.
ANSWER_SETS = {
    "defaults": {},
    "uwsgi-lighttpd-py312": {"app_server": "uwsgi", "web_server": "lighttpd",
                             "python_version": "3.11", "tls": "none"},
    "mod_wsgi-apache": {"app_server": "mod_wsgi", "web_server": "apache", "tls": "custom"},
    # A name outside ASCII still gives an ASCII slug and package (cafe-creme, cafe_creme).
    "non-ascii-name": {"project_name": "Café Crème"},
    # With a database its tests run against it: a file, or a throwaway PostgreSQL server.
    "sqlite": {"database": "sqlite"},
    "postgresql": {"database": "postgresql"},
}


# Where Debian's postgresql package puts the server programs the generated tests start.
PG_CTL = "/usr/lib/postgresql/*/bin/pg_ctl"


def tool_env(**extra: str) -> dict[str, str]:
    """The environment with the test venv's tools (uv, ruff, shellcheck) on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "FLASK_"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env['PATH']}"
    env.update(extra)
    return env


def fresh_copy(source: Path, tmp_path: Path) -> Path:
    project = tmp_path / source.name
    shutil.copytree(source, project)
    return project


@pytest.mark.parametrize("answers", ANSWER_SETS.values(), ids=ANSWER_SETS.keys())
def test_bootstrap_then_its_own_tests_and_lint_pass(rendered, tmp_path, answers):
    require_tool("uv", "uv (pip: part of the test dependencies)")
    if answers.get("database") == "postgresql" and not glob.glob(PG_CTL):
        pytest.fail("PostgreSQL not found: install it with `apt-get install postgresql` "
                    "(or run `make test`, which installs everything the tests need)")
    project = fresh_copy(rendered(**answers), tmp_path)
    make = require_tool("make", "make")

    # The CI workflow's test job, step by step, on a fresh clone as a runner has it
    # (lint, the tests, doctor-local, the bundle; uv and the cache are the runner's).
    git(project, "init", "-q")
    commit_all(project, "generated")
    workflow = workflows.load(project / ".github/workflows/ci.yml")
    steps = workflows.run_job(project, workflow, "test", env=tool_env())
    for script, result in steps.items():
        assert result.returncode == 0, f"{script}:\n{result.stdout}{result.stderr}"
    assert len(steps) == len(workflows.run_scripts(workflow, only_job="test"))
    assert " passed" in steps["make test"].stdout
    if "database" in answers:
        assert "tests/test_database.py ..." in steps["make test"].stdout
    for pattern in workflows.uploaded_paths(workflow, "test"):
        assert glob.glob(pattern, root_dir=project), pattern
    if not answers:
        pre_commit_agrees_with_make_lint(project, tmp_path, make)

    # Re-running is safe and quick: the second bootstrap changes nothing.
    again = run([make, "bootstrap"], cwd=project, env=tool_env())
    assert again.returncode == 0, again.stdout + again.stderr


def pre_commit_agrees_with_make_lint(project: Path, tmp_path: Path, make: str) -> None:
    """In a committed project: the pre-commit hooks pass where `make lint` does, run
    from the project's venv with nothing downloaded (an empty PRE_COMMIT_HOME keeps only
    its own database), and both fail on the conflict markers `copier update` can leave."""
    home = tmp_path / "pre-commit-home"
    env = tool_env(PRE_COMMIT_HOME=str(home))
    pre_commit = [str(project / ".venv/bin/pre-commit"), "run", "--all-files"]
    hooks = run(pre_commit, cwd=project, env=env)
    assert_pre_commit_passed_offline(hooks, ("ruff check", "ruff format --check", "shellcheck",
                                             "yamllint", "no merge conflict markers"), home)

    # In a file no other check parses, as copier update leaves them in the README.
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "<<<<<<< HEAD\nours\n=======\ntheirs\n"
                      ">>>>>>> template\n")
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    assert run(pre_commit, cwd=project, env=env).returncode != 0
    lint = run([make, "lint"], cwd=project, env=tool_env())
    assert lint.returncode != 0 and "conflict markers" in lint.stderr, lint.stderr


def locked_versions(project: Path) -> dict[str, str]:
    locked = locked_requirements(project)
    assert locked
    return locked


def installed_versions(project: Path) -> dict[str, str]:
    freeze = run([str(project / ".venv/bin/python"), "-m", "pip", "list", "--format=freeze"],
                 cwd=project)
    # Names as the lock spells them (PEP 503): pip lists pre_commit for pre-commit.
    return {re.sub(r"[-_.]+", "-", line.split("==")[0]).lower(): line.split("==")[1]
            for line in freeze.stdout.splitlines() if "==" in line}


def without_uv_env() -> dict[str, str]:
    """A PATH with python3, make and the shell tools, but no uv anywhere on it."""
    path = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin")
                           if not shutil.which("uv", path=p))
    assert shutil.which("python3", path=path) and shutil.which("make", path=path)
    return {**tool_env(), "PATH": path}


def test_bootstrap_without_uv_installs_the_locked_uv_with_pip(rendered, tmp_path):
    project = fresh_copy(rendered(), tmp_path)
    env = without_uv_env()
    result = run(["make", "test"], cwd=project, env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pip installs the locked uv" in result.stdout
    assert "https://docs.astral.sh/uv/" in result.stdout  # the hint for installing uv
    locked = locked_versions(project)
    assert {name: installed_versions(project).get(name) for name in locked} == locked

    # The next bootstrap uses the venv's own uv, and so does `make lock`.
    again = run(["make", "bootstrap"], cwd=project, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "uv sync into .venv (the uv in .venv" in again.stdout
    lock_before = (project / "uv.lock").read_text()
    relock = run(["make", "lock"], cwd=project, env=env)
    assert relock.returncode == 0, relock.stdout + relock.stderr
    assert (project / "uv.lock").read_text() == lock_before

    # What `make lock` is for: a dependency added to pyproject.toml gets locked, and the
    # next make target installs it.
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        '"flask>=3.1,<4",', '"flask>=3.1,<4",\n    "itsdangerous>=2.2",'))
    relock = run(["make", "lock"], cwd=project, env=env)
    assert relock.returncode == 0, relock.stdout + relock.stderr
    assert (project / "uv.lock").read_text() != lock_before
    tests = run(["make", "test"], cwd=project, env=env)
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_a_venv_left_without_pip_is_rebuilt(rendered, tmp_path):
    """`python3 -m venv` without python3-venv leaves a venv with no pip behind; once the
    package is installed, the next bootstrap must not keep that venv."""
    project = fresh_copy(rendered(), tmp_path)
    env = without_uv_env()
    made = run(["python3", "-m", "venv", "--without-pip", ".venv"], cwd=project, env=env)
    assert made.returncode == 0, made.stderr
    result = run(["sh", "scripts/bootstrap.sh"], cwd=project, env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ".venv is broken, recreating it" in result.stdout
    assert (project / ".venv/bin/uv").is_file()


def test_check_lock_finds_what_dependabot_leaves_and_upgrade_relocks_and_tests(
        rendered, tmp_path):
    project = fresh_copy(rendered(), tmp_path)
    env = tool_env()
    assert run(["make", "check-lock"], cwd=project, env=env).returncode == 2  # no venv yet
    bootstrap = run(["make", "bootstrap"], cwd=project, env=env)
    assert bootstrap.returncode == 0, bootstrap.stdout + bootstrap.stderr
    checked = run(["make", "check-lock"], cwd=project, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # What a Dependabot pull request does: another version in uv.lock, and only there.
    moved = run([str(project / ".venv/bin/uv"), "lock", "--quiet",
                 "--upgrade-package", "click==8.1.8"], cwd=project, env=env)
    assert moved.returncode == 0, moved.stderr
    assert locked_requirements(project)["click"] != "8.1.8"  # the export: not yet
    stale = run(["make", "check-lock"], cwd=project, env=env)
    assert stale.returncode != 0
    assert "+click==8.1.8" in stale.stderr and "run make lock" in stale.stderr

    upgrade = run(["make", "upgrade"], cwd=project, env=env, timeout=600)
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert " passed" in upgrade.stdout
    newest = locked_requirements(project)["click"]
    assert tuple(map(int, newest.split("."))) > (8, 1, 8)
    assert installed_versions(project)["click"] == newest
    checked = run(["make", "check-lock"], cwd=project, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_secrets_edit_encrypts_with_a_password_kept_outside_the_repo(rendered, tmp_path):
    project = fresh_copy(rendered(), tmp_path)
    env = tool_env()
    bootstrap = run(["make", "bootstrap"], cwd=project, env=env)
    assert bootstrap.returncode == 0, bootstrap.stdout + bootstrap.stderr
    # The editor ansible-vault opens: uncomments the example token and sets it.
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/^  # PAYMENT_API_TOKEN: <token>$/"
                      "  PAYMENT_API_TOKEN: tok-4f2a/' \"$1\"\n")
    editor.chmod(0o755)
    password = tmp_path / "home-config" / "vault-password"

    def secrets_edit(*args: str) -> subprocess.CompletedProcess[str]:
        return run(["make", "secrets-edit", f"EDITOR={editor}", *args], cwd=project, env=env)

    made = secrets_edit(f"VAULT_PASSWORD_FILE={password}")
    assert made.returncode == 0, made.stdout + made.stderr
    assert f"a new vault password for production is in {password}" in made.stderr
    assert password.stat().st_mode & 0o777 == 0o600
    vault = project / "deploy/secrets/production.vault.yml"
    assert vault.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
    assert "tok-4f2a" not in vault.read_text()
    view = run([str(project / ".venv/bin/ansible-vault"), "view", "--vault-password-file",
                str(password), str(vault)], cwd=project, env=env)
    assert "\n  PAYMENT_API_TOKEN: tok-4f2a\n" in view.stdout, view.stderr

    # Without its password the file is refused, by name, before anything else runs.
    for target in ("secrets-edit", "provision"):
        refused = run(["make", target, f"VAULT_PASSWORD_FILE={tmp_path / 'none'}"],
                      cwd=project, env=env)
        assert refused.returncode != 0
        assert "deploy/secrets/production.vault.yml needs its vault password" in refused.stderr
    # Another environment has a file and a password of its own.
    staging_password = tmp_path / "staging-password"
    staging = secrets_edit("ENV=staging", f"VAULT_PASSWORD_FILE={staging_password}")
    assert staging.returncode == 0, staging.stdout + staging.stderr
    assert staging_password.read_text() != password.read_text()
    assert (project / "deploy/secrets/staging.vault.yml").is_file()


def test_env_picks_the_environments_inventory_and_variables(rendered, tmp_path):
    project = fresh_copy(rendered(), tmp_path)
    env = tool_env()
    assert run(["make", "bootstrap"], cwd=project, env=env).returncode == 0
    missing = run(["make", "status", "ENV=staging"], cwd=project, env=env)
    assert missing.returncode != 0
    assert ("no deploy/environments/staging/inventory.ini: list the servers of ENV=staging"
            in missing.stderr)
    bad = run(["make", "status", "ENV=../x"], cwd=project, env=env)
    assert bad.returncode != 0 and "ENV=../x: use lowercase letters" in bad.stderr

    staging = project / "deploy/environments/staging"
    staging.mkdir(parents=True)
    (staging / "inventory.ini").write_text("[web]\nstaging1.example.com\n")
    (staging / "vars.yml").write_text("batch_size: 3\n")
    # Ansible names the hosts it would act on, without connecting to them.
    hosts = run(["make", "status", "ENV=staging", "ANSIBLE_ARGS=--list-hosts"], cwd=project,
                env=env)
    assert hosts.returncode == 0, hosts.stdout + hosts.stderr
    assert "staging1.example.com" in hosts.stdout and "web1" not in hosts.stdout
    assert "-e deploy_environment=staging -e @deploy/environments/staging/vars.yml" in (
        hosts.stdout)
    # An ENV variable in the environment is sh's, not an environment name.
    default = run(["make", "-n", "status"], cwd=project, env={**env, "ENV": "/etc/shrc"})
    assert "-i deploy/inventory.ini -e deploy_environment=production" in default.stdout


def test_pip_alone_installs_the_same_locked_versions(rendered, tmp_path):
    project = fresh_copy(rendered(), tmp_path)
    make = require_tool("make", "make")
    result = run([make, "test"], cwd=project, env=tool_env(BOOTSTRAP_PIP_ONLY="1"), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pip install -r requirements-dev.txt" in result.stdout
    locked = locked_versions(project)
    assert {name: installed_versions(project).get(name) for name in locked} == locked


def test_bootstrap_refuses_a_missing_python(rendered, tmp_path):
    project = fresh_copy(rendered(), tmp_path)
    result = run(["sh", "scripts/bootstrap.sh"], cwd=project,
                 env=tool_env(PYTHON="python-that-does-not-exist"))
    assert result.returncode == 1
    assert "python-that-does-not-exist not found" in result.stderr
    assert "apt-get install python3 python3-venv" in result.stderr
    assert not (project / ".venv").exists()


def test_bootstrap_refuses_a_too_old_python(rendered, tmp_path):
    project = fresh_copy(rendered(python_version="3.13"), tmp_path)
    python = shutil.which("python3.11") or shutil.which("python3")
    result = run(["sh", "scripts/bootstrap.sh"], cwd=project, env=tool_env(PYTHON=python))
    assert result.returncode == 1
    assert "needs >= 3.13" in result.stderr
    assert not (project / ".venv").exists()


def wait_for_health(url: str, process: subprocess.Popen, log: Path,
                    deadline_s: float = 30) -> bytes:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                return response.read()
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {deadline_s}s")


def world_readable_copy(source: Path) -> Path:
    """Apache will not serve as root: as root, `make serve` runs as nobody, who must be
    able to read the project (pytest's own temp dirs are private to root)."""
    project = Path(tempfile.mkdtemp(prefix="serve-")) / source.name
    project.parent.chmod(0o755)
    shutil.copytree(source, project)
    return project


@pytest.mark.parametrize("app_server", ["gunicorn", "uwsgi", "mod_wsgi"])
def test_make_serve_runs_the_chosen_app_server_on_loopback(rendered, tmp_path, app_server):
    answers = {"app_server": app_server}
    as_nobody: list[str] = []
    if app_server == "mod_wsgi":
        require_tool("apache2", "apache2")
        answers["web_server"] = "apache"
        project = world_readable_copy(rendered(**answers))
        if os.geteuid() == 0:
            as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    else:
        project = fresh_copy(rendered(**answers), tmp_path)
    make = require_tool("make", "make")
    boot = run([make, "bootstrap"], cwd=project, env=tool_env())
    assert boot.returncode == 0, boot.stdout + boot.stderr
    (project / ".env").write_text(f"FLASK_SECRET_KEY={SERVE_KEY}\nFLASK_RELEASE_ID=served\n")
    port = free_port()
    # A file, not a pipe: Apache reopens /dev/stderr, which needs write access to it.
    log_path = project.parent / "serve.log"
    log_path.touch()
    if as_nobody:
        shutil.chown(log_path, "nobody")
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*as_nobody, make, "serve", f"PORT={port}"], cwd=project,
            env=tool_env(TMPDIR=tempfile.gettempdir()), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=ctrl_c_reaches_it,
        )
    try:
        body = wait_for_health(f"http://127.0.0.1:{port}/healthz", server, log_path)
        assert b'"release":"served"' in body
        assert b'"status":"ok"' in body
        static = urllib.request.urlopen(f"http://127.0.0.1:{port}/static/style.css")  # noqa: S310
        assert static.headers["Content-Type"].startswith("text/css")
    finally:
        # Ctrl-C, as a developer stops `make serve`; a second, harder one if that hangs
        # (uWSGI now and then keeps respawning workers killed by the same Ctrl-C).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)
        output = log_path.read_text()
        if app_server == "mod_wsgi":
            shutil.rmtree(project.parent)
    assert {"gunicorn": "Starting gunicorn", "uwsgi": "uWSGI", "mod_wsgi": "mod_wsgi/"}[
        app_server] in output, output


def test_mod_wsgi_serve_explains_a_venv_from_the_wrong_python(rendered, tmp_path):
    require_tool("apache2", "apache2")
    project = fresh_copy(rendered(app_server="mod_wsgi", web_server="apache"), tmp_path)
    (project / ".venv").mkdir()
    (project / ".venv/pyvenv.cfg").write_text("home = /opt/python/bin\n")
    result = run(["sh", "scripts/serve-mod-wsgi.sh"], cwd=project)
    assert result.returncode == 1
    assert "not made by /usr/bin/python3" in result.stderr


def test_make_serve_names_a_missing_or_wrong_setting_in_one_line(rendered, tmp_path):
    project = fresh_copy(rendered(), tmp_path)
    make = require_tool("make", "make")
    boot = run([make, "bootstrap"], cwd=project, env=tool_env())
    assert boot.returncode == 0, boot.stdout + boot.stderr

    no_env = run([make, "serve", f"PORT={free_port()}"], cwd=project, env=tool_env())
    assert no_env.returncode != 0
    errors = no_env.stderr.strip().splitlines()
    assert errors[0] == ("make serve: no .env: cp deploy/app.env.example .env, "
                         "then set FLASK_SECRET_KEY in it"), no_env.stderr
    assert len(errors) == 2 and "Error 1" in errors[1], no_env.stderr  # make's own line

    for settings, message in [
        (f"FLASK_SECRET_KEY={SERVE_KEY}\nFLASK_LOG_LEVEL=LOUD\n",
         "my_flask_app: FLASK_LOG_LEVEL 'LOUD' is not a logging level"),
        ("FLASK_SECRET_KEY=change-me\n",  # the example file's placeholder, left as it was
         "my_flask_app: FLASK_SECRET_KEY is a placeholder or shorter than 32 characters"),
    ]:
        (project / ".env").write_text(settings)
        wrong = run([make, "serve", f"PORT={free_port()}"], cwd=project, env=tool_env())
        assert wrong.returncode != 0
        errors = wrong.stderr.strip().splitlines()
        assert errors[0].startswith(message), errors
        assert len(errors) == 2 and "Traceback" not in wrong.stdout + wrong.stderr


def post_a_note(base: str, text: str) -> str:
    """What a browser does on /notes: load the form (its session cookie and token), post
    the note, follow the redirect; returns the page it lands on. The cookie is handed
    back by hand: it is Secure (an HTTPS site), which browsers send to http://127.0.0.1
    but urllib's cookie jar does not."""
    with urllib.request.urlopen(f"{base}/notes", timeout=10) as form:  # noqa: S310 - loopback
        cookie = form.headers["Set-Cookie"].split(";")[0]
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.read().decode()).group(1)
    data = urllib.parse.urlencode({"text": text, "csrf_token": token}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/notes", data=data, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as page:  # noqa: S310 - loopback
        assert page.url == f"{base}/notes"  # redirected back to the list
        return page.read().decode()


def test_sqlite_works_out_of_the_box_and_the_db_targets_change_the_schema(rendered, tmp_path):
    """`make run` on a fresh copy makes the database from the migrations and a note posted
    through the page is stored; then a model change goes through `make db-migrate`,
    `make db-upgrade` and `make db-downgrade` as a developer would do it."""
    project = fresh_copy(rendered(database="sqlite"), tmp_path)
    make = require_tool("make", "make")
    boot = run([make, "bootstrap"], cwd=project, env=tool_env())
    assert boot.returncode == 0, boot.stdout + boot.stderr
    database = project / "src/instance/my_flask_app.sqlite3"
    assert not database.exists()

    port = free_port()
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([make, "run", f"PORT={port}"], cwd=project, env=tool_env(),
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                  preexec_fn=ctrl_c_reaches_it)
    try:
        base = f"http://127.0.0.1:{port}"
        health = json.loads(wait_for_health(f"{base}/healthz", server, log_path))
        assert health == {"status": "ok", "release": "development", "failures": {}}
        page = post_a_note(base, "Written through make run")
        assert "Written through make run" in page
    finally:
        stop_with_ctrl_c(server, timeout=15)
    with contextlib.closing(sqlite3.connect(database)) as connection:
        assert connection.execute("SELECT text FROM notes").fetchall() == [
            ("Written through make run",)]

    def make_ok(*args: str) -> subprocess.CompletedProcess[str]:
        result = run([make, *args], cwd=project, env=tool_env())
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def columns() -> list[str]:
        with contextlib.closing(sqlite3.connect(database)) as connection:
            return [row[1] for row in connection.execute("PRAGMA table_info(notes)")]

    first = next((project / "migrations/versions").glob("*.py"))
    first_revision = re.search(r'^revision = "(\w+)"', first.read_text(), re.MULTILINE)[1]
    models = project / "src/my_flask_app/models.py"
    title = "    title: Mapped[str | None] = mapped_column(String(100))\n"
    models.write_text(models.read_text() + title)
    make_ok("db-migrate", "MSG=Add a title to notes")
    new = [p for p in (project / "migrations/versions").glob("*.py") if p != first]
    assert len(new) == 1 and new[0].name.endswith("_add_a_title_to_notes.py"), new
    # SQLite's batch mode, and formatted as the project's own code is.
    assert 'with op.batch_alter_table("notes"' in new[0].read_text()
    make_ok("lint")

    make_ok("db-upgrade")
    assert columns() == ["id", "text", "created_at", "title"]
    assert "(head) (current)" in make_ok("db-history").stdout
    # The model and the migrations agree again, so the project's own tests pass.
    make_ok("test")

    refused = run([make, "db-downgrade"], cwd=project, env=tool_env())
    assert refused.returncode != 0
    assert "name the revision to go back to, REV=<id>" in refused.stderr
    assert columns() == ["id", "text", "created_at", "title"]
    make_ok("db-downgrade", f"REV={first_revision}")
    assert columns() == ["id", "text", "created_at"]
    with contextlib.closing(sqlite3.connect(database)) as connection:
        assert connection.execute("SELECT text FROM notes").fetchall() == [
            ("Written through make run",)]
