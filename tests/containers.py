"""Real container engines for the tests: rootful podman on this machine, offline.

No container registry is reachable from here, so the two images the generated
Containerfile starts FROM are made locally and tagged with the exact references it
names (`podman build --pull=never` then finds them):

- `ensure_base_image("docker.io/library/debian:bookworm-...-slim")`: `debootstrap
  --variant=minbase` of bookworm, slimmed the way the official image is (no docs, man
  pages or translations; apt set up to keep no caches), apt lists removed and apt
  pointed at the Debian mirror this machine uses, CMD ["bash"]. Cached under
  CFD_CACHE_DIR as container-base-bookworm-<hash>.tar.zst.
- `ensure_uv_image("ghcr.io/astral-sh/uv:<version>")`: FROM scratch with /uv and /uvx,
  the static (musl) binaries from that version's wheel on PyPI, like the official image.

HTTPS from this machine goes through an intercepting proxy whose CA is in
/usr/local/share/ca-certificates. Where it is, the base image also carries it (there,
and in /etc/ssl/certs/ca-certificates.crt with SSL_CERT_FILE naming it), so `uv` and
`pip` in a RUN step reach PyPI; installing Debian's ca-certificates keeps it in the
bundle. This is the one way the test image differs from the official one.

Podman is driven with a containers.conf of ours (CONTAINERS_CONF), so plain `podman`,
podman-compose and `podman kube play` all get what works here: runc with cgroupfs
(crun fails on this machine's cgroups), no default ulimits (the stock ones ask for
more open files than the machine allows), and no network unless one is given (never
podman's 10.88 bridge). Containers run in a network namespace the test makes (`netns()`)
and are reached on its 127.0.0.1; `podman build` uses the host's network (the Debian
mirror and PyPI), never the bridge.
"""

import contextlib
import fcntl
import fnmatch
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from conftest import VENV_BIN, require_tool
from rootfs import SUITE, cache_dir, host_debian_mirror

PODMAN_TIMEOUT = 300
BUILD_TIMEOUT = 900
# Every image this module makes carries the hash of what went into it: an image left
# by an older recipe is made again rather than trusted.
RECIPE_LABEL = "org.copier-flask-deploy.test-recipe"
# Containers a test starts in a namespace carry its name, so they go with it.
NETNS_LABEL = "org.copier-flask-deploy.test-netns"
NETNS_PREFIX = "cfd-ct-"

CONTAINERS_CONF = """\
# Written by tests/containers.py (CONTAINERS_CONF points here): what podman needs on
# the test machines, for podman, podman-compose and podman kube play alike.
[containers]
# The stock default raises the open-files limit above what the machine allows, and
# runc then refuses to start anything; containers inherit podman's own limits instead.
default_ulimits = []
# A container given no network gets none: never podman's bridge (10.88.0.0/16).
netns = "none"

[engine]
# crun fails on this machine's cgroups; runc works.
runtime = "runc"
# No systemd runs podman here.
cgroup_manager = "cgroupfs"
"""

TOOLS = {
    "podman": "podman",
    "runc": "runc",
    "ip": "iproute2",
    "nsenter": "util-linux",
    "curl": "curl",
    "debootstrap": "debootstrap",
    "zstd": "zstd",
}


class PodmanError(RuntimeError):
    pass


def require(name: str) -> str:
    return require_tool(name, TOOLS[name])


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("the container tests run rootful podman in network namespaces: run "
                    "them as root (CI does), e.g. `sudo make test`")


def podman_compose_path() -> str:
    """The locked podman-compose from the repo's venv (Debian's 1.0.3 is too old)."""
    found = shutil.which("podman-compose", path=str(VENV_BIN)) or shutil.which(
        "podman-compose")
    if not found:
        pytest.fail("podman-compose not found: it is a test dependency from PyPI "
                    "(pyproject.toml), not Debian's package; `make test` installs it "
                    "into .venv (or run `uv sync`)")
    return found


