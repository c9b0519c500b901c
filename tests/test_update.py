"""`copier update` brings template releases into a project without losing the user's edits."""

import re
import subprocess
from pathlib import Path

import copier
import pytest
import yaml
from conftest import VENV_BIN, commit_all, git, render

GUNICORN_CONF = "deploy/gunicorn.conf.py"
CONFLICT = re.compile(r"^(<<<<<<<|>>>>>>>) ", re.MULTILINE)


def release(repo: Path, tag: str, edits: dict[str, tuple[str, str]],
            new_files: dict[str, str]) -> None:
    """Publish a template release: replace text in template files, add files, tag."""
    for name, (old, new) in edits.items():
        path = repo / "template" / name
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new, 1))
    for name, text in new_files.items():
        (repo / "template" / name).write_text(text)
    commit_all(repo, f"template {tag}")
    git(repo, "tag", tag)


@pytest.fixture
def project(template_repo, tmp_path) -> Path:
    dest = render(tmp_path / "project", src=template_repo, vcs_ref="v0.1.0")
    git(dest, "init", "-q", "-b", "main")
    commit_all(dest, "generated from v0.1.0")
    return dest


def update(project: Path, tag: str) -> None:
    copier.run_update(project, defaults=True, overwrite=True, unsafe=False, vcs_ref=tag,
                      quiet=True, settings=copier.Settings())


def copier_update_cli(project: Path, *answers: str) -> subprocess.CompletedProcess[str]:
    """`copier update --defaults --data ANSWER...` as a user types it, to v0.1.0."""
    data = [arg for answer in answers for arg in ("--data", answer)]
    return subprocess.run(
        [str(VENV_BIN / "copier"), "update", "--defaults", *data, "--vcs-ref", "v0.1.0"],
        cwd=project, capture_output=True, text=True, timeout=300, check=False)


def conflicted_files(project: Path) -> list[str]:
    return sorted(str(p.relative_to(project)) for p in project.rglob("*")
                  if p.is_file() and ".git" not in p.parts and CONFLICT.search(p.read_text()))


def test_update_lands_template_changes_and_keeps_user_edits(template_repo, project):
    views = project / "src/my_flask_app/views.py"
    views.write_text(views.read_text() + '\n\n@blueprint.get("/about")\ndef about():\n'
                     '    return "About us"\n')
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\n## Team notes\n\nOn call: Alice.\n")
    commit_all(project, "our own changes")

    release(template_repo, "v0.2.0",
            edits={"deploy/{% if app_server == 'gunicorn' %}gunicorn.conf.py{% endif %}.jinja":
                   ("timeout = 30", "timeout = 45")},
            new_files={".editorconfig": "root = true\n"})
    update(project, "v0.2.0")

    assert "timeout = 45" in (project / GUNICORN_CONF).read_text()
    assert (project / ".editorconfig").read_text() == "root = true\n"
    assert 'def about():\n    return "About us"' in views.read_text()
    assert "On call: Alice." in readme.read_text()
    assert conflicted_files(project) == []
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v0.2.0"
    # Untouched files merge cleanly: only the template's change and its new file differ.
    changed = git(project, "status", "--porcelain").split("\n")
    assert sorted(line[3:] for line in changed if line) == [
        ".copier-answers.yml", ".editorconfig", GUNICORN_CONF]


def test_update_reports_a_conflict_and_loses_neither_side(template_repo, project):
    conf = project / GUNICORN_CONF
    conf.write_text(conf.read_text().replace("timeout = 30", "timeout = 90"))
    commit_all(project, "our slow endpoint needs 90s")

    release(template_repo, "v0.2.0",
            edits={"deploy/{% if app_server == 'gunicorn' %}gunicorn.conf.py{% endif %}.jinja":
                   ("timeout = 30", "timeout = 45")},
            new_files={})
    update(project, "v0.2.0")

    # copier exits 0 here; the markers are how it reports the conflict.
    assert conflicted_files(project) == [GUNICORN_CONF]
    text = conf.read_text()
    assert "timeout = 90" in text
    assert "timeout = 45" in text


def test_update_with_a_changed_answer_switches_the_app_server(template_repo, project):
    copier.run_update(project, data={"app_server": "uwsgi"}, defaults=True, overwrite=True,
                      unsafe=False, vcs_ref="v0.1.0", quiet=True, settings=copier.Settings())
    assert not (project / GUNICORN_CONF).exists()
    assert (project / "deploy/uwsgi.ini").is_file()
    assert '"pyuwsgi' in (project / "pyproject.toml").read_text()
    assert 'name = "pyuwsgi"' in (project / "uv.lock").read_text()
    assert conflicted_files(project) == []


