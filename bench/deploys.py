"""Deploys under load on a booted Debian server: the generated deploy against a plain
restart of the tutorial recipe, plus deploy and rollback times.

One server (tests/debian_server.py) is provisioned and deployed with the generated
project's own `make provision` / `make deploy`. The tutorial recipe runs beside it on
the same server: `gunicorn -w 4 -b 127.0.0.1:8000` from a copy of the first release, in
a plain systemd unit, behind the tutorial's nginx site. Each run, interleaved:

A. commit a change, build the bundle, then `make deploy` while loadgen requests / for
   the whole deploy (time and failed requests counted), then `make rollback` (timed),
   then `make deploy` of another commit with no load, its bundle build included;
B. the same load while the tutorial's "deploy" restarts its gunicorn (systemctl restart).

Traffic stays between the lab's client namespace and the server's namespace.
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
from tutorial import NAIVE_DOMAIN, NAIVE_SITE, naive_unit  # noqa: E402

NAIVE_COPY = "/srv/naive"
# Seconds of load after the deploy or restart begins, and before it.
LOAD_LEAD_S = 1.0


class DeployBench:
    def __init__(self, workdir: Path):
        source = render(workdir / "rendered", {"tls": "none", "domain": DOMAIN,
                                               "deploy_hosts": "web1"})
        self.project = committed_project(source, workdir)
        (workdir / "lab").mkdir()
        self.lab = Lab(workdir / "lab")
        self.fleet = Fleet(self.lab, self.project, servers=1)
        self.server = self.fleet.servers[0]
        self.commits = 0

    def setup(self) -> float:
        """Provision, deploy the first release, start the tutorial recipe beside it;
        returns the first deploy's time."""
        self.fleet.make("provision")
        started = time.monotonic()
        self.fleet.deploy()
        first_deploy = time.monotonic() - started
        install, user = "/srv/my-flask-app", "my-flask-app"
        self.server.run(f"cp -a $(readlink -f {install}/current) {NAIVE_COPY}")
        (self.server.root / "etc/systemd/system/naive.service").write_text(
            naive_unit(NAIVE_COPY, user, f"{install}/shared/app.env", "my_flask_app"))
        (self.server.root / "etc/nginx/sites-enabled/naive.conf").write_text(NAIVE_SITE)
        self.server.run("systemctl daemon-reload && systemctl start naive && nginx -t -q && "
                        "systemctl reload nginx && for i in $(seq 50); do "
                        "curl -fsS -o /dev/null http://127.0.0.1:8000/healthz && exit 0; "
                        "sleep 0.2; done; exit 1")
        return first_deploy

    def new_commit(self) -> None:
        self.commits += 1
        (self.project / "BENCH_RELEASE").write_text(f"{self.commits}\n")
        commit_all(self.project, f"bench release {self.commits}")

    def under_load(self, domain: str, seconds: float, action) -> tuple[dict, float]:
        """Run action() while loadgen requests / for `seconds`; (load result, action s)."""
        load = subprocess.Popen(
            ["ip", "netns", "exec", self.lab.client_ns, "python3", str(LOADGEN),
             f"http://{self.server.address}/", domain, f"{seconds:.1f}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(LOAD_LEAD_S)
        started = time.monotonic()
        action()
        took = time.monotonic() - started
        out, err = load.communicate(timeout=seconds + 120)
        if load.returncode != 0:
            raise RuntimeError(f"loadgen failed: {err}")
        if took + LOAD_LEAD_S > seconds:
            raise RuntimeError(f"the action took {took:.1f} s, longer than the load")
        return json.loads(out), took

    def deploy_under_load(self, seconds: float) -> tuple[dict, float, float]:
        """(load result, bundle s, deploy s) for one deploy of a new commit."""
        self.new_commit()
        started = time.monotonic()
        bundle = self.fleet.bundle()
        bundling = time.monotonic() - started
        result, took = self.under_load(DOMAIN, seconds,
                                       lambda: self.fleet.make("deploy", f"BUNDLE={bundle}"))
        return result, bundling, took

    def restart_naive_under_load(self, seconds: float) -> dict:
        result, _ = self.under_load(NAIVE_DOMAIN, seconds,
                                    lambda: self.server.run("systemctl restart naive"))
        return result

    def redeploy_idle(self) -> float:
        """`make deploy` of a new commit with no load: the bundle build included (its
        wheel cache warm, as on a developer's machine after the first deploy)."""
        self.new_commit()
        started = time.monotonic()
        self.fleet.make("deploy")
        return time.monotonic() - started

    def rollback(self) -> float:
        started = time.monotonic()
        self.fleet.make("rollback")
        return time.monotonic() - started

    def close(self) -> None:
        self.lab.close()


def bench_deploys(workdir: Path, runs: int) -> dict[str, list]:
    bench = DeployBench(workdir)
    try:
        first_deploy = bench.setup()
        # The load must cover a whole deploy: the first one's time plus a margin.
        seconds = LOAD_LEAD_S + first_deploy * 1.5 + 5
        results: dict[str, list] = {"first deploy": [first_deploy], "ours": [], "naive": [],
                                    "bundle": [], "deploy": [], "idle deploy": [],
                                    "rollback": []}
        for _ in range(runs):
            load, bundling, took = bench.deploy_under_load(seconds)
            results["ours"].append(load)
            results["bundle"].append(bundling)
            results["deploy"].append(took)
            results["naive"].append(bench.restart_naive_under_load(seconds))
            results["rollback"].append(bench.rollback())
            results["idle deploy"].append(bench.redeploy_idle())
        return results
    finally:
        bench.close()
