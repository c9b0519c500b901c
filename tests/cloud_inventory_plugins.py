"""Feed the cloud inventory plugins made-up API answers, offline: run by
tests/test_cloud_inventory.py with the repo venv's python and ANSIBLE_COLLECTIONS_PATH
naming the collections.

Each plugin reads the generated file with its own code (file name, options: types and
choices), then its own code turns the made-up records into hosts, variables and groups,
exactly as after a call to the cloud's API. The calls themselves (credentials, the
server-side filters) are all that is left out: they need the cloud, and the plugins'
Python libraries (boto3, the Azure SDK, google-auth), which are not installed here.

stdin: {"collections": path, "sources": [{"plugin", "path", "records"}]}
stdout: [{"plugin", "named_as_required", "misnamed_refused", "groups", "hostvars",
          "error"}]
"""

import json
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.inventory import BaseInventoryPlugin
from ansible.plugins.loader import init_plugin_loader, inventory_loader


def named_as_required(plugin, path: str) -> bool:
    """verify_file, the plugin's own test of a file's name (azure_rm raises instead of
    returning False)."""
    try:
        return bool(plugin.verify_file(path))
    except Exception:  # any refusal is a refusal
        return False


def populate(name: str, plugin, records: list[dict]) -> None:
    """Hand the records to the plugin where its own API calls would."""
    if name == "amazon.aws.aws_ec2":
        # describe_instances' answers, by the group the plugin puts them in
        plugin._populate({"aws_ec2": records}, plugin.get_option("hostnames"))
    elif name == "azure.azcollection.azure_rm":
        # parse() sets these from the options before it asks Azure
        plugin._filters = (plugin.get_option("exclude_host_filters")
                           + plugin.get_option("default_host_filters"))
        plugin._include_filters = plugin.get_option("include_host_filters")
        plugin._populate([{"default_inventory_hostname": record["default_inventory_hostname"],
                           "hostvars": record} for record in records])
    elif name == "google.cloud.gcp_compute":
        # instances' aggregatedList items
        plugin._add_hosts(records, {})
    else:
        raise ValueError(f"no made-up API for {name}")


def plain(value):
    """Ansible's tagged strings and lists, as JSON."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return str(value)


def run(source: dict, scratch: Path) -> dict:
    name, path = source["plugin"], source["path"]
    result = {"plugin": name, "error": None}
    plugin = inventory_loader.get(name)
    if plugin is None:
        return {**result, "error": f"{name}: no such inventory plugin"}
    result["named_as_required"] = named_as_required(plugin, path)
    misnamed = scratch / "inventory.yml"
    shutil.copy(path, misnamed)
    result["misnamed_refused"] = not named_as_required(inventory_loader.get(name), str(misnamed))
    try:
        inventory = InventoryData()
        # What the plugins' parse() does before it asks the cloud: loader, templar, vars...
        BaseInventoryPlugin.parse(plugin, inventory, DataLoader(), path)
        # ... and its options, read and checked by the plugin's own config definitions.
        plugin._read_config_data(path)
        populate(name, plugin, source["records"])
    except Exception:  # reported to the test, which shows it
        return {**result, "error": traceback.format_exc()}
    result["groups"] = {group: sorted(host.name for host in data.get_hosts())
                        for group, data in inventory.groups.items()}
    result["hostvars"] = {host: plain({k: v for k, v in data.vars.items()
                                       if k in ("ansible_host", "ansible_user")})
                          for host, data in inventory.hosts.items()}
    return result


def main() -> None:
    request = json.load(sys.stdin)
    init_plugin_loader([request["collections"]])
    with tempfile.TemporaryDirectory() as scratch:
        json.dump([run(source, Path(scratch)) for source in request["sources"]], sys.stdout)


if __name__ == "__main__":
    main()
