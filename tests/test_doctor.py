"""`make doctor` names each classic failure and its fix; applying the fix clears it.

One booted server (debian_server.py) is provisioned and deployed through the generated
Makefile; then each test breaks one thing on purpose, runs `make doctor` (Ansible runs
deploy/doctor.py there), checks the problem and its fix are named, applies the printed
fix, and checks that the doctor reports all ok again.
"""

import json
import re

import pytest
from test_deploy import Fleet, one_deployed_server

# One provisioned server for all the breakages, in order (run in one process).
pytestmark = [pytest.mark.slow, pytest.mark.deploy]

ROOT = "/srv/my-flask-app"
SOCKET = "/run/my-flask-app/app.sock"


@pytest.fixture(scope="module")
def fleet(rendered, tmp_path_factory):
    with one_deployed_server(rendered, tmp_path_factory.mktemp("doctor")) as fleet:
        yield fleet


def doctor(fleet: Fleet) -> tuple[int, str]:
    """`make doctor` through Ansible: its exit status and report."""
    result = fleet.make("doctor", check=False)
    return result.returncode, re.sub(r"\s+", " ", result.stdout)


def problems(fleet: Fleet) -> dict[str, str]:
    """{check: fix} for each problem, from the same script's --json output on the server."""
    report = fleet.servers[0].run(f"python3 {ROOT}/current/deploy/doctor.py --json",
                                  check=False).stdout
    return {r["check"]: r["fix"] for r in json.loads(report) if not r["ok"]}


def test_a_healthy_server_is_all_ok(fleet):
    code, output = doctor(fleet)
    assert code == 0, output
    assert "PROBLEM" not in output
    for check in ("live release", "environment file", "venv matches uv.lock", "app imports",
                  "socket path", "systemd units", "socket permissions", "web ports",
                  "/healthz through nginx"):
        assert f"ok {check}" in output, (check, output)


# (what breaks, command that breaks it on the server, the check that must name it)
SHELL_FIXABLE = [
    ("world-readable env file", f"chmod 644 {ROOT}/shared/app.env", "environment file"),
    ("wrong socket owner", f"chown root:root {SOCKET}", "socket permissions"),
    ("stopped unit", "systemctl stop my-flask-app.service my-flask-app.socket", "systemd units"),
    ("port taken", "systemctl stop nginx && (setsid python3 -m http.server 80 "
                   ">/dev/null 2>&1 &) && sleep 1", "web ports"),
]


@pytest.mark.parametrize(("_", "breakage", "check"), SHELL_FIXABLE,
                         ids=[s[0].replace(" ", "-") for s in SHELL_FIXABLE])
def test_doctor_names_the_problem_and_its_fix_works(fleet, _, breakage, check):
    server = fleet.servers[0]
    server.run(breakage)
    code, output = doctor(fleet)
    assert code != 0, output
    assert f"PROBLEM {check}:" in output
    fixes = problems(fleet)
    assert check in fixes, output
    server.run(fixes[check])
    code, output = doctor(fleet)
    assert code == 0, output


def test_mismatched_socket_path_is_named_and_provision_restores_it(fleet):
    server = fleet.servers[0]
    server.run("sed -i 's#app.sock#other.sock#' /etc/nginx/sites-available/my-flask-app.conf "
               "&& systemctl reload nginx")
    code, output = doctor(fleet)
    assert code != 0
    assert "my-flask-app.conf uses /run/my-flask-app/other.sock" in output
    fix = problems(fleet)["socket path"]
    assert "deploy/nginx/my-flask-app.conf" in fix and fix.endswith("make provision")
    fleet.make("provision")
    assert doctor(fleet)[0] == 0


def test_missing_dependency_is_named_and_a_deploy_fixes_it(fleet):
    server = fleet.servers[0]
    server.run(f"rm -rf {ROOT}/current/.venv/lib/python3*/site-packages/blinker*")
    code, output = doctor(fleet)
    assert code != 0
    fixes = problems(fleet)
    assert "blinker missing (locked" in output
    assert fixes["venv matches uv.lock"].startswith("make deploy")
    assert "No module named 'blinker'" in output
    # The import check agrees: the venv is behind the lock, not the lock wrong.
    assert fixes["app imports"].startswith("make deploy")
    fleet.deploy()
    assert doctor(fleet)[0] == 0


def test_wrong_module_path_is_named_and_a_deploy_fixes_it(fleet):
    server = fleet.servers[0]
    server.run(f"sed -i 's/my_flask_app.wsgi:app/my_flask_app.wsgy:app/' "
               f"{ROOT}/current/deploy/gunicorn.conf.py && "
               "systemctl restart my-flask-app.service || true")
    code, output = doctor(fleet)
    assert code != 0
    assert "loads my_flask_app.wsgy:app, but the app is my_flask_app.wsgi:app" in output
    assert "WSGI entry point" in problems(fleet)
    fleet.deploy()
    assert doctor(fleet)[0] == 0


def test_a_changed_socket_unit_takes_effect_when_provisioned(fleet):
    """provision remakes a live socket whose unit changed; until it does, the doctor
    reads where systemd listens now, not the unit file."""
    project, server = fleet.project, fleet.servers[0]
    unit = project / "deploy/systemd/my-flask-app.socket"
    site = project / "deploy/nginx/my-flask-app.conf"
    originals = {path: path.read_text() for path in (unit, site)}
    moved = "/run/my-flask-app/moved.sock"
    try:
        for path, text in originals.items():
            path.write_text(text.replace(SOCKET, moved))
        fleet.make("provision")
        assert server.run("systemctl show -P Listen my-flask-app.socket").stdout.startswith(moved)
        status, body = fleet.get(server, "/healthz")
        assert status == "200", body
    finally:
        for path, text in originals.items():
            path.write_text(text)
    fleet.make("provision")
    assert doctor(fleet)[0] == 0
