"""The template repo keeps the habits it gives projects: CI, Dependabot, pre-commit."""

import os
import subprocess

import workflows
from conftest import ROOT, VENV_BIN, assert_pre_commit_passed_offline


def test_the_repo_workflow_and_dependabot_config_pass_their_linters():
    workflows.check_github_files(ROOT)
    workflow = workflows.load(ROOT / ".github/workflows/ci.yml")
    # The fast job runs what the README calls the fast tests; the full one, .ci/run.
    runs = [script for _, script in workflows.run_scripts(workflow)]
    assert "make test-fast" in runs and "bash .ci/run" in runs


def test_the_repo_pre_commit_hooks_pass_offline(template_repo, tmp_path):
    """In a clone of this checkout, with the repo's venv and an empty PRE_COMMIT_HOME:
    every hook passes and nothing is downloaded."""
    (template_repo / ".venv").symlink_to(ROOT / ".venv")
    home = tmp_path / "pre-commit-home"
    env = {**os.environ, "PRE_COMMIT_HOME": str(home)}
    hooks = subprocess.run([str(VENV_BIN / "pre-commit"), "run", "--all-files"],
                           cwd=template_repo, env=env, capture_output=True, text=True,
                           timeout=300)
    assert_pre_commit_passed_offline(hooks, ("ruff check", "shellcheck",
                                             "no merge conflict markers"), home)
