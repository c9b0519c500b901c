"""Shared helpers: render the template with copier exactly as a user would, find tools."""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import copier
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(__file__).resolve().parent.parent / ".venv" / "bin"

# web_server x app_server pairs the template supports (mod_wsgi lives inside Apache).
SERVER_PAIRS = [
    ("nginx", "gunicorn"),
    ("nginx", "uwsgi"),
    ("apache", "gunicorn"),
    ("apache", "uwsgi"),
    ("apache", "mod_wsgi"),
    ("lighttpd", "gunicorn"),
    ("lighttpd", "uwsgi"),
]
TLS_MODES = ["letsencrypt", "custom", "none"]


def render(dest: Path, data: Mapping[str, Any] | None = None, src: Path = ROOT,
           vcs_ref: str = "HEAD") -> Path:
    """Run `copier copy --defaults` without --trust; HEAD includes uncommitted work."""
    copier.run_copy(
        str(src),
        dest,
        data=dict(data or {}),
        defaults=True,
        unsafe=False,
        quiet=True,
        vcs_ref=vcs_ref,
        # A developer's own copier settings (default answers) must not leak in.
        settings=copier.Settings(),
    )
    return dest


def locked_requirements(project: Path) -> dict[str, str]:
    """name -> version of what a generated project's requirements-dev.txt installs on
    this machine (environment markers evaluated, Windows-only lines left out)."""
    locked = {}
    for line in (project / "requirements-dev.txt").read_text().splitlines():
        if re.match(r"[a-z0-9]", line):
            requirement = Requirement(line.rstrip(" \\"))
            if requirement.marker is None or requirement.marker.evaluate():
                locked[requirement.name.lower()] = str(requirement.specifier).removeprefix("==")
    return locked


def require_tool(name: str, apt_package: str) -> str:
    """Path of a tool; fail (never skip) naming what to install when it is missing."""
    found = shutil.which(name) or shutil.which(name, path=str(VENV_BIN))
    if not found:
        pytest.fail(f"{name} not found: install it with `apt-get install {apt_package}` "
                    f"(or run `make test`, which installs everything the tests need)")
    return found


def run(cmd: list[str], cwd: Path, env: Mapping[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a command, returning its output; the caller asserts on it."""
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def ctrl_c_reaches_it() -> None:
    """preexec_fn for a process a test stops with SIGINT, as Ctrl-C in a terminal does.
    A shell's background job (`make test &`, a CI runner's script) ignores SIGINT, and
    every process under it inherits that: make, flask and gunicorn would never stop."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_with_ctrl_c(process: subprocess.Popen, timeout: float) -> None:
    """SIGINT to the process group (started with start_new_session), as Ctrl-C; one
    that outlives the timeout is killed, so no server is left running, and the test
    fails saying so."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        pytest.fail(f"{process.args} did not stop within {timeout} s of Ctrl-C")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def combo_id(web: str, app: str, tls: str | None = None) -> str:
    return "-".join(part for part in (web, app, tls) if part)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """Render each answer set once per session: {key: project path}."""
    cache: dict[tuple, Path] = {}

    def get(**data: Any) -> Path:
        key = tuple(sorted(data.items()))
        if key not in cache:
            dest = tmp_path_factory.mktemp("project") / "project"
            cache[key] = render(dest, data)
        return cache[key]

    return get


GIT_ID = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *GIT_ID, *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def template_repo(tmp_path) -> Path:
    """A copy of this template (uncommitted work included) as its own repo, tagged v0.1.0:
    what users clone, so `copier update` and `cruft update` can be tested against it."""
    repo = tmp_path / "template"
    files = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, files.split("\0")):
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    commit_all(repo, "template v0.1.0")
    git(repo, "tag", "v0.1.0")
    return repo


def assert_pre_commit_passed_offline(result: subprocess.CompletedProcess[str],
                                     hooks: tuple[str, ...], home: Path) -> None:
    """`pre-commit run --all-files` passed each named hook, and its PRE_COMMIT_HOME
    holds only pre-commit's own files: no hook repository was cloned."""
    assert result.returncode == 0, result.stdout + result.stderr
    for hook in hooks:
        assert re.search(rf"^{re.escape(hook)}\.+Passed$", result.stdout, re.MULTILINE), hook
    assert sorted(path.name for path in home.iterdir()) <= ["README", "db.db"]
