"""The generated Containerfile against the tutorial's Dockerfile: a rebuild after a code
change with every cache warm, and the size of the image.

The tutorial's recipe (the one most "Flask in Docker" posts give): one stage, python3
and pip from the distribution, `COPY . .` and then `pip install -r requirements.txt`, so
any edit to the code invalidates the layer that installs the dependencies. Both start
from the same base image (tests/containers.py makes it: no registry is reachable here)
and install the same locked versions; each side's build is timed after one line of
src/ changed.
"""

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import containers  # noqa: E402
from conftest import locked_requirements, render  # noqa: E402

# The tutorial's Dockerfile; {base} is the generated Containerfile's own base image.
NAIVE_DOCKERFILE = """FROM {base}
RUN apt-get update && apt-get install -y python3 python3-venv
WORKDIR /app
COPY . .
RUN python3 -m venv /venv && /venv/bin/pip install -r requirements.txt
ENV PYTHONPATH=/app/src
CMD ["/venv/bin/gunicorn", "-w", "4", "-b", "0.0.0.0:8000", "my_flask_app.wsgi:app"]
"""
BUILD_OPTIONS = ["--pull=never", "--network=host", "--format=docker"]
RUNTIME_PACKAGES = {"flask", "werkzeug", "jinja2", "markupsafe", "itsdangerous", "click",
                    "blinker", "gunicorn", "packaging"}


def touch_code(project: Path, run: int) -> None:
    views = next((project / "src").glob("*/views.py"))
    views.write_text(views.read_text() + f"# edit {run}\n")


def image_size(tag: str) -> float:
    return int(containers.podman("image", "inspect", tag, "--format", "{{.Size}}").stdout) / 1e6


def bench_images(workdir: Path, runs: int) -> dict[str, list[float]]:
    ours = render(workdir / "image-ours")
    images = containers.ensure_containerfile_images(ours)
    naive = render(workdir / "image-naive")
    locked = locked_requirements(naive)
    (naive / "requirements.txt").write_text(
        "".join(f"{name}=={locked[name]}\n" for name in sorted(RUNTIME_PACKAGES & set(locked))))
    (naive / "Dockerfile").write_text(NAIVE_DOCKERFILE.format(base=images["BASE_IMAGE"]))

    def build_ours() -> None:
        containers.podman("build", *BUILD_OPTIONS, "-f", "Containerfile", "--target", "app",
                          "-t", "localhost/bench-ours:latest", str(ours), timeout=900)

    def build_naive() -> None:
        containers.podman("build", *BUILD_OPTIONS, "-f", "Dockerfile",
                          "-t", "localhost/bench-naive:latest", str(naive), timeout=900)

    # Every cache warm first: base layers, uv's cache, the dependency layers.
    build_ours()
    build_naive()
    results: dict[str, list[float]] = {"ours": [], "naive": []}
    for run in range(runs):
        for name, project, build in (("ours", ours, build_ours), ("naive", naive, build_naive)):
            touch_code(project, run)
            started = time.monotonic()
            build()
            results[name].append(time.monotonic() - started)
    results["ours size"] = [image_size("localhost/bench-ours:latest")]
    results["naive size"] = [image_size("localhost/bench-naive:latest")]
    return results
