"""The generated playbooks pass `ansible-lint --profile production` (its strictest)."""

import os
from pathlib import Path

import pytest
from conftest import combo_id, require_tool, run

# The playbooks are the same for every answer; deploy/ansible/vars.yml is what the web
# server, app server and TLS answers change, and the database adds its role and
# playbooks. Three projects hold every value of each answer: a run costs ~10 s of CPU
# (all combinations would take minutes).
COMBOS = [("nginx", "gunicorn", "letsencrypt", "postgresql"),
          ("apache", "mod_wsgi", "custom", "sqlite"), ("lighttpd", "uwsgi", "none", "none")]


@pytest.mark.parametrize(("web", "app", "tls", "database"), COMBOS,
                         ids=[f"{combo_id(*c[:3])}-{c[3]}" for c in COMBOS])
def test_ansible_lint_production_profile_passes(rendered, web, app, tls, database):
    project = rendered(web_server=web, app_server=app, tls=tls, database=database)
    ansible_lint = require_tool("ansible-lint", "ansible-lint (pip: part of the test dependencies)")
    # The syntax checks run its own ansible-core (the range the generated project pins);
    # --offline: never ask Galaxy for collections, the playbooks use ansible.builtin only.
    env = {**os.environ, "PATH": f"{Path(ansible_lint).parent}{os.pathsep}{os.environ['PATH']}"}
    result = run([ansible_lint, "--profile", "production", "--offline", "--nocolor", "-v"],
                 cwd=project, env=env, timeout=180)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Profile 'production' was required, and it passed." in output, output
    # Each playbook was found as one (a file taken for plain YAML gets no playbook rules).
    playbooks = [p for p in (project / "deploy/ansible").glob("*.yml") if p.name != "vars.yml"]
    assert len(playbooks) >= 9
    for playbook in playbooks:
        assert f"syntax check on playbook {playbook.relative_to(project)}" in output, output
    # ... and each of provision.yml's roles as a role.
    roles = sorted((project / "deploy/ansible/roles").iterdir())
    assert len(roles) >= 4
    for role in roles:
        assert f"syntax check on role {role.relative_to(project)}" in output, output
