#!/bin/sh
# `make serve` for mod_wsgi: Apache with mod_wsgi on HOST:PORT (default 127.0.0.1:{{ cookiecutter.dev_port }}),
# running the app in a daemon process as the servers do, with deploy/apache/serve-local.conf.
# Needs Debian's apache2 and libapache2-mod-wsgi-py3; no root, nothing enabled system-wide.
set -eu

HOST="${1:-127.0.0.1}"
PORT="${2:-{{ cookiecutter.dev_port }}}"

die() {
    printf 'serve: %s\n' "$*" >&2
    exit 1
}

cd "$(dirname "$0")/.."

[ -x /usr/sbin/apache2 ] ||
    die "apache2 is not installed: sudo apt-get install apache2 libapache2-mod-wsgi-py3"
[ -f /usr/lib/apache2/modules/mod_wsgi.so ] ||
    die "mod_wsgi is not installed: sudo apt-get install libapache2-mod-wsgi-py3"
# mod_wsgi embeds Debian's python3; a venv made by another Python cannot be loaded.
grep -qx 'home = /usr/bin' .venv/pyvenv.cfg ||
    die ".venv was not made by /usr/bin/python3, which mod_wsgi embeds: make clean bootstrap"
[ "$(id -u)" -ne 0 ] ||
    die "Apache refuses to serve pages as root: run make serve as your own user"

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/{{ cookiecutter.project_slug }}-serve.XXXXXX")
trap 'rm -rf "$run_dir"' EXIT
trap 'exit 130' INT TERM

SERVE_HOST="$HOST" SERVE_PORT="$PORT" SERVE_RUN_DIR="$run_dir" SERVE_PROJECT="$(pwd)" \
    /usr/sbin/apache2 -f "$(pwd)/deploy/apache/serve-local.conf" -DFOREGROUND
