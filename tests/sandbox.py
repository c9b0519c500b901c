"""A throwaway server on this machine, for running the generated files unchanged.

The sandbox is a set of Linux namespaces: its own network (loopback only, so ports 80
and 443 are free and nothing outside is reachable), its own process tree (everything
started inside dies with it), and its own view of the filesystem: /etc and /var are
overlays whose changes vanish at the end, /run and /srv are empty tmpfs. /usr and /tmp
are the host's, so the installed nginx/apache2/lighttpd and the test's files are there.
Inside, the generated site files, users and paths are installed exactly as on a server.
Needs root (CI runs as root).
"""

import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SETUP = """
set -e
ip link set lo up
mount -t tmpfs -o mode=0700 sandbox-layers "$LAYERS"
for dir in etc var; do
    mkdir -p "$LAYERS/$dir/upper" "$LAYERS/$dir/work"
    mount -t overlay overlay \
        -o "lowerdir=/$dir,upperdir=$LAYERS/$dir/upper,workdir=$LAYERS/$dir/work" "/$dir"
done
mount -t tmpfs -o mode=0755 sandbox-run /run
# What systemd-tmpfiles makes at boot: /var/lock points here.
mkdir -m 1777 /run/lock
mount -t tmpfs -o mode=0755 sandbox-srv /srv
echo ready
exec sleep infinity
"""


@dataclass
class Response:
    status: int | None  # None: the server closed the connection without answering
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Sandbox:
    def __init__(self, workdir: Path):
        if os.geteuid() != 0:
            pytest.fail("the serving tests build network and mount namespaces: run them as "
                        "root (CI does), e.g. `sudo make test`")
        self.workdir = workdir
        layers = workdir / "layers"
        layers.mkdir(parents=True)
        self._holder = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", "--net", "--mount",
             "--propagation", "private", "--", "sh", "-c", SETUP],
            env={**os.environ, "LAYERS": str(layers)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        line = self._holder.stdout.readline().strip()
        if line != "ready":
            self._holder.kill()
            pytest.fail(f"sandbox did not start: {line} {self._holder.stderr.read()}")
        children = Path(f"/proc/{self._holder.pid}/task/{self._holder.pid}/children")
        self.pid = int(children.read_text().split()[0])
        self._started: list[subprocess.Popen] = []

    def command(self, args: list[str]) -> list[str]:
        return ["nsenter", f"--target={self.pid}", "--mount", "--net", "--pid", "--", *args]

    def run(self, args: list[str], check: bool = True, timeout: float = 120,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self.command(args), capture_output=True, text=True,
                                timeout=timeout, input=input, check=False)
        if check and result.returncode != 0:
            pytest.fail(f"in sandbox: {shlex.join(args)} exited {result.returncode}\n"
                        f"{result.stdout}\n{result.stderr}")
        return result

    def sh(self, script: str, check: bool = True, timeout: float = 120):
        return self.run(["sh", "-ec", script], check=check, timeout=timeout)

    def write(self, path: str, text: str, mode: str = "0644", owner: str = "root:root") -> None:
        result = subprocess.run(
            self.command(["sh", "-ec", 'mkdir -p "$(dirname "$1")"; cat > "$1"; '
                          'chmod "$2" "$1"; chown "$3" "$1"', "write", path, mode, owner]),
            input=text, capture_output=True, text=True, timeout=30, check=False)
        if result.returncode != 0:
            pytest.fail(f"in sandbox: cannot write {path}: {result.stderr}")

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        """Start a long-running process inside; its output goes to workdir/<name>.log."""
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed by the process
        process = subprocess.Popen(self.command(args), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self._started.append(process)
        return process

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def curl(self, url: str, *options: str, timeout: float = 10) -> Response:
        """One HTTP(S) request from inside the sandbox, with curl."""
        body_file = "/run/curl-body"
        result = self.run(
            ["curl", "--silent", "--show-error", "--http1.1", "--max-time", str(timeout),
             "--dump-header", "-", "--output", body_file, "--header", "Expect:",
             *options, url],
            check=False, timeout=timeout + 10)
        if result.returncode != 0:
            return Response(status=None, error=result.stderr.strip())
        blocks = [b for b in result.stdout.replace("\r\n", "\n").split("\n\n") if b.strip()]
        lines = blocks[-1].splitlines()
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.run(["cat", body_file], check=False).stdout.encode()
        return Response(status=int(lines[0].split()[1]), headers=headers, body=body)

    def wait_until(self, what: str, ready, deadline_s: float = 30, watch: tuple = ()) -> None:
        """Poll `ready()` until true; fail early when a watched process exits."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if ready():
                return
            for name, process in watch:
                if process.poll() is not None:
                    pytest.fail(f"{name} exited while waiting for {what}:\n{self.log(name)}")
            time.sleep(0.2)
        pytest.fail(f"{what} not ready after {deadline_s}s; logs:\n" + "\n".join(
            f"--- {name}\n{self.log(name)}" for name, _ in watch))

    def close(self) -> None:
        # PID 1 of the namespace: when it dies the kernel kills everything inside.
        os.kill(self.pid, signal.SIGKILL)
        self._holder.kill()
        self._holder.wait(timeout=30)
        for process in self._started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
