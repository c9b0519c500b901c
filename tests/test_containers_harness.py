"""The container harness (tests/containers.py), proven on the real podman: the images it
makes, builds offline, containers reached only inside a test's network namespace,
podman-compose and `podman kube play` there, and nothing left on a podman bridge."""

import json
import subprocess

import conftest
import containers
import pytest
from containers import (
    PodmanError,
    addresses_everywhere,
    build,
    compose,
    ensure_base_image,
    ensure_uv_image,
    kube_down,
    kube_play,
    netns,
    podman,
    wait_until_healthy,
    wait_until_serving,
)
from rootfs import host_debian_mirror

pytestmark = pytest.mark.containers

# What the generated Containerfile starts FROM (Debian bookworm, the default Python).
BASE = "docker.io/library/debian:bookworm-20250929-slim"
UV = "ghcr.io/astral-sh/uv:0.13.9"
PYTHON_IMAGE = "localhost/cfd-ct-harness-python3:test"
SERVE = ["python3", "-m", "http.server", "--bind", "127.0.0.1", "8000"]
URL = "http://127.0.0.1:8000/"


@pytest.fixture(scope="module")
def base_image() -> str:
    return ensure_base_image(BASE)


@pytest.fixture(scope="module")
def python_image(base_image, tmp_path_factory) -> str:
    context = tmp_path_factory.mktemp("python3-image")
    (context / "Containerfile").write_text(
        f"FROM {base_image}\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends python3\n")
    build(context, PYTHON_IMAGE)
    return PYTHON_IMAGE


def no_podman_bridge_anywhere() -> None:
    # 10.88.0.0/16: podman's default network; 10.89.x.0/24: the ones it creates
    # (podman-compose's project networks, kube play's default one).
    addresses = addresses_everywhere()
    assert "10.88." not in addresses and "10.89." not in addresses


def test_missing_tools_fail_naming_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(conftest, "VENV_BIN", tmp_path)
    monkeypatch.setattr(containers, "VENV_BIN", tmp_path)
    for tool, package in [("podman", "podman"), ("runc", "runc"), ("ip", "iproute2"),
                          ("debootstrap", "debootstrap")]:
        with pytest.raises(pytest.fail.Exception, match=f"apt-get install {package}`"):
            containers.require(tool)
    with pytest.raises(pytest.fail.Exception, match="runc"):
        podman("version")
    with pytest.raises(pytest.fail.Exception, match="podman-compose not found.*PyPI"):
        compose(tmp_path, "version")


def test_podman_runs_with_our_containers_conf(base_image):
    info = podman("info", "--format", "{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}")
    assert info.stdout.split() == ["runc", "cgroupfs"]
    # Given no network, a container gets none, not podman's bridge.
    created = podman("create", base_image, "true").stdout.strip()
    try:
        mode = podman("inspect", "--format", "{{.HostConfig.NetworkMode}}", created).stdout
        assert mode.strip() == "none"
    finally:
        podman("rm", created)


def test_base_image_is_a_minbase_bookworm_like_the_official_slim_one(base_image):
    assert base_image == BASE
    config = json.loads(podman("image", "inspect", "--format", "{{json .Config}}",
                               base_image).stdout)
    assert config["Cmd"] == ["bash"]
    shell = ("cat /etc/debian_version; command -v python3 || echo no-python3; "
             "ls -A /var/lib/apt/lists; ls /etc/apt/sources.list 2>/dev/null; "
             "cat /etc/apt/sources.list.d/debian.sources; "
             "find /usr/share/man /usr/share/doc -type f ! -name copyright | wc -l")
    lines = podman("run", "--rm", base_image, "sh", "-c", shell).stdout.splitlines()
    assert lines[0].startswith("12.")
    # minbase: no Python; no apt lists (a Containerfile's `apt-get update` fetches
    # them from this machine's mirror); slim: no manual pages or docs.
    assert lines[1:3] == ["no-python3", "partial"]
    assert f"URIs: {host_debian_mirror()}" in lines
    assert "Suites: bookworm bookworm-updates" in lines
    assert lines[-1] == "0"


def test_only_bookworm_bases_can_be_made():
    for ref in ("docker.io/library/ubuntu:noble-20251001",
                "docker.io/library/debian:trixie-20250929-slim"):
        with pytest.raises(ValueError, match="only Debian bookworm"):
            ensure_base_image(ref)


def test_a_built_image_serves_inside_the_tests_network_namespace(python_image):
    with netns() as ns:
        podman("run", "--detach", *ns.podman_args, python_image, *SERVE)
        # One without our label, in the namespace all the same: it goes with it too.
        stray = podman("run", "--detach", "--network", f"ns:{ns.path}", python_image,
                       "sleep", "60").stdout.strip()
        wait_until_serving(ns, URL)
        page = ns.run("curl", "-sS", "--max-time", "5", URL)
        assert "Directory listing for /" in page.stdout
        # Only the namespace's loopback: podman gave it no address of its own.
        assert ns.run("ip", "-o", "addr").stdout.count(" inet ") == 1
        name = ns.name
    left = podman("ps", "--all", "--quiet", "--filter",
                  f"label={containers.NETNS_LABEL}={name}").stdout
    assert left == ""
    assert podman("container", "exists", stray, check=False).returncode == 1
    assert name not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                      text=True, check=True).stdout
    no_podman_bridge_anywhere()