def containers_conf() -> Path:
    path = cache_dir() / "containers.conf"
    if not path.exists() or path.read_text() != CONTAINERS_CONF:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_text(CONTAINERS_CONF)
        partial.rename(path)
    return path


def podman_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    # BUILDAH_FORMAT: images podman-compose builds keep HEALTHCHECK, as in build().
    return {**os.environ, "CONTAINERS_CONF": str(containers_conf()),
            "BUILDAH_FORMAT": "docker", **(extra or {})}


def _check(cmd: Sequence[str], result: subprocess.CompletedProcess[str]) -> None:
    if result.returncode != 0:
        raise PodmanError(f"{' '.join(cmd)} exited {result.returncode}\n"
                          f"--- stdout\n{result.stdout[-4000:]}\n"
                          f"--- stderr\n{result.stderr[-4000:]}")


def _run(cmd: list[str], timeout: float, check: bool, env: Mapping[str, str] | None = None,
         input: str | None = None, cwd: Path | None = None,
         ) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(cmd, env=podman_env(env), capture_output=True, text=True,
                                timeout=timeout, input=input, cwd=cwd, check=False)
    except subprocess.TimeoutExpired as error:
        raise PodmanError(f"{' '.join(cmd)} still running after {timeout} s\n"
                          f"--- stdout\n{error.stdout}\n--- stderr\n{error.stderr}") from None
    if check:
        _check(cmd, result)
    return result


def podman(*args: str, timeout: float = PODMAN_TIMEOUT, check: bool = True,
           input: str | None = None, netns: "NetNS | None" = None,
           ) -> subprocess.CompletedProcess[str]:
    """Run podman with our containers.conf; raise PodmanError (with its output) on failure.

    netns: run podman itself inside that namespace (`nsenter --net`), where
    `--network host` means the namespace: what `podman kube play` needs, since podman
    4.3 refuses `ns:` paths for pods. (`ip netns exec` would not do: it remounts /sys,
    and runc then finds no cgroups.)
    """
    require_root()
    require("runc")
    cmd = [require("podman"), *args]
    if netns is not None:
        cmd = [require("nsenter"), f"--net={netns.path}", "--", *cmd]
    return _run(cmd, timeout, check, input=input)


