#!/bin/sh
# Install the Debian packages named as arguments that are missing (with sudo when not
# root); does nothing when all are installed. `make deps` passes tests/apt-packages.txt,
# scripts/demo.sh what generating and running a project needs.
set -eu

missing=$(for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        printf ' %s' "$package"
done)
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "install-debian-packages: need root (or sudo) to install:$missing" >&2
    exit 1
fi
echo "install-debian-packages: installing$missing"
# The tests start nginx, apache2 and lighttpd inside their own sandboxes; the packages
# must not start them on this machine's port 80. policy-rc.d (exit 101 = "not allowed")
# is Debian's switch for that, kept only while we install.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    # Removed however this ends, Ctrl-C included: left behind, it would keep every
    # later package on this machine from starting its service.
    trap '$sudo rm -f "$policy"' EXIT
    trap 'exit 130' INT TERM HUP
fi
$sudo apt-get update -qq
# env: sudo resets the environment, so the variable must be set behind it.
# shellcheck disable=SC2086 # word splitting of the package list is intended
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
