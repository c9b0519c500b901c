#!/usr/bin/env python3
"""`make doctor`: find the classic deployment failures and say how to fix each.

On a server (`make doctor` runs this there as root through Ansible) it checks the whole
chain a request takes: the web server's configuration and port, the socket between it
and the app server (same path on both sides, reachable by the web server's group), the
systemd units, the live release and its venv against uv.lock, the app's import as the
service user with the service's environment, /healthz on the socket and through the web
server{% if cookiecutter.tls != 'none' %}, and the TLS certificate{% endif %}.
Locally (`make doctor-local`) it checks what can be checked without a server: the venv,
the import, the WSGI entry point and that the configuration files agree.

One line per check; each problem comes with its cause and the command that fixes it.
Exit status 1 when anything is wrong. `--json` prints the same as a JSON list.
"""

import argparse
import http.client
import json
import os
import re
import socket
import ssl
import stat
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

ROOT = Path("{{ cookiecutter.install_path }}")
CURRENT = ROOT / "current"
ENV_FILE = ROOT / "shared" / "app.env"
SLUG = "{{ cookiecutter.project_slug }}"
SERVICE_USER = "{{ cookiecutter.service_user }}"
WEB_GROUP = "www-data"
APP_SERVER = "{{ cookiecutter.app_server }}"
WEB_SERVER = "{{ cookiecutter.web_server }}"
WEB_SERVICE = "{{ cookiecutter.__web_server_service }}"
WEB_CONFIG_TEST = "{{ cookiecutter.__web_server_config_test }}"
SOCKET = "{{ cookiecutter.__app_socket_path }}"
DOMAIN = "{{ cookiecutter.domain }}"
TLS = "{{ cookiecutter.tls }}"
CERT = Path("{{ cookiecutter.__tls_cert_file }}")
PACKAGE = "{{ cookiecutter.package_name }}"
ENTRY_POINT = f"{PACKAGE}.wsgi:app"
SITE_FILES = {
    "nginx": f"/etc/nginx/sites-enabled/{SLUG}.conf",
    "apache": f"/etc/apache2/sites-enabled/{SLUG}.conf",
    "lighttpd": f"/etc/lighttpd/conf-enabled/50-{SLUG}.conf",
}
CERT_WARN_DAYS = 14


@dataclass
class Result:
    check: str
    ok: bool
    detail: str = ""
    fix: str = ""


def ok(check: str, detail: str = "") -> Result:
    return Result(check, True, detail)


def problem(check: str, detail: str, fix: str) -> Result:
    return Result(check, False, detail, fix)