def build(context_dir: Path, tag: str, containerfile: Path | None = None,
          target: str | None = None, build_args: Mapping[str, str] | None = None,
          timeout: float = BUILD_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """`podman build` offline for images (--pull=never: the FROM images must exist
    locally, see ensure_*_image) and on the host's network for RUN steps.

    In Docker's image format, as `docker build` makes it: podman's default (OCI) drops
    HEALTHCHECK with only a warning. Podman 4.3 (buildah 1.28) does not know heredocs
    (`RUN <<EOF`); `RUN --mount=type=cache` and `COPY --chmod` work.
    """
    args = ["build", "--pull=never", "--network", "host", "--format", "docker", "--tag", tag]
    if containerfile is not None:
        args += ["--file", str(containerfile)]
    if target is not None:
        args += ["--target", target]
    for name, value in (build_args or {}).items():
        args += ["--build-arg", f"{name}={value}"]
    return podman(*args, str(context_dir), timeout=timeout)


def image_label(ref: str, label: str) -> str | None:
    result = podman("image", "inspect", "--format", "{{json .Labels}}", ref, check=False)
    if result.returncode != 0:
        return None
    return (json.loads(result.stdout) or {}).get(label)


@contextlib.contextmanager
def _cache_lock() -> Iterator[None]:
    """One maker of cached images at a time (pytest-xdist workers share the cache)."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / "containers.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --- the Debian base image ------------------------------------------------------------

BASE_RECIPE_VERSION = "1"
BASE_REF = re.compile(r"^(docker\.io/)?(library/)?debian:bookworm(-\d{8})?(-slim)?$")

# What the official slim images leave out (debuerreotype's slimify): dpkg filters new
# packages with these, and the files debootstrap already put there are deleted.
SLIM_EXCLUDE = ["/usr/share/doc/*", "/usr/share/groff/*", "/usr/share/info/*",
                "/usr/share/linda/*", "/usr/share/lintian/overrides/*",
                "/usr/share/locale/*", "/usr/share/man/*"]
SLIM_INCLUDE = ["/usr/share/doc/*/copyright", "/usr/share/locale/locale.alias"]
# The official images' apt and dpkg settings (debuerreotype's minimizing-config).
IMAGE_CONFIG = {
    "etc/apt/apt.conf.d/docker-clean": (
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'),
    "etc/apt/apt.conf.d/docker-gzip-indexes": 'Acquire::GzipIndexes "true";\n',
    "etc/apt/apt.conf.d/docker-no-languages": 'Acquire::Languages "none";\n',
    "etc/apt/apt.conf.d/docker-autoremove-suggests":
        'Apt::AutoRemove::SuggestsImportant "false";\n',
    "etc/dpkg/dpkg.cfg.d/docker-apt-speedup": "force-unsafe-io\n",
    "etc/dpkg/dpkg.cfg.d/docker": "".join(
        [f"path-exclude {glob}\n" for glob in SLIM_EXCLUDE]
        + [f"path-include {glob}\n" for glob in SLIM_INCLUDE]),
}
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def host_security_mirror() -> str | None:
    """The debian-security mirror this machine's apt uses, if any."""
    for source in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        if source.is_file():
            for uri in re.findall(r"(?:^URIs:|^deb\s+(?:\[[^]]*\]\s+)?)\s*(\S+)",
                                  source.read_text(), re.MULTILINE):
                if uri.rstrip("/").endswith("/debian-security"):
                    return uri
    return None


def image_sources() -> str:
    """/etc/apt/sources.list.d/debian.sources as the official image has it, with this
    machine's mirrors."""
    stanzas = [f"Types: deb\nURIs: {host_debian_mirror()}\nSuites: {SUITE} {SUITE}-updates\n"
               "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"]
    security = host_security_mirror()
    if security:
        stanzas.append(f"Types: deb\nURIs: {security}\nSuites: {SUITE}-security\n"
                       "Components: main\n"
                       "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    return "\n".join(stanzas)


def base_tarball_path() -> Path:
    recipe = json.dumps([BASE_RECIPE_VERSION, SUITE, image_sources(), IMAGE_CONFIG])
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    # Not debian-bookworm-*: rootfs.ensure_tarball deletes those it did not make.
    return cache_dir() / f"container-base-{SUITE}-{digest}.tar.zst"


def _slim(root: Path) -> None:
    for top in {Path(glob.split("*")[0]) for glob in SLIM_EXCLUDE}:
        for dirpath, _dirs, files in os.walk(root / top.relative_to("/")):
            for name in files:
                path = Path(dirpath) / name
                inside = "/" + str(path.relative_to(root))
                if (any(fnmatch.fnmatchcase(inside, glob) for glob in SLIM_EXCLUDE)
                        and not any(fnmatch.fnmatchcase(inside, glob)
                                    for glob in SLIM_INCLUDE)):
                    path.unlink()


def build_base_tarball(tarball: Path) -> None:
    require("debootstrap")
    require("zstd")
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tarball.parent) as tmp:
        root = Path(tmp) / "rootfs"
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", SUITE, str(root), host_debian_mirror()],
            check=False, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            log = root / "debootstrap" / "debootstrap.log"
            detail = log.read_text()[-3000:] if log.exists() else result.stderr
            raise RuntimeError(f"debootstrap failed:\n{result.stdout[-2000:]}\n{detail}")
        _slim(root)
        for name, text in IMAGE_CONFIG.items():
            (root / name).write_text(text)
        (root / "etc/apt/sources.list").unlink(missing_ok=True)
        (root / "etc/apt/sources.list.d/debian.sources").write_text(image_sources())
        # No apt lists or package caches, like the official image: a Containerfile
        # starts with `apt-get update`. The rest is this machine's, not the image's
        # (podman gives each container its own resolv.conf and hostname).
        for junk in ("var/lib/apt/lists", "var/cache/apt"):
            shutil.rmtree(root / junk)
        (root / "var/lib/apt/lists/partial").mkdir(parents=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True)
        for junk in ("etc/resolv.conf", "etc/hostname", "var/log/bootstrap.log"):
            (root / junk).unlink(missing_ok=True)
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "--zstd", "-C", str(root), "--numeric-owner", "-cpf",
                        str(partial), "."], check=True, timeout=600)
        partial.rename(tarball)
    for old in tarball.parent.glob(f"container-base-{SUITE}-*.tar.zst"):
        if old != tarball:
            old.unlink()