def test_uv_image_and_pypi_from_a_build_step(python_image, tmp_path):
    uv = ensure_uv_image(UV)
    assert podman("run", "--rm", uv, "--version").stdout.split()[:2] == ["uv", "0.13.9"]
    # As the generated Containerfile uses it: uv copied in, packages from PyPI through
    # this machine's HTTPS proxy (its CA is in the base image).
    (tmp_path / "Containerfile").write_text(
        f"ARG UV_IMAGE={UV}\nFROM ${{UV_IMAGE}} AS uv\nFROM {python_image}\n"
        "COPY --from=uv /uv /uvx /bin/\n"
        "RUN uv venv /venv && VIRTUAL_ENV=/venv uv pip install --no-cache six==1.17.0\n"
        "HEALTHCHECK --interval=30s CMD [\"/venv/bin/python\", \"-c\", \"import six\"]\n")
    build(tmp_path, "localhost/cfd-ct-harness-uv:test")
    # Kept: build() makes Docker-format images.
    check = json.loads(podman("image", "inspect", "--format", "{{json .Config.Healthcheck}}",
                              "localhost/cfd-ct-harness-uv:test").stdout) or {}
    assert check.get("Test") == ["CMD", "/venv/bin/python", "-c", "import six"]
    with netns() as ns:
        container = podman("run", "--detach", *ns.podman_args,
                           "localhost/cfd-ct-harness-uv:test", "sleep", "60").stdout.strip()
        wait_until_healthy(container)
        health = podman("inspect", "--format", "{{.State.Health.Status}}", container)
        assert health.stdout.strip() == "healthy"
    version = podman("run", "--rm", "localhost/cfd-ct-harness-uv:test", "/venv/bin/python",
                     "-c", "import six; print(six.__version__)")
    assert version.stdout.strip() == "1.17.0"


@pytest.mark.parametrize("mode", ["ns", "host"])
def test_compose_runs_in_the_namespace_only(python_image, tmp_path, mode):
    project = tmp_path / f"harness{mode}"
    project.mkdir()
    # As a compose.yaml for users has it: a published port on the default network.
    (project / "compose.yaml").write_text(
        f"services:\n  web:\n    image: {python_image}\n    command: {json.dumps(SERVE)}\n"
        '    ports: ["8000:8000"]\n')
    with netns() as ns:
        with pytest.raises(pytest.fail.Exception, match="network_mode"):
            compose(project, "up", "--detach", ns=ns)
        network_mode = f"ns:{ns.path}" if mode == "ns" else "host"
        (project / "compose.test.yaml").write_text(
            f"services:\n  web:\n    network_mode: {network_mode}\n    ports: !reset []\n")
        files = ["compose.yaml", "compose.test.yaml"]
        compose(project, "up", "--detach", files=files, ns=ns)
        wait_until_serving(ns, URL)
        compose(project, "down", "--timeout", "0", files=files, ns=ns)
        assert ns.run("curl", "-sS", "--max-time", "2", URL).returncode != 0
    no_podman_bridge_anywhere()


KUBE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: harness
spec:
  replicas: 1
  selector:
    matchLabels: {app: harness}
  template:
    metadata:
      labels: {app: harness}
    spec:
      containers:
        - name: web
          image: IMAGE
          command: COMMAND
          ports:
            - containerPort: 8000
          readinessProbe:
            httpGet: {path: /ready, port: 8000}
          livenessProbe:
            httpGet: {path: /live, port: 8000}
"""


def test_kube_play_runs_in_the_namespace(python_image, tmp_path):
    manifest = tmp_path / "deployment.yaml"
    manifest.write_text(KUBE.replace("IMAGE", python_image)
                        .replace("COMMAND", json.dumps(SERVE)))
    with netns() as ns:
        # Why kube_play drops container ports: podman 4.3 maps each to the host.
        with pytest.raises(PodmanError, match="PortMappings can only be used with Bridge"):
            kube_play(ns, manifest, drop_ports=False)
        kube_play(ns, manifest)
        wait_until_serving(ns, URL)
        # podman 4.3 makes a healthcheck of the livenessProbe and ignores readinessProbe.
        check = podman("inspect", "--format", "{{json .Config.Healthcheck.Test}}",
                       "harness-pod-0-web").stdout
        assert "/live" in check and "/ready" not in check
        kube_down(ns, manifest)
        assert podman("pod", "exists", "harness-pod-0", check=False).returncode == 1
    no_podman_bridge_anywhere()
