"""`make provision`, `make deploy` and `make rollback` against two booted Debian servers.

The generated project drives everything through its own Makefile and Ansible, from the
client namespace of a Lab (debian_server.py); the servers have no internet, so they get
their code and dependencies only from the release bundle. Select with `pytest -m deploy`.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import commit_all, git
from debian_server import DEPLOY_USER, Lab
from test_generated_project import tool_env

# The tests build on each other (provision, deploy, redeploy, ...) on one fleet, in
# order: `make test` runs the deploy-marked tests in one process, after the rest.
pytestmark = [pytest.mark.slow, pytest.mark.deploy]

DOMAIN = "shop.example.com"
# The fleet's vault secret: it must reach app.env and never Ansible's output.
SECRET = "tok-" + "5e3c9a" * 6
LOADGEN = Path(__file__).with_name("loadgen.py")


class Fleet:
    def __init__(self, lab: Lab, project: Path, servers: int = 2, groups: str = "",
                 user_data: Path | None = None):
        """`groups`: more inventory groups of these servers, e.g. "[db]\nweb1\n";
        `user_data`: boot them as cloud servers made ready by it (Lab.boot)."""
        self.lab, self.project = lab, project
        self.servers = [lab.boot(f"web{n}", user_data) for n in range(1, servers + 1)]
        self.inventory = project.parent / "test-inventory.ini"
        # The vault password of the project's secrets, outside the project as a user has it.
        self.vault_password = project.parent / "vault-password"
        self.vault_password.write_text(f"{uuid.uuid4().hex}\n")
        hosts = "\n".join(f"{s.name} ansible_host={s.address}" for s in self.servers)
        self.inventory.write_text(
            f"[web]\n{hosts}\n\n{groups}\n[all:vars]\nansible_user={DEPLOY_USER}\n"
            f"ansible_ssh_private_key_file={lab.key}\n"
            "ansible_ssh_common_args='-o StrictHostKeyChecking=no "
            "-o UserKnownHostsFile=/dev/null'\n")

    def make(self, *target: str, check: bool = True,
             ansible_args: str = "") -> subprocess.CompletedProcess[str]:
        """A make target of the generated project, run from the client namespace."""
        result = self.lab.client(
            ["make", "-C", str(self.project), *target, f"INVENTORY={self.inventory}",
             f"VAULT_PASSWORD_FILE={self.vault_password}",
             # the test servers have no package mirror: everything is installed already
             f"ANSIBLE_ARGS=-e apt_update_cache=false {ansible_args}"], check=False,
            timeout=900, env=self.ansible_env())
        if check and result.returncode != 0:
            pytest.fail(f"make {' '.join(target)} exited {result.returncode}:\n"
                        f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        return result

    def ansible_env(self) -> dict[str, str]:
        # Labs running side by side reuse addresses: each needs its own ssh control
        # sockets, or Ansible would reuse another lab's connection to "the same" host.
        return {**os.environ, "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.lab.workdir / "ssh-cp")}

    def bundle(self) -> str:
        """Build the bundle on this machine (it fetches wheels; the client has no network)."""
        result = subprocess.run(["make", "-s", "bundle"], cwd=self.project, capture_output=True,
                                text=True, check=False, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.strip().splitlines()[-1]

    def deploy(self, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.make("deploy", f"BUNDLE={self.bundle()}", check=check)

    def write_secrets(self, secrets: dict[str, str]) -> None:
        """deploy/secrets/production.vault.yml, encrypted and committed, as
        `make secrets-edit` leaves it."""
        vault = self.project / "deploy/secrets/production.vault.yml"
        vault.parent.mkdir(exist_ok=True)
        vault.unlink(missing_ok=True)
        plain = "app_secrets:\n" + "".join(f"  {k}: {v}\n" for k, v in secrets.items())
        subprocess.run([str(self.project / ".venv/bin/ansible-vault"), "encrypt",
                        "--vault-password-file", str(self.vault_password), "--output",
                        str(vault)], input=plain, text=True, check=True, capture_output=True)
        commit_all(self.project, "secrets")

    def commit(self, path: str, old: str, new: str) -> None:
        file = self.project / path
        file.write_text(file.read_text().replace(old, new))
        git(self.project, "commit", "-qam", f"change {path}")

    def get(self, server, path: str = "/") -> tuple[str, str]:
        result = self.lab.client(
            ["curl", "-sS", "--max-time", "10", "-H", f"Host: {DOMAIN}", "-w", "\n%{http_code}",
             f"http://{server.address}{path}"], check=False)
        body, _, status = result.stdout.rpartition("\n")
        return status, body

    def live_release(self, server) -> str:
        return server.run("basename $(readlink -f /srv/my-flask-app/current)").stdout.strip()

    def releases(self, server) -> list[str]:
        return server.run("ls /srv/my-flask-app/releases").stdout.split()


def committed_project(source: Path, workdir: Path) -> Path:
    """A bootstrapped copy of a rendered project in a git repo with one commit, as a
    user has it right before their first deploy."""
    project = workdir / "project"
    shutil.copytree(source, project)
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "generated")
    boot = subprocess.run(["make", "bootstrap"], cwd=project, capture_output=True, text=True,
                          env=tool_env(), check=False)
    assert boot.returncode == 0, boot.stdout + boot.stderr
    return project


@pytest.fixture(scope="module")
def fleet(rendered, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fleet")
    project = committed_project(
        rendered(tls="none", domain=DOMAIN, deploy_hosts="web1 web2"), workdir)
    lab = Lab(workdir)
    try:
        fleet = Fleet(lab, project)
        # Kept as typed: a value is data, never an Ansible template.
        fleet.write_secrets({"PAYMENT_API_TOKEN": SECRET, "PIN": '"0123"',
                             "TEMPLATED": "a{{7*7}}b"})
        yield fleet
    finally:
        lab.close()


@contextmanager
def one_deployed_server(rendered, workdir: Path) -> Iterator[Fleet]:
    """One booted server, provisioned, with the default project's first release live."""
    project = committed_project(rendered(tls="none", domain=DOMAIN, deploy_hosts="web1"),
                                workdir)
    lab = Lab(workdir)
    try:
        fleet = Fleet(lab, project, servers=1)
        fleet.make("provision")
        fleet.deploy()
        yield fleet
    finally:
        lab.close()