def _host_cas() -> list[Path]:
    return sorted(HOST_CA_DIR.glob("*.crt")) if HOST_CA_DIR.is_dir() else []


def ensure_base_image(ref: str) -> str:
    """A local image tagged `ref` (an official Debian bookworm image reference)."""
    if not BASE_REF.match(ref):
        raise ValueError(
            f"{ref}: only Debian bookworm images (docker.io/library/debian:bookworm...) "
            "can be made on this machine, by debootstrap from its bookworm mirror; no "
            "registry is reachable to pull any other")
    with _cache_lock():
        tarball = base_tarball_path()
        cas = _host_cas()
        recipe = hashlib.sha256(json.dumps(
            [tarball.name, *[(ca.name, ca.read_text()) for ca in cas],
             HOST_CA_BUNDLE.read_text() if cas else ""]).encode()).hexdigest()[:12]
        if image_label(ref, RECIPE_LABEL) == recipe:
            return ref
        if not tarball.exists():
            build_base_tarball(tarball)
        rootfs_ref = f"localhost/cfd-ct-rootfs:{tarball.name.removesuffix('.tar.zst')}"
        if image_label(rootfs_ref, RECIPE_LABEL) != tarball.name:
            podman("import", "--change", 'CMD ["bash"]',
                   "--change", f"LABEL {RECIPE_LABEL}={tarball.name}",
                   str(tarball), rootfs_ref)
        with tempfile.TemporaryDirectory() as tmp:
            context = Path(tmp)
            lines = [f"FROM {rootfs_ref}"]
            if cas:
                (context / "ca").mkdir()
                for ca in cas:
                    shutil.copy(ca, context / "ca" / ca.name)
                shutil.copy(HOST_CA_BUNDLE, context / "ca-certificates.crt")
                lines += [
                    "# This machine's HTTPS goes through a proxy with its own CA: trusted",
                    "# by uv and pip (SSL_CERT_FILE), and by update-ca-certificates when",
                    "# a Containerfile installs ca-certificates.",
                    "COPY ca/ /usr/local/share/ca-certificates/",
                    "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
                    "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"]
            lines.append(f"LABEL {RECIPE_LABEL}={recipe}")
            (context / "Containerfile").write_text("\n".join(lines) + "\n")
            podman("build", "--pull=never", "--network", "none", "--tag", ref, str(context))
        return ref


# --- the uv image ---------------------------------------------------------------------

UV_REF = re.compile(r"^ghcr\.io/astral-sh/uv:(\d+\.\d+\.\d+)$")
# The official image's binaries are the static musl build.
UV_WHEEL_PLATFORM = "musllinux_1_1_x86_64"


def containerfile_images(project: Path) -> dict[str, str]:
    """The images a generated project's Containerfile starts FROM: its BASE_IMAGE and
    UV_IMAGE arguments."""
    text = (project / "Containerfile").read_text()
    return dict(re.findall(r"^ARG (BASE_IMAGE|UV_IMAGE)=(\S+)$", text, re.MULTILINE))


