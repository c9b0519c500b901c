"""The generated stack against the naive tutorial recipe, as ratios from one run.

Each measurement interleaves the two sides (A = what copier-flask-deploy generates,
B = the tutorial recipe) and reports the median and min-max of the runs:

1. bootstrap: scripts/bootstrap.sh with uv on PATH, without uv (pip installs the locked
   uv, which syncs) and with pip alone, each vs `pip install virtualenv; virtualenv env;
   env/bin/pip install <the same locked packages>` (all with warm package caches);
2. `copier copy --defaults`, `copier update` of a project with nothing to update, and
   `cookiecutter --no-input` on the built variant (no naive counterpart: absolute times);
3. GET / through each generated stack (nginx + gunicorn on its unix socket, nginx +
   uWSGI, Apache + mod_wsgi) vs the tutorial's nginx `proxy_pass http://127.0.0.1:8000` +
   `gunicorn -w 4`, same app, same machine, with wrk; gunicorn alone on 127.0.0.1:8000 as
   the ceiling any gunicorn stack can reach;
4. a 100 KB static file: nginx itself vs Flask's static route behind the naive proxy;
   GET /notes reading one row from PostgreSQL (a throwaway server in the sandbox,
   bench/postgres.py): the generated app with database=postgresql behind nginx +
   gunicorn (SQLAlchemy's pool) vs the tutorial's page behind its proxy, the same query
   and template over a new psycopg connection per request (bench/tutorial_notes.py);
5. failed requests while the project is redeployed under load (`make deploy` on a booted
   server) vs the tutorial's plain `systemctl restart` under the same load;
6. deploy time with unchanged dependencies, and rollback time (bench/deploys.py);
7. the container image: a rebuild after a code change with warm caches, and its size,
   vs the tutorial's one-stage Dockerfile (bench/images.py; podman, as the tests run it).

The servers run in a sandbox (tests/sandbox.py): private network namespace, loopback only.
The deploy measurements use a booted Debian server in namespaces of its own
(tests/debian_server.py). Every load run is bounded in time. `--quick` runs each once,
briefly (the smoke test); `--only serving` (or bootstrap, generation, deploys, images;
repeatable) runs only those parts and leaves bench/RESULTS.md alone.
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

from conftest import VENV_BIN, locked_requirements, render, require_tool  # noqa: E402
from deploys import bench_deploys  # noqa: E402
from fleets import bench_fleets  # noqa: E402
from images import bench_images  # noqa: E402
from postgres import SOCKET_DIR, create_database, psql, start_postgresql  # noqa: E402
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
from tutorial import NAIVE_DOMAIN, NAIVE_SITE  # noqa: E402

DOMAIN = "bench.example.com"


def tool_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    subprocess.run(command, cwd=cwd, env={**tool_env(), **(env or {})}, check=True,
                   capture_output=True)
    return time.monotonic() - started


def interleave(sides: dict[str, Callable[[], float]], runs: int) -> dict[str, list[float]]:
    """Each side once per round, in turn, so drift on the machine hits all of them alike."""
    results: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(runs):
        for name, measure in sides.items():
            results[name].append(measure())
    return results


def summary(values: list[float], unit: str, digits: int = 2) -> str:
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.{digits}f} {unit}"
    return f"{median:.{digits}f} {unit} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def bench_bootstrap(workdir: Path, runs: int) -> dict[str, list[float]]:
    """scripts/bootstrap.sh on each of its paths vs the tutorial's virtualenv + pip
    installing the same locked packages."""
    base = render(workdir / "bootstrap-base", {})
    tool = workdir / "tutorial-tool"
    subprocess.run([sys.executable, "-m", "venv", str(tool)], check=True)
    subprocess.run([tool / "bin/pip", "install", "-q", "virtualenv"], check=True)
    packages = " ".join(f"{name}=={version}"
                        for name, version in locked_requirements(base).items())
    counter = iter(range(1000))

    def ours(**env: str) -> Callable[[], float]:
        def bootstrap() -> float:
            project = workdir / f"bootstrap-{next(counter)}"
            shutil.copytree(base, project)
            return timed(["sh", "scripts/bootstrap.sh"], project, env)
        return bootstrap

    def tutorial() -> float:
        folder = workdir / f"tutorial-{next(counter)}"
        folder.mkdir()
        script = (f"{tool}/bin/pip install -q virtualenv && {tool}/bin/virtualenv -q env && "
                  f"env/bin/pip install -q {packages}")
        return timed(["sh", "-c", script], folder)

    return interleave({"uv": ours(), "no uv": ours(BOOTSTRAP_NO_UV="1"),
                       "pip only": ours(BOOTSTRAP_PIP_ONLY="1"), "tutorial": tutorial}, runs)


def bench_generation(workdir: Path, runs: int) -> dict[str, list[float]]:
    """copier copy --defaults and cookiecutter --no-input of the same project, interleaved,
    and copier update of a committed project that has nothing to update."""
    copier = str(VENV_BIN / "copier")
    cookiecutter = str(VENV_BIN / "cookiecutter")
    counter = iter(range(1000))
    # The committed template, by its commit: `--vcs-ref HEAD` would take uncommitted
    # changes too, as a commit of copier's own that a later update cannot find.
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    updated = workdir / "update-me"
    subprocess.run([copier, "copy", "-q", "--defaults", "--vcs-ref", commit, str(ROOT),
                    str(updated)], check=True, capture_output=True, env=tool_env())
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "generated"]):
        subprocess.run([*git, *command], cwd=updated, check=True, capture_output=True)

    def with_copier() -> float:
        return timed([copier, "copy", "-q", "--defaults", "--vcs-ref", "HEAD", str(ROOT),
                      str(workdir / f"generated-{next(counter)}")], workdir)

    def with_cookiecutter() -> float:
        output = workdir / f"baked-{next(counter)}"
        return timed([cookiecutter, "--no-input", "--output-dir", str(output),
                      str(ROOT / "cookiecutter")], workdir)

    def update() -> float:
        return timed([copier, "update", "-q", "--defaults", "--vcs-ref", commit], updated)

    # The same two commands with copier compiling each Jinja source once (what an
    # upstream cache would give), and copier's start-up alone: what is copier's.
    cached = [str(VENV_BIN / "python"), str(Path(__file__).with_name("copier_cached.py"))]

    def with_copier_cached() -> float:
        return timed([*cached, "copy", "-q", "--defaults", "--vcs-ref", "HEAD", str(ROOT),
                      str(workdir / f"generated-{next(counter)}")], workdir)

    def update_cached() -> float:
        return timed([*cached, "update", "-q", "--defaults", "--vcs-ref", commit], updated)

    def copier_start() -> float:
        return timed([copier, "--version"], workdir)

    return interleave({"copier": with_copier, "copier cached": with_copier_cached,
                       "cookiecutter": with_cookiecutter, "update": update,
                       "update cached": update_cached, "copier start": copier_start}, runs)


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


# The generated stack per app server, each vs the same tutorial recipe (gunicorn's row first:
# it is the default).
STACKS = {
    "gunicorn": ("nginx + gunicorn (the default)", {"web_server": "nginx",
                                                   "app_server": "gunicorn"}),
    "uwsgi": ("nginx + uWSGI", {"web_server": "nginx", "app_server": "uwsgi"}),
    "mod_wsgi": ("Apache + mod_wsgi", {"web_server": "apache", "app_server": "mod_wsgi"}),
}


# The stack whose app reads from PostgreSQL: the default one, with database=postgresql.
DATABASE_STACK = {"web_server": "nginx", "app_server": "gunicorn", "database": "postgresql"}
# The one row /notes reads.
NOTE = "The one note the benchmark reads"
# A constant, not user input:
INSERT_NOTE = f"INSERT INTO notes (text, created_at) VALUES ('{NOTE}', now());\n"  # noqa: S608


def serve_stack(workdir: Path, name: str, answers: dict) -> Site:
    """One generated stack served in a sandbox of its own (each has its own loopback, so
    every web server listens on port 80)."""
    project = render(workdir / f"serving-{name}", {**answers, "tls": "none", "domain": DOMAIN})
    populate_uv_cache(project, workdir / f"uv-warmup-{name}")
    site = Site(sandbox=Sandbox(workdir / f"sandbox-{name}"), answers=load_answers(project),
                project=project)
    try:
        install_release(site)
        if site.answers["database"] == "postgresql":
            install_postgresql_database(site)
        install_site(site, site.site_file())
        if site.app != "mod_wsgi":
            start_app_server(site)
    except BaseException:
        site.sandbox.close()
        raise
    return site


def install_postgresql_database(site: Site) -> None:
    """database=postgresql: a PostgreSQL in the site's sandbox, a database owned by the
    service user, DATABASE_URL in the environment file, the migrations run as a deploy
    runs them, and one note in the table; plus the tutorial's /notes (tutorial_notes.py)
    in the release, reading the same database over a connection of its own per request."""
    sb, a = site.sandbox, site.answers
    user, database = a["service_user"], a["package_name"]
    tutorial = (Path(__file__).with_name("tutorial_notes.py")).read_text()
    if f"dbname={database} host={SOCKET_DIR}" not in tutorial:
        raise RuntimeError(f"bench/tutorial_notes.py must name the package and database "
                           f"{database} and the socket directory {SOCKET_DIR}")
    start_postgresql(sb)
    url = create_database(sb, user, database)
    sb.sh(f"echo 'DATABASE_URL={url}' >> {a['install_path']}/shared/app.env")
    sb.sh(f"cd {site.current} && set -a && . {a['install_path']}/shared/app.env && set +a && "
          f"setpriv --reuid={user} --regid={user} --init-groups "
          f".venv/bin/flask --app {a['package_name']}.wsgi db upgrade", timeout=120)
    psql(sb, user, database, INSERT_NOTE)
    sb.write(f"{site.current}/tutorial_notes.py", tutorial)


def start_naive_gunicorn(site: Site, wsgi_app: str) -> None:
    """The tutorial's app server in the site's sandbox: gunicorn -w 4 on TCP behind
    nginx's proxy_pass (tutorial.NAIVE_SITE), from the same release."""
    sandbox, current = site.sandbox, site.current
    sandbox.write("/etc/nginx/sites-enabled/naive.conf", NAIVE_SITE)
    user = site.answers["service_user"]
    naive = sandbox.start("naive-gunicorn", ["sh", "-c", (
        f"cd {current} && set -a && . {site.answers['install_path']}/shared/app.env && "
        f"set +a && exec setpriv --reuid={user} --regid={user} --init-groups "
        f".venv/bin/gunicorn -w 4 -b 127.0.0.1:8000 --no-control-socket {wsgi_app}")])
    sandbox.wait_until("naive gunicorn", lambda: sandbox.curl(
        "http://127.0.0.1:8000/healthz").status == 200, watch=(("naive-gunicorn", naive),))


