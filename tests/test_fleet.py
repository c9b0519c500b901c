"""A fleet of four booted servers: rollouts in batches, and a rollout that stops halfway
(one server's disk full) saying where it left each server, shown as a split fleet by
`make releases` and `make status`, then finished by deploying again or undone by
`make rollback RELEASE=`."""

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from conftest import require_tool
from debian_server import Lab
from test_deploy import DOMAIN, LOADGEN, Fleet, committed_project

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
    # All at once: no server would be left to serve while one drains, so none does.
    fleet.commit("deploy/ansible/vars.yml", 'batch_size: [1, "25%"]', 'batch_size: "100%"')
    fleet.commit("deploy/ansible/vars.yml", "drain_seconds: 0", "drain_seconds: 2")
    fleet.commit(INDEX, "<h1>", "<h1>Together: ")
    try:
        result = fleet.deploy()
    finally:
        fleet.commit("deploy/ansible/vars.yml", 'batch_size: "100%"', 'batch_size: [1, "25%"]')
        fleet.commit("deploy/ansible/vars.yml", "drain_seconds: 2", "drain_seconds: 0")
    assert batches(result.stdout) == [["web1", "web2", "web3", "web4"]]
    assert "draining" not in result.stdout
    for server in fleet.servers:
        assert "<h1>Together: " in fleet.get(server)[1]


HAPROXY_CONFIG = """\
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend site
    bind 127.0.0.1:8080
    default_backend app
# Active health checks of /healthz every 0.5 s: two failed take a server out, two
# passed put it back.
backend app
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host {domain}
    default-server inter 500ms fall 2 rise 2
{servers}
"""


def load_through(fleet: Fleet, url: str, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["ip", "netns", "exec", fleet.lab.client_ns, "python3", str(LOADGEN), url, DOMAIN,
         str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def until(what: str, condition, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {deadline_s} s"
        time.sleep(0.2)


def test_a_rollout_behind_haproxy_loses_no_request_and_never_stalls(fleet, tmp_path):
    """HAProxy (Debian's) in front of the four servers, checking /healthz: with
    drain_seconds each server leaves the rotation before its restart, so the requests
    during the rollout see no failure and no stall (p99 within 0.5 s of before it)."""
    haproxy = require_tool("haproxy", "haproxy")
    config = tmp_path / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(domain=DOMAIN, servers="\n".join(
        f"    server {s.name} {s.address}:80 check" for s in fleet.servers)))
    balancer = subprocess.Popen(
        ["ip", "netns", "exec", fleet.lab.client_ns, haproxy, "-db", "-f", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = "http://127.0.0.1:8080/"
    try:
        until("HAProxy serving", lambda: fleet.lab.client(
            ["curl", "-fsS", "--max-time", "2", "-H", f"Host: {DOMAIN}", url],
            check=False).returncode == 0, deadline_s=20)
        steady = load_through(fleet, url, 8)
        steady_result = json.loads(steady.communicate(timeout=60)[0])
        assert steady_result["failed"] == 0, steady_result

        fleet.commit("deploy/ansible/vars.yml", "drain_seconds: 0", "drain_seconds: 2")
        fleet.commit(INDEX, "<h1>", "<h1>Balanced: ")
        bundle = fleet.bundle()
        load = load_through(fleet, url, 300)
        try:
            result = fleet.make("deploy", f"BUNDLE={bundle}")
        finally:
            load.terminate()
            during = json.loads(load.communicate(timeout=60)[0])
    finally:
        balancer.terminate()
        balancer.communicate(timeout=30)
        fleet.commit("deploy/ansible/vars.yml", "drain_seconds: 2", "drain_seconds: 0")
    assert result.stdout.count("draining for 2 s") == SERVERS
    assert during["failed"] == 0, during
    assert during["total"] > 200, during
    steady_p99, p99 = steady_result["latency_s"]["p99"], during["latency_s"]["p99"]
    assert p99 <= steady_p99 + 0.5, (steady_result, during)
    for server in fleet.servers:
        assert "<h1>Balanced: " in fleet.get(server)[1]
    print(f"\nrollout of {SERVERS} behind HAProxy: {during['total']} requests, 0 failed, "
          f"p99 {p99 * 1000:.0f} ms (steady {steady_p99 * 1000:.0f} ms), "
          f"max {during['latency_s']['max'] * 1000:.0f} ms")


def test_a_rollout_stopped_by_a_full_disk_reports_each_server_and_a_split_fleet(
        fleet, tmp_path):
    web1, web2, web3, web4 = fleet.servers
    old = fleet.live_release(web1)
    # The balancer hooks log here which server they take out and put back.
    hooks = tmp_path / "balancer.log"
    for hook, word in ("lb_drain_command", "out"), ("lb_undrain_command", "in"):
        fleet.commit("deploy/ansible/vars.yml", f'{hook}: ""',
                     f'{hook}: "echo {word} {{{{ inventory_hostname }}}} >> {hooks}"')
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
        # web3 failed (before its switch) and went back into the balancer all the same.
        assert hooks.read_text().split("\n") == [
            "out web1", "in web1", "out web2", "in web2", "out web3", "in web3", ""]
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
        # Named, the release to go back to: a server on it already stays as it is.
        back = fleet.make("rollback", f"RELEASE={old}", "LIMIT=web1,web3")
        assert f"web3: {old} is live already" in back.stdout
        assert [fleet.live_release(s) for s in fleet.servers] == [old, new, old, old]
    finally:
        web3.run("rm -f /srv/filler")

    # The same rollout again finishes it: web2, which it had updated, is skipped, and
    # stays in the balancer.
    hooks.unlink()
    try:
        finished = fleet.make("deploy", f"BUNDLE={bundle}")
    finally:
        for hook, word in ("lb_drain_command", "out"), ("lb_undrain_command", "in"):
            fleet.commit("deploy/ansible/vars.yml",
                         f'{hook}: "echo {word} {{{{ inventory_hostname }}}} >> {hooks}"',
                         f'{hook}: ""')
    assert finished.stdout.count(f"{new} is live already") == 1
    assert f"web2: {new} is live already" in finished.stdout
    assert hooks.read_text().split("\n") == [
        "out web1", "in web1", "out web3", "in web3", "out web4", "in web4", ""]
    assert {fleet.live_release(s) for s in fleet.servers} == {new}
    assert f"All {SERVERS} servers that answered serve {new}." in fleet.make(
        "releases").stdout
    assert "SPLIT" not in fleet.make("status").stdout
    # Named and live everywhere: nothing to do, and nothing fails.
    assert fleet.make("rollback", f"RELEASE={new}").stdout.count("is live already") == SERVERS