def ensure_containerfile_images(project: Path) -> dict[str, str]:
    """Both of them, made here (no registry is reachable); their references returned."""
    images = containerfile_images(project)
    ensure_base_image(images["BASE_IMAGE"])
    ensure_uv_image(images["UV_IMAGE"])
    return images


def uv_wheel(version: str) -> Path:
    """That version's uv wheel from PyPI, downloaded once into the cache."""
    wheels = cache_dir() / "wheels"
    found = sorted(wheels.glob(f"uv-{version}-*{UV_WHEEL_PLATFORM}*.whl"))
    if found:
        return found[0]
    wheels.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=wheels) as tmp:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", f"uv=={version}", "--no-deps",
             "--only-binary=:all:", "--platform", UV_WHEEL_PLATFORM, "--dest", tmp],
            check=False, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"pip download uv=={version} failed:\n{result.stderr[-3000:]}")
        (wheel,) = Path(tmp).glob("*.whl")
        return Path(shutil.move(wheel, wheels / wheel.name))


def ensure_uv_image(ref: str) -> str:
    """A local image tagged `ref` (ghcr.io/astral-sh/uv:<version>): /uv and /uvx."""
    match = UV_REF.match(ref)
    if not match:
        raise ValueError(f"{ref}: expected ghcr.io/astral-sh/uv:<version>, e.g. "
                         "ghcr.io/astral-sh/uv:0.13.9")
    version = match.group(1)
    with _cache_lock():
        wheel = uv_wheel(version)
        if image_label(ref, RECIPE_LABEL) == wheel.name:
            return ref
        with tempfile.TemporaryDirectory() as tmp:
            context = Path(tmp)
            with zipfile.ZipFile(wheel) as archive:
                for name in ("uv", "uvx"):
                    target = context / name
                    target.write_bytes(archive.read(f"uv-{version}.data/scripts/{name}"))
                    target.chmod(0o755)
            # As astral-sh/uv's own Dockerfile makes it.
            (context / "Containerfile").write_text(
                "FROM scratch\nCOPY uv uvx /\nWORKDIR /io\nENTRYPOINT [\"/uv\"]\n"
                f"LABEL {RECIPE_LABEL}={wheel.name}\n")
            podman("build", "--pull=never", "--network", "none", "--tag", ref, str(context))
        return ref


# --- network namespaces ---------------------------------------------------------------


