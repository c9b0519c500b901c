"""Every supported answer combination renders into a clean, lint-free project."""

import re
from pathlib import Path

import pytest
import yaml
from conftest import SERVER_PAIRS, TLS_MODES, combo_id, require_tool, run

COMBOS = [(web, app, tls, "none") for web, app in SERVER_PAIRS for tls in TLS_MODES]
# A database changes the app, the tests, the Makefile and the README, and the pool size
# follows the app server: each database with each app server.
COMBOS += [(web, app, tls, database) for database in ("postgresql", "sqlite")
           for web, app, tls in [("nginx", "gunicorn", "letsencrypt"),
                                 ("lighttpd", "uwsgi", "none"), ("apache", "mod_wsgi", "custom")]]
# Flask's own templates and Ansible's playbooks and roles are Jinja by design and keep
# their {{ }}.
KEEPS_JINJA = re.compile(
    r"/templates/[^/]+\.html$|/deploy/ansible/(roles/[a-z_]+/[a-z]+/)?[^/]+\.yml$")
# GitHub's workflows have expressions of their own, ${{ ... }}.
LEFTOVER_IN_WORKFLOW = r"(?<!\$){{|{%|{#"
TEXT_SUFFIXES = {".py", ".sh", ".ps1", ".toml", ".ini", ".conf", ".md", ".txt", ".yml",
                 ".example", ".css", ".html", ".lock", ".mako", ""}


def project_files(project: Path) -> list[Path]:
    return sorted(p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts)


def text_files(project: Path) -> list[Path]:
    return [p for p in project_files(project) if p.suffix in TEXT_SUFFIXES]


def combo_ids(combo: tuple) -> str:
    web, app, tls, database = combo
    return combo_id(web, app, tls) + ("" if database == "none" else f"-{database}")


@pytest.fixture(params=COMBOS, ids=[combo_ids(c) for c in COMBOS])
def combo_project(request, rendered):
    web, app, tls, database = request.param
    if database == "none":  # the same render the other tests share
        return request.param, rendered(web_server=web, app_server=app, tls=tls)
    return request.param, rendered(web_server=web, app_server=app, tls=tls, database=database)


def test_no_template_syntax_is_left_over(combo_project):
    _, project = combo_project
    leftovers = [
        str(path.relative_to(project))
        for path in text_files(project)
        if not KEEPS_JINJA.search(path.as_posix())
        and re.search(LEFTOVER_IN_WORKFLOW if ".github/workflows/" in path.as_posix()
                      else r"{{|{%|{#", path.read_text())
    ]
    assert leftovers == []
    assert not [p for p in project_files(project) if p.name.endswith(".jinja")]


def test_files_read_like_a_human_wrote_them(combo_project):
    _, project = combo_project
    problems = []
    for path in text_files(project):
        text = path.read_text()
        name = path.relative_to(project)
        # PEP 8 puts two blank lines between top-level Python definitions (.mako: the
        # template of Alembic's migrations); nothing else has a reason for more than one.
        blank_run = "\n\n\n\n" if path.suffix in (".py", ".mako") else "\n\n\n"
        if blank_run in text:
            problems.append(f"{name}: a run of blank lines")
        if text and not text.endswith("\n"):
            problems.append(f"{name}: no newline at the end")
        if text.endswith("\n\n"):
            problems.append(f"{name}: blank line at the end")
        if re.search(r"[ \t]+$", text, re.MULTILINE):
            problems.append(f"{name}: trailing whitespace")
    assert problems == []


def test_app_server_config_matches_the_answer(combo_project):
    (web, app, tls, database), project = combo_project
    deploy = {p.name for p in (project / "deploy").iterdir()}
    assert ("gunicorn.conf.py" in deploy) == (app == "gunicorn")
    assert ("uwsgi.ini" in deploy) == (app == "uwsgi")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["web_server"] == web
    assert answers["app_server"] == app
    assert answers["tls"] == tls
    assert answers["database"] == database
    assert answers["_commit"]