def sh(
    command: str, timeout: float = 60, env: dict | None = None
) -> subprocess.CompletedProcess[str]:
    # Only this file's own fixed commands, with paths from the copier answers.
    return subprocess.run(  # noqa: S602
        command, shell=True, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --- the project's own files -------------------------------------------------------------


def socket_in_site(site_file: Path) -> str | None:
    text = site_file.read_text()
    match = re.search(r"unix:(/[^\s;|\"]+)|\"socket\" => \"(/[^\"]+)\"", text)
    return (match.group(1) or match.group(2)) if match else None


def listen_stream(socket_unit: Path) -> str | None:
    match = re.search(r"^ListenStream=(\S+)", socket_unit.read_text(), re.MULTILINE)
    return match.group(1) if match else None


def live_socket(_: Path) -> str | None:
    """Where systemd listens now: a changed unit counts only once the socket is remade."""
    listen = sh(f"systemctl show -P Listen {SLUG}.socket").stdout.split()
    return listen[0] if listen else None


def uwsgi_socket(uwsgi_ini: Path) -> str | None:
    match = re.search(r"^socket = (\S+)", uwsgi_ini.read_text(), re.MULTILINE)
    return match.group(1) if match else None


# Each file that names the socket, as the project has it (the file to edit), how it
# reaches the servers, and how to read it.
SOCKET_FILES = {
    "site": (f"deploy/{WEB_SERVER}/{SLUG}.conf", "make provision", socket_in_site),
    # provision remakes the socket when its unit changed
    "unit": (f"deploy/systemd/{SLUG}.socket", "make provision", listen_stream),
    # uwsgi.ini ships in each release
    "uwsgi": ("deploy/uwsgi.ini", "make deploy", uwsgi_socket),
}


def socket_files(project: Path, on_server: bool) -> dict[str, Path]:
    """The files that name the socket: the installed site and unit on a server, the
    project's own locally; uwsgi.ini is read from the release or the checkout."""
    files = {role: project / relative for role, (relative, _, _) in SOCKET_FILES.items()}
    if on_server:
        files["site"] = Path(SITE_FILES[WEB_SERVER])
        files["unit"] = Path(f"/etc/systemd/system/{SLUG}.socket")
    if APP_SERVER != "uwsgi":
        del files["uwsgi"]
    return files


def check_socket_paths(files: dict[str, Path], on_server: bool) -> Result:
    """Every file that names the socket between the web server and the app server names
    the same one. systemd's .socket unit decides where the app server listens: it hands
    the socket over, which replaces gunicorn's `bind` (so that is not checked), while
    uWSGI binds its own `socket =` as well and fails when that differs. On a server the
    socket systemd listens on now is what counts, not the unit file."""
    name = "socket path"
    if APP_SERVER == "mod_wsgi":
        return ok(name, "mod_wsgi runs inside Apache: no socket of ours")
    missing = [role for role, path in files.items() if not path.is_file()]
    if missing:
        relative = " ".join(SOCKET_FILES[role][0] for role in missing)
        restore = "make provision" if on_server else f"restore {relative} (git checkout)"
        return problem(name, f"{', '.join(str(files[r]) for r in missing)} missing", restore)
    paths = {role: SOCKET_FILES[role][2](path) for role, path in files.items()}
    shown = {role: str(files[role]) for role in files}
    if on_server:
        paths["unit"], shown["unit"] = live_socket(files["unit"]), f"{SLUG}.socket"
    if len(set(paths.values())) == 1:
        names = ", ".join(Path(path).name for path in shown.values())
        return ok(name, f"{names} use {paths['unit']}")
    wrong = [role for role, path in paths.items() if path != SOCKET] or list(paths)
    edit = " and ".join(SOCKET_FILES[role][0] for role in wrong)
    apply = " and ".join(dict.fromkeys(SOCKET_FILES[role][1] for role in wrong))
    return problem(
        name,
        ", ".join(f"{shown[role]} uses {paths[role] or 'no socket'}" for role in paths)
        + f": {WEB_SERVER} cannot reach the app and answers 502",
        f"set {SOCKET} back in {edit}, " + ("commit, " if on_server else "then ") + apply,
    )


def locked_runtime_packages(release: Path) -> dict[str, str]:
    """Name -> version of everything the project needs at run time, per uv.lock."""
    return {name: version for name, (version, _) in runtime_lock(release).items()}


@cache
def runtime_lock(release: Path) -> dict[str, tuple[str, bool]]:
    """Name -> (version, conditional) per uv.lock. Conditional: a dependency of a
    dependency needed only where an environment marker holds (psycopg wants tzdata on
    Windows only), so a venv may rightly lack it. The project's own dependencies are
    always wanted: their markers only leave the Linux-only ones out on Windows."""
    lock = tomllib.loads((release / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    project = next(p for p in lock["package"] if p.get("source", {}).get("editable") == ".")
    wanted: dict[str, tuple[str, bool]] = {}
    pending = [(d["name"], False) for d in project.get("dependencies", [])]
    while pending:
        name, conditional = pending.pop()
        if name not in packages or (name in wanted and (conditional or not wanted[name][1])):
            continue
        wanted[name] = (packages[name]["version"], conditional)
        pending += [
            (d["name"], conditional or "marker" in d)
            for d in packages[name].get("dependencies", [])
        ]
    return wanted


@cache
def venv_differences(release: Path) -> str | None:
    """How the release's venv differs from uv.lock's runtime packages; None: it does not.
    The venv check and the import check both read this, so they agree on the fix."""
    python = release / ".venv/bin/python"
    if not python.exists():
        return f"{python} does not exist"
    script = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try: out[name] = m.version(name)\n"
        "    except m.PackageNotFoundError: out[name] = None\n"
        "print(json.dumps(out))\n"
    )
    wanted = locked_runtime_packages(release)
    result = subprocess.run(  # noqa: S603 - the venv's own python, fixed script
        [str(python), "-c", script, *wanted], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return f"the venv's Python does not run: {last_line(result.stderr)}"
    installed = json.loads(result.stdout)
    # A conditional package may be absent, but when present it must be the locked one.
    conditional = {n for n, (_, c) in runtime_lock(release).items() if c}
    wrong = {
        n: (v, installed.get(n))
        for n, v in wanted.items()
        if installed.get(n) != v and not (n in conditional and installed.get(n) is None)
    }
    listed = ", ".join(f"{n} {got or 'missing'} (locked {v})" for n, (v, got) in wrong.items())
    return listed or None


def check_venv(release: Path) -> Result:
    name = "venv matches uv.lock"
    differences = venv_differences(release)
    if differences:
        return problem(name, differences, fix_for_venv(release))
    return ok(name, f"{len(locked_runtime_packages(release))} packages as locked")


def fix_for_venv(release: Path) -> str:
    if release == CURRENT:
        return "make deploy (builds a fresh venv from uv.lock)"
    return "make bootstrap (installs uv.lock into .venv)"


def check_import(release: Path, as_service_user: bool) -> Result:
    name = "app imports"
    module, _, attribute = ENTRY_POINT.partition(":")
    code = f"import {module} as m; getattr(m, {attribute!r})"
    command = f"cd {release} && .venv/bin/python -c {code!r}"
    env = dict(os.environ)
    if not as_service_user and "FLASK_SECRET_KEY" not in env:
        env["FLASK_DEBUG"] = "1"  # a checkout has no secret key: debug mode makes one up
    if as_service_user:
        # systemd reads the environment file, as for the service: never a shell as root.
        command = (
            f"systemd-run --quiet --wait --pipe --collect --service-type=exec "
            f"-p User={SERVICE_USER} -p Group={SERVICE_USER} -p WorkingDirectory={release} "
            f"-p EnvironmentFile={ENV_FILE} -- {release}/.venv/bin/python -c {code!r}"
        )
    result = sh(command, env=env)
    if result.returncode == 0:
        return ok(name, f"{ENTRY_POINT} loads")
    error = last_line(result.stderr)
    missing = re.search(r"ModuleNotFoundError: No module named '([^'.]+)", error)
    if missing and missing.group(1) != module.split(".")[0]:
        if venv_differences(release):
            # Locked but not installed: the venv is behind the lock, not the lock wrong.
            fix = f"{fix_for_venv(release)}; see check 'venv matches uv.lock'"
        else:
            then = "commit, make deploy" if release == CURRENT else "make bootstrap"
            fix = f"add {missing.group(1)} to dependencies in pyproject.toml, make lock, {then}"
    elif error.startswith(f"{module.split('.')[0]}: "):  # the app refused a setting
        settings = ENV_FILE if release == CURRENT else ".env"
        fix = f"change the setting it names in {settings}" + (
            f", then systemctl restart {SLUG}" if release == CURRENT else ""
        )
    elif "ModuleNotFoundError" in error or "AttributeError" in error:
        fix = f"point the WSGI entry point at {ENTRY_POINT} (see check 'WSGI entry point')"
    else:
        then = "make deploy" if release == CURRENT else "make doctor-local"
        fix = f"fix the error above in the app (make test shows it), then {then}"
    return problem(name, error, fix)


def check_entry_point(release: Path) -> Result:
    name = "WSGI entry point"
    configs = {
        "gunicorn": (release / "deploy/gunicorn.conf.py", r"^wsgi_app = \"([^\"]+)\""),
        "uwsgi": (release / "deploy/uwsgi.ini", r"^module = (\S+)"),
        "mod_wsgi": (release / "deploy/mod_wsgi_entry.py", r"^from (\S+) import app as"),
    }
    path, pattern = configs[APP_SERVER]
    match = re.search(pattern, path.read_text(), re.MULTILINE) if path.is_file() else None
    configured = match.group(1) if match else None
    if APP_SERVER == "mod_wsgi" and configured:
        configured += ":app"
    if configured == ENTRY_POINT:
        return ok(name, f"{path.name} loads {configured}")
    return problem(
        name,
        f"{path} loads {configured or 'nothing'}, but the app is {ENTRY_POINT}",
        f"set it back to {ENTRY_POINT} in {path.relative_to(release)}, commit, make deploy",
    )


# --- the server ---------------------------------------------------------------------------


def check_current() -> Result:
    name = "live release"
    if not CURRENT.is_symlink():
        return problem(name, f"{CURRENT} is not a link to a release", "make deploy")
    target = CURRENT.resolve()
    if not (target / ".venv/bin/python").exists():
        return problem(
            name,
            f"{CURRENT} points at {target}, which is not a complete release",
            "make rollback (or make deploy)",
        )
    return ok(name, target.name)


def check_env_file() -> Result:
    name = "environment file"
    if not ENV_FILE.is_file():
        return problem(name, f"{ENV_FILE} is missing", "make provision (creates it with a new key)")
    info = ENV_FILE.stat()
    group = sh(f"stat -c %G {ENV_FILE}").stdout.strip()
    if info.st_mode & stat.S_IRWXO or group != SERVICE_USER:
        return problem(
            name,
            f"{ENV_FILE} is mode {stat.S_IMODE(info.st_mode):o}, group {group}: secrets "
            f"readable by other users"
            if info.st_mode & stat.S_IRWXO
            else f"{ENV_FILE} belongs to group {group}: {SERVICE_USER} cannot read it",
            f"chown root:{SERVICE_USER} {ENV_FILE} && chmod 640 {ENV_FILE}",
        )
    return ok(name, f"root:{group} {stat.S_IMODE(info.st_mode):o}")


def check_release_readable() -> Result:
    name = "release readable by the app"
    result = sh(
        f"setpriv --reuid={SERVICE_USER} --regid={SERVICE_USER} --init-groups "
        f"find -L {CURRENT}/ ! -readable -print -quit"
    )
    unreadable = result.stdout.strip()
    if result.returncode == 0 and not unreadable:
        return ok(name, f"{SERVICE_USER} can read {CURRENT}")
    return problem(
        name,
        f"{SERVICE_USER} cannot read {unreadable or CURRENT}",
        f"chmod -R go-w,a+rX {ROOT}/releases",
    )


def crash_loop(unit: str) -> str:
    """What systemd knows of a service that keeps failing, in words (or nothing)."""
    if not unit.endswith(".service"):
        return ""
    shown = sh(f"systemctl show -p ActiveState,SubState,NRestarts {unit}").stdout.splitlines()
    state = dict(line.split("=", 1) for line in shown if "=" in line)
    restarts = int(state.get("NRestarts") or 0)
    if state.get("SubState") == "auto-restart":
        return f" (crashing: restarted {restarts} times so far)"
    if state.get("ActiveState") == "failed" and restarts:
        return f" (crash loop: restarted {restarts} times, then systemd gave up)"
    return ""


def last_app_error() -> str:
    """The app's own one-line refusal (wsgi.py prints "<package>: <why>") in its latest
    start attempt, if any."""
    if APP_SERVER == "mod_wsgi":
        return ""
    invocation = sh(f"systemctl show -P InvocationID {SLUG}.service").stdout.strip()
    if not invocation:
        return ""
    lines = sh(f"journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID={invocation}").stdout
    refusals = [line for line in lines.splitlines() if line.startswith(f"{PACKAGE}: ")]
    return refusals[-1] if refusals else ""


def check_units() -> Result:
    name = "systemd units"
    units = [f"{WEB_SERVICE}.service"]
    if APP_SERVER != "mod_wsgi":
        units = [f"{SLUG}.socket", f"{SLUG}.service", *units]
    states = {u: sh(f"systemctl is-active {u}").stdout.strip() for u in units}
    enabled = {u: sh(f"systemctl is-enabled {u}").stdout.strip() for u in units}
    bad = [u for u in units if states[u] != "active" or enabled[u] != "enabled"]
    if not bad:
        return ok(name, ", ".join(f"{u} active" for u in units))
    detail = ", ".join(f"{u} is {states[u]}/{enabled[u]}{crash_loop(u)}" for u in bad)
    recent = sh(f"journalctl --no-pager -n 3 -o cat -u {bad[0]}").stdout
    own = last_app_error() if f"{SLUG}.service" in bad else ""
    log = own or recent.strip().replace("\n", " | ")
    return problem(
        name,
        f"{detail}{'; last log: ' + log if log else ''}",
        f"systemctl reset-failed {' '.join(bad)}; systemctl enable --now {' '.join(bad)}",
    )


def check_socket_owner() -> Result:
    name = "socket permissions"
    if APP_SERVER == "mod_wsgi":
        return ok(name, "mod_wsgi runs inside Apache: no socket of ours")
    path = Path(SOCKET)
    if not path.is_socket():
        return problem(
            name, f"{SOCKET} does not exist", f"systemctl restart {SLUG}.socket {SLUG}.service"
        )
    owner = sh(f"stat -c '%U:%G %a' {SOCKET}").stdout.strip()
    readable = (
        sh(
            f"setpriv --reuid={WEB_GROUP} --regid={WEB_GROUP} --init-groups test -w {SOCKET}"
        ).returncode
        == 0
    )
    if readable and owner.split()[0].endswith(f":{WEB_GROUP}"):
        return ok(name, f"{SOCKET} {owner}")
    return problem(
        name,
        f"{SOCKET} is {owner}: {WEB_SERVER} (group {WEB_GROUP}) cannot connect, so it answers "
        f"502; systemd recreates the socket as root:{WEB_GROUP} 660",
        f"systemctl stop {SLUG}.service {SLUG}.socket && "
        f"systemctl start {SLUG}.socket {SLUG}.service",
    )


def check_web_config() -> Result:
    name = f"{WEB_SERVER} configuration test"
    result = sh(WEB_CONFIG_TEST)
    if result.returncode == 0:
        return ok(name, WEB_CONFIG_TEST)
    reload = f"{WEB_CONFIG_TEST} && systemctl reload {WEB_SERVICE}"
    return problem(
        name, last_line(result.stderr or result.stdout), f"fix the file it names, then {reload}"
    )


def check_ports() -> Result:
    name = "web ports"
    ports = ["80"] if TLS == "none" else ["80", "443"]
    listeners = sh("ss -Hltnp").stdout
    wrong = []
    for port in ports:
        holders = set(re.findall(rf":{port}\s.*?users:\(\(\"([^\"]+)\",pid=(\d+)", listeners))
        if not holders:
            wrong.append(f"nothing listens on port {port}")
        for process, pid in holders:
            if not process.startswith(WEB_SERVICE[:6]):
                wrong.append(f"port {port} is held by {process} (pid {pid})")
    if not wrong:
        return ok(name, f"{WEB_SERVER} listens on {', '.join(ports)}")
    squatters = re.findall(r"pid (\d+)", " ".join(wrong))
    fix = f"systemctl restart {WEB_SERVICE}"
    if squatters:  # stop whatever took the port (and whatever starts it) first
        fix = f"kill {' '.join(sorted(set(squatters)))} && {fix}"
    return problem(name, "; ".join(wrong), fix)


class UnixHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(SOCKET)


def get_healthz(connection: http.client.HTTPConnection) -> tuple[int, str]:
    connection.request("GET", "/healthz", headers={"Host": DOMAIN})
    response = connection.getresponse()
    return response.status, response.read().decode(errors="replace")


def check_health_on_socket() -> Result:
    name = "/healthz on the socket"
    if APP_SERVER != "gunicorn":
        return ok(name, f"{APP_SERVER} does not speak HTTP on its socket: see the next check")
    try:
        status, body = get_healthz(UnixHTTPConnection("localhost", timeout=10))
    except OSError as error:
        return problem(name, f"{SOCKET}: {error}", f"systemctl restart {SLUG}.service")
    if status == 200:
        return ok(name, body.strip())
    return problem(name, f"{status} {body.strip()}", "see the app's log: make logs")


def check_health_through_web_server() -> Result:
    name = f"/healthz through {WEB_SERVER}"
    if TLS == "none":
        connection = http.client.HTTPConnection("127.0.0.1", 80, timeout=10)
    else:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        connection = http.client.HTTPSConnection("127.0.0.1", 443, timeout=10, context=context)
    try:
        status, body = get_healthz(connection)
    except OSError as error:
        return problem(name, f"no answer: {error}", f"systemctl restart {WEB_SERVICE}")
    if status == 200:
        return ok(name, body.strip())
    return problem(
        name,
        f"{status}: the checks above say why",
        f"fix the problems above; the log: make logs, /var/log/{WEB_SERVICE}/",
    )


def check_certificate() -> Result:
    name = "TLS certificate"
    if TLS == "none":
        return ok(name, "plain HTTP (tls=none)")
    renew = "make tls" if TLS == "letsencrypt" else f"install a new certificate at {CERT}"
    if not CERT.is_file():
        first = "make provision" if TLS == "letsencrypt" else renew
        return problem(name, f"{CERT} is missing", first)
    end = sh(f"openssl x509 -enddate -noout -in {CERT}").stdout.strip().partition("=")[2]
    expires = datetime.strptime(end, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
    left = expires - datetime.now(UTC)
    if left < timedelta(days=CERT_WARN_DAYS):
        return problem(name, f"{CERT} expires {expires:%Y-%m-%d} ({left.days} days)", renew)
    return ok(name, f"valid until {expires:%Y-%m-%d}")


def server_checks() -> list[Callable[[], Result]]:
    return [
        check_current,
        check_env_file,
        check_release_readable,
        lambda: check_venv(CURRENT),
        lambda: check_entry_point(CURRENT),
        lambda: check_import(CURRENT, as_service_user=True),
        lambda: check_socket_paths(socket_files(CURRENT, on_server=True), on_server=True),
        check_units,
        check_socket_owner,
        check_web_config,
        check_ports,
        check_health_on_socket,
        check_health_through_web_server,
        check_certificate,
    ]


def local_checks(project: Path) -> list[Callable[[], Result]]:
    return [
        lambda: check_venv(project),
        lambda: check_entry_point(project),
        lambda: check_import(project, as_service_user=False),
        lambda: check_socket_paths(socket_files(project, on_server=False), on_server=False),
    ]


def run_checks(checks: list[Callable[[], Result]]) -> list[Result]:
    results = []
    for check in checks:
        try:
            results.append(check())
        except Exception as error:  # noqa: BLE001 - a broken check is a finding too
            results.append(
                problem(
                    getattr(check, "__name__", "check"),
                    repr(error),
                    "report this: the doctor itself failed",
                )
            )
        if results[-1].check == "live release" and not results[-1].ok:
            break  # nothing else can be checked without a release
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local", action="store_true", help="check this checkout, not a server")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    project = Path(__file__).resolve().parent.parent
    results = run_checks(local_checks(project) if args.local else server_checks())
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        for result in results:
            print(f"{'ok' if result.ok else 'PROBLEM':8} {result.check}: {result.detail}")
            if not result.ok:
                print(f"{'':8} fix: {result.fix}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    if os.geteuid() != 0 and "--local" not in sys.argv:
        sys.exit("doctor: run it as root on the server (make doctor does), or with --local")
    sys.exit(main())
