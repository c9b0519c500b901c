"""The generated project's example cloud inventories (deploy/cloud/: AWS, Azure, Google
Cloud) against the plugins that read them, offline: each file is named as its plugin
requires, names only options the plugin documents, and the plugin's own code puts the
servers tagged <slug>-role in the groups web and db the playbooks act on, with the login
and the address deploy/inventory.ini would give them.

The plugins are those of the `ansible` community package (the collections it bundles),
from its wheel on PyPI: downloaded once into .cache/, only the three collections kept,
run by the repo venv's ansible-core. What needs a cloud is left out: credentials, the
API calls, the filters the cloud applies (tests/cloud_inventory_plugins.py hands each
plugin made-up API answers instead).
"""

import fcntl
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, VENV_BIN, require_tool, run
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

# Ansible 12's collections are the ones released and tested for ansible-core 2.19 (its
# wheel requires ansible-core ~=2.19.5), the version the repo venv and the generated
# project lock (ansible 11 goes with 2.18); test_the_collections_suit_this_ansible_core
# says when a relock moves ansible-core past it.
ANSIBLE_VERSION = "12.3.0"
COLLECTIONS = ("amazon/aws", "azure/azcollection", "google/cloud")
# deploy/cloud/<file> -> the plugin it names
PLUGINS = {"aws_ec2.yml": "amazon.aws.aws_ec2",
           "azure_rm.yml": "azure.azcollection.azure_rm",
           "gcp.yml": "google.cloud.gcp_compute"}
# Every answer the files use: with a database server (db group) and without.
ANSWERS = {"postgresql": {"database": "postgresql", "project_slug": "shop-api",
                          "deploy_user": "ops"},
           "none": {}}