def add_tutorial_recipe(site: Site) -> None:
    """The tutorial's side in the default stack's sandbox: the same release and app
    behind the tutorial's proxy; and a 100 KB file in the app's static folder for both
    sides."""
    static = f"{site.current}/src/{site.answers['package_name']}/static/bench.bin"
    site.sandbox.sh(f"head -c 102400 /dev/urandom > {static} && chmod 644 {static}")
    start_naive_gunicorn(site, f"{site.answers['package_name']}.wsgi:app")


def check_notes_page(site: Site, host: str) -> None:
    """Both /notes pages list the one note before they are measured: a page that failed
    to read it must not be timed."""
    response = site.sandbox.curl("http://127.0.0.1/notes", "--header", f"Host: {host}")
    if response.status != 200 or NOTE.encode() not in response.body:
        raise RuntimeError(f"/notes through {host} does not list the note: {response}")


def bench_serving(workdir: Path, runs: int, seconds: float) -> dict[str, list]:
    require_tool("wrk", "wrk")
    sites: dict[str, Site] = {}
    try:
        for name, (_, answers) in STACKS.items():
            sites[name] = serve_stack(workdir, name, answers)
        add_tutorial_recipe(sites["gunicorn"])
        database = sites["postgresql"] = serve_stack(workdir, "postgresql", DATABASE_STACK)
        start_naive_gunicorn(database, "tutorial_notes:app")
        for site in sites.values():
            start_web_server(site)
        for host in (DOMAIN, NAIVE_DOMAIN):
            check_notes_page(database, host)
        default = sites["gunicorn"]
        targets = {f"ours / {name}": (sites[name], "http://127.0.0.1/", DOMAIN)
                   for name in STACKS}
        targets |= {
            "naive /": (default, "http://127.0.0.1/", NAIVE_DOMAIN),
            "gunicorn alone /": (default, "http://127.0.0.1:8000/", DOMAIN),
            "ours static": (default, "http://127.0.0.1/static/bench.bin", DOMAIN),
            "naive static": (default, "http://127.0.0.1/static/bench.bin", NAIVE_DOMAIN),
            "ours notes": (database, "http://127.0.0.1/notes", DOMAIN),
            "naive notes": (database, "http://127.0.0.1/notes", NAIVE_DOMAIN),
        }
        # One unmeasured second each first: workers that are still importing the app or
        # cold caches would otherwise land in whichever side is measured first.
        for site, url, host in targets.values():
            wrk(site.sandbox, url, host, 1)
        results: dict[str, list] = {key: [] for key in targets}
        for _ in range(runs):
            for key, (site, url, host) in targets.items():
                results[key].append(wrk(site.sandbox, url, host, seconds))
        return results
    finally:
        for site in sites.values():
            site.sandbox.close()


