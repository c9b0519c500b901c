#!/bin/sh
# Install the Debian packages listed in tests/apt-packages.txt that are missing.
# Needs root (or sudo); does nothing when everything is already installed.
set -eu
cd "$(dirname "$0")/.."

missing=$(grep -v '^#' tests/apt-packages.txt | while read -r package; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        printf ' %s' "$package"
done)
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "install-test-deps: need root to install:$missing" >&2
    exit 1
fi
echo "install-test-deps: installing$missing"
$sudo apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
