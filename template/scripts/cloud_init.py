"""Write a cloud server's user-data: deploy/cloud-init.yaml with your public SSH key.

`make cloud-init` runs this: `python scripts/cloud_init.py [--key PATH] [--server NAME]`.
The key is --key, else the first of ~/.ssh/id_ed25519.pub and ~/.ssh/id_rsa.pub; a
private key is refused, never written into user-data (providers show user-data to
anyone who can read the server's settings). --server sets the hostname (and the FQDN,
for a name with dots). Prints the path written: build/user-data.yaml, or
build/user-data-<server>.yaml.
"""

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "deploy" / "cloud-init.yaml"
DEFAULT_KEYS = ["~/.ssh/id_ed25519.pub", "~/.ssh/id_rsa.pub"]
# One OpenSSH public key line: type, base64 blob, optional comment.
PUBLIC_KEY = re.compile(
    r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com"
    r"|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\n]*)?"
)
# A hostname as RFC 1123 has it: labels of letters, digits and inner hyphens.
LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
HOSTNAME = re.compile(r"(?=.{1,253}$)" + LABEL + r"(\." + LABEL + r")*")


def fail(message: str) -> None:
    sys.exit(f"make cloud-init: {message}")


def public_key(path: str | None) -> str:
    candidates = [path] if path else DEFAULT_KEYS
    for candidate in candidates:
        file = Path(candidate).expanduser()
        if file.is_file():
            break
    else:
        if path:
            fail(f"no file {path}")
        fail(
            f"no public key in {' or '.join(DEFAULT_KEYS)}: give one with KEY=path/to/key.pub, "
            "or make a key pair with ssh-keygen -t ed25519"
        )
    text = file.read_text().strip()
    if "PRIVATE KEY" in text:
        fail(
            f"{file} is a private key, which must never leave your machine: "
            f"give its public half, KEY={file}.pub"
        )
    if not PUBLIC_KEY.fullmatch(text):
        fail(f"{file} is not one OpenSSH public key line (ssh-ed25519 AAAA... comment)")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--key", help="public key file (default: ~/.ssh/id_ed25519.pub, else ~/.ssh/id_rsa.pub)"
    )
    parser.add_argument("--server", help="the server's hostname, e.g. web1 or web1.example.com")
    args = parser.parse_args()

    user_data = yaml.safe_load(SOURCE.read_text())
    user_data["users"][0]["ssh_authorized_keys"] = [public_key(args.key)]
    if args.server:
        if not HOSTNAME.fullmatch(args.server):
            fail(
                f"SERVER={args.server}: use a hostname like web1 or web1.example.com "
                "(lowercase letters, digits, - and dots)"
            )
        user_data["hostname"] = args.server.split(".")[0]
        if "." in args.server:
            user_data["fqdn"] = args.server
        # The name resolves on the server itself (127.0.1.1), so sudo never stalls
        # looking it up.
        user_data["manage_etc_hosts"] = True

    name = f"user-data-{args.server}.yaml" if args.server else "user-data.yaml"
    output = ROOT / "build" / name
    output.parent.mkdir(exist_ok=True)
    output.write_text(
        "#cloud-config\n"
        f"# Written by `make cloud-init` from {SOURCE.relative_to(ROOT)}: edit that file.\n"
        + yaml.safe_dump(user_data, sort_keys=False, width=1000)
    )
    print(output.relative_to(ROOT))


if __name__ == "__main__":
    main()