def failures(loads: list[dict]) -> tuple[str, float]:
    """"failed of total (percent)" over all runs, and the failure rate."""
    failed = sum(load["failed"] for load in loads)
    total = sum(load["total"] for load in loads)
    rate = failed / total if total else 1.0
    return f"{failed} of {total} ({100 * rate:.2f}%)", rate


def deploy_rows(deploys: dict[str, list]) -> list[tuple]:
    ours, our_rate = failures(deploys["ours"])
    naive, naive_rate = failures(deploys["naive"])
    # A ratio of failure rates; when ours lost none there is nothing to divide by.
    advantage = naive_rate / our_rate if our_rate else ("none lost" if naive_rate else "-")
    return [
        ("failed requests during a redeploy under load (all runs)", ours, naive, advantage),
        ("first deploy, one server (s)", summary(deploys["first deploy"], "s"), "-", None),
        ("release bundle, unchanged dependencies (s)", summary(deploys["bundle"], "s"), "-",
         None),
        ("redeploy, one idle server, bundle build included (s; target 4)",
         summary(deploys["idle deploy"], "s"), "-", None),
        ("redeploy under load, one server (s)", summary(deploys["deploy"], "s"), "-", None),
        ("rollback, one server (s; target 2)", summary(deploys["rollback"], "s"), "-", None),
    ]


