"""Fleets of booted Debian servers: provision and redeploy time against fleet size, and
a 10-server rollout under load behind HAProxy with and without draining.

Eleven fresh servers (tests/debian_server.py) on this machine: `make provision` of one
(web1) and then of the ten others at once gives the provision rows; the first deploy
goes to all. Then, per run, a redeploy with unchanged dependencies (a new commit, its
bundle built first and not timed) to the first 1, 2, 5 and 10 servers (LIMIT=), idle,
with the generated defaults (batch_size [1, "25%"]). Last, HAProxy (Debian's, checking
/healthz as the README shows) in front of ten of them, loadgen through it for a whole
rollout: once with drain_seconds 2 (ours), once with 0 (B: no draining, what a
balancer in front of a plain restart gets). Everything stays in the lab's namespaces.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import commit_all, render  # noqa: E402
from debian_server import Lab  # noqa: E402
from test_deploy import DOMAIN, LOADGEN, Fleet, committed_project  # noqa: E402
from test_fleet import HAPROXY_CONFIG, load_through  # noqa: E402

SIZES = [1, 2, 5, 10]
# --quick: the same steps on a fleet CI can bear.
QUICK_SIZES = [1, 2]


def limit(size: int, first: int = 1) -> str:
    return "LIMIT=" + ",".join(f"web{n}" for n in range(first, first + size))


class FleetBench:
    def __init__(self, workdir: Path, servers: int):
        # A directory of its own: the deploys part renders its project in workdir.
        workdir = workdir / "fleets"
        workdir.mkdir()
        hosts = " ".join(f"web{n}" for n in range(1, servers + 1))
        source = render(workdir / "rendered", {"tls": "none", "domain": DOMAIN,
                                               "deploy_hosts": hosts})
        self.project = committed_project(source, workdir)
        (workdir / "lab").mkdir()
        self.lab = Lab(workdir / "lab")
        self.fleet = Fleet(self.lab, self.project, servers=servers)
        self.commits = 0

    def timed_make(self, *args: str) -> float:
        started = time.monotonic()
        self.fleet.make(*args)
        return time.monotonic() - started

    def new_bundle(self) -> str:
        self.commits += 1
        (self.project / "BENCH_RELEASE").write_text(f"{self.commits}\n")
        commit_all(self.project, f"bench release {self.commits}")
        return self.fleet.bundle()

    def set_drain(self, seconds: int) -> None:
        vars_file = self.project / "deploy/ansible/vars.yml"
        text = vars_file.read_text()
        start = text.index("drain_seconds: ")
        end = text.index("\n", start)
        vars_file.write_text(f"{text[:start]}drain_seconds: {seconds}{text[end:]}")
        commit_all(self.project, f"drain {seconds}")

    def rollout_behind_haproxy(self, drain: int) -> dict:
        """A redeploy of all servers but web1 behind HAProxy under load: loadgen's
        result, with the steady state's p99 before it and the rollout's time."""
        config = self.lab.workdir / "haproxy.cfg"
        servers = self.fleet.servers[1:]
        config.write_text(HAPROXY_CONFIG.format(domain=DOMAIN, servers="\n".join(
            f"    server {s.name} {s.address}:80 check" for s in servers)))
        self.set_drain(drain)
        bundle = self.new_bundle()
        balancer = subprocess.Popen(
            ["ip", "netns", "exec", self.lab.client_ns, "haproxy", "-db", "-f", str(config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = "http://127.0.0.1:8080/"
        try:
            deadline = time.monotonic() + 20
            while self.lab.client(["curl", "-fsS", "--max-time", "2", "-H", f"Host: {DOMAIN}",
                                   url], check=False).returncode != 0:
                if time.monotonic() > deadline:
                    raise RuntimeError("HAProxy did not serve within 20 s")
                time.sleep(0.2)
            time.sleep(2)  # every server checked up
            steady = self.load(url, 8)
            load = load_through(self.fleet, url, 600)
            try:
                took = self.timed_make("deploy", f"BUNDLE={bundle}",
                                       limit(len(servers), first=2))
            finally:
                load.terminate()
                result = json.loads(load.communicate(timeout=60)[0])
        finally:
            balancer.terminate()
            balancer.wait(timeout=30)
        return {**result, "steady p99": steady["latency_s"]["p99"], "took": took}

    def load(self, url: str, seconds: float) -> dict:
        result = self.lab.client(["python3", str(LOADGEN), url, DOMAIN, str(seconds)],
                                 timeout=seconds + 60)
        return json.loads(result.stdout)

    def close(self) -> None:
        self.lab.close()


def bench_fleets(workdir: Path, runs: int, quick: bool) -> dict[str, list]:
    sizes = QUICK_SIZES if quick else SIZES
    most = sizes[-1]
    bench = FleetBench(workdir, servers=most + 1)
    try:
        results: dict[str, list] = {
            "sizes": sizes,
            "provision 1": [bench.timed_make("provision", limit(1))],
            "provision most": [bench.timed_make("provision", limit(most, first=2))],
        }
        bench.fleet.deploy()
        for size in sizes:
            results[f"redeploy {size}"] = []
        for _ in range(runs):
            for size in sizes:
                bundle = bench.new_bundle()
                results[f"redeploy {size}"].append(
                    bench.timed_make("deploy", f"BUNDLE={bundle}", limit(size)))
        results["behind haproxy, drained"] = [bench.rollout_behind_haproxy(2)]
        results["behind haproxy, not drained"] = [bench.rollout_behind_haproxy(0)]
        return results
    finally:
        bench.close()
