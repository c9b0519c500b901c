#!/bin/sh
# The README's first command. On a fresh Debian or Ubuntu machine, as root or as a user
# with sudo: installs what generating and running a project needs (make, git,
# python3-venv), then `make demo` renders a project with the default answers from this
# checkout into build/demo and runs it on http://127.0.0.1:8000/ (Ctrl-C stops it).
# Arguments go to make, e.g. `sh scripts/demo.sh PORT=8080`.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-debian-packages.sh make git python3-venv
exec make demo "$@"