def assert_deploy_refused(fleet: Fleet, bundle: str | Path, reason: str) -> None:
    """Deploying `bundle` to web1 fails, says `reason`, and the live release stays."""
    web1 = fleet.servers[0]
    live = fleet.live_release(web1)
    result = fleet.make("deploy", f"BUNDLE={bundle}", "LIMIT=web1", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert reason in output, output[-3000:]
    assert fleet.live_release(web1) == live


def recap(output: str) -> dict[str, dict[str, int]]:
    """Ansible's PLAY RECAP: {host: {"ok": n, "changed": n, "failed": n, ...}}."""
    hosts = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        hosts[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return hosts


def test_provision_twice_changes_nothing_the_second_time(fleet):
    first = fleet.make("provision")
    assert all(r["changed"] > 0 and r["failed"] == 0 for r in recap(first.stdout).values())
    second = fleet.make("provision")
    for output in (first.stdout + first.stderr, second.stdout + second.stderr):
        assert SECRET not in output
    counts = recap(second.stdout)
    assert set(counts) == {"web1", "web2"}
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in counts.values()), second.stdout
    for server in fleet.servers:
        mode = server.run("stat -c '%U:%G %a' /srv/my-flask-app/shared/app.env").stdout
        assert mode.strip() == "root:my-flask-app 640"
        # A line someone appends later must start on a line of its own.
        assert server.run("tail -c 1 /srv/my-flask-app/shared/app.env").stdout == "\n"
        # The environment's block: its name and the vault's secret, decrypted.
        env = server.run("cat /srv/my-flask-app/shared/app.env").stdout
        assert (f"\nAPP_ENVIRONMENT=production\nPAYMENT_API_TOKEN={SECRET}\nPIN=0123\n"
                "TEMPLATED=a{{7*7}}b\n") in env


# A TCP connection to address:port, given up after 2 s: what a dropped packet looks like.
CONNECT = "timeout 2 bash -c '</dev/tcp/{}/{}'"


def connects_from_client(lab: Lab, address: str, port: int) -> bool:
    return lab.client(["sh", "-c", CONNECT.format(address, port)], check=False).returncode == 0


def connects_from(server, address: str, port: int) -> bool:
    return server.run(CONNECT.format(address, port), check=False).returncode == 0


def listen(server, port: int) -> None:
    """A throwaway HTTP server on every address of `server`, answering on 127.0.0.1."""
    server.run(f"mkdir -p /run/probe && systemd-run --quiet --collect --unit=probe-{port} "
               f"python3 -m http.server {port} --bind 0.0.0.0 --directory /run/probe")
    for _ in range(50):
        if connects_from(server, "127.0.0.1", port):
            return
        time.sleep(0.1)
    pytest.fail(f"{server.name}: nothing listens on {port}")


def test_the_firewall_lets_in_ssh_and_the_site_and_drops_the_rest(fleet):
    for server in fleet.servers:
        for port in (443, 8081):  # nothing of the site's on either (tls=none)
            listen(server, port)
        try:
            assert fleet.lab.ssh(server, "true").returncode == 0
            for port in (80, 443):
                assert connects_from_client(fleet.lab, server.address, port), port
            # The firewall, not the listener: it answers inside.
            assert not connects_from_client(fleet.lab, server.address, 8081)
            assert connects_from(server, "127.0.0.1", 8081)
        finally:
            server.run("systemctl stop probe-443 probe-8081")
        # Loaded again at boot, through Debian's nftables.service.
        assert server.run("systemctl is-enabled nftables").stdout.strip() == "enabled"


def test_ssh_takes_keys_alone_and_no_root_login(fleet):
    lab = fleet.lab
    for server in fleet.servers:
        password = lab.client(["ssh", *lab.ssh_options(), "-o", "PubkeyAuthentication=no",
                               "-o", "PreferredAuthentications=password,keyboard-interactive",
                               f"{DEPLOY_USER}@{server.address}", "true"], check=False)
        # The server offers nothing but keys.
        assert password.returncode == 255
        assert "Permission denied (publickey)." in password.stderr, password.stderr
        # root's authorized key (the test servers have one) no longer lets it in.
        root = lab.ssh(server, "true", user="root", check=False)
        assert root.returncode == 255 and "Permission denied (publickey)." in root.stderr
        assert lab.ssh(server, "sudo -n true").returncode == 0
        settings = server.run("sshd -T").stdout.splitlines()
        for wanted in ("passwordauthentication no", "kbdinteractiveauthentication no",
                       "permitrootlogin no"):
            assert wanted in settings, wanted


def test_security_updates_install_daily_and_the_journal_is_capped(fleet):
    for server in fleet.servers:
        apt = server.run("apt-config dump").stdout.splitlines()
        assert 'APT::Periodic::Update-Package-Lists "1";' in apt
        assert 'APT::Periodic::Unattended-Upgrade "1";' in apt
        assert 'Unattended-Upgrade::Automatic-Reboot "false";' in apt
        # The test image turns the timers off; provision turns them on, as Debian has them.
        timers = "apt-daily.timer apt-daily-upgrade.timer"
        assert server.run(f"systemctl is-enabled {timers}").stdout.split() == ["enabled"] * 2
        assert server.run(f"systemctl is-active {timers}").stdout.split() == ["active"] * 2
        # Security updates alone: Debian's default list takes point releases too.
        dry_run = server.run("unattended-upgrade --dry-run -v").stdout
        assert ("Allowed origins are: origin=Debian,codename=bookworm-security,"
                "label=Debian-Security, origin=Debian,codename=bookworm,label=Debian-Security\n"
                ) in dry_run, dry_run
        journal = server.run("journalctl -b -u systemd-journald -o cat").stdout
        assert re.findall(r"System Journal .* max (\S+),", journal)[-1] == "500.0M", journal


def test_provision_stops_at_a_server_whose_python_is_not_the_projects(fleet):
    result = fleet.make("provision", "LIMIT=web1", ansible_args="-e python_version=3.12",
                        check=False)
    said = " ".join(result.stdout.split())  # Ansible's YAML output folds long lines
    assert result.returncode != 0
    assert ("web1 runs Python 3.11 (/usr/bin/python3), but this project's releases are "
            "built for Python 3.12") in said, result.stdout[-3000:]
    assert ("Use servers with Python 3.12 (Ubuntu 24.04), or answer python_version=3.11 "
            "for these (copier update --data python_version=3.11)") in said
    assert recap(result.stdout)["web1"]["changed"] == 0


def test_provision_refuses_to_lock_out_ansible_logging_in_as_root(fleet):
    """On a fresh server root may log in with its key: provision stops before it would
    refuse root logins, and says how to log in instead. Run as the deploy user, it puts
    back what went missing: the SSH settings (sshd reloaded) and a flushed firewall."""
    lab, web2 = fleet.lab, fleet.servers[1]
    drop_in = "/etc/ssh/sshd_config.d/10-baseline.conf"
    web2.run(f"mv {drop_in} /root/drop-in.kept && systemctl reload ssh")
    try:
        assert lab.ssh(web2, "true", user="root").returncode == 0
        result = fleet.make("provision", "LIMIT=web2", ansible_args="-e ansible_user=root",
                            check=False)
        said = " ".join(result.stdout.split())
        assert result.returncode != 0
        assert ("Ansible logs in to web2 as root, and this server is about to refuse root "
                "logins: log in as a user with passwordless sudo instead") in said, said[-3000:]
        assert recap(result.stdout)["web2"]["changed"] == 0
        assert web2.run(f"test -e {drop_in}", check=False).returncode != 0

        web2.run("nft flush ruleset")
        fleet.make("provision", "LIMIT=web2")
        assert lab.ssh(web2, "true", user="root", check=False).returncode == 255
        listen(web2, 8081)
        assert not connects_from_client(lab, web2.address, 8081)
    finally:
        web2.run(f"systemctl stop probe-8081 || true; test -e {drop_in} || "
                 f"{{ mv /root/drop-in.kept {drop_in} && systemctl reload ssh; }}; "
                 "rm -f /root/drop-in.kept")


def test_deploy_serves_the_committed_code_on_every_server(fleet):
    started = time.monotonic()
    fleet.deploy()
    elapsed = time.monotonic() - started
    for server in fleet.servers:
        status, body = fleet.get(server)
        assert status == "200" and "<h1>My Flask App</h1>" in body, body
        status, body = fleet.get(server, "/healthz")
        assert json.loads(body)["release"] == fleet.live_release(server)
    print(f"first deploy of two servers: {elapsed:.1f}s")


def start_load(fleet: Fleet, server, seconds: int, path: str = "/") -> subprocess.Popen[str]:
    """loadgen requesting `path` on a server from the client namespace, bounded in time."""
    return subprocess.Popen(
        ["ip", "netns", "exec", fleet.lab.client_ns, "python3", str(LOADGEN),
         f"http://{server.address}{path}", DOMAIN, str(seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_redeploy_under_load_loses_no_request(fleet):
    fleet.commit("src/my_flask_app/templates/index.html", "<h1>", "<h1>Version two: ")
    bundle = fleet.bundle()
    load = start_load(fleet, fleet.servers[0], 25)
    started = time.monotonic()
    fleet.make("deploy", f"BUNDLE={bundle}")
    elapsed = time.monotonic() - started
    out, err = load.communicate(timeout=120)
    result = json.loads(out)
    assert result["total"] > 100, result
    assert result["failed"] == 0, result
    for server in fleet.servers:
        assert "Version two: My Flask App" in fleet.get(server)[1]
    print(f"redeploy (unchanged dependencies) of two servers: {elapsed:.1f}s, "
          f"{result['total']} requests during it, {result['failed']} failed")


@pytest.mark.parametrize(("change", "message"), [
    (("src/my_flask_app/views.py", '"""The site\'s pages."""',
      '"""The site\'s pages."""\n\nimport module_that_is_not_installed  # noqa: F401'),
     "does not import"),
    (("src/my_flask_app/app.py", "    return app\n",
      "    health.register_check(app, 'database', lambda: 1 / 0)\n    return app\n"),
     "/healthz fails"),
], ids=["import-error", "failing-healthz"])
def test_a_broken_release_never_goes_live(fleet, change, message):
    before = {s.name: (fleet.live_release(s), fleet.releases(s)) for s in fleet.servers}
    page_before = fleet.get(fleet.servers[0])[1]
    fleet.commit(*change)
    result = fleet.deploy(check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    # web1 refused it before switching; web2 was never touched.
    for server in fleet.servers:
        assert fleet.live_release(server) == before[server.name][0]
        assert fleet.get(server)[1] == page_before
    assert fleet.releases(fleet.servers[1]) == before["web2"][1]
    git(fleet.project, "revert", "--no-edit", "HEAD")


def test_a_placeholder_secret_key_is_refused_in_one_line_and_nothing_goes_live(fleet):
    server, env_file = fleet.servers[0], "/srv/my-flask-app/shared/app.env"
    live, page = fleet.live_release(server), fleet.get(server)[1]
    server.run(f"cp -p {env_file} {env_file}.kept && "
               f"sed -i 's/^FLASK_SECRET_KEY=.*/FLASK_SECRET_KEY=change-me/' {env_file}")
    try:
        fleet.commit("src/my_flask_app/templates/index.html", "<h1>", "<h1>Keyless: ")
        result = fleet.deploy(check=False)
    finally:
        server.run(f"mv {env_file}.kept {env_file}")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "my_flask_app: FLASK_SECRET_KEY is a placeholder or shorter than 32" in output
    assert "Traceback" not in output
    assert fleet.live_release(server) == live and fleet.get(server)[1] == page
    git(fleet.project, "revert", "--no-edit", "HEAD")


def test_rollback_restores_the_previous_release(fleet):
    live = {s.name: fleet.live_release(s) for s in fleet.servers}
    started = time.monotonic()
    fleet.make("rollback")
    elapsed = time.monotonic() - started
    for server in fleet.servers:
        assert fleet.live_release(server) != live[server.name]
        status, body = fleet.get(server)
        assert status == "200" and "Version two" not in body and "My Flask App" in body
    listing = fleet.make("releases").stdout
    assert "* " in listing
    print(f"rollback of two servers: {elapsed:.1f}s")


def test_rollback_only_lands_on_releases_that_served_and_never_stays_on_a_failing_one(fleet):
    web1 = fleet.servers[0]
    index = "src/my_flask_app/templates/index.html"
    fleet.commit(index, "<h1>", "<h1>Good: ")
    fleet.deploy()
    good = fleet.live_release(web1)
    fleet.commit("src/my_flask_app/views.py", '"""The site\'s pages."""',
                 '"""The site\'s pages."""\n\nimport module_that_is_not_installed  # noqa: F401')
    assert fleet.deploy(check=False).returncode != 0
    assert len(fleet.releases(web1)) == len(set(fleet.releases(web1)))
    refused = [r for r in fleet.releases(web1) if r > good]
    assert refused == [], "a release that failed its checks was kept"
    git(fleet.project, "revert", "--no-edit", "HEAD")
    # What a deploy killed after unpacking leaves: a release that never served.
    leftover = f"{good}-leftover"
    web1.run(f"cd /srv/my-flask-app/releases && cp -a {good} {leftover} && "
             f"rm {leftover}/.served-healthy")
    fleet.commit(index, "<h1>Good: ", "<h1>Good two: ")
    fleet.deploy()
    good2 = fleet.live_release(web1)

    # A target that fails /healthz: the rollback switches back and says so.
    wsgi = web1.run(f"ls /srv/my-flask-app/releases/{good}/.venv/lib/python3*/"
                    "site-packages/my_flask_app/wsgi.py").stdout.strip()
    web1.run(f"cp -p {wsgi} {wsgi}.kept && echo 'raise SystemExit(3)' >> {wsgi}")
    failed = fleet.make("rollback", "LIMIT=web1", check=False)
    assert failed.returncode != 0
    assert f"switched back to {good2}" in failed.stdout + failed.stderr
    assert fleet.live_release(web1) == good2
    assert "<h1>Good two: " in fleet.get(web1)[1]

    web1.run(f"mv {wsgi}.kept {wsgi}")
    fleet.make("rollback", "LIMIT=web1")
    assert fleet.live_release(web1) == good  # not the leftover sorted between them
    assert "<h1>Good: " in fleet.get(web1)[1]
    fleet.deploy()


def test_a_failure_on_the_first_server_stops_the_rollout(fleet):
    web1, web2 = fleet.servers
    web1.run("echo 'this is not nginx syntax' > /etc/nginx/conf.d/broken.conf")
    before = fleet.releases(web2)
    try:
        result = fleet.deploy(check=False)
        assert result.returncode != 0
        assert "configuration test fails" in result.stdout + result.stderr
        assert fleet.releases(web2) == before
    finally:
        web1.run("rm -f /etc/nginx/conf.d/broken.conf")
    fleet.deploy()
    assert fleet.live_release(web1) == fleet.live_release(web2)


@pytest.mark.parametrize("after_s", [2.0, 5.0, 8.0])
def test_a_deploy_killed_midway_leaves_the_site_serving(fleet, after_s):
    """Killed while uploading, building or switching: the site keeps serving and the
    next deploy goes through (the server-side lock dies with its process)."""
    fleet.commit("src/my_flask_app/templates/index.html", "<h1>", f"<h1>Killed at {after_s}: ")
    bundle = fleet.bundle()
    deploy = subprocess.Popen(
        ["ip", "netns", "exec", fleet.lab.client_ns, "make", "-C", str(fleet.project),
         "deploy", f"BUNDLE={bundle}", f"INVENTORY={fleet.inventory}",
         "ANSIBLE_ARGS=-e apt_update_cache=false"], env=fleet.ansible_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(after_s)
    os.killpg(deploy.pid, signal.SIGKILL)
    deploy.wait(timeout=30)
    for server in fleet.servers:
        status, body = fleet.get(server)
        assert status == "200" and "My Flask App" in body, (after_s, status, body)
    fleet.deploy()
    for server in fleet.servers:
        assert f"<h1>Killed at {after_s}: " in fleet.get(server)[1]


def test_files_another_user_plants_never_run_as_root(fleet):
    """Root unpacks and runs only what it put in a directory of its own: a user who
    pre-creates the old upload path or the new one plants nothing that runs."""
    web1 = fleet.servers[0]
    planted = "/tmp/planted-release-ran"
    fleet.commit("src/my_flask_app/templates/index.html", "<h1>", "<h1>Unplanted: ")
    bundle = fleet.bundle()
    release_id = Path(bundle).name.removesuffix(".tar.gz")
    as_nobody = "setpriv --reuid=nobody --regid=nogroup --clear-groups"
    trap = f"#!/bin/sh\ntouch {planted}\n"
    web1.run(f"rm -f {planted}; {as_nobody} sh -c '"
             f"mkdir -m 777 -p /var/tmp/my-flask-app-deploy/{release_id} && "
             f"printf \"{trap}\" > /var/tmp/my-flask-app-deploy/{release_id}/release.sh'")
    # Uploads go straight into the root-owned install path: no way in.
    blocked = web1.run(f"{as_nobody} touch /srv/my-flask-app/.upload-{release_id}.1.tar.gz",
                       check=False)
    assert blocked.returncode != 0
    fleet.make("deploy", f"BUNDLE={bundle}")
    assert web1.run(f"test -e {planted}", check=False).returncode != 0
    assert "<h1>Unplanted: " in fleet.get(web1)[1]
    # This deploy's upload is gone (one a killed deploy left is cleared after an hour).
    assert f".upload-{release_id}." not in web1.run("ls -A /srv/my-flask-app").stdout


def test_a_deploy_refuses_an_install_path_others_can_write_to(fleet):
    web1 = fleet.servers[0]
    bundle = fleet.bundle()
    web1.run("chmod g+w /srv")  # as Debian's /var/local is for the group staff
    try:
        assert_deploy_refused(fleet, bundle, "/srv is writable by group or others")
    finally:
        web1.run("chmod g-w /srv")


def test_a_bundle_changed_after_it_was_built_is_refused(fleet):
    fleet.commit("src/my_flask_app/templates/index.html", "<h1>", "<h1>Tampered: ")
    bundle = Path(fleet.bundle())
    with bundle.open("ab") as archive:
        archive.write(b"\0" * 512)  # still a valid gzip stream for tar, but not what was built
    assert_deploy_refused(fleet, bundle, "differs from")


def test_a_uv_wheel_changed_after_the_bundle_was_built_is_never_run(fleet):
    """uv travels beside the bundle; the bundle carries its checksum."""
    web1 = fleet.servers[0]
    live = fleet.live_release(web1)
    bundle = Path(fleet.bundle())
    (wheel,) = bundle.parent.glob("tools/uv-*.whl")
    original = wheel.read_bytes()
    # The server has this uv already: make it ship again, then ship another one.
    web1.run("rm -rf /srv/my-flask-app/shared/tools")
    wheel.write_bytes(original + b"\0")  # a zip's central directory is at its end: still valid
    try:
        assert_deploy_refused(fleet, bundle, "does not match the checksum in the bundle")
    finally:
        wheel.write_bytes(original)
    # Removed, never unpacked: the next deploy ships the real one again.
    assert web1.run("ls /srv/my-flask-app/shared/tools").stdout.split() == []
    fleet.make("deploy", f"BUNDLE={bundle}", "LIMIT=web1")
    assert fleet.live_release(web1) != live


def test_two_deploys_at_once_never_drop_a_request(fleet):
    """The lock serialises them: the site keeps serving, the live release ends as one of
    the two, and a deploy that reports success has its release live or kept."""
    web1 = fleet.servers[0]
    bundles = []
    for name in ("First", "Second"):
        fleet.commit("src/my_flask_app/templates/index.html", "<h1>", f"<h1>{name} at once: ")
        bundles.append(fleet.bundle())
    load = start_load(fleet, web1, 40)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(
            lambda bundle: fleet.make("deploy", f"BUNDLE={bundle}", "LIMIT=web1", check=False),
            bundles))
    out, err = load.communicate(timeout=120)
    assert load.returncode == 0, err
    traffic = json.loads(out)
    assert traffic["failed"] == 0 and traffic["total"] > 100, traffic
    ids = [Path(bundle).name.removesuffix(".tar.gz") for bundle in bundles]
    live, kept = fleet.live_release(web1), fleet.releases(web1)
    assert live in ids
    for release_id, result in zip(ids, results, strict=True):
        if result.returncode == 0:
            assert release_id == live or release_id in kept, (release_id, live, kept)
    assert any(result.returncode == 0 for result in results), [r.stdout for r in results]
    fleet.deploy()  # both servers on the same release again


def test_secrets_are_read_the_way_systemd_reads_them_and_nothing_in_them_runs(fleet):
    """app.env is never read by a shell as root: a `$(...)` or a backquote in a value
    runs nothing during a deploy, and the app gets the literal value."""
    web1, env_file = fleet.servers[0], "/srv/my-flask-app/shared/app.env"
    values = {"FLASK_CANARY_DOLLAR": "$(touch /tmp/canary-dollar)",
              "FLASK_CANARY_TICK": "`touch /tmp/canary-tick`"}
    lines = "".join(f"{name}={value}\n" for name, value in values.items())
    web1.run(f"cp -p {env_file} {env_file}.kept && rm -f /tmp/canary-* && "
             f"cat >> {env_file} <<'EOF'\n\n{lines}FLASK_CANARY_QUOTED=\"a quoted value\"\nEOF")
    try:
        fleet.commit("src/my_flask_app/templates/index.html", "<h1>", "<h1>Canaries: ")
        fleet.make("deploy", f"BUNDLE={fleet.bundle()}", "LIMIT=web1")
        assert web1.run("ls /tmp/canary-dollar /tmp/canary-tick", check=False).returncode != 0
        environ = web1.run("tr '\\0' '\\n' < /proc/$(systemctl show -P MainPID "
                           "my-flask-app.service)/environ").stdout.splitlines()
        for name, value in {**values, "FLASK_CANARY_QUOTED": "a quoted value"}.items():
            assert f"{name}={value}" in environ, (name, environ)
        code, _ = doctor_import(fleet)
        assert code == 0
        assert web1.run("ls /tmp/canary-dollar /tmp/canary-tick", check=False).returncode != 0
    finally:
        web1.run(f"mv {env_file}.kept {env_file}")
    fleet.deploy()


def test_a_changed_secret_reaches_the_app_by_provision_and_never_the_output(fleet):
    web1 = fleet.servers[0]

    def app_environ() -> list[str]:
        return web1.run("tr '\\0' '\\n' < /proc/$(systemctl show -P MainPID "
                        "my-flask-app.service)/environ").stdout.splitlines()

    assert f"PAYMENT_API_TOKEN={SECRET}" in app_environ()
    assert "APP_ENVIRONMENT=production" in app_environ()
    rotated = "tok-" + "81d0f7" * 6
    fleet.write_secrets({"PAYMENT_API_TOKEN": rotated})
    result = fleet.make("provision", "LIMIT=web1")
    assert SECRET not in result.stdout + result.stderr
    assert rotated not in result.stdout + result.stderr
    # Restarted with it: socket activation holds the connections meanwhile.
    assert f"PAYMENT_API_TOKEN={rotated}" in app_environ()
    assert fleet.get(web1, "/healthz")[0] == "200"

    # What app.env cannot hold is refused by name, its value never shown, and the file
    # keeps what it had.
    fleet.write_secrets({"payment_token": "x", "SPACED": "two words", "GOOD": "ok"})
    refused = fleet.make("provision", "LIMIT=web1", check=False)
    output = " ".join((refused.stdout + refused.stderr).split())  # as one line
    assert refused.returncode != 0
    assert "payment_token, SPACED cannot go into app.env" in output, output[-3000:]
    assert "two words" not in output
    assert f"PAYMENT_API_TOKEN={rotated}" in web1.run(
        "cat /srv/my-flask-app/shared/app.env").stdout
    fleet.write_secrets({"PAYMENT_API_TOKEN": SECRET})
    fleet.make("provision", "LIMIT=web1")


def doctor_import(fleet) -> tuple[int, str]:
    """The doctor's import check, which reads app.env as the service does, on web1."""
    result = fleet.servers[0].run(
        "python3 /srv/my-flask-app/current/deploy/doctor.py --json", check=False)
    report = {r["check"]: r for r in json.loads(result.stdout)}
    return (0 if report["app imports"]["ok"] else 1), report["app imports"]["detail"]


def test_status_reload_and_restart_act_on_every_server(fleet):
    """`make status` shows each server's units and /healthz; `make reload` keeps the app
    server's main process (new workers only), `make restart` replaces it."""
    report = fleet.make("status").stdout
    # the web server, the app's socket and its service, on each server
    assert report.count("Active: active") == 3 * len(fleet.servers), report
    assert report.count('"status":"ok"') == len(fleet.servers), report
    # `make logs`: the app's own request lines (status asked /healthz through the site).
    logs = fleet.make("logs", "LINES=300").stdout
    assert "GET /healthz 200" in logs, logs[-3000:]

    def main_pids() -> list[str]:
        return [server.run("systemctl show -P MainPID my-flask-app.service").stdout.strip()
                for server in fleet.servers]

    before = main_pids()
    assert "0" not in before, before
    fleet.make("reload")
    assert main_pids() == before
    fleet.make("restart")
    after = main_pids()
    assert "0" not in after, after
    assert all(old != new for old, new in zip(before, after, strict=True)), (before, after)
    for server in fleet.servers:
        status, body = fleet.get(server, "/healthz")
        assert status == "200", body
