"""A first deploy that fails leaves the server ready for the next one (one booted server)."""

from pathlib import Path

import pytest
import workflows
from debian_server import Lab
from test_deploy import DOMAIN, Fleet, committed_project

pytestmark = [pytest.mark.slow, pytest.mark.deploy]

DROP_IN = "/etc/systemd/system/my-flask-app.service.d/broken.conf"


def test_a_failed_first_deploy_leaves_no_dangling_link_and_the_next_one_goes_live(
        rendered, tmp_path):
    project = committed_project(rendered(tls="none", domain=DOMAIN, deploy_hosts="web1"),
                                tmp_path)
    lab = Lab(tmp_path)
    try:
        fleet = Fleet(lab, project, servers=1)
        server = fleet.servers[0]
        fleet.make("provision")
        # The release passes every check before the switch, then its service cannot
        # start: the first deploy fails after `current` was made.
        server.run(f"mkdir -p {DROP_IN.rsplit('/', 1)[0]} && "
                   f"printf '[Service]\\nExecStartPre=/bin/false\\n' > {DROP_IN} && "
                   "systemctl daemon-reload")
        # Both deploys from what CI keeps of its test job, as its deploy job downloads
        # it: a fresh server needs the checksum and uv's wheel too, not the bundle alone.
        bundle = Path(fleet.bundle())
        workflow = workflows.load(project / ".github/workflows/ci.yml")
        artifact = tmp_path / "artifact"
        workflows.download_artifact(project, workflows.uploaded_paths(workflow, "test"),
                                    "build/releases", artifact)
        assert {path.name for path in artifact.iterdir()} == {
            bundle.name, f"{bundle.name}.sha256", "tools"}
        failed = fleet.make("deploy", f"BUNDLE={artifact / bundle.name}", check=False)
        assert failed.returncode != 0
        assert "back on nothing" in failed.stdout + failed.stderr
        assert server.run("test -L /srv/my-flask-app/current", check=False).returncode != 0
        assert fleet.releases(server) == []
        server.run(f"rm {DROP_IN} && systemctl daemon-reload")
        fleet.make("deploy", f"BUNDLE={artifact / bundle.name}")
        status, body = fleet.get(server)
        assert status == "200" and "My Flask App" in body
    finally:
        lab.close()
