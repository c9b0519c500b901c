"""The generated stack against the naive tutorial recipe, as ratios from one run.

Each measurement interleaves the two sides (A = what copier-flask-deploy generates,
B = the tutorial recipe) and reports the median and min-max of the runs:

1. bootstrap: scripts/bootstrap.sh vs `pip install virtualenv; virtualenv env;
   env/bin/pip install flask gunicorn` (both with warm package caches);
2. `copier copy --defaults` (no naive counterpart: absolute time);
3. GET / through the generated nginx site + gunicorn on its unix socket vs the tutorial's
   nginx `proxy_pass http://127.0.0.1:8000` + `gunicorn -w 4`, same app, same machine,
   with wrk; gunicorn alone on 127.0.0.1:8000 as the ceiling;
4. a 100 KB static file: nginx itself vs Flask's static route behind the naive proxy.

The servers run in a sandbox (tests/sandbox.py): private network namespace, loopback only.
Every load run is bounded in time. `--quick` runs each once, briefly (the smoke test).
Not measured here yet: failed requests during a deploy vs a plain restart, deploy and
rollback times (the deploy tests print those; see bench/RESULTS.md).
"""

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import VENV_BIN, render, require_tool  # noqa: E402
from sandbox import Sandbox  # noqa: E402
from server_install import (  # noqa: E402
    Site,
    install_release,
    install_site,
    load_answers,
    start_app_server,
    start_web_server,
)
from test_serving import populate_uv_cache  # noqa: E402

DOMAIN = "bench.example.com"
NAIVE_DOMAIN = "naive.example.com"
# The tutorial's nginx site, as the seed article gives it.
NAIVE_SITE = f"""server {{
    listen 80;
    server_name {NAIVE_DOMAIN};

    location / {{
        proxy_pass http://127.0.0.1:8000;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
    }}
}}
"""


def tool_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}


def timed(command: list[str], cwd: Path) -> float:
    started = time.monotonic()
    subprocess.run(command, cwd=cwd, env=tool_env(), check=True, capture_output=True)
    return time.monotonic() - started


def interleave(a: Callable[[], float], b: Callable[[], float], runs: int):
    results_a, results_b = [], []
    for _ in range(runs):
        results_a.append(a())
        results_b.append(b())
    return results_a, results_b


def summary(values: list[float], unit: str, digits: int = 2) -> str:
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.{digits}f} {unit}"
    return f"{median:.{digits}f} {unit} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def bench_bootstrap(workdir: Path, runs: int) -> tuple[list[float], list[float]]:
    base = render(workdir / "bootstrap-base", {})
    tool = workdir / "tutorial-tool"
    subprocess.run([sys.executable, "-m", "venv", str(tool)], check=True)
    subprocess.run([tool / "bin/pip", "install", "-q", "virtualenv"], check=True)
    counter = iter(range(1000))

    def ours() -> float:
        project = workdir / f"bootstrap-{next(counter)}"
        shutil.copytree(base, project)
        return timed(["sh", "scripts/bootstrap.sh"], project)

    def tutorial() -> float:
        folder = workdir / f"tutorial-{next(counter)}"
        folder.mkdir()
        script = (f"{tool}/bin/pip install -q virtualenv && {tool}/bin/virtualenv -q env && "
                  "env/bin/pip install -q flask gunicorn")
        return timed(["sh", "-c", script], folder)

    return interleave(ours, tutorial, runs)


def bench_generation(workdir: Path, runs: int) -> list[float]:
    copier = str(VENV_BIN / "copier")
    times = []
    for n in range(runs):
        times.append(timed([copier, "copy", "-q", "--defaults", "--vcs-ref", "HEAD",
                            str(ROOT), str(workdir / f"generated-{n}")], workdir))
    return times


def wrk(sandbox: Sandbox, url: str, host: str, seconds: float) -> tuple[float, float, float]:
    """Requests/s, p50 and p99 latency (ms) for GET url, 2 threads, 32 connections."""
    out = sandbox.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-H",
                       f"Host: {host}", url], timeout=seconds + 60).stdout
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))

    def percentile(p: str) -> float:
        value, unit = re.search(rf"^\s+{p}%\s+([0-9.]+)(us|ms|s)$", out, re.MULTILINE).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{non_2xx.group(1)} failed responses from {url}:\n{out}")
    return rate, percentile("50"), percentile("99")


