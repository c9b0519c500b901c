#!/bin/sh
# Create (or bring up to date) the virtual environment with exactly the locked
# dependencies. Safe to re-run. Uses uv when it is installed (fast, exact sync with
# uv.lock); otherwise python -m venv + pip with requirements-dev.txt, which is exported
# from the same lock with hashes.
#
# Environment: VENV (default .venv), PYTHON (the interpreter to build it with),
# BOOTSTRAP_NO_UV=1 to force the pip path.
set -eu

MIN_PYTHON="{{ cookiecutter.python_version }}"
VENV="${VENV:-.venv}"
{% if cookiecutter.app_server == 'mod_wsgi' %}
# mod_wsgi embeds Debian's python3, so the venv must be made by that same interpreter.
PYTHON="${PYTHON:-/usr/bin/python3}"
{% else %}
PYTHON="${PYTHON:-python3}"
{% endif %}

die() {
    printf 'bootstrap: %s\n' "$*" >&2
    exit 1
}

cd "$(dirname "$0")/.."

command -v "$PYTHON" >/dev/null 2>&1 ||
    die "$PYTHON not found. Install Python >= $MIN_PYTHON (Debian/Ubuntu: sudo apt-get install python3 python3-venv) or set PYTHON=/path/to/python3"

if ! "$PYTHON" -c 'import sys; want = tuple(map(int, sys.argv[1].split("."))); sys.exit(sys.version_info[:2] < want)' "$MIN_PYTHON"; then
    found=$("$PYTHON" -c 'import platform; print(platform.python_version())')
    die "$PYTHON is Python $found; this project needs >= $MIN_PYTHON. Set PYTHON=/path/to/python$MIN_PYTHON"
fi

if [ -z "${BOOTSTRAP_NO_UV:-}" ] && command -v uv >/dev/null 2>&1; then
    echo "bootstrap: uv sync into $VENV"
    UV_PROJECT_ENVIRONMENT="$VENV" uv sync --locked --python "$PYTHON"
    exit 0
fi

# A venv whose interpreter no longer runs (Python upgraded or removed) is rebuilt.
if [ -e "$VENV" ] && ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
    echo "bootstrap: $VENV is broken, recreating it"
    rm -rf "$VENV"
fi
if [ ! -e "$VENV" ]; then
    echo "bootstrap: creating $VENV with $PYTHON -m venv"
    "$PYTHON" -m venv "$VENV" ||
        die "could not create $VENV. Debian/Ubuntu: sudo apt-get install python3-venv"
fi
echo "bootstrap: pip install -r requirements-dev.txt into $VENV (install uv for faster, exact syncs)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --editable .
