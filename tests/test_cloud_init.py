"""`make cloud-init`: the user-data a new cloud server boots with.

The script runs as `make cloud-init` runs it (the project's scripts/cloud_init.py), with
HOME in a scratch directory holding the keys each test needs; cloud-init's own schema
check (Debian's cloud-init package) reads the result. That a server booted with it
takes `make provision` is test_cloud_server.py's part.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import require_tool

PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKHqH4pzCEyd3Yx0yQ5tT2m7XAUxRnVjTbsyEdqXnNXu"
              " you@laptop")


@pytest.fixture
def home(tmp_path) -> Path:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    return home


def cloud_init(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The venv's python as the Makefile's $(BIN)/python: it has PyYAML (ansible-core's).
    return subprocess.run([sys.executable, "scripts/cloud_init.py", *args], cwd=project,
                          env={**os.environ, "HOME": str(home)}, capture_output=True,
                          text=True, check=False)


def written(project: Path, result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    text = (project / result.stdout.strip()).read_text()
    assert text.startswith("#cloud-config\n")
    return yaml.safe_load(text)


def test_the_user_data_passes_cloud_inits_schema_and_makes_the_deploy_user(rendered, home):
    project = rendered(deploy_user="ops")
    (home / ".ssh/id_ed25519.pub").write_text(PUBLIC_KEY + "\n")
    result = cloud_init(project, home)
    user_data = written(project, result)
    assert result.stdout.strip() == "build/user-data.yaml"
    require_tool("cloud-init", "cloud-init")
    for path in ("deploy/cloud-init.yaml", "build/user-data.yaml"):
        schema = subprocess.run(["cloud-init", "schema", "--config-file", path], cwd=project,
                                capture_output=True, text=True, check=False)
        assert schema.returncode == 0, f"{path}: {schema.stdout}{schema.stderr}"
        assert schema.stdout == f"Valid cloud-config: {path}\n"
        # A deprecated key works today and stops working in a later cloud-init.
        assert "deprecat" not in schema.stderr.lower(), schema.stderr
    [user] = user_data["users"]
    assert user["name"] == "ops"
    assert user["ssh_authorized_keys"] == [PUBLIC_KEY]
    assert user["sudo"] == "ALL=(ALL) NOPASSWD:ALL"
    assert user["lock_passwd"] is True
    assert user_data["ssh_pwauth"] is False and user_data["disable_root"] is True
    assert user_data["packages"] == ["python3"]
    # The provider names the server unless SERVER= does.
    assert "hostname" not in user_data


def test_the_rsa_key_is_taken_when_there_is_no_ed25519_one(rendered, home):
    project = rendered()
    rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 old@desktop"
    (home / ".ssh/id_rsa.pub").write_text(rsa + "\n")
    assert written(project, cloud_init(project, home))["users"][0]["ssh_authorized_keys"] == [rsa]


def test_server_sets_the_hostname_and_fqdn_in_a_file_of_its_own(rendered, home):
    project = rendered()
    key = home / "deploy-key.pub"
    key.write_text(PUBLIC_KEY)
    result = cloud_init(project, home, "--key", str(key), "--server", "web2.example.net")
    user_data = written(project, result)
    assert result.stdout.strip() == "build/user-data-web2.example.net.yaml"
    assert (user_data["hostname"], user_data["fqdn"]) == ("web2", "web2.example.net")
    assert user_data["manage_etc_hosts"] is True
    assert "fqdn" not in written(project, cloud_init(project, home, "--key", str(key),
                                                     "--server", "web3"))


@pytest.mark.parametrize(("args", "key_file", "message"), [
    ([], None, "no public key in ~/.ssh/id_ed25519.pub or ~/.ssh/id_rsa.pub: give one with KEY="),
    (["--key", "missing.pub"], None, "no file missing.pub"),
    # The private half of a key pair: it must never reach user-data.
    (["--key", "{home}/.ssh/id_ed25519"],
     "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
     "-----END OPENSSH PRIVATE KEY-----\n",
     "is a private key, which must never leave your machine: give its public half"),
    (["--key", "{home}/.ssh/id_ed25519"], PUBLIC_KEY + "\nssh-rsa AAAAB3 second\n",
     "is not one OpenSSH public key line"),
    (["--key", "{home}/.ssh/id_ed25519"], "ssh-ed25519 AAAA\n#cloud-config\nruncmd: [reboot]\n",
     "is not one OpenSSH public key line"),
    (["--server", "web1; reboot"], PUBLIC_KEY, "SERVER=web1; reboot: use a hostname like web1"),
    (["--server=-web1"], PUBLIC_KEY, "use a hostname like web1"),
    (["--server", "Web_1"], PUBLIC_KEY, "use a hostname like web1"),
])
def test_a_missing_or_wrong_key_or_name_is_refused_and_nothing_written(
        rendered, home, tmp_path, args, key_file, message):
    # A copy of its own: the other tests write build/ in the shared one.
    project = Path(shutil.copytree(rendered(), tmp_path / "project",
                                   ignore=shutil.ignore_patterns("build")))
    if key_file:
        (home / ".ssh/id_ed25519").write_text(key_file)
        (home / ".ssh/id_ed25519.pub").write_text(key_file)
    result = cloud_init(project, home, *[arg.format(home=home) for arg in args])
    assert result.returncode == 1
    assert result.stderr.startswith("make cloud-init: ")
    assert message in result.stderr, result.stderr
    assert not (project / "build").exists()