@pytest.fixture(scope="session")
def collections_path() -> Path:
    """ANSIBLE_COLLECTIONS_PATH for the three collections, extracted from the ansible
    wheel on first use (the wheel itself is not kept: 54 MB, of which these are 17)."""
    home = ROOT / ".cache" / f"ansible-{ANSIBLE_VERSION}-collections"
    home.parent.mkdir(parents=True, exist_ok=True)
    # Test workers start at once: one downloads, the others wait for it.
    with open(home.parent / "ansible-collections.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not home.exists():
            with tempfile.TemporaryDirectory(dir=home.parent) as tmp:
                result = subprocess.run(
                    [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                     "--only-binary=:all:", f"ansible=={ANSIBLE_VERSION}", "--dest", tmp],
                    capture_output=True, text=True, timeout=600, check=False)
                assert result.returncode == 0, f"pip download ansible:\n{result.stderr}"
                (wheel,) = Path(tmp).glob("ansible-*.whl")
                staging = Path(tmp) / "collections"
                keep = (f"ansible-{ANSIBLE_VERSION}.dist-info/METADATA",
                        *(f"ansible_collections/{c}/" for c in COLLECTIONS))
                with zipfile.ZipFile(wheel) as archive:
                    archive.extractall(staging, [name for name in archive.namelist()
                                                 if name.startswith(keep)])
                staging.rename(home)
    return home


@pytest.fixture(scope="session")
def plugin_docs(collections_path) -> dict[str, dict]:
    """plugin -> its documented options, as `ansible-doc -t inventory --json` gives them."""
    result = run([str(VENV_BIN / "ansible-doc"), "-t", "inventory", "--json", *PLUGINS.values()],
                 cwd=collections_path, env=ansible_env(collections_path), timeout=120)
    assert result.returncode == 0, result.stderr
    return {name: entry["doc"]["options"] for name, entry in json.loads(result.stdout).items()}


def ansible_env(collections_path: Path) -> dict[str, str]:
    """The collections from the wheel alone: none from ~/.ansible or site-packages."""
    return {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false"}


@pytest.fixture(params=list(ANSWERS), ids=[f"database-{key}" for key in ANSWERS])
def project(request, rendered) -> tuple[dict, Path]:
    answers = ANSWERS[request.param]
    return answers, rendered(**answers)


def cloud_files(project_dir: Path) -> dict[str, dict]:
    files = {path.name: yaml.safe_load(path.read_text())
             for path in sorted((project_dir / "deploy/cloud").iterdir())}
    assert sorted(files) == sorted(PLUGINS)
    return files


def undocumented(config: dict, options: dict, where: str = "") -> list[str]:
    """The keys of config (and of its entries' suboptions) that options lacks, and the
    values not among an option's choices."""
    by_name = {alias: spec for name, spec in options.items()
               for alias in [name, *(spec.get("aliases") or [])]}
    problems = []
    for key, value in config.items():
        spec = by_name.get(key)
        if spec is None:
            problems.append(f"{where}{key}: not an option")
            continue
        values = value if isinstance(value, list) else [value]
        if spec.get("choices"):
            problems += [f"{where}{key}: {item!r} not one of {spec['choices']}"
                         for item in values if item not in spec["choices"]]
        if spec.get("suboptions"):
            for item in values:
                if isinstance(item, dict):
                    problems += undocumented(item, spec["suboptions"], f"{where}{key}.")
    return problems


def test_every_option_is_one_its_plugin_documents(project, plugin_docs):
    _, project_dir = project
    problems = []
    for name, config in cloud_files(project_dir).items():
        assert config["plugin"] == PLUGINS[name]
        # `plugin` picks the plugin (ansible-core's auto plugin reads it): only some
        # plugins list it among their options.
        options = {key: value for key, value in config.items() if key != "plugin"}
        problems += [f"{name}: {p}" for p in undocumented(options, plugin_docs[PLUGINS[name]])]
    assert problems == []


def made_up_records(name: str, role_tag: str, slug: str) -> list[dict]:
    """What the cloud's API would answer for four servers: tagged web, web-db and db,
    and one without the tag (which AWS, filtering on the tag, would not send)."""
    servers = [("web1", "web", 1), ("web2", "web-db", 2), ("db1", "db", 3), ("other", None, 4)]
    records = []
    for server, role, n in servers:
        public, private = f"203.0.113.{n}", f"10.0.0.{n}"
        if name == "aws_ec2.yml" and role:
            records.append({
                "InstanceId": server, "State": {"Name": "running"},
                "Placement": {"AvailabilityZone": "us-east-1a"},
                "PublicIpAddress": public, "PrivateIpAddress": private,
                "Tags": [{"Key": "Name", "Value": server}, {"Key": role_tag, "Value": role}]})
        elif name == "azure_rm.yml":
            records.append({
                "default_inventory_hostname": server, "name": server,
                "tags": {role_tag: role} if role else {"owner": "someone else"},
                "powerstate": "running", "provisioning_state": "succeeded",
                "public_ipv4_address": [public], "private_ipv4_addresses": [private],
                "public_dns_hostnames": [], "resource_group": slug, "location": "westeurope"})
        elif name == "gcp.yml":
            zone = f"https://www.googleapis.com/compute/v1/projects/{slug}/zones/us-east1-b"
            records.append({
                "name": server, "status": "RUNNING", "zone": zone,
                "selfLink": f"{zone}/instances/{server}",
                **({"labels": {role_tag: role}} if role else {}),
                "networkInterfaces": [{"networkIP": private, "accessConfigs": [
                    {"type": "ONE_TO_ONE_NAT", "natIP": public}]}]})
    return records


def test_the_plugins_put_tagged_servers_in_web_and_db(project, collections_path):
    answers, project_dir = project
    slug = answers.get("project_slug", "my-flask-app")
    deploy_user = answers.get("deploy_user", "deploy")
    role_tag = f"{slug}-role"
    files = cloud_files(project_dir)
    request = {"collections": str(collections_path), "sources": [
        {"plugin": PLUGINS[name], "path": str(project_dir / "deploy/cloud" / name),
         "records": made_up_records(name, role_tag, slug)} for name in files]}
    driver = ROOT / "tests" / "cloud_inventory_plugins.py"
    result = subprocess.run([str(VENV_BIN / "python"), str(driver)], input=json.dumps(request),
                            capture_output=True, text=True, env=ansible_env(collections_path),
                            cwd=project_dir, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    postgresql = answers.get("database") == "postgresql"
    for name, outcome in zip(files, json.loads(result.stdout), strict=True):
        assert outcome["error"] is None, f"{name}:\n{outcome['error']}"
        assert outcome["named_as_required"], name
        assert outcome["misnamed_refused"], name
        groups = outcome["groups"]
        assert groups["web"] == ["web1", "web2"], name
        if postgresql:
            assert groups["db"] == ["db1", "web2"], name
        else:
            assert "db" not in groups, name
        # As deploy/inventory.ini: the deploy user, and an address to reach each server.
        for server in {*groups["web"], *groups.get("db", [])}:
            number = {"web1": 1, "web2": 2, "db1": 3}[server]
            assert outcome["hostvars"][server] == {
                "ansible_user": deploy_user, "ansible_host": f"203.0.113.{number}"}, name
        # The untagged server is in neither group (above); Azure's filter leaves it out.
        if name == "azure_rm.yml":
            assert "other" not in outcome["hostvars"]
    # What only the cloud applies: AWS sends running instances with the tag alone.
    assert files["aws_ec2.yml"]["filters"] == {"instance-state-name": "running",
                                               "tag-key": role_tag}
    assert files["gcp.yml"]["filters"] == ["status = RUNNING"]


def test_the_files_pass_yamllint_as_make_lint_runs_it(project):
    _, project_dir = project
    yamllint = require_tool("yamllint", "yamllint (PyPI: part of the test dependencies)")
    result = run([yamllint, "--strict", "-c", ".yamllint", "deploy/cloud"], cwd=project_dir)
    assert result.returncode == 0, result.stdout


def test_the_collections_suit_this_ansible_core(collections_path):
    core = version("ansible-core")
    metadata = (collections_path / f"ansible-{ANSIBLE_VERSION}.dist-info/METADATA").read_text()
    (required,) = [Requirement(line.removeprefix("Requires-Dist: "))
                   for line in metadata.splitlines()
                   if line.startswith("Requires-Dist: ansible-core")]
    assert required.specifier.contains(core), (
        f"ansible {ANSIBLE_VERSION} wants ansible-core{required.specifier}, the venv has "
        f"{core}: set ANSIBLE_VERSION to the ansible release for it")
    for collection in COLLECTIONS:
        runtime_yml = collections_path / "ansible_collections" / collection / "meta/runtime.yml"
        runtime = yaml.safe_load(runtime_yml.read_text())
        assert SpecifierSet(runtime["requires_ansible"]).contains(core), collection
