"""Booted Debian 12 servers for the tests: systemd as PID 1, sshd, no internet.

Each server is a systemd-nspawn container booted from the cached root filesystem
(rootfs.py) unpacked onto tmpfs, inside a network namespace of its own. A "client"
namespace, also made here, is joined to each server by a veth pair on a private /30:
ssh, Ansible, curl and load generators run in the client namespace, so every packet the
tests send stays between namespaces this fixture created, and nothing touches the
machine's own network. Everything is torn down on close, even after a failed test.
"""

import contextlib
import os
import shlex
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import require_tool
from rootfs import ensure_tarball

SUBNET_PREFIX = "10.231"  # 10.231.<n>.0/30 per server: .1 client side, .2 server side
DEPLOY_USER = "deploy"


def sh(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=check, capture_output=True, text=True, **kwargs)


@dataclass
class Server:
    name: str
    address: str
    root: Path
    process: subprocess.Popen
    netns: str

    def leader(self) -> int:
        """Host PID of the container's init (systemd)."""
        pending = [self.process.pid]
        while pending:
            pid = pending.pop()
            with contextlib.suppress(FileNotFoundError):
                if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                    return pid
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pending += [int(c) for c in (task / "children").read_text().split()]
        raise RuntimeError(f"{self.name}: systemd not running")

    def run(self, command: str, check: bool = True, timeout: float = 120):
        """A root shell command inside the container (nsenter, not ssh)."""
        result = subprocess.run(
            ["nsenter", "-t", str(self.leader()), "-a", "sh", "-c", command],
            capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            pytest.fail(f"on {self.name}: {command} exited {result.returncode}\n"
                        f"{result.stdout}{result.stderr}")
        return result


class Lab:
    """A client namespace and any number of booted Debian servers joined to it."""

    def __init__(self, workdir: Path):
        if os.geteuid() != 0:
            pytest.fail("the booted-server tests need root (namespaces, systemd-nspawn): "
                        "run them as root, e.g. `sudo make test`")
        for tool, package in [("systemd-nspawn", "systemd-container"),
                              ("debootstrap", "debootstrap"), ("ip", "iproute2"),
                              ("ssh", "openssh-client"), ("zstd", "zstd")]:
            require_tool(tool, package)
        self.workdir = workdir
        self.tag = uuid.uuid4().hex[:6]
        self.client_ns = f"cfd-{self.tag}-c"
        self.servers: list[Server] = []
        self.key = workdir / "id_ed25519"
        self.tarball = ensure_tarball()
        sh("ip", "netns", "add", self.client_ns)
        self.client(["ip", "link", "set", "lo", "up"])
        # The load generators open a connection per request: thousands a second on a
        # fast machine, each leaving its port in TIME_WAIT for 60 s. Give the client
        # every port and let it reuse those, or it runs out ("Cannot assign requested
        # address") and counts its own failures as the server's.
        self.client(["sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=1024 65535",
                     "net.ipv4.tcp_tw_reuse=1"])
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key))

    def client(self, args: list[str], check: bool = True, timeout: float = 600,
               **kwargs) -> subprocess.CompletedProcess[str]:
        """Run a command in the client namespace (where ssh and Ansible run from)."""
        return subprocess.run(["ip", "netns", "exec", self.client_ns, *args], check=check,
                              capture_output=True, text=True, timeout=timeout, **kwargs)

    def ssh_options(self) -> list[str]:
        return ["-i", str(self.key), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "ConnectTimeout=5", "-o", "BatchMode=yes"]

    def ssh(self, server: Server, command: str, user: str = DEPLOY_USER, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = self.client(["ssh", *self.ssh_options(), f"{user}@{server.address}",
                              command], check=False, timeout=timeout)
        if check and result.returncode != 0:
            pytest.fail(f"ssh {server.name}: {command} exited {result.returncode}\n"
                        f"{result.stdout}{result.stderr}")
        return result

    def boot(self, name: str, user_data: Path | None = None) -> Server:
        """A server booted from the test root filesystem with the deploy user already
        there; or, given user-data, from the cloud image (cloud-init, no deploy user)
        with that user-data as a provider hands it over, and nothing else prepared."""
        index = len(self.servers) + 1
        netns = f"cfd-{self.tag}-s{index}"
        client_if, server_if = f"cfd{self.tag}c{index}", f"cfd{self.tag}s{index}"
        address = f"{SUBNET_PREFIX}.{index}.2"
        sh("ip", "netns", "add", netns)
        sh("ip", "link", "add", client_if, "netns", self.client_ns, "type", "veth",
           "peer", "name", server_if, "netns", netns)
        self.client(["ip", "addr", "add", f"{SUBNET_PREFIX}.{index}.1/30", "dev", client_if])
        self.client(["ip", "link", "set", client_if, "up"])
        sh("ip", "-n", netns, "addr", "add", f"{address}/30", "dev", server_if)
        sh("ip", "-n", netns, "link", "set", server_if, "up")
        sh("ip", "-n", netns, "link", "set", "lo", "up")

        root = self.workdir / name
        root.mkdir()
        # On tmpfs: unpacking and running under load is many times faster than on disk.
        sh("mount", "-t", "tmpfs", "-o", "size=2G,mode=0755", f"cfd-{name}", str(root))
        tarball = ensure_tarball("cloud") if user_data else self.tarball
        sh("tar", "--zstd", "-C", str(root), "--numeric-owner", "-xpf", str(tarball))
        if user_data:
            self._seed_cloud_init(root, name, user_data)
        else:
            self._prepare_root(root, name)
        server = Server(name=name, address=address, root=root, netns=netns,
                        process=self._start(root, name, netns))
        self.servers.append(server)
        self._wait_for_ssh(server)
        return server

    def route_between_servers(self) -> None:
        """Let the servers reach each other (a database on one, the app on another)
        through the client namespace, which forwards between their links. The routes
        cover the lab's subnet only: nothing leaves the namespaces this Lab made."""
        self.client(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        for index, server in enumerate(self.servers, start=1):
            sh("ip", "-n", server.netns, "route", "replace", f"{SUBNET_PREFIX}.0.0/16",
               "via", f"{SUBNET_PREFIX}.{index}.1")

    def _start(self, root: Path, name: str, netns: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.console.log", "ab")  # noqa: SIM115
        # CAP_NET_ADMIN, which a server's root has and nspawn withholds unless it makes
        # the network itself: provision loads a firewall (in the server's own namespace).
        return subprocess.Popen(
            ["systemd-nspawn", "--quiet", "--boot", "--keep-unit", "--register=no",
             f"--directory={root}", f"--machine={name}", f"--hostname={name}",
             f"--network-namespace-path=/run/netns/{netns}", "--capability=CAP_NET_ADMIN",
             "--console=passive"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def reboot(self, server: Server, deadline_s: float = 60) -> None:
        """`systemctl reboot` in the server, as an admin would. systemd-nspawn ends when
        its container reboots (exit status 133): boot the same root again, as the
        machine's firmware would. The disk (the root's tmpfs) keeps everything; /run and
        every process start afresh."""
        server.run("systemctl reboot", check=False)
        try:
            server.process.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{server.name} did not shut down within {deadline_s}s")
        server.process = self._start(server.root, server.name, server.netns)

    def _prepare_root(self, root: Path, name: str) -> None:
        """The deploy user with the fixture's key and passwordless sudo, as on a VPS."""
        sh("useradd", "--root", str(root), "--create-home", "--shell", "/bin/bash",
           DEPLOY_USER)
        for home, owner in ((root / "home" / DEPLOY_USER, DEPLOY_USER), (root / "root", "root")):
            ssh_dir = home / ".ssh"
            ssh_dir.mkdir(mode=0o700, exist_ok=True)
            (ssh_dir / "authorized_keys").write_text(self.key.with_suffix(".pub").read_text())
            sh("chroot", str(root), "chown", "-R", f"{owner}:{owner}",
               f"/{home.relative_to(root)}/.ssh")
        sudoers = root / "etc/sudoers.d" / DEPLOY_USER
        sudoers.write_text(f"{DEPLOY_USER} ALL=(ALL) NOPASSWD:ALL\n")
        sudoers.chmod(0o440)
        (root / "etc/hostname").write_text(f"{name}\n")
        with (root / "etc/hosts").open("a") as hosts:
            hosts.write(f"127.0.1.1 {name}\n")

    def _seed_cloud_init(self, root: Path, name: str, user_data: Path) -> None:
        """cloud-init's NoCloud seed directory: the user-data, and the meta-data a
        provider's metadata service would give (an instance id and its own name for the
        server, which the user-data's hostname replaces)."""
        seed = root / "var/lib/cloud/seed/nocloud"
        seed.mkdir(parents=True)
        (seed / "user-data").write_text(user_data.read_text())
        (seed / "meta-data").write_text(f"instance-id: i-{self.tag}{name}\n"
                                        f"local-hostname: vm-{self.tag}\n")

    def _wait_for_ssh(self, server: Server, deadline_s: float = 60) -> None:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                pytest.fail(f"{server.name} exited while booting:\n"
                            f"{(self.workdir / f'{server.name}.console.log').read_text()}")
            if self.ssh(server, "true", check=False, timeout=10).returncode == 0:
                return
            time.sleep(0.1)
        pytest.fail(f"{server.name}: no ssh after {deadline_s}s")

    def close(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                os.kill(server.leader(), signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.process.wait(timeout=30)
            sh("umount", "--lazy", str(server.root), check=False)
            sh("ip", "netns", "delete", server.netns, check=False)
        sh("ip", "netns", "delete", self.client_ns, check=False)


def shell_quote(value: str) -> str:
    return shlex.quote(value)