def bench_serving(workdir: Path, runs: int, seconds: float) -> dict[str, list]:
    require_tool("wrk", "wrk")
    project = render(workdir / "serving", {"tls": "none", "domain": DOMAIN})
    populate_uv_cache(project, workdir)
    sandbox = Sandbox(workdir / "sandbox")
    try:
        site = Site(sandbox=sandbox, answers=load_answers(project), project=project)
        install_release(site)
        current = site.current
        static = f"{current}/src/{site.answers['package_name']}/static/bench.bin"
        sandbox.sh(f"head -c 102400 /dev/urandom > {static} && chmod 644 {static}")
        install_site(site, site.site_file())
        start_app_server(site)
        # The tutorial's side: gunicorn -w 4 on TCP, nginx proxy_pass to it.
        sandbox.write("/etc/nginx/sites-enabled/naive.conf", NAIVE_SITE)
        user = site.answers["service_user"]
        naive = sandbox.start("naive-gunicorn", ["sh", "-c", (
            f"cd {current} && set -a && . {site.answers['install_path']}/shared/app.env && "
            f"set +a && exec setpriv --reuid={user} --regid={user} --init-groups "
            f".venv/bin/gunicorn -w 4 -b 127.0.0.1:8000 --no-control-socket "
            f"{site.answers['package_name']}.wsgi:app")])
        start_web_server(site)
        sandbox.wait_until("naive gunicorn", lambda: sandbox.curl(
            "http://127.0.0.1:8000/healthz").status == 200, watch=(("naive-gunicorn", naive),))
        results: dict[str, list] = {key: [] for key in (
            "ours /", "naive /", "gunicorn alone /", "ours static", "naive static")}
        for _ in range(runs):
            results["ours /"].append(wrk(sandbox, "http://127.0.0.1/", DOMAIN, seconds))
            results["naive /"].append(wrk(sandbox, "http://127.0.0.1/", NAIVE_DOMAIN, seconds))
            results["gunicorn alone /"].append(
                wrk(sandbox, "http://127.0.0.1:8000/", DOMAIN, seconds))
            results["ours static"].append(
                wrk(sandbox, "http://127.0.0.1/static/bench.bin", DOMAIN, seconds))
            results["naive static"].append(
                wrk(sandbox, "http://127.0.0.1/static/bench.bin", NAIVE_DOMAIN, seconds))
        return results
    finally:
        sandbox.close()


def machine() -> str:
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    return (f"{platform.node()}: {os.cpu_count()} CPUs, Linux {platform.release()}, "
            f"Python {platform.python_version()}, {nginx}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short run of each (smoke test)")
    parser.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    args = parser.parse_args()
    runs, seconds = (1, 1) if args.quick else (3, 5)

    with tempfile.TemporaryDirectory(prefix="cfd-bench-") as tmp:
        workdir = Path(tmp)
        boot_ours, boot_naive = bench_bootstrap(workdir, runs)
        generation = bench_generation(workdir, runs)
        serving = bench_serving(workdir, runs, seconds)

    def column(key: str, index: int) -> list[float]:
        return [run[index] for run in serving[key]]

    rows = [
        ("bootstrap (s, lower is better)", summary(boot_ours, "s"), summary(boot_naive, "s"),
         statistics.median(boot_naive) / statistics.median(boot_ours)),
        ("copier copy --defaults (s)", summary(generation, "s"), "-", None),
    ]
    for label, ours, naive in [("GET /", "ours /", "naive /"),
                               ("100 KB static file", "ours static", "naive static")]:
        rows.append((f"{label}: req/s (higher is better)", summary(column(ours, 0), "", 0),
                     summary(column(naive, 0), "", 0),
                     statistics.median(column(ours, 0)) / statistics.median(column(naive, 0))))
        rows.append((f"{label}: p99 ms (lower is better)", summary(column(ours, 2), "ms"),
                     summary(column(naive, 2), "ms"),
                     statistics.median(column(naive, 2)) / statistics.median(column(ours, 2))))
    rows.append(("GET /: gunicorn alone (ceiling), req/s",
                 summary(column("gunicorn alone /", 0), "", 0), "-", None))

    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{' (--quick)' if args.quick else ''}; "
        f"{runs} interleaved run(s), {seconds} s of load each; median (min-max).",
        f"Machine: {machine()}",
        "",
        "| measurement | generated (A) | naive recipe (B) | advantage |",
        "|---|---|---|---|",
    ]
    for name, ours, naive, ratio in rows:
        lines.append(f"| {name} | {ours} | {naive} | {f'{ratio:.2f}x' if ratio else '-'} |")
    report = "\n".join(lines)
    print(report)
    if not args.no_write:
        (ROOT / "bench" / "RESULTS.md").write_text(
            "# Benchmark results\n\nWritten by `bench/run`; \"advantage\" is how many times "
            "better the generated stack does (time or latency ratio B/A, throughput A/B).\n\n"
            + report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
