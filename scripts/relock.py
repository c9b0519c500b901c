"""Re-lock the generated project's dependencies: `make relock` in the template repo.

The generated project ships uv.lock and requirements-dev.txt (the same lock exported
with hashes for pip). They depend only on the app server, the project name and the
minimum Python, so one lock per app server is kept under locks/ with the name and the
Python version turned back into template variables; template/uv.lock.jinja includes it.
tests/test_locks.py fails when a lock no longer matches the generated pyproject.toml.
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


def render_without_locks(app_server: str, web_server: str, dest: Path) -> None:
    copier.run_copy(
        str(ROOT),
        dest,
        data={
            "project_slug": PLACEHOLDER_SLUG,
            "python_version": LOCKED_PYTHON,
            "app_server": app_server,
            "web_server": web_server,
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


def relock(app_server: str, web_server: str, upgrade: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        render_without_locks(app_server, web_server, project)
        previous = LOCKS / f"{app_server}.uv.lock"
        if previous.is_file() and not upgrade:
            # uv keeps every locked version that still fits: only what changed moves.
            (project / "uv.lock").write_text(untemplatize_lock(previous.read_text()))
        subprocess.run(["uv", "lock", "--quiet", *(["--upgrade"] if upgrade else [])],
                       cwd=project, check=True)
        subprocess.run(
            ["uv", "export", "--frozen", "--all-groups", "--no-emit-project", "--quiet",
             "--output-file", "requirements-dev.txt"],
            cwd=project,
            check=True,
        )
        lock = templatize_lock((project / "uv.lock").read_text())
        (LOCKS / f"{app_server}.uv.lock").write_text(lock)
        requirements = (project / "requirements-dev.txt").read_text()
        requirements = requirements.replace(PLACEHOLDER_SLUG, "{{ project_slug }}")
        (LOCKS / f"{app_server}.requirements-dev.txt").write_text(requirements)
    print(f"relock: locks/{app_server}.uv.lock and .requirements-dev.txt written")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true",
                        help="move every dependency to its newest allowed version")
    args = parser.parse_args()
    LOCKS.mkdir(exist_ok=True)
    for server, web in APP_SERVERS.items():
        relock(server, web, args.upgrade)