# What a database brings, and nothing of it without one.
DATABASE_FILES = ["migrations/env.py", "migrations/alembic.ini", "migrations/script.py.mako",
                  "src/my_flask_app/extensions.py", "src/my_flask_app/models.py",
                  "src/my_flask_app/notes.py", "src/my_flask_app/templates/notes.html",
                  "tests/test_database.py"]


def test_database_files_match_the_answer(combo_project):
    (_, app, _, database), project = combo_project
    present = [name for name in DATABASE_FILES if (project / name).is_file()]
    assert present == (DATABASE_FILES if database != "none" else [])
    versions = project / "migrations/versions"
    migrations = sorted(versions.glob("*.py")) if versions.is_dir() else []
    assert len(migrations) == (0 if database == "none" else 1)
    pyproject = (project / "pyproject.toml").read_text()
    lock = (project / "uv.lock").read_text()
    for package, wanted in [("flask-sqlalchemy", database != "none"),
                            ("flask-migrate", database != "none"),
                            ("psycopg", database == "postgresql"),
                            ("pytest-postgresql", database == "postgresql")]:
        assert (f'"{package}' in pyproject) == wanted, package
        assert (f'name = "{package}"' in lock) == wanted, package
    assert ("pg_ctl_as_nobody.sh" in {p.name for p in (project / "tests").iterdir()}) == (
        database == "postgresql")
    if database != "none":
        config = (project / "src/my_flask_app/config.py").read_text()
        pool = {"gunicorn": 1, "uwsgi": 1, "mod_wsgi": 8}[app]
        assert f'"pool_size": {pool},' in config
        # No secret is ever written down: a URL with a password has user:password@
        # (an example's placeholder, PASSWORD, is not one).
        for path in text_files(project):
            assert not re.search(r"postgresql(\+psycopg)?://[^/\s@]*:(?!PASSWORD@)[^/\s@]*@",
                                 path.read_text()), path


def test_ruff_passes_on_the_generated_code(combo_project):
    _, project = combo_project
    ruff = require_tool("ruff", "ruff (pip: part of the test dependencies)")
    check = run([ruff, "check", "--no-cache", "."], cwd=project)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = run([ruff, "format", "--check", "--no-cache", "."], cwd=project)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_shellcheck_passes_on_the_generated_scripts(combo_project):
    _, project = combo_project
    shellcheck = require_tool("shellcheck", "shellcheck")
    scripts = sorted(str(p) for p in project.rglob("*.sh"))
    assert len(scripts) >= 1
    result = run([shellcheck, "--shell=sh", *scripts], cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_scripts_are_executable(combo_project):
    _, project = combo_project
    for script in project.rglob("*.sh"):
        assert script.stat().st_mode & 0o111, f"{script.name} is not executable"


def test_makefile_offers_every_documented_target(combo_project):
    _, project = combo_project
    make = require_tool("make", "make")
    result = run([make, "--no-print-directory", "help"], cwd=project)
    assert result.returncode == 0, result.stderr
    listed = re.findall(r"^  make (\S+)", result.stdout, re.MULTILINE)
    assert listed[0] == "help"
    assert {"bootstrap", "run", "serve", "test", "lint", "clean", "lock", "provision", "deploy",
            "rollback", "releases", "status", "logs", "restart", "reload", "tls"} <= set(listed)
    # `make` alone prints the same help
    assert run([make, "--no-print-directory"], cwd=project).stdout == result.stdout


def test_custom_names_reach_every_file(rendered):
    project = rendered(project_name="Shop Front", project_slug="shop-front",
                       package_name="storefront", domain="shop.example.org", dev_port=8765)
    assert (project / "src" / "storefront" / "wsgi.py").is_file()
    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "shop-front"' in pyproject
    assert 'module-name = "storefront"' in pyproject
    assert 'name = "shop-front"' in (project / "uv.lock").read_text()
    assert "127.0.0.1:8765" in (project / "Makefile").read_text()
    assert 'wsgi_app = "storefront.wsgi:app"' in (project / "deploy/gunicorn.conf.py").read_text()
    assert "unix:/run/shop-front/app.sock" in (project / "deploy/gunicorn.conf.py").read_text()
