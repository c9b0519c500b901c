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
# The tests start nginx, apache2 and lighttpd inside their own sandboxes; the packages
# must not start them on this machine's port 80. policy-rc.d (exit 101 = "not allowed")
# is Debian's switch for that, kept only while we install.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
