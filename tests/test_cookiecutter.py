"""The Cookiecutter variant is built from the Copier template and renders the same project.

cookiecutter/ is committed so `cookiecutter <repo> --directory cookiecutter` works; it is
rebuilt here and must match. Projects are baked with pytest-cookies (pytest-copie is not
loaded: both plugins register --template).
"""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SERVER_PAIRS, TLS_MODES, combo_id, commit_all, git, render
from test_bad_answers import BAD_ANSWERS

VARIANT = ROOT / "cookiecutter"
BUILD = ROOT / "hooks" / "build_cookiecutter.py"
COMBOS = [(web, app, tls) for web, app in SERVER_PAIRS for tls in TLS_MODES]
CUSTOM_ANSWERS = {
    "project_name": "Shop Front", "project_slug": "shop-front", "package_name": "storefront",
    "description": "Orders, payments & stock (v2)", "author_name": "Zoë O'Neil",
    "author_email": "zoe+shop@example.org", "python_version": "3.13",
    "domain": "shop.example.org", "web_server": "apache", "app_server": "uwsgi",
    "tls": "custom", "tls_certificate": "/etc/ssl/shop/fullchain.pem",
    "tls_certificate_key": "/etc/ssl/shop/key.pem", "deploy_hosts": "web1.example.org, 10.0.0.7",
    "deploy_user": "ops", "service_user": "shop", "install_path": "/opt/shop/app",
    "max_body_size_mb": "9", "dev_port": "8765",
}


def tree(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """{relative path: (mode, content or None for a directory)} of everything under root."""
    return {
        str(path.relative_to(root)): (path.stat().st_mode & 0o777,
                                      None if path.is_dir() else path.read_bytes())
        for path in sorted(root.rglob("*"))
        if "__pycache__" not in path.parts
    }


def assert_same_tree(expected: dict, actual: dict, what: str) -> None:
    assert sorted(actual) == sorted(expected), f"{what}: different files"
    for name, (mode, content) in expected.items():
        assert actual[name][1] == content, f"{what}: {name} differs"
        assert actual[name][0] == mode, f"{what}: {name} has mode {actual[name][0]:o}, not {mode:o}"


def test_committed_variant_is_built_from_the_current_template(tmp_path):
    built = tmp_path / "cookiecutter"
    result = subprocess.run([sys.executable, str(BUILD), str(built)], capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert_same_tree(tree(built), tree(VARIANT),
                     "cookiecutter/ is out of date: run `make cookiecutter` and commit it")


def bake(cookies, answers: dict) -> Path:
    result = cookies.bake(extra_context=answers, template=str(VARIANT))
    assert result.exception is None, result.exception
    assert result.exit_code == 0
    return result.project_path


def copier_tree(project: Path) -> dict:
    files = tree(project)
    del files[".copier-answers.yml"]  # Copier's own; cruft writes .cruft.json instead
    return files


@pytest.mark.parametrize(("web", "app", "tls"), COMBOS, ids=[combo_id(*c) for c in COMBOS])
def test_cookiecutter_writes_what_copier_writes(cookies, rendered, web, app, tls):
    answers = {"web_server": web, "app_server": app, "tls": tls}
    baked = bake(cookies, answers)
    assert baked.name == "my-flask-app"
    assert_same_tree(copier_tree(rendered(**answers)), tree(baked), combo_id(web, app, tls))


def test_every_answer_reaches_the_files_the_same_way(cookies, rendered):
    baked = bake(cookies, CUSTOM_ANSWERS)
    assert baked.name == "shop-front"
    assert_same_tree(copier_tree(rendered(**CUSTOM_ANSWERS)), tree(baked), "custom answers")


def test_cookiecutter_prints_the_copier_message_after_copy(cookies, capfd):
    baked = bake(cookies, {})
    out = capfd.readouterr().out
    assert f'Your project "My Flask App" is ready in {baked}' in out
    assert "make run         # development server on http://127.0.0.1:8000/" in out


def copier_refusal(tmp_path: Path, answers: dict) -> str:
    """The message `copier copy` stops with for these answers."""
    with pytest.raises(ValueError) as refused:
        render(tmp_path / "copier-project", answers)
    return str(refused.value)


@pytest.mark.parametrize(
    ("question", "value", "context", "explains"),
    BAD_ANSWERS,
    ids=[f"{q}={v!r}" for q, v, _, _ in BAD_ANSWERS],
)
def test_bad_answer_is_refused_with_copiers_message(cookies, capfd, tmp_path, question, value,
                                                    context, explains):
    answers = {**context, question: value}
    result = cookies.bake(extra_context=answers, template=str(VARIANT))
    assert result.exit_code != 0, f"{question}={value!r} was accepted"
    written = [p for p in (tmp_path / "cookies").rglob("*") if p.is_file()]
    assert not written, f"a refused answer left files behind: {written}"
    stderr_lines = capfd.readouterr().err.strip().splitlines()
    if isinstance(result.exception, ValueError):
        # A value outside a choice list: Cookiecutter refuses it before any hook runs.
        assert f"choice variable {question}," in str(result.exception)
        return
    # Everything else reaches the pre_gen hook, which says what Copier says.
    assert stderr_lines, result.exception
    assert stderr_lines[0] == copier_refusal(tmp_path, answers)
    assert explains in stderr_lines[0]


def cruft(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(Path(sys.executable).with_name("cruft")), *args], cwd=cwd,
                            capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_cruft_update_lands_a_template_release_and_keeps_user_edits(template_repo, tmp_path):
    """The Cookiecutter world's update path: cruft create at v0.1.0, the template ships a
    fix in v0.2.0 (edited in template/, variant rebuilt), cruft update merges it."""
    cruft("create", "--no-input", "--checkout", "v0.1.0", "--directory", "cookiecutter",
          str(template_repo), cwd=tmp_path)
    project = tmp_path / "my-flask-app"
    assert (project / ".cruft.json").is_file()
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "generated with cruft from v0.1.0")
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\n## Team notes\n\nOn call: Alice.\n")
    commit_all(project, "our own changes")

    conf = "deploy/{% if app_server == 'gunicorn' %}gunicorn.conf.py{% endif %}.jinja"
    path = template_repo / "template" / conf
    path.write_text(path.read_text().replace("timeout = 30", "timeout = 45", 1))
    subprocess.run([sys.executable, str(template_repo / "hooks/build_cookiecutter.py")],
                   check=True, capture_output=True, timeout=120)
    commit_all(template_repo, "template v0.2.0")
    git(template_repo, "tag", "v0.2.0")

    update = cruft("update", "--skip-apply-ask", "--checkout", "v0.2.0", cwd=project)
    # No "ready in /tmp/..." for cruft's scratch directories.
    assert "is ready in" not in update.stdout + update.stderr
    assert "timeout = 45" in (project / "deploy/gunicorn.conf.py").read_text()
    assert "On call: Alice." in readme.read_text()
    assert not (project / "deploy/uwsgi.ini").exists(), "the post_gen hook ran on update too"
