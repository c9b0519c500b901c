"""The Debian 12 root filesystem the booted test servers run from, built once and cached.

`debootstrap` makes it from the Debian mirror this machine's apt already uses, with
systemd, sshd and everything `make provision` would install (the test servers have no
network, so nothing can be fetched later). The result is kept as a compressed tarball
under CFD_CACHE_DIR (default /var/cache/copier-flask-deploy), named by a hash of what
went into it, and unpacked in about a second for each server.
"""

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


def cache_dir() -> Path:
    return Path(os.environ.get("CFD_CACHE_DIR", "/var/cache/copier-flask-deploy"))


def tarball_path() -> Path:
    recipe = "\n".join([RECIPE_VERSION, SUITE, *PACKAGES, *DISABLED_SERVICES])
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    return cache_dir() / f"debian-{SUITE}-{digest}.tar.zst"


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


def build(tarball: Path) -> None:
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tarball.parent) as tmp:
        root = Path(tmp) / "rootfs"
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
             SUITE, str(root), host_debian_mirror()],
            check=False, capture_output=True, text=True)
        if result.returncode != 0:
            log = root / "debootstrap" / "debootstrap.log"
            detail = log.read_text()[-3000:] if log.exists() else result.stderr
            raise RuntimeError(f"debootstrap failed:\n{result.stdout[-2000:]}\n{detail}")
        for unit in DISABLED_SERVICES:
            subprocess.run(["systemctl", f"--root={root}", "disable", unit],
                           check=False, capture_output=True)
        # No apt lists or caches: the servers are offline, and the tarball stays small.
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(root / junk, ignore_errors=True)
            (root / junk).mkdir(parents=True)
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "--zstd", "-C", str(root), "--numeric-owner", "-cpf",
                        str(partial), "."], check=True)
        partial.rename(tarball)


def ensure_tarball() -> Path:
    tarball = tarball_path()
    if not tarball.exists():
        build(tarball)
        # Those built from an older recipe are never used again: about 120 MB each.
        for old in tarball.parent.glob(f"debian-{SUITE}-*.tar.zst"):
            if old != tarball:
                old.unlink()
    return tarball


if __name__ == "__main__":
    print(ensure_tarball())
