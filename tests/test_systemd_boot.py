"""The generated units under a real systemd: a booted Debian 12 server (debian_server.py).

The release, units and site file are installed as provisioning would; then the site is
driven from the client namespace: served through the socket-activated service, reloaded
and restarted under a bounded load without losing a request, restarted after a crash.
"""

import json
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from debian_server import Lab, Server
from release_bundle import build_wheelhouse, copy_source
from server_install import load_answers

pytestmark = pytest.mark.slow

DOMAIN = "shop.example.com"
LOADGEN = Path(__file__).with_name("loadgen.py")
# (web server, app server): each app server once, behind the web server it is most
# often paired with; mod_wsgi runs inside Apache, whose own reload is tested instead.
STACKS = [("nginx", "gunicorn"), ("nginx", "uwsgi"), ("apache", "mod_wsgi")]
# The stacks with a socket and service of their own (mod_wsgi has Apache's).
SOCKET_STACKS = [stack for stack in STACKS if stack[1] != "mod_wsgi"]
WEB_SERVICE = {"nginx": "nginx", "apache": "apache2", "lighttpd": "lighttpd"}


class Deployed:
    def __init__(self, lab: Lab, server: Server, answers: dict):
        self.lab, self.server, self.answers = lab, server, answers
        self.slug = answers["project_slug"]
        self.web = answers["web_server"]
        self.app = answers["app_server"]

    @property
    def app_unit(self) -> str:
        return f"{self.slug}.service" if self.app != "mod_wsgi" else "apache2.service"

    @property
    def reload_command(self) -> str:
        """How the app picks up a new release without dropping requests."""
        if self.app == "mod_wsgi":
            # Restarts only the app's daemon processes; Apache keeps their socket, so
            # requests wait instead of failing (an Apache reload would drop some).
            return f"touch {self.answers['install_path']}/current/deploy/mod_wsgi_entry.py"
        return f"systemctl reload {self.app_unit}"

    def worker_pids(self) -> set[str]:
        """PIDs of the processes running the app's code."""
        if self.app == "mod_wsgi":
            # mod_wsgi's daemon processes are the ones running as the service user.
            command = f"pgrep -u {self.answers['service_user']}"
        else:
            command = f"pgrep -P $(systemctl show -p MainPID --value {self.app_unit})"
        return set(self.server.run(command).stdout.split())

    def get(self, path: str = "/") -> tuple[str, str]:
        """Status and body of one request through the web server, from the client side."""
        result = self.lab.client(
            ["curl", "-sS", "--max-time", "10", "-H", f"Host: {DOMAIN}", "-w", "\n%{http_code}",
             f"http://{self.server.address}{path}"], check=False)
        body, _, status = result.stdout.rpartition("\n")
        return status, body

    def load_while(self, action: str, seconds: float = 4.0) -> dict:
        """Run `action` on the server while a bounded load runs through the web server."""
        load = subprocess.Popen(
            ["ip", "netns", "exec", self.lab.client_ns, "python3", str(LOADGEN),
             f"http://{self.server.address}/", DOMAIN, str(seconds)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(seconds / 3)  # the load is in full swing when the action starts
            self.server.run(action, timeout=60)
        finally:
            out, err = load.communicate(timeout=seconds + 60)
        assert load.returncode == 0, err
        result = json.loads(out)
        if result["failed"]:
            result["server logs"] = self.diagnostics()
        return result

    def diagnostics(self) -> str:
        """The last lines of the app's and the web server's logs, for failure messages."""
        return self.server.run(
            f"journalctl --no-pager -n 20 -u {self.app_unit}; "
            f"tail -n 20 /var/log/{WEB_SERVICE[self.web]}/*error.log", check=False).stdout


def install(lab: Lab, server: Server, project: Path, workdir: Path) -> Deployed:
    answers = load_answers(project)
    site = Deployed(lab, server, answers)
    slug, user, root = site.slug, answers["service_user"], answers["install_path"]
    host_root = server.root / root.lstrip("/")
    copy_source(project, host_root / "releases" / "r1")
    wheels = build_wheelhouse(project, workdir / "wheelhouse")
    shutil.copytree(wheels, server.root / "var/tmp" / "wheelhouse")
    env = (project / "deploy/app.env.example").read_text().replace(
        "FLASK_SECRET_KEY=change-me", f"FLASK_SECRET_KEY={secrets.token_hex(32)}")
    (server.root / "var/tmp" / "app.env").write_text(env + "FLASK_RELEASE_ID=r1\n")
    release = f"{root}/releases/r1"
    server.run(
        f"useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "
        f"{user} && python3 -m venv {release}/.venv && "
        f"{release}/.venv/bin/pip install --quiet --no-index --find-links /var/tmp/wheelhouse "
        f"-r /var/tmp/wheelhouse/requirements.txt && "
        f"{release}/.venv/bin/pip install --quiet --no-index --no-deps "
        f"/var/tmp/wheelhouse/{slug.replace('-', '_')}-*.whl && "
        f"ln -sfn releases/r1 {root}/current && mkdir -p {root}/shared && "
        f"install -m 0640 -o root -g {user} /var/tmp/app.env {root}/shared/app.env && "
        f"chown -R root:root {root}/releases && chmod -R go-w,a+rX {root}/releases",
        timeout=300)
    if site.app != "mod_wsgi":
        for unit in ("socket", "service"):
            shutil.copy(project / "deploy/systemd" / f"{slug}.{unit}",
                        server.root / "etc/systemd/system" / f"{slug}.{unit}")
        server.run(f"systemctl daemon-reload && systemctl enable --now {slug}.socket "
                   f"{slug}.service")
    else:
        # What provisioning's tmpfiles.d entry makes for the daemons' metrics.
        (server.root / "etc/tmpfiles.d" / f"{slug}-metrics.conf").write_text(
            f"d /run/{slug}-metrics 0700 {user} {user} -\n")
        server.run(f"systemd-tmpfiles --create /etc/tmpfiles.d/{slug}-metrics.conf")
    site_file = (project / "deploy" / site.web / f"{slug}.conf").read_text()
    if site.web == "nginx":
        (server.root / "etc/nginx/sites-available" / f"{slug}.conf").write_text(site_file)
        server.run(f"rm -f /etc/nginx/sites-enabled/default && ln -s "
                   f"../sites-available/{slug}.conf /etc/nginx/sites-enabled/ && nginx -t -q")
    else:
        modules = re.search(r"^#\s+a2enmod (.+)$", site_file, re.MULTILINE).group(1)
        (server.root / "etc/apache2/sites-available" / f"{slug}.conf").write_text(site_file)
        server.run(f"a2enmod -q {modules} && a2dissite -q 000-default && a2ensite -q {slug} "
                   f"&& apache2ctl -t")
    server.run(f"systemctl enable --now {WEB_SERVICE[site.web]}")
    return site


@pytest.fixture(scope="module")
def deployed(request, rendered, tmp_path_factory):
    web, app = request.param
    project = rendered(web_server=web, app_server=app, tls="none", domain=DOMAIN)
    workdir = tmp_path_factory.mktemp("lab")
    lab = Lab(workdir)
    try:
        server = lab.boot("web1")
        yield install(lab, server, project, workdir)
    finally:
        lab.close()


def on(stacks):
    """Parametrize a test over stacks; one booted server per stack serves the module."""
    return pytest.mark.parametrize("deployed", stacks, ids=["-".join(s) for s in stacks],
                                   indirect=True, scope="module")


@on(STACKS)
def test_site_is_served_through_the_socket_activated_service(deployed):
    status, body = deployed.get("/")
    assert status == "200", body
    assert "<h1>My Flask App</h1>" in body
    status, body = deployed.get("/healthz")
    assert (status, json.loads(body)["release"]) == ("200", "r1")


@on(SOCKET_STACKS)
def test_systemd_holds_the_socket_for_the_web_server_group_only(deployed):
    state = deployed.server.run(f"systemctl is-active {deployed.slug}.socket "
                                f"{deployed.slug}.service").stdout.split()
    assert state == ["active", "active"]
    socket = deployed.server.run(f"stat -c '%U:%G %a' /run/{deployed.slug}/app.sock")
    assert socket.stdout.strip() == "root:www-data 660"


@on(STACKS)
def test_reload_under_load_loses_no_request(deployed):
    workers = deployed.worker_pids()
    result = deployed.load_while(deployed.reload_command)
    # The reload really replaced every process running app code...
    assert deployed.worker_pids().isdisjoint(workers)
    assert result["total"] > 50, result
    assert result["failed"] == 0, json.dumps(result, indent=1)


@on(SOCKET_STACKS)
def test_restart_under_load_loses_no_request(deployed):
    result = deployed.load_while(f"systemctl restart {deployed.app_unit}")
    assert result["total"] > 50, result
    assert result["failed"] == 0, json.dumps(result, indent=1)


@on(SOCKET_STACKS)
def test_a_killed_app_server_is_restarted(deployed):
    unit = deployed.app_unit
    before = deployed.server.run(f"systemctl show -p MainPID --value {unit}").stdout.strip()
    deployed.server.run(f"kill -9 {before}")
    deployed.server.run(
        f"for i in $(seq 50); do systemctl is-active -q {unit} && "
        f"[ \"$(systemctl show -p MainPID --value {unit})\" != {before} ] && exit 0; "
        f"sleep 0.2; done; exit 1")
    status, _ = deployed.get("/healthz")
    assert status == "200"


@on(SOCKET_STACKS)
def test_exposure_inside_the_server_matches_the_offline_score(deployed):
    inside = deployed.server.run(f"systemd-analyze security --no-pager {deployed.app_unit}",
                                 check=False).stdout
    score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", inside).group(1))
    assert score <= 1.0, inside


def healthz_count(deployed: Deployed) -> float:
    """/healthz's request count in /metrics, read on the server itself."""
    page = deployed.server.run(f"curl -sS --fail -H 'Host: {DOMAIN}' http://127.0.0.1/metrics").stdout
    found = re.search(r'^flask_http_request_duration_seconds_count\{[^}]*endpoint="health.healthz"'
                      r'[^}]*status="200"[^}]*\} ([0-9.e+]+)$', page, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@on(STACKS)
def test_metrics_add_up_every_worker_under_the_hardened_units(deployed):
    """The workers write their numbers where the unit (or tmpfiles.d) lets them, and
    /metrics counts every request whichever worker served it; the client, another
    host, gets 403."""
    before = healthz_count(deployed)
    for _ in range(10):
        assert deployed.get("/healthz")[0] == "200"
    assert healthz_count(deployed) == before + 10
    # Multiprocess mode: each process that served requests has its file there.
    files = deployed.server.run(f"find /run/{deployed.slug}-metrics -name 'histogram_*.db'")
    assert files.stdout.split(), files.stdout
    assert deployed.get("/metrics")[0] == "403"
