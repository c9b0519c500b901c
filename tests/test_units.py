"""The generated systemd units pass systemd's own checks and score as hardened.

Checked where the units point at real files: in a sandbox (sandbox.py) with the release
installed at its server path, the units in /etc/systemd/system, as `make provision`
leaves them. The booted-server tests (test_systemd_boot.py) run them under systemd.
"""

import re

import pytest
from conftest import require_tool, run
from sandbox import Sandbox
from server_install import Site, install_release, load_answers
from test_serving import populate_uv_cache

pytestmark = pytest.mark.slow

APP_SERVERS = ["gunicorn", "uwsgi"]
MAX_EXPOSURE = 1.0


def exposure(security_output: str) -> float:
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", security_output)
    assert match, security_output
    return float(match.group(1))


@pytest.fixture(params=APP_SERVERS)
def installed(request, rendered, tmp_path):
    require_tool("systemd-analyze", "systemd")
    project = rendered(app_server=request.param)
    populate_uv_cache(project, tmp_path)
    sandbox = Sandbox(tmp_path / "sandbox")
    site = Site(sandbox=sandbox, answers=load_answers(project), project=project)
    try:
        install_release(site)
        for unit in ("socket", "service"):
            source = project / "deploy" / "systemd" / f"{site.slug}.{unit}"
            sandbox.write(f"/etc/systemd/system/{site.slug}.{unit}", source.read_text())
        yield site
    finally:
        sandbox.close()


def test_units_pass_systemd_analyze_verify(installed):
    units = [f"/etc/systemd/system/{installed.slug}.{u}" for u in ("socket", "service")]
    result = installed.sandbox.run(["systemd-analyze", "verify", *units], check=False)
    # verify exits 0 on unknown keys and only warns: anything on stderr is a failure.
    assert (result.returncode, result.stderr) == (0, ""), result.stderr


def test_service_exposure_is_at_most_one(installed):
    result = installed.sandbox.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager",
         f"/etc/systemd/system/{installed.slug}.service"], check=False)
    assert exposure(result.stdout) <= MAX_EXPOSURE, result.stdout


def test_a_naive_unit_scores_badly_so_the_check_can_fail(tmp_path):
    """The exposure check is not vacuous: the tutorial's unit scores far above 1.0."""
    require_tool("systemd-analyze", "systemd")
    naive = tmp_path / "naive.service"
    naive.write_text("[Unit]\nDescription=naive\n\n[Service]\n"
                     "ExecStart=/bin/sh -c 'exec sleep infinity'\n")
    result = run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(naive)],
                 cwd=tmp_path)
    assert exposure(result.stdout) > 9.0
