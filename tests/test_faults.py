"""Faults a server meets, on a booted server running the generated site: an app server
that crashes, hangs or keeps crashing, a reboot, a disk that fills up during a deploy."""

import json
import re
import subprocess
import time
from collections.abc import Callable

import pytest
from test_deploy import (
    DOMAIN,
    Fleet,
    assert_deploy_refused,
    connects_from_client,
    listen,
    one_deployed_server,
)

pytestmark = [pytest.mark.slow, pytest.mark.deploy]

SERVICE = "my-flask-app.service"
APP_ENV = "/srv/my-flask-app/shared/app.env"
VIEWS = "src/my_flask_app/views.py"
# A page that never answers: what a deadlock or a stuck call to another service does.
HANG_ROUTE = '''

@blueprint.get("/_hang")
def hang():
    import time

    time.sleep(600)
    return "never"
'''


@pytest.fixture(scope="module")
def fleet(rendered, tmp_path_factory):
    with one_deployed_server(rendered, tmp_path_factory.mktemp("faults")) as fleet:
        yield fleet


def until(what: str, done: Callable[[], bool], deadline_s: float) -> float:
    """Seconds until done() holds; fails the test at the deadline."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if done():
            return time.monotonic() - start
        time.sleep(0.2)
    pytest.fail(f"{what}: not within {deadline_s} s")


def unit_state(server) -> dict[str, str]:
    shown = server.run(f"systemctl show -p MainPID,ActiveState,SubState,Result,NRestarts "
                       f"{SERVICE}").stdout
    return dict(line.split("=", 1) for line in shown.splitlines())


def healthy(fleet: Fleet) -> bool:
    return fleet.get(fleet.servers[0], "/healthz")[0] == "200"


def test_a_crashed_app_server_is_restarted_by_systemd(fleet):
    server = fleet.servers[0]
    before = unit_state(server)
    server.run(f"kill -KILL {before['MainPID']}")  # the master dies, as in a crash
    seconds = until("the app server back after SIGKILL",
                    lambda: healthy(fleet) and unit_state(server)["MainPID"]
                    not in ("0", before["MainPID"]), deadline_s=30)
    after = unit_state(server)
    assert int(after["NRestarts"]) == int(before["NRestarts"]) + 1, after
    print(f"\nsite answering again {seconds:.1f} s after the app server was killed")


def test_a_worker_stuck_past_its_timeout_is_replaced(fleet):
    server = fleet.servers[0]
    views = fleet.project / VIEWS
    fleet.commit(VIEWS, views.read_text(), views.read_text() + HANG_ROUTE)
    fleet.deploy()
    workers = len(server.run(f"systemctl show -P MainPID {SERVICE} | xargs pgrep -P")
                  .stdout.split())
    start = time.monotonic()
    stuck = subprocess.Popen(
        ["ip", "netns", "exec", fleet.lab.client_ns, "curl", "-sS", "--max-time", "90",
         "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Host: {DOMAIN}",
         f"http://{server.address}/_hang"], stdout=subprocess.PIPE, text=True)
    # The other workers keep serving while one is stuck.
    statuses = []
    while stuck.poll() is None and time.monotonic() - start < 95:
        statuses.append(fleet.get(server)[0])
        time.sleep(0.5)
    answer = stuck.communicate(timeout=10)[0]
    waited = time.monotonic() - start
    assert set(statuses) == {"200"}, statuses
    # gunicorn's timeout (30 s) aborts the stuck worker: the request ends in an error
    # (gunicorn's own 500, or the web server's 502) rather than hanging on.
    assert answer in ("500", "502") and waited < 45, (answer, waited)
    journal = server.run(f"journalctl -u {SERVICE} --since '-2min' -o cat").stdout
    assert "WORKER TIMEOUT" in journal, journal[-2000:]
    until("a new worker in the stuck one's place",
          lambda: len(server.run(f"systemctl show -P MainPID {SERVICE} | xargs pgrep -P")
                      .stdout.split()) == workers, deadline_s=15)
    print(f"\nstuck request ended with {answer} after {waited:.1f} s; "
          f"{len(statuses)} other requests all 200")


def test_a_crash_loop_shows_in_status_and_doctor(fleet):
    server = fleet.servers[0]
    env = server.run(f"cat {APP_ENV}").stdout
    # A secret key too short to use: the app refuses to start, every time.
    server.run(f"sed -i 's/^FLASK_SECRET_KEY=.*/FLASK_SECRET_KEY=short/' {APP_ENV}")
    server.run(f"systemctl restart {SERVICE}", check=False)
    until("systemd giving up on the app server",
          lambda: unit_state(server)["ActiveState"] == "failed", deadline_s=90)

    status = re.sub(r"\s+", " ", fleet.make("status").stdout)
    assert "CRASH LOOP: it kept failing and systemd gave up" in status, status
    doctor = fleet.make("doctor", check=False)
    assert doctor.returncode != 0
    assert "crash loop" in re.sub(r"\s+", " ", doctor.stdout), doctor.stdout
    # The same report, whole, from the script itself.
    report = json.loads(server.run("python3 /srv/my-flask-app/current/deploy/doctor.py --json",
                                   check=False).stdout)
    units = next(r for r in report if r["check"] == "systemd units")
    assert "crash loop" in units["detail"] and "FLASK_SECRET_KEY" in units["detail"], units

    # Fixed: the key back, then the command doctor printed.
    server.run(f"cat > {APP_ENV} <<'EOF'\n{env}EOF")
    server.run(units["fix"])
    until("the site back after the fix", lambda: healthy(fleet), deadline_s=30)
    assert "CRASH LOOP" not in re.sub(r"\s+", " ", fleet.make("status").stdout)


def test_a_full_disk_fails_the_deploy_and_keeps_the_live_release(fleet):
    server = fleet.servers[0]
    live, kept = fleet.live_release(server), fleet.releases(server)
    views = fleet.project / VIEWS
    fleet.commit(VIEWS, views.read_text(), views.read_text() + "\n# after the disk filled\n")
    bundle = fleet.bundle()
    bundle_mb = int(subprocess.run(["du", "-sm", bundle], capture_output=True, text=True,
                                   check=True).stdout.split()[0])
    free_mb = int(server.run("df -Pm /srv | awk 'NR == 2 {print $4}'").stdout)
    # Room for the upload, not for a release.
    server.run(f"fallocate -l {free_mb - 3 * bundle_mb - 5}M /srv/filler")
    try:
        assert_deploy_refused(fleet, bundle, "no space left for a new release")
        assert fleet.releases(server) == kept
        assert ".upload-" not in server.run("ls -A /srv/my-flask-app").stdout
        assert fleet.get(server)[0] == "200"
    finally:
        server.run("rm -f /srv/filler")
    fleet.deploy()
    assert fleet.live_release(server) != live
    assert fleet.get(server)[0] == "200"


def test_after_a_reboot_the_site_answers_with_no_manual_step(fleet):
    server = fleet.servers[0]
    start = time.monotonic()
    fleet.lab.reboot(server)
    until("the site after a reboot", lambda: healthy(fleet), deadline_s=120)
    seconds = time.monotonic() - start
    assert server.run(f"systemctl is-active my-flask-app.socket {SERVICE} nginx").stdout \
        .split() == ["active"] * 3
    # The firewall is back too: a port nothing of the site's uses stays closed.
    listen(server, 8081)
    assert not connects_from_client(fleet.lab, server.address, 8081)
    server.run("systemctl stop probe-8081")
    print(f"\nsite answering {seconds:.1f} s after `systemctl reboot`")
