"""Build the release bundle `make deploy` ships: build/releases/<id>.tar.gz.

The bundle holds the committed source (git archive of HEAD), the locked runtime
dependencies exported from uv.lock with their hashes, and a wheelhouse with every one of
them as a wheel for the servers' Python and CPU, plus the app's own wheel. Servers
install from it with uv, offline: they need neither PyPI nor a compiler.

uv itself (a 17 MB wheel, 20 times the rest) is kept beside the bundles, in
build/releases/tools/: `make deploy` sends it to a server only when that server does not
have this version yet. The bundle names that wheel with its checksum, and the server
checks it before running it. Keep tools/ with the bundles if you move them.

Prints the bundle's path. Refuses a work tree with uncommitted changes unless --force:
what is deployed must be a commit you can find again.
"""

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*args: str, cwd: Path = ROOT) -> str:
    # Only fixed tool names with arguments this script builds: nothing from outside.
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        sys.exit(f"build_release: {' '.join(args)} failed:\n{result.stderr.strip()}")
    return result.stdout.strip()


def download_wheels(requirements: Path, dest: Path, python_version: str, arch: str) -> None:
    """Wheels (never sources) of the hashed requirements, for the servers' Python and CPU."""
    platforms = [f"manylinux_2_{v}_{arch}" for v in (28, 17)] + [f"manylinux2014_{arch}"]
    run(
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--no-deps",
        "--require-hashes",
        f"--python-version={python_version}",
        "--implementation=cp",
        *[f"--platform={p}" for p in platforms],
        "-r",
        str(requirements),
        "-d",
        str(dest),
    )


def cached_wheels(requirements: Path, cache: Path, python_version: str, arch: str) -> Path:
    """The wheelhouse of these exact requirements, downloaded once: a redeploy with the
    same locked dependencies reuses it (pip download takes a second even with nothing
    new). Kept under build/releases/wheels/, the last three sets."""
    # Comments left out: uv's header names the temporary file it wrote.
    pinned = [line for line in requirements.read_text().splitlines() if not line.startswith("#")]
    key = hashlib.sha256("\n".join([python_version, arch, *pinned]).encode()).hexdigest()[:16]
    wheels = cache / key
    if not wheels.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=cache))
        download_wheels(requirements, partial, python_version, arch)
        partial.rename(wheels)  # whole or not at all
        for old in sorted(cache.iterdir(), key=lambda p: p.stat().st_mtime)[:-3]:
            shutil.rmtree(old, ignore_errors=True)
    wheels.touch()  # newest use, for the pruning above
    return wheels


def fetch_server_uv(uv: str, tools: Path, python_version: str, arch: str) -> None:
    """The locked uv's wheel for the servers, downloaded once into `tools` (which then
    holds only that one, so deploys ship only that one)."""
    dev = run(uv, "export", "--frozen", "--only-group=dev", "--no-emit-project", "--quiet")
    uv_requirement = re.search(r"^uv==.*?(?=^\S|\Z)", dev, re.MULTILINE | re.DOTALL)
    if not uv_requirement:
        sys.exit("build_release: uv is missing from the dev dependencies in uv.lock")
    version = uv_requirement.group(0).split("==", 1)[1].split()[0]
    wanted = f"uv-{version}-*{arch}*.whl"
    if not list(tools.glob(wanted)):
        with tempfile.TemporaryDirectory() as tmp:
            requirements = Path(tmp) / "requirements.txt"
            requirements.write_text(uv_requirement.group(0))
            download_wheels(requirements, Path(tmp), python_version, arch)
            shutil.rmtree(tools, ignore_errors=True)
            tools.mkdir()
            for wheel in Path(tmp).glob("uv-*.whl"):
                shutil.move(wheel, tools / wheel.name)
    if len(list(tools.glob("*"))) != 1:
        sys.exit(f"build_release: {tools} must hold exactly one uv wheel ({wanted})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="deploy a dirty work tree")
    parser.add_argument("--python-version", default="3.11", help="the servers' Python")
    parser.add_argument("--arch", default="x86_64", help="the servers' CPU (uname -m)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "releases")
    args = parser.parse_args()

    if run("git", "status", "--porcelain") and not args.force:
        sys.exit(
            "build_release: the work tree has uncommitted changes; commit them "
            "(or deploy anyway with FORCE=1)"
        )
    release_id = f"{datetime.now(UTC):%Y%m%d%H%M%S}-{run('git', 'rev-parse', '--short=7', 'HEAD')}"
    uv = (
        shutil.which("uv", path=str(BIN))
        or shutil.which("uv")
        or sys.exit("build_release: uv not found: run `make bootstrap`")
    )

    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / release_id
        wheels = stage / "wheelhouse"
        wheels.mkdir(parents=True)
        run("git", "archive", "--format=tar", f"--output={stage / 'source.tar'}", "HEAD")
        requirements = stage / "requirements.txt"
        run(
            uv,
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--quiet",
            f"--output-file={requirements}",
        )
        # The app's wheel from the committed source too, not from the work tree.
        source = Path(tmp) / "source"
        source.mkdir()
        with tarfile.open(stage / "source.tar") as archive:
            if hasattr(tarfile, "data_filter"):
                archive.extractall(source, filter="data")
            else:
                # Python before 3.11.4 (Debian 12 has 3.11.2) has no filters; this is git's
                # own archive of the committed tree.
                archive.extractall(source)  # noqa: S202
        run(uv, "build", "--wheel", "--quiet", f"--out-dir={wheels}", cwd=source)
        cache = cached_wheels(requirements, args.out / "wheels", args.python_version, args.arch)
        for wheel in cache.glob("*.whl"):
            shutil.copy(wheel, wheels)
        # uv itself, for the server: it builds the release's venv from the wheelhouse.
        args.out.mkdir(parents=True, exist_ok=True)
        fetch_server_uv(uv, args.out / "tools", args.python_version, args.arch)
        # uv's wheel travels beside the bundle (sent only when new): the bundle names
        # it with its checksum, and the server checks it before running it.
        (server_uv,) = (args.out / "tools").glob("uv-*.whl")
        digest = hashlib.sha256(server_uv.read_bytes()).hexdigest()
        (stage / "uv.sha256").write_text(f"{digest}  {server_uv.name}\n")
        shutil.copy(source / "deploy" / "release.sh", stage / "release.sh")
        bundle = args.out / f"{release_id}.tar.gz"
        with tarfile.open(bundle, "w:gz") as archive:
            archive.add(stage, arcname=release_id)
    # The deploy checks the uploaded bundle against this before anything is unpacked.
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    bundle.with_name(bundle.name + ".sha256").write_text(f"{digest}  {bundle.name}\n")
    print(bundle)


if __name__ == "__main__":
    main()
