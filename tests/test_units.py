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


def test_the_sentry_drop_in_opens_only_what_it_says_and_keeps_exposure_at_most_one(installed):
    """deploy/systemd/sentry.conf.example, installed as the README says, still verifies,
    scores at most 1.0, and gives the app IPv4/IPv6 to the listed addresses only."""
    sb, slug = installed.sandbox, installed.slug
    example = installed.project / "deploy" / "systemd" / "sentry.conf.example"
    sb.write(f"/etc/systemd/system/{slug}.service.d/sentry.conf", example.read_text())
    service = f"/etc/systemd/system/{slug}.service"
    verify = sb.run(["systemd-analyze", "verify", service], check=False)
    assert (verify.returncode, verify.stderr) == (0, ""), verify.stderr
    security = sb.run(["systemd-analyze", "security", "--offline=true", "--no-pager", service],
                      check=False)
    assert exposure(security.stdout) <= MAX_EXPOSURE, security.stdout
    # The drop-in is read: the host's network is open, but only to the listed addresses
    # (the unit's IPAddressDeny=any stays), and raw sockets stay closed.
    for check in ("✗ PrivateNetwork=", "IP address allow list with non-localhost entries",
                  "✓ RestrictAddressFamilies=~AF_PACKET"):
        assert check in security.stdout, security.stdout