def fleet_rows(fleets: dict[str, list]) -> list[tuple]:
    sizes = fleets["sizes"]
    most = sizes[-1]
    one = statistics.median(fleets["redeploy 1"])
    rows = [(f"redeploy of {size} idle server{'s' if size > 1 else ''}, unchanged "
             f"dependencies (s{'; target 2x one' if size == most else ''})",
             summary(fleets[f"redeploy {size}"], "s"), "-",
             f"{statistics.median(fleets[f'redeploy {size}']) / one:.2f}x one server"
             if size > 1 else None)
            for size in sizes]
    rows.append((f"provision of {most} fresh servers, of one (s; target 2x one)",
                 summary(fleets["provision most"], "s"), summary(fleets["provision 1"], "s"),
                 f"{fleets['provision most'][0] / fleets['provision 1'][0]:.2f}x one"))
    drained = fleets["behind haproxy, drained"][0]
    plain = fleets["behind haproxy, not drained"][0]
    label = f"{most}-server rollout under load behind HAProxy, drained (A) or not (B)"
    rows.append((f"{label}: failed requests", f"{drained['failed']} of {drained['total']}",
                 f"{plain['failed']} of {plain['total']}", None))
    for key in ("p99", "max"):
        rows.append((f"{label}: {key} ms (steady p99 before it: A "
                     f"{drained['steady p99'] * 1000:.0f}, B {plain['steady p99'] * 1000:.0f})"
                     if key == "p99" else f"{label}: {key} ms",
                     f"{drained['latency_s'][key] * 1000:.0f} ms",
                     f"{plain['latency_s'][key] * 1000:.0f} ms",
                     plain["latency_s"][key] / drained["latency_s"][key]))
    rows.append((f"{label}: rollout time (s)", f"{drained['took']:.1f} s",
                 f"{plain['took']:.1f} s", None))
    return rows


def image_rows(images: dict[str, list[float]]) -> list[tuple]:
    ours_size, naive_size = images["ours size"][0], images["naive size"][0]
    return [
        ("container image rebuild after a code change, warm cache (s)",
         summary(images["ours"], "s"), summary(images["naive"], "s"),
         statistics.median(images["naive"]) / statistics.median(images["ours"])),
        ("container image size (MB)", f"{ours_size:.0f} MB", f"{naive_size:.0f} MB",
         naive_size / ours_size),
    ]


def machine() -> str:
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    return (f"{platform.node()}: {os.cpu_count()} CPUs, Linux {platform.release()}, "
            f"Python {platform.python_version()}, {nginx}")


def bootstrap_rows(bootstrap: dict[str, list[float]]) -> list[tuple]:
    naive_bootstrap = statistics.median(bootstrap["tutorial"])
    return [
        (f"bootstrap{label} (s, lower is better)", summary(bootstrap[path], "s"),
         summary(bootstrap["tutorial"], "s"), naive_bootstrap / statistics.median(bootstrap[path]))
        for path, label in [("uv", ""), ("no uv", " without uv: pip installs uv, uv syncs"),
                            ("pip only", " with pip alone (the fallback)")]
    ]


