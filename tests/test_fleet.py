"""A fleet of four booted servers: rollouts in batches, and a rollout that stops halfway
(one server's disk full) saying where it left each server, shown as a split fleet by
`make releases` and `make status`, then finished by deploying again or undone by
`make rollback RELEASE=`."""

import re
from pathlib import Path

import pytest
from debian_server import Lab
from test_deploy import DOMAIN, Fleet, committed_project

pytestmark = [pytest.mark.slow, pytest.mark.deploy]

SERVERS = 4
INDEX = "src/my_flask_app/templates/index.html"


@pytest.fixture(scope="module")
def fleet(rendered, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fleet4")
    hosts = " ".join(f"web{n}" for n in range(1, SERVERS + 1))
    project = committed_project(rendered(tls="none", domain=DOMAIN, deploy_hosts=hosts),
                                workdir)
    lab = Lab(workdir)
    try:
        fleet = Fleet(lab, project, servers=SERVERS)
        fleet.make("provision")
        fleet.deploy()
        yield fleet
    finally:
        lab.close()


def batches(output: str) -> list[list[str]]:
    """The hosts of each batch, in order, from Ansible's output of a deploy."""
    found = []
    for play in re.split(r"^PLAY \[Deploy\] \**$", output, flags=re.MULTILINE)[1:]:
        task = re.search(r"^TASK \[Build, check, switch to and verify the release\] \**\n"
                         r"(.*?)^TASK", play, flags=re.MULTILINE | re.DOTALL)
        found.append(sorted(re.findall(r"^(?:changed|ok|fatal): \[(\w+)\]", task[1],
                                       flags=re.MULTILINE)))
    return found


def test_a_rollout_goes_one_server_first_then_a_quarter_at_a_time(fleet):
    fleet.commit(INDEX, "<h1>", "<h1>Batched: ")
    result = fleet.deploy()
    # 25% of four is one: a canary, then one at a time.
    assert batches(result.stdout) == [["web1"], ["web2"], ["web3"], ["web4"]]
    for server in fleet.servers:
        assert "<h1>Batched: " in fleet.get(server)[1]
    # Two at a time when vars.yml says so; the last size repeats until all are done.
    fleet.commit("deploy/ansible/vars.yml", 'batch_size: [1, "25%"]', 'batch_size: [1, "50%"]')
    fleet.commit(INDEX, "<h1>", "<h1>Halved: ")
    try:
        result = fleet.deploy()
    finally:
        fleet.commit("deploy/ansible/vars.yml", 'batch_size: [1, "50%"]',
                     'batch_size: [1, "25%"]')
    assert batches(result.stdout) == [["web1"], ["web2", "web3"], ["web4"]]
    assert {fleet.live_release(server) for server in fleet.servers} == {
        fleet.live_release(fleet.servers[0])}


def test_a_rollout_stopped_by_a_full_disk_reports_each_server_and_a_split_fleet(fleet):
    web1, web2, web3, web4 = fleet.servers
    old = fleet.live_release(web1)
    fleet.commit(INDEX, "<h1>", "<h1>Split: ")
    bundle = fleet.bundle()
    new = bundle.rsplit("/", 1)[1].removesuffix(".tar.gz")
    bundle_mb = max(1, Path(bundle).stat().st_size // 2**20)
    free_mb = int(web3.run("df -Pm /srv | awk 'NR == 2 {print $4}'").stdout)
    # Room for the upload, not for a release: release.sh refuses it.
    web3.run(f"fallocate -l {free_mb - 3 * bundle_mb - 5}M /srv/filler")
    try:
        stopped = fleet.make("deploy", f"BUNDLE={bundle}", check=False)
        assert stopped.returncode != 0
        report = stopped.stderr[stopped.stderr.index("Where it left each server:"):]
        assert report.splitlines()[1:5] == [
            f"web1: new: serving {new}",
            f"web2: new: serving {new}",
            f"web3: FAILED: still serving {old}",
            f"web4: untouched: serving {old}",
        ], stopped.stderr
        assert (f"SPLIT FLEET: 2 releases are live:\n  {new} on 2: web1, web2\n"
                f"  {old} on 2: web3, web4\n") in report
        assert f"make deploy BUNDLE=build/releases/{new}.tar.gz" in report
        assert f"make rollback RELEASE={old}" in report
        assert [fleet.live_release(s) for s in fleet.servers] == [new, new, old, old]
        # Every server still serves, each its own release.
        assert all(fleet.get(server)[0] == "200" for server in fleet.servers)

        releases = fleet.make("releases").stdout
        assert "SPLIT FLEET: 2 releases are live:" in releases
        assert f"{new} on 2: web1, web2" in releases and f"{old} on 2: web3, web4" in releases
        assert f"last deploy: {new} failed" in releases
        status = fleet.make("status").stdout
        assert "SPLIT FLEET: 2 releases are live:" in status
        assert f"{new} on 2: web1, web2" in status and f"{old} on 2: web3, web4" in status

        # Stepping each server back from its own release would take web3 and web4 to an
        # older one: refused, naming the releases.
        refused = fleet.make("rollback", check=False)
        assert refused.returncode != 0
        assert "The servers serve 2 releases" in refused.stdout
        assert [fleet.live_release(s) for s in fleet.servers] == [new, new, old, old]
        back = fleet.make("rollback", f"RELEASE={old}")
        assert f"{old} is live already" in back.stdout
        assert {fleet.live_release(s) for s in fleet.servers} == {old}
        assert f"All {SERVERS} servers that answered serve {old}." in fleet.make(
            "releases").stdout
    finally:
        web3.run("rm -f /srv/filler")

    # The same rollout again: it finishes, and the servers it had updated are skipped.
    fleet.make("deploy", f"BUNDLE={bundle}")
    finished = fleet.make("deploy", f"BUNDLE={bundle}")
    assert finished.stdout.count(f"{new} is live already") == SERVERS
    assert {fleet.live_release(s) for s in fleet.servers} == {new}
    assert "SPLIT" not in fleet.make("status").stdout