def test_the_inventory_is_the_users_after_the_first_copy(template_repo, project):
    inventory = project / "deploy/inventory.ini"
    inventory.write_text(inventory.read_text().replace("example.com\n", "web1.example.org\n"))
    commit_all(project, "our servers")

    release(template_repo, "v0.2.0",
            edits={"deploy/inventory.ini.jinja": ("[web:vars]", "[web:vars]\nansible_timeout=42")},
            new_files={})
    update(project, "v0.2.0")
    commit_all(project, "template v0.2.0")
    copier.run_update(project, data={"deploy_hosts": "other.example.net"}, defaults=True,
                      overwrite=True, unsafe=False, vcs_ref="v0.2.0", quiet=True,
                      settings=copier.Settings())

    text = inventory.read_text()
    assert "web1.example.org" in text
    assert "other.example.net" not in text and "ansible_timeout=42" not in text
    assert conflicted_files(project) == []


def test_switching_the_app_server_lists_the_removed_config_and_keeps_it_in_git(
        template_repo, project):
    conf = project / GUNICORN_CONF
    conf.write_text(conf.read_text().replace("timeout = 30", "timeout = 90"))
    commit_all(project, "our slow endpoint needs 90s")
    result = copier_update_cli(project, "app_server=uwsgi")
    assert result.returncode == 0, result.stderr
    assert "git show HEAD:<path>" in result.stdout + result.stderr
    assert f" D {GUNICORN_CONF}" in git(project, "status", "--porcelain").splitlines()
    assert "timeout = 90" in git(project, "show", f"HEAD:{GUNICORN_CONF}")


def test_a_web_server_the_app_server_cannot_run_with_stops_the_update(template_repo, tmp_path):
    """mod_wsgi lives inside Apache: asking for nginx must not quietly swap the app server."""
    project = render(tmp_path / "mod-wsgi-project", {"web_server": "apache",
                                                     "app_server": "mod_wsgi"},
                     src=template_repo, vcs_ref="v0.1.0")
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "generated from v0.1.0")
    result = copier_update_cli(project, "web_server=nginx")
    assert result.returncode != 0
    assert "mod_wsgi, which lives inside Apache" in result.stderr.strip().splitlines()[-1]
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["web_server"], answers["app_server"]) == ("apache", "mod_wsgi")
    assert git(project, "status", "--porcelain") == ""


def test_update_refuses_a_second_server_for_a_project_kept_in_sqlite(template_repo, tmp_path):
    """copier would replace a kept answer its validator refuses by the default (none),
    silently taking the database out of the project: deploy_hosts refuses first."""
    project = render(tmp_path / "project", {"database": "sqlite"}, src=template_repo,
                     vcs_ref="v0.1.0")
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "generated from v0.1.0")

    result = copier_update_cli(project, "deploy_hosts=web1.example.com web2.example.com")
    assert result.returncode != 0
    assert "SQLite, one file on one machine" in result.stderr.strip().splitlines()[-1]
    assert git(project, "status", "--porcelain") == ""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["database"], answers["deploy_hosts"]) == ("sqlite", "example.com")


def test_a_project_made_before_the_containers_question_can_keep_them_out(
        template_repo, tmp_path):
    """A template release from before the `containers` question (its files absent), then
    an update to one that has it: `--data containers=false`, as the generated README
    says, adds no container file and leaves the user's own compose.yaml alone; plain
    `--defaults` brings them (the question's default, as for a new project)."""
    config = template_repo / "copier.yml"
    current = config.read_text()
    question = current[current.index("containers:\n  type: bool"):]
    question = question[:question.index("\n\n") + 2]
    older = current.replace(question, "").replace(
        "default: \"{{ 'yes' if containers and app_server != 'mod_wsgi' else '' }}\"",
        'default: ""')
    assert older != current and "containers:" not in older.split("container_files:")[0]
    config.write_text(older)
    commit_all(template_repo, "template v0.0.9, before the containers question")
    git(template_repo, "tag", "v0.0.9")
    git(template_repo, "checkout", "-q", "v0.1.0", "--", "copier.yml")
    commit_all(template_repo, "template v0.1.1, with the containers question")
    git(template_repo, "tag", "v0.1.1")

    for keep_out in (True, False):
        dest = render(tmp_path / f"old-{keep_out}", src=template_repo, vcs_ref="v0.0.9")
        assert not (dest / "Containerfile").exists()
        git(dest, "init", "-q", "-b", "main")
        (dest / "compose.yaml").write_text("services: {}  # the user's own\n")
        commit_all(dest, "generated from v0.0.9, with a compose file of our own")
        copier.run_update(dest, data={"containers": False} if keep_out else {},
                          defaults=True, overwrite=True, unsafe=False, vcs_ref="v0.1.1",
                          quiet=True, settings=copier.Settings())
        for name in ("Containerfile", ".dockerignore", "deploy/k8s"):
            assert (dest / name).exists() != keep_out, name
        answers = yaml.safe_load((dest / ".copier-answers.yml").read_text())
        assert answers["containers"] is not keep_out
        if keep_out:
            assert (dest / "compose.yaml").read_text() == "services: {}  # the user's own\n"
