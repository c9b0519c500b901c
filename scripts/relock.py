"""Re-lock the generated project's dependencies: `make relock` in the template repo.

The generated project ships uv.lock and requirements-dev.txt (the same lock exported
with hashes for pip). They depend only on the app server, the database, the project
name and the minimum Python, so one lock per app server and database is kept under
locks/ (<app server>.uv.lock without a database, <app server>-<database>.uv.lock with
one: copier.yml's lock_name) with the name and the Python version turned back into
template variables; template/uv.lock.jinja includes it. tests/test_locks.py fails when
a lock no longer matches the generated pyproject.toml.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "locks"
PLACEHOLDER_SLUG = "relock-placeholder"
LOCKED_PYTHON = "3.11"
APP_SERVERS = {"gunicorn": "nginx", "uwsgi": "nginx", "mod_wsgi": "apache"}
DATABASES = ["none", "postgresql", "sqlite"]


def lock_name(app_server: str, database: str) -> str:
    """copier.yml's lock_name."""
    return app_server if database == "none" else f"{app_server}-{database}"


def render_without_locks(app_server: str, web_server: str, database: str, dest: Path) -> None:
    copier.run_copy(
        str(ROOT),
        dest,
        data={
            "project_slug": PLACEHOLDER_SLUG,
            "python_version": LOCKED_PYTHON,
            "app_server": app_server,
            "web_server": web_server,
            "database": database,
        },
        defaults=True,
        unsafe=False,
        quiet=True,
        vcs_ref="HEAD",
        exclude=["uv.lock", "requirements-dev.txt"],
        settings=copier.Settings(),
    )


def templatize_lock(text: str) -> str:
    name_line = f'name = "{PLACEHOLDER_SLUG}"'
    python_line = f'requires-python = ">={LOCKED_PYTHON}"'
    if text.count(name_line) != 1 or text.count(python_line) != 1:
        sys.exit("relock: uv.lock layout changed; update scripts/relock.py")
    return text.replace(name_line, 'name = "{{ project_slug }}"').replace(
        python_line, 'requires-python = ">={{ python_version }}"'
    )


def untemplatize_lock(text: str) -> str:
    return text.replace('name = "{{ project_slug }}"', f'name = "{PLACEHOLDER_SLUG}"').replace(
        'requires-python = ">={{ python_version }}"', f'requires-python = ">={LOCKED_PYTHON}"'
    )


def relock(app_server: str, web_server: str, database: str, upgrade: bool) -> None:
    name = lock_name(app_server, database)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        render_without_locks(app_server, web_server, database, project)
        previous = LOCKS / f"{name}.uv.lock"
        if not previous.is_file():
            # A new lock starts from the app server's lock without a database, so what
            # the two share stays at the same versions.
            previous = LOCKS / f"{app_server}.uv.lock"
        if previous.is_file() and not upgrade:
            # uv keeps every locked version that still fits: only what changed moves.
            (project / "uv.lock").write_text(untemplatize_lock(previous.read_text()))
        subprocess.run(["uv", "lock", "--quiet", *(["--upgrade"] if upgrade else [])],
                       cwd=project, check=True)
        subprocess.run(
            # As the generated Makefile's `make lock` exports it. No "# via" lines: they
            # list the project by name, sorted, so their order would change with it.
            ["uv", "export", "--frozen", "--all-groups", "--no-emit-project", "--no-annotate",
             "--quiet", "--output-file", "requirements-dev.txt"],
            cwd=project,
            check=True,
        )
        lock = templatize_lock((project / "uv.lock").read_text())
        (LOCKS / f"{name}.uv.lock").write_text(lock)
        requirements = (project / "requirements-dev.txt").read_text()
        requirements = requirements.replace(PLACEHOLDER_SLUG, "{{ project_slug }}")
        (LOCKS / f"{name}.requirements-dev.txt").write_text(requirements)
    print(f"relock: locks/{name}.uv.lock and .requirements-dev.txt written")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true",
                        help="move every dependency to its newest allowed version")
    args = parser.parse_args()
    LOCKS.mkdir(exist_ok=True)
    # Without a database first: the locks with one start from it.
    for database in DATABASES:
        for server, web in APP_SERVERS.items():
            relock(server, web, database, args.upgrade)
