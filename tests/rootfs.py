"""The Debian 12 root filesystem the booted test servers run from, built once and cached.

`debootstrap` makes it from the Debian mirror this machine's apt already uses, with
systemd, sshd and everything `make provision` would install (the test servers have no
network, so nothing can be fetched later). The result is kept as a compressed tarball
under CFD_CACHE_DIR (default /var/cache/copier-flask-deploy), named by a hash of what
went into it, and unpacked in about a second for each server.

The "cloud" variant is what a provider's Debian 12 image is to the template: the same
packages plus cloud-init, and nothing of the deploy user: its user-data (the generated
deploy/cloud-init.yaml) must make the server ready for `make provision` on first boot.
"""

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

SUITE = "bookworm"
PACKAGES = [
    # the server itself
    "systemd", "systemd-sysv", "dbus", "openssh-server", "sudo", "iproute2", "procps",
    "ca-certificates", "curl", "rsync", "acl",
    # what the app and Ansible need on the server
    "python3", "python3-venv", "python3-apt",
    # every web server the template supports, and certbot for Let's Encrypt
    "nginx", "apache2", "libapache2-mod-wsgi-py3", "libapache2-mod-security2",
    "lighttpd", "lighttpd-mod-openssl", "lighttpd-mod-deflate", "lighttpd-modules-lua", "certbot",
    # the database a project with database=postgresql provisions (server and client)
    "postgresql",
    # the baseline every server gets: its firewall and its security updates
    "nftables", "unattended-upgrades",
    # debootstrap does not resolve virtual packages: python3-cryptography (certbot) needs
    # python3-cffi-backend-api-*, which this package provides
    "python3-cffi-backend",
]
# Installed side by side they would race for port 80 at boot: provisioning enables one.
# PostgreSQL too: it would run in every test server, and provisioning starts it where
# a project has it.
DISABLED_SERVICES = ["nginx", "apache2", "lighttpd", "postgresql", "certbot.timer",
                     "apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_reap",
                     "fstrim.timer"]
RECIPE_VERSION = "1"
# What each variant adds to PACKAGES (name -> packages).
VARIANTS = {
    "server": [],
    # cloud-init reads the user-data from a NoCloud seed directory (a provider's image
    # reads it from the provider's metadata service); its optional helpers for growing
    # disks and probing hardware mean nothing in a container. locales: cloud-init sets
    # the system's locale on first boot.
    "cloud": ["cloud-init", "locales"],
}
# The cloud variant's own cloud-init settings, as a provider's image carries its own:
# only the NoCloud source is looked for (there is no metadata service to wait for), and
# the network is the harness's (a veth it addresses itself), never written by cloud-init;
# the locale is glibc's built-in C.UTF-8, as no other is generated here.
CLOUD_CFG = """\
datasource_list: [NoCloud, None]
network:
  config: disabled
locale: C.UTF-8
"""


def cache_dir() -> Path:
    return Path(os.environ.get("CFD_CACHE_DIR", "/var/cache/copier-flask-deploy"))


def tarball_prefix(variant: str) -> str:
    # debian-bookworm-<hash> for the servers (the name earlier caches have), and
    # debian-bookworm-<variant>-<hash> for the others: no variant's name is a prefix of
    # another's, so each removes only its own stale tarballs.
    return f"debian-{SUITE}-" if variant == "server" else f"debian-{SUITE}-{variant}-"


def tarball_path(variant: str = "server") -> Path:
    extra = VARIANTS[variant]
    recipe = "\n".join([RECIPE_VERSION, SUITE, *PACKAGES, *DISABLED_SERVICES, *extra,
                        CLOUD_CFG if extra else ""])
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    return cache_dir() / f"{tarball_prefix(variant)}{digest}.tar.zst"


def host_debian_mirror() -> str:
    """The Debian mirror this machine's apt is configured with."""
    sources = [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
    for source in sources:
        if not source.is_file():
            continue
        text = source.read_text()
        # deb822 (.sources) and one-line formats
        for uri in re.findall(r"^URIs:\s*(\S+)", text, re.MULTILINE) + re.findall(
                r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", text, re.MULTILINE):
            if uri.rstrip("/").endswith("/debian"):
                return uri
    raise RuntimeError("no Debian mirror found in /etc/apt/sources.list(.d)")


def build(tarball: Path, variant: str) -> None:
    tarball.parent.mkdir(parents=True, exist_ok=True)
    # The packages debootstrap fetched are kept: a second variant downloads only what
    # it adds.
    debs = cache_dir() / "debs"
    debs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tarball.parent) as tmp:
        root = Path(tmp) / "rootfs"
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--cache-dir={debs}",
             f"--include={','.join(PACKAGES + VARIANTS[variant])}",
             SUITE, str(root), host_debian_mirror()],
            check=False, capture_output=True, text=True)
        if result.returncode != 0:
            log = root / "debootstrap" / "debootstrap.log"
            detail = log.read_text()[-3000:] if log.exists() else result.stderr
            raise RuntimeError(f"debootstrap failed:\n{result.stdout[-2000:]}\n{detail}")
        for unit in DISABLED_SERVICES:
            subprocess.run(["systemctl", f"--root={root}", "disable", unit],
                           check=False, capture_output=True)
        if variant == "cloud":
            (root / "etc/cloud/cloud.cfg.d/90-test-server.cfg").write_text(CLOUD_CFG)
            # No apt sources: `apt-get update`, which cloud-init runs before installing
            # the user-data's packages, then succeeds with nothing to fetch, where a
            # cloud server would fetch from its provider's mirror.
            (root / "etc/apt/sources.list").unlink(missing_ok=True)
        # No apt lists or caches: the servers are offline, and the tarball stays small.
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(root / junk, ignore_errors=True)
            (root / junk).mkdir(parents=True)
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "--zstd", "-C", str(root), "--numeric-owner", "-cpf",
                        str(partial), "."], check=True)
        partial.rename(tarball)


def ensure_tarball(variant: str = "server") -> Path:
    tarball = tarball_path(variant)
    tarball.parent.mkdir(parents=True, exist_ok=True)
    # One build per variant at a time, also across test processes; the others wait
    # for it and use it.
    with open(tarball.parent / f".{tarball_prefix(variant)}lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tarball.exists():
            build(tarball, variant)
            # Those built from an older recipe are never used again: about 120 MB each.
            for old in tarball.parent.glob(f"{tarball_prefix(variant)}*.tar.zst"):
                if old != tarball and re.fullmatch(r"[0-9a-f]{12}", old.name.removeprefix(
                        tarball_prefix(variant)).removesuffix(".tar.zst")):
                    with contextlib.suppress(FileNotFoundError):
                        old.unlink()
    return tarball


if __name__ == "__main__":
    import sys
    print(ensure_tarball(*sys.argv[1:]))
