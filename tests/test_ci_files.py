"""The generated CI workflow and Dependabot config: valid for GitHub, linted, pinned.

That the workflow's commands pass on a generated project is proven where the project is
bootstrapped (test_generated_project.py runs its test job's steps).
"""

import re
import subprocess
from pathlib import Path

import pytest
import workflows
from conftest import require_tool

ANSWER_SETS = {
    "defaults": {},
    "mod_wsgi-apache": {"app_server": "mod_wsgi", "web_server": "apache", "tls": "custom"},
    "uwsgi-lighttpd-postgresql": {"app_server": "uwsgi", "web_server": "lighttpd",
                                  "database": "postgresql", "python_version": "3.12"},
    "no-containers": {"containers": False},
}
WORKFLOW = ".github/workflows/ci.yml"
DEPENDABOT = ".github/dependabot.yml"


@pytest.mark.parametrize("answers", ANSWER_SETS.values(), ids=ANSWER_SETS.keys())
def test_the_workflow_and_dependabot_config_pass_every_linter(rendered, answers):
    project = rendered(**answers)
    workflows.check_github_files(project)
    yamllint = subprocess.run(
        [require_tool("yamllint", "yamllint (PyPI: part of the test dependencies)"),
         "--strict", "-c", ".yamllint", ".github"],
        cwd=project, capture_output=True, text=True, timeout=60)
    assert yamllint.returncode == 0, yamllint.stdout


def test_the_linters_catch_an_injection_and_an_unquoted_variable(rendered, tmp_path):
    """The checks above can fail: a pull request's title pasted into a script (a classic
    workflow injection) and a word-split variable."""
    project = tmp_path / "project"
    (project / ".github/workflows").mkdir(parents=True)
    text = (rendered() / WORKFLOW).read_text()
    broken = text.replace("        run: make lint\n",
                          "        run: echo ${{ github.event.pull_request.title }} $HOME\n")
    assert broken != text
    (project / WORKFLOW).write_text(broken)
    linted = workflows.lint_workflows(project)
    assert linted.returncode != 0
    assert "potentially untrusted" in linted.stdout
    findings = workflows.shellcheck_scripts(workflows.load(project / WORKFLOW))
    assert len(findings) == 1 and "SC2086" in findings[0]


def uses_lines(project: Path) -> list[str]:
    return re.findall(r"^\s*- uses: (.*)$", (project / WORKFLOW).read_text(), re.MULTILINE)


@pytest.mark.parametrize("answers", ANSWER_SETS.values(), ids=ANSWER_SETS.keys())
def test_every_action_is_pinned_to_a_commit_with_its_version_beside_it(rendered, answers):
    lines = uses_lines(rendered(**answers))
    assert lines
    for line in lines:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+", line), line
    # One version of each action throughout, so Dependabot's update moves them together.
    pins: dict[str, set[str]] = {}
    for line in lines:
        action, pin = line.split("@")
        pins.setdefault(action, set()).add(pin)
    assert all(len(versions) == 1 for versions in pins.values()), pins


@pytest.mark.parametrize("answers", ANSWER_SETS.values(), ids=ANSWER_SETS.keys())
def test_the_jobs_run_make_targets_of_the_project(rendered, answers):
    project = rendered(**answers)
    workflow = workflows.load(project / WORKFLOW)
    listed = subprocess.run(["make", "-s", "help"], cwd=project, capture_output=True,
                            text=True, check=True).stdout
    targets = set(re.findall(r"^  make (\S+)", listed, re.MULTILINE))
    for name, script in workflows.run_scripts(workflow):
        for target in re.findall(r"^make (\S+)", script, re.MULTILINE):
            assert target in targets, f"{name}: make {target} is not a target"

    jobs = workflow["jobs"]
    steps = [step.get("run") for step in jobs["test"]["steps"]]
    assert steps.index("make lint") < steps.index("make test") < steps.index("make bundle")
    # The image job where there is an image (never with mod_wsgi).
    assert ("image" in jobs) == (project / "Containerfile").exists()
    # The deploy job: by hand only, after the tests, in an environment whose protection
    # rules and secrets the user sets, one at a time, never cancelled midway.
    deploy = jobs["deploy"]
    assert deploy["needs"] == ["test"]
    assert deploy["if"] == ("github.event_name == 'workflow_dispatch' && inputs.deploy"
                            " && github.ref == 'refs/heads/main'")
    assert deploy["environment"] == "production"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    assert workflow["permissions"] == {"contents": "read"}
    # The servers' Python, also for mod_wsgi, whose bootstrap would take /usr/bin/python3.
    setup_python = [step for step in jobs["test"]["steps"]
                    if step.get("uses", "").startswith("actions/setup-python@")]
    assert setup_python[0]["with"]["python-version"] == answers.get("python_version", "3.11")
    assert ("PYTHON" in jobs["test"].get("env", {})) == (answers.get("app_server") == "mod_wsgi")


def test_dependabot_watches_the_lock_and_the_actions(rendered):
    config = workflows.load(rendered() / DEPENDABOT)
    ecosystems = {update["package-ecosystem"]: update for update in config["updates"]}
    assert set(ecosystems) == {"uv", "github-actions"}
    assert ecosystems["uv"]["exclude-paths"] == ["requirements-dev.txt"]