def generation_rows(generation: dict[str, list[float]]) -> list[tuple]:
    return [
        ("copier copy --defaults (s; target 1)", summary(generation["copier"], "s"), "-", None),
        ("copier copy, each Jinja source compiled once (an upstream cache) (s)",
         summary(generation["copier cached"], "s"), "-", None),
        ("copier update, nothing to update (s; target 2)", summary(generation["update"], "s"),
         "-", None),
        ("copier update, each Jinja source compiled once (an upstream cache) (s)",
         summary(generation["update cached"], "s"), "-", None),
        ("copier --version: its start-up alone (s)", summary(generation["copier start"], "s"),
         "-", None),
        ("cookiecutter --no-input, built variant (s)", summary(generation["cookiecutter"], "s"),
         "-", None),
    ]


def serving_rows(serving: dict[str, list]) -> list[tuple]:
    def column(key: str, index: int) -> list[float]:
        return [run[index] for run in serving[key]]

    pairs = [(f"GET / through {label}", f"ours / {name}", "naive /")
             for name, (label, _) in STACKS.items()]
    pairs.append(("100 KB static file", "ours static", "naive static"))
    pairs.append(("GET /notes, one row from PostgreSQL (the pool vs a connection per request)",
                  "ours notes", "naive notes"))
    rows = []
    for label, ours, naive in pairs:
        rows.append((f"{label}: req/s (higher is better)", summary(column(ours, 0), "", 0),
                     summary(column(naive, 0), "", 0),
                     statistics.median(column(ours, 0)) / statistics.median(column(naive, 0))))
        rows.append((f"{label}: p99 ms (lower is better)", summary(column(ours, 2), "ms"),
                     summary(column(naive, 2), "ms"),
                     statistics.median(column(naive, 2)) / statistics.median(column(ours, 2))))
    # No stack with gunicorn's sync workers can pass gunicorn itself answering wrk
    # directly: the ceiling for the default app server, whatever sits in front of it.
    rows.append(("GET /: gunicorn -w 4 alone, no proxy (the ceiling for gunicorn), req/s",
                 summary(column("gunicorn alone /", 0), "", 0), "-",
                 statistics.median(column("gunicorn alone /", 0))
                 / statistics.median(column("naive /", 0))))
    return rows


# Each part of the run: what it measures, then the table rows it gives, in table order.
PARTS = {
    "bootstrap": (lambda workdir, runs, seconds: bench_bootstrap(workdir, runs), bootstrap_rows),
    "generation": (lambda workdir, runs, seconds: bench_generation(workdir, runs),
                   generation_rows),
    "serving": (bench_serving, serving_rows),
    "deploys": (lambda workdir, runs, seconds: bench_deploys(workdir, runs), deploy_rows),
    "images": (lambda workdir, runs, seconds: bench_images(workdir, runs), image_rows),
    # One run is --quick: a fleet of three instead of eleven.
    "fleets": (lambda workdir, runs, seconds: bench_fleets(workdir, runs, quick=runs == 1),
               fleet_rows),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short run of each (smoke test)")
    parser.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    parser.add_argument("--only", action="append", choices=PARTS, metavar="PART",
                        help=f"run only this part ({', '.join(PARTS)}; repeatable); the "
                        "table is then partial, so bench/RESULTS.md is left alone")
    args = parser.parse_args()
    runs, seconds = (1, 1) if args.quick else (3, 5)
    parts = [part for part in PARTS if part in (args.only or PARTS)]
    # --quick leaves out the fleets (six minutes of booted servers) unless named with
    # --only: tests/test_fleet.py runs the same steps on four servers.
    if args.quick and not args.only:
        parts.remove("fleets")

    rows: list[tuple] = []
    with tempfile.TemporaryDirectory(prefix="cfd-bench-") as tmp:
        workdir = Path(tmp)
        for part in parts:
            measure, table = PARTS[part]
            started = time.monotonic()
            rows += table(measure(workdir, runs, seconds))
            print(f"bench: {part} took {time.monotonic() - started:.0f} s", file=sys.stderr)

    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{' (--quick)' if args.quick else ''}; "
        f"{runs} interleaved run(s), {seconds} s of load each; median (min-max).",
        f"Machine: {machine()}",
        "",
        "| measurement | generated (A) | naive recipe (B) | advantage |",
        "|---|---|---|---|",
    ]
    for name, ours, naive, ratio in rows:
        if isinstance(ratio, float):
            ratio = f"{ratio:.2f}x"
        lines.append(f"| {name} | {ours} | {naive} | {ratio or '-'} |")
    report = "\n".join(lines)
    print(report)
    if not (args.no_write or args.only):
        (ROOT / "bench" / "RESULTS.md").write_text(
            "# Benchmark results\n\nWritten by `bench/run`; \"advantage\" is how many times "
            "better the generated stack does (time or latency ratio B/A, throughput A/B).\n\n"
            + report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
