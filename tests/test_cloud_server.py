"""A cloud server made ready by the generated user-data alone, then provisioned and
deployed, as the generated README's "Cloud servers" has it.

The server boots the cloud image (rootfs.py's "cloud" variant: Debian 12 with
cloud-init and no deploy user) with `make cloud-init`'s output in a NoCloud seed, as a
provider hands user-data over; the test prepares nothing else on it.
"""

import time

import pytest
from conftest import run
from debian_server import DEPLOY_USER, Lab
from test_deploy import DOMAIN, Fleet, committed_project

pytestmark = [pytest.mark.slow, pytest.mark.deploy]

# What the first boot wrote, which a second boot must leave as it is.
FIRST_BOOT_FILES = ("/etc/passwd /etc/shadow /etc/group /etc/sudoers.d/90-cloud-init-users "
                    f"/home/{DEPLOY_USER}/.ssh/authorized_keys /etc/ssh/sshd_config "
                    "/etc/hostname /etc/hosts")


def boot_finished(server) -> str:
    return server.run("cloud-init status --wait", check=False).stdout.split()[-1]


def offered_logins(lab: Lab, server) -> str:
    """What the server says when a client tries passwords alone."""
    result = lab.client(["ssh", "-o", "StrictHostKeyChecking=no", "-o",
                         "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                         "-o", "PubkeyAuthentication=no",
                         "-o", "PreferredAuthentications=password,keyboard-interactive",
                         f"{DEPLOY_USER}@{server.address}", "true"], check=False)
    assert result.returncode != 0
    return result.stderr


def test_a_cloud_server_ready_by_its_user_data_takes_provision_and_deploy(rendered, tmp_path):
    project = committed_project(rendered(tls="none", domain=DOMAIN, deploy_hosts="web1"),
                                tmp_path)
    lab = Lab(tmp_path)
    try:
        made = run(["make", "-s", "cloud-init", f"KEY={lab.key}.pub",
                    "SERVER=web1.example.net"], cwd=project)
        assert made.returncode == 0, made.stdout + made.stderr
        user_data = project / made.stdout.strip()
        assert user_data.name == "user-data-web1.example.net.yaml"

        start = time.monotonic()
        fleet = Fleet(lab, project, servers=1, user_data=user_data)
        server = fleet.servers[0]
        ssh_ready = time.monotonic() - start
        assert boot_finished(server) == "done", server.run("cloud-init status --long").stdout
        booted = time.monotonic() - start

        # The deploy user is cloud-init's, with the key from `make cloud-init` (the
        # Fleet logged in with it) and sudo without a password.
        assert lab.ssh(server, "sudo -n id -u").stdout.strip() == "0"
        assert server.run("hostname").stdout.strip() == "web1"
        assert "web1.example.net" in server.run("cat /etc/hosts").stdout
        # Passwords are refused even for a user that has one.
        server.run(f"echo '{DEPLOY_USER}:correct-horse-battery' | chpasswd")
        assert "Permission denied (publickey)" in offered_logins(lab, server)
        assert "passwordauthentication no" in server.run("sshd -T").stdout
        assert lab.ssh(server, "true", user="root", check=False).returncode != 0

        start = time.monotonic()
        fleet.make("provision")
        fleet.deploy()
        live = time.monotonic() - start
        status, body = fleet.get(server)
        assert status == "200" and "My Flask App" in body

        # A second boot of the same instance changes nothing cloud-init wrote, and the
        # site comes back by itself.
        before = server.run(f"sha256sum {FIRST_BOOT_FILES}").stdout
        lab.reboot(server)
        deadline = time.monotonic() + 90
        while fleet.get(server)[0] != "200":
            assert time.monotonic() < deadline, "the site did not come back after a reboot"
            time.sleep(0.5)
        assert boot_finished(server) == "done"
        assert server.run(f"sha256sum {FIRST_BOOT_FILES}").stdout == before
        assert server.run("hostname").stdout.strip() == "web1"
        print(f"\nssh ready {ssh_ready:.1f} s after boot, cloud-init done at {booted:.1f} s; "
              f"make provision + deploy {live:.1f} s")
    finally:
        lab.close()
