#!/bin/sh
# Create (or bring up to date) the virtual environment with exactly the locked
# dependencies. Safe to re-run. The fastest way available is taken, and named:
#   1. uv from PATH: `uv sync --locked` (about 0.4 s with a warm cache);
#   2. the venv's own uv, left there by an earlier bootstrap (uv is a locked dev
#      dependency, so every path below installs it);
#   3. no uv yet: python -m venv, pip installs the locked uv (hash-checked), then that
#      uv syncs the lock (about 3 s);
#   4. pip alone, with requirements-dev.txt (the same lock exported with hashes), when
#      uv cannot be installed on this machine (about 10 s; uv too, where it has a wheel).
#
# Environment: VENV (default .venv), PYTHON (the interpreter to build it with),
# BOOTSTRAP_NO_UV=1 to ignore a uv on PATH, BOOTSTRAP_PIP_ONLY=1 to use pip alone.
set -eu

MIN_PYTHON="{{ cookiecutter.python_version }}"
VENV="${VENV:-.venv}"
{% if cookiecutter.app_server == 'mod_wsgi' %}
# mod_wsgi embeds Debian's python3, so the venv must be made by that same interpreter.
PYTHON="${PYTHON:-/usr/bin/python3}"
{% else %}
PYTHON="${PYTHON:-python3}"
{% endif %}
UV_HINT="install uv for bootstraps in under a second: https://docs.astral.sh/uv/getting-started/installation/"

die() {
    printf 'bootstrap: %s\n' "$*" >&2
    exit 1
}

cd "$(dirname "$0")/.."

command -v "$PYTHON" >/dev/null 2>&1 ||
    die "$PYTHON not found. Install Python >= $MIN_PYTHON (Debian/Ubuntu: sudo apt-get install python3 python3-venv) or set PYTHON=/path/to/python3"

"$PYTHON" scripts/check_python.py "$MIN_PYTHON" >/dev/null ||
    die "set PYTHON=/path/to/python$MIN_PYTHON (or newer)"

uv_sync() { # $1: the uv to run
    UV_PROJECT_ENVIRONMENT="$VENV" "$1" sync --locked --python "$PYTHON"
}
pip_install() {
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}

if [ -z "${BOOTSTRAP_PIP_ONLY:-}" ]; then
    if [ -z "${BOOTSTRAP_NO_UV:-}" ] && command -v uv >/dev/null 2>&1; then
        echo "bootstrap: uv sync into $VENV (uv from PATH)"
        uv_sync uv
        exit 0
    fi
    if "$VENV/bin/uv" --version >/dev/null 2>&1; then
        echo "bootstrap: uv sync into $VENV (the uv in $VENV; $UV_HINT)"
        uv_sync "$VENV/bin/uv"
        exit 0
    fi
fi

# A venv whose interpreter no longer runs (Python upgraded or removed), or that has no
# pip (made while python3-venv was missing), is rebuilt.
if [ -e "$VENV" ] && ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    echo "bootstrap: $VENV is broken, recreating it"
    rm -rf "$VENV"
fi
if [ ! -e "$VENV" ]; then
    echo "bootstrap: creating $VENV with $PYTHON -m venv"
    if ! "$PYTHON" -m venv "$VENV"; then
        rm -rf "$VENV"
        die "could not create $VENV. Debian/Ubuntu: sudo apt-get install python3-venv"
    fi
fi

# requirements-dev.txt split in two: the uv requirement with its hashes, and the rest.
uv_requirement=$(mktemp)
other_requirements=$(mktemp)
trap 'rm -f "$uv_requirement" "$other_requirements"' EXIT
awk -v uv="$uv_requirement" -v rest="$other_requirements" '
    /^[^ #]/ { in_uv = /^uv==/ }
    { print > (in_uv ? uv : rest) }' requirements-dev.txt

if [ -z "${BOOTSTRAP_PIP_ONLY:-}" ]; then
    echo "bootstrap: uv not found: pip installs the locked uv into $VENV, then uv syncs ($UV_HINT)"
    # --only-binary: where uv has no wheel, pip would try to compile it (Rust) instead.
    if pip_install --only-binary uv --require-hashes -r "$uv_requirement" &&
        "$VENV/bin/uv" --version >/dev/null 2>&1; then
        uv_sync "$VENV/bin/uv"
        exit 0
    fi
    echo "bootstrap: pip could not install uv (see above); trying pip alone" >&2
fi

echo "bootstrap: pip install -r requirements-dev.txt into $VENV (slower; $UV_HINT)"
pip_install --require-hashes -r "$other_requirements"
pip_install --no-deps --editable .
if ! "$VENV/bin/uv" --version >/dev/null 2>&1 &&
    ! pip_install --only-binary uv --require-hashes -r "$uv_requirement"; then
    echo "bootstrap: $VENV has no uv: make lock and make deploy need one ($UV_HINT)" >&2
fi