@dataclass
class NetNS:
    name: str
    compose_projects: set[str] = field(default_factory=set)
    kube_manifests: list[Path] = field(default_factory=list)
    # podman secrets a test made for the pods it plays: removed with the namespace
    podman_secrets: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"/run/netns/{self.name}"

    @property
    def podman_args(self) -> list[str]:
        """For `podman run`/`create`: in this namespace, and removed with it."""
        return ["--network", f"ns:{self.path}", "--label", f"{NETNS_LABEL}={self.name}"]

    def run(self, *cmd: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return run_in_netns(self, *cmd, timeout=timeout)


def run_in_netns(ns: NetNS, *cmd: str, timeout: float = 60,
                 check: bool = False) -> subprocess.CompletedProcess[str]:
    """A command (curl, ss, ...) in the namespace; its output returned."""
    return subprocess.run([require("ip"), "netns", "exec", ns.name, *cmd],
                          capture_output=True, text=True, timeout=timeout, check=check)


def wait_until_serving(ns: NetNS, url: str, timeout: float = 30) -> None:
    """Poll `url` with curl in the namespace until it answers (any HTTP status)."""
    deadline = time.monotonic() + timeout
    result = None
    for _ in range(int(timeout / 0.1) + 1):
        result = run_in_netns(ns, "curl", "-sS", "-o", "/dev/null", "--max-time", "2",
                              url, timeout=5)
        if result.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if result is None or result.returncode != 0:
        raise AssertionError(f"{url} in {ns.name} not answering after {timeout} s: "
                             f"{result.stderr if result else ''}")


def wait_until_healthy(container: str, timeout: float = 60, interval: float = 0.5) -> None:
    """Run the container's healthcheck until it passes.

    Podman schedules healthchecks with systemd timers, and no systemd runs podman here
    ("unable to get systemd connection to add healthchecks"): a container's health stays
    "starting" until `podman healthcheck run` runs it, as this does. For the same reason
    (and podman 4.3 < 4.6), podman-compose ignores `depends_on: condition: service_healthy`.
    """
    deadline = time.monotonic() + timeout
    result = None
    for _ in range(int(timeout / interval) + 1):
        result = podman("healthcheck", "run", container, check=False, timeout=60)
        if result.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(interval)
    if result is None or result.returncode != 0:
        raise AssertionError(f"{container} not healthy after {timeout} s: "
                             f"{result.stdout if result else ''} {result.stderr if result else ''}")


def _net_inode(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _remove_everything_in(ns: NetNS) -> None:
    """Removed, not stopped gracefully (--time 0): a test proving a graceful stop does
    that itself."""
    for manifest in ns.kube_manifests:
        podman("kube", "down", str(manifest), check=False, timeout=60)
    for secret in ns.podman_secrets:
        podman("secret", "rm", secret, check=False)
    labelled = [f"label={NETNS_LABEL}={ns.name}",
                *[f"label=io.podman.compose.project={project}"
                  for project in ns.compose_projects]]
    for selector in labelled:
        ids = podman("ps", "-a", "--quiet", "--filter", selector, check=False).stdout.split()
        if ids:
            podman("rm", "--force", "--time", "0", *ids, check=False, timeout=60)
    for project in ns.compose_projects:
        podman("pod", "rm", "--force", "--time", "0", "--ignore", f"pod_{project}",
               check=False)
    # Whatever else runs in the namespace (a pod a test made by hand, a container
    # under another label) goes too: its processes are inside.
    inode = _net_inode(ns.path)
    listing = podman("ps", "--format", "json", check=False).stdout or "[]"
    for container in json.loads(listing):
        pid = container.get("Pid") or 0
        if pid and _net_inode(f"/proc/{pid}/ns/net") == inode:
            if container.get("Pod"):
                podman("pod", "rm", "--force", "--time", "0", container["Pod"], check=False,
                       timeout=60)
            else:
                podman("rm", "--force", "--time", "0", container["Id"], check=False,
                       timeout=60)


@contextlib.contextmanager
def netns() -> Iterator[NetNS]:
    """A fresh network namespace with only loopback, up; everything podman started in
    it is removed at the end, then the namespace is deleted."""
    require_root()
    ip = require("ip")
    ns = NetNS(f"{NETNS_PREFIX}{secrets.token_hex(4)}")
    subprocess.run([ip, "netns", "add", ns.name], check=True, capture_output=True)
    try:
        subprocess.run([ip, "netns", "exec", ns.name, "ip", "link", "set", "lo", "up"],
                       check=True, capture_output=True)
        yield ns
    finally:
        try:
            _remove_everything_in(ns)
        finally:
            subprocess.run([ip, "netns", "delete", ns.name], check=False,
                           capture_output=True)


# --- podman-compose and kube play -----------------------------------------------------

# Commands that start containers: the compose file is checked before them.
COMPOSE_STARTS = {"up", "run", "create", "start", "restart"}


def compose(project_dir: Path, *args: str, files: Sequence[str] = (),
            ns: NetNS | None = None, project: str | None = None,
            env: Mapping[str, str] | None = None,
            timeout: float = PODMAN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """podman-compose in project_dir with our containers.conf, raising on failure.

    files: compose files (-f), e.g. ("compose.yaml", "compose.test.yaml"); default the
    project's own. ns: run podman-compose inside that namespace, so `network_mode: host`
    means the namespace (`network_mode: ns:<ns.path>` works either way), and remove the
    project's containers with it. Before a command that starts containers, every service
    must have network_mode none, ns:/run/netns/cfd-ct-..., or host inside ns: anything
    else would put it on a podman bridge (an override file with `network_mode: ...`,
    `ports: !reset []` and `networks: !reset []` turns the bridge off).
    The project name defaults to the directory's name (-p, over any `name:` in the file).
    Services sharing the namespace reach each other on 127.0.0.1: `extra_hosts:
    ["db:127.0.0.1"]` in the override keeps a URL naming the service `db` working.
    `ports:` under `network_mode: ns:` are dropped silently (under host, with a warning).
    A service podman-compose would build runs `podman build` inside the namespace, with
    no network: build the image first with build() under the tag its `image:` names.
    """
    require_root()
    base = [podman_compose_path()]
    require("podman")
    require("runc")
    project = project or re.sub(r"[^a-z0-9_-]", "", project_dir.name.lower())
    base += ["--project-name", project]
    for name in files:
        base += ["--file", name]
    prefix = [require("nsenter"), f"--net={ns.path}", "--"] if ns else []
    command = next((arg for arg in args if not arg.startswith("-")), "")
    if command in COMPOSE_STARTS:
        config = _run([*base, "config"], timeout, True, env=env, cwd=project_dir)
        for service, spec in (yaml.safe_load(config.stdout).get("services") or {}).items():
            mode = spec.get("network_mode", "")
            allowed = mode == "none" or mode.startswith(f"ns:/run/netns/{NETNS_PREFIX}") or (
                ns is not None and mode == "host")
            if not allowed:
                pytest.fail(f"compose service {service}: network_mode {mode or '(default)'} "
                            "would use the host's network or a podman bridge; give it "
                            f"network_mode ns:<netns path> (or host with ns=) in an "
                            "override file, with `ports: !reset []` and `networks: !reset []`")
        if ns is not None:
            ns.compose_projects.add(project)
    return _run([*prefix, *base, *args], timeout, True, env=env, cwd=project_dir)


def without_container_ports(manifest_text: str) -> str:
    """The manifest with every container's `ports` removed (see kube_play)."""
    documents = list(yaml.safe_load_all(manifest_text))
    for document in documents:
        spec = (document or {}).get("spec") or {}
        pod_spec = (spec.get("template") or {}).get("spec") or spec
        for container in [*pod_spec.get("containers", []),
                          *pod_spec.get("initContainers", [])]:
            container.pop("ports", None)
    return yaml.safe_dump_all(documents, sort_keys=False)


def kube_play(ns: NetNS, manifest: Path, *args: str, drop_ports: bool = True,
              timeout: float = PODMAN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """`podman kube play` of the manifest inside the namespace (`--network host` there:
    podman 4.3 refuses `ns:` paths for pods); `podman kube down` when ns ends.

    drop_ports: podman 4.3 turns every containerPort into a host port mapping, which it
    refuses on anything but a bridge ("PortMappings can only be used with Bridge or
    slirp4netns networking"), so a copy without container ports is played. The
    containers still listen on their ports, on the namespace's addresses.
    """
    played = manifest
    if drop_ports:
        played = manifest.with_name(f"{manifest.stem}.played{manifest.suffix}")
        played.write_text(without_container_ports(manifest.read_text()))
    ns.kube_manifests.append(played)
    return podman("kube", "play", "--network", "host", *args, str(played), netns=ns,
                  timeout=timeout)


def kube_down(ns: NetNS, manifest: Path) -> subprocess.CompletedProcess[str]:
    played = manifest.with_name(f"{manifest.stem}.played{manifest.suffix}")
    return podman("kube", "down", str(played if played in ns.kube_manifests else manifest))


def addresses_everywhere() -> str:
    """`ip -o addr` of this machine and of every named network namespace."""
    ip = require("ip")
    out = subprocess.run([ip, "-o", "addr"], capture_output=True, text=True,
                         check=True).stdout
    out += subprocess.run([ip, "-all", "netns", "exec", "ip", "-o", "addr"],
                          capture_output=True, text=True, check=False).stdout
    return out
