"""policy.py: the administrators' plugin-level settings, enforced by service_from_config.

Secure defaults when no plugin config is given; key and known_hosts files only from
allowed directories (resolved paths: no way out through '..' or symbolic links);
'None' host key checks only when allowed; hosts only from the allowed list.
"""
import json
import os
import subprocess

import pytest

from sftp_client.errors import ConfigError
from sftp_client.connect.policy import POLICY_LABELS, PluginPolicy, policy_from_plugin_config
from sftp_client.connect.settings import LABELS, service_from_config

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
FINGERPRINT = "SHA256:" + "A" * 43
SECRET = "Sup3r-Secret-Pw"


def raw(**overrides):
    base = {"hostname": "sftp.example.com", "port": 22, "username": "dss",
            "auth_method": "password", "password": SECRET,
            "host_key_check": "fingerprint", "host_key": FINGERPRINT}
    base.update(overrides)
    return base


def refused(service, plugin_config=None):
    with pytest.raises(ConfigError) as info:
        service_from_config(service, plugin_config=plugin_config)
    assert SECRET not in str(info.value)
    return info.value


@pytest.fixture(scope="module")
def key_tree(tmp_path_factory):
    """allowed/id_ed25519, outside/id_ed25519, allowed/link -> outside key,
    allowed/known_hosts, and a symbolic link to the allowed directory."""
    base = tmp_path_factory.mktemp("policy")
    made = {}
    for where in ("allowed", "outside"):
        (base / where).mkdir()
        path = str(base / where / "id_ed25519")
        subprocess.check_call(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "t",
                               "-f", path])
        made[where] = path
    os.symlink(made["outside"], str(base / "allowed" / "link"))
    os.symlink(str(base / "allowed"), str(base / "alias"))
    (base / "allowed" / "known_hosts").write_text(
        "[sftp.example.com]:22 " + open(made["allowed"] + ".pub").read())
    made["base"] = str(base)
    made["dir"] = str(base / "allowed")
    return made


def key_from(path):
    return raw(auth_method="private_key", password="", private_key_path=path)


def test_plugin_json_declares_the_settings_with_secure_defaults():
    with open(os.path.join(PROJECT, "plugin.json")) as f:
        params = dict((p["name"], p) for p in json.load(f)["params"] if "name" in p)
    assert params["allow_no_host_key_check"]["type"] == "BOOLEAN"
    assert params["allow_no_host_key_check"]["defaultValue"] is False
    assert params["allowed_key_directories"]["type"] == "STRINGS"
    assert params["allowed_hosts"]["type"] == "STRINGS"
    for name, param in params.items():
        assert param["label"] == POLICY_LABELS[name]
        assert "defaultValue" not in param or param["defaultValue"] in (False, [])


@pytest.mark.parametrize("plugin_config", [None, {}, {"allowed_hosts": []}])
def test_defaults_are_the_secure_ones(plugin_config):
    assert policy_from_plugin_config(plugin_config) == PluginPolicy()
    error = refused(raw(host_key_check="none", host_key=""), plugin_config)
    assert error.field == LABELS["host_key_check"]
    assert "Allow services without host key verification" in str(error)
    assert "allow_no_host_key_check" in str(error)


def test_no_host_key_check_when_the_admin_allows_it():
    service = service_from_config(raw(host_key_check="none", host_key=""),
                                  plugin_config={"allow_no_host_key_check": True})
    assert service.host_key.mode == "none"


def test_key_path_refused_without_allowed_directories(key_tree):
    error = refused(key_from(key_tree["allowed"]))
    assert error.field == LABELS["private_key_path"]
    assert "Allowed key directories" in str(error) and "Private key" in str(error)


def test_known_hosts_path_refused_without_allowed_directories(key_tree):
    error = refused(raw(host_key_check="known_hosts",
                        known_hosts_path=os.path.join(key_tree["dir"], "known_hosts")))
    assert error.field == LABELS["known_hosts_path"]
    assert "Allowed key directories" in str(error) and "Host key" in str(error)


def test_pasted_key_needs_no_directory(key_tree):
    with open(key_tree["outside"]) as f:
        text = f.read()
    service = service_from_config(raw(auth_method="private_key", private_key=text))
    assert service.auth.key_source == "pasted key"


def test_files_inside_an_allowed_directory_are_read(key_tree):
    policy = {"allowed_key_directories": [key_tree["dir"]]}
    service = service_from_config(key_from(key_tree["allowed"]), plugin_config=policy)
    assert service.auth.private_key is not None
    known = os.path.join(key_tree["dir"], "known_hosts")
    service = service_from_config(raw(host_key_check="known_hosts", known_hosts_path=known),
                                  plugin_config=policy)
    assert service.host_key.known_hosts_path == os.path.realpath(known)


def test_an_allowed_directory_given_through_a_symbolic_link(key_tree):
    alias = os.path.join(key_tree["base"], "alias")
    policy = {"allowed_key_directories": [alias]}
    service_from_config(key_from(os.path.join(alias, "id_ed25519")), plugin_config=policy)
    service_from_config(key_from(key_tree["allowed"]), plugin_config=policy)


@pytest.mark.parametrize("escape", ["dotdot", "symlink", "outside", "prefix"])
def test_no_way_out_of_the_allowed_directories(key_tree, escape):
    directory = key_tree["dir"]
    path = {"dotdot": os.path.join(directory, "..", "outside", "id_ed25519"),
            "symlink": os.path.join(directory, "link"),
            "outside": key_tree["outside"],
            # /x/allowed is not a parent of /x/allowed-not: compared by path component
            "prefix": directory + "-not/id_ed25519"}[escape]
    error = refused(key_from(path), {"allowed_key_directories": [directory]})
    assert error.field == LABELS["private_key_path"]
    assert "outside the directories" in str(error)


def test_relative_allowed_directory_is_a_plugin_settings_error():
    error = refused(raw(), {"allowed_key_directories": ["keys"]})
    assert error.field == "Allowed key directories" and "absolute" in str(error)


@pytest.mark.parametrize("hostname, allowed", [
    ("sftp.example.com", ["sftp.example.com"]),
    ("SFTP.Example.com", ["sftp.example.com"]),
    ("a.partner.example", ["other", "*.partner.example"]),
    ("10.20.3.4", ["10.20.0.0/16"]),
    ("10.20.3.4", ["10.20.3.*"]),
])
def test_allowed_hosts_match_names_patterns_and_networks(hostname, allowed):
    service = service_from_config(raw(hostname=hostname),
                                  plugin_config={"allowed_hosts": allowed})
    assert service.hostname == hostname


@pytest.mark.parametrize("hostname", ["evil.example.com", "10.21.0.1", "partner.example"])
def test_hosts_outside_the_list_are_refused(hostname):
    error = refused(raw(hostname=hostname),
                    {"allowed_hosts": ["sftp.example.com", "*.partner.example",
                                       "10.20.0.0/16"]})
    assert error.field == LABELS["hostname"]
    assert hostname in str(error) and "Allowed SFTP hosts" in str(error)


def test_unresolved_preset_reference_names_the_preset():
    error = refused({"mode": "PRESET", "name": "prod-sftp"})
    assert error.field == "SFTP service"
    assert "'prod-sftp'" in str(error) and "could not be resolved" in str(error)


def test_policy_record_passes_through():
    policy = PluginPolicy(allow_no_host_key_check=True)
    assert policy_from_plugin_config(policy) is policy
    service_from_config(raw(host_key_check="none"), plugin_config=policy)
