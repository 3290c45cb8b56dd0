"""settings.service_from_config: the raw preset dict DSS passes, validated once.

Each invalid case checks that the message names the field (by its DSS label),
says what to do, and contains no secret.
"""
import json
import os
import subprocess

import pytest

from sftp_client.connect import settings as settings_mod
from sftp_client.sync import options as sync_options_mod
from sftp_client.errors import ConfigError
from sftp_client.connect.settings import LABELS, service_from_config
from sftp_client.sync.options import sync_options_from_config

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SECRETS = ("Sup3r-Secret-Pw", "Pr0xy-Secret-Pw", "k3y-Secret-Pass")
FINGERPRINT = "SHA256:" + "A" * 43
# Key files from anywhere and 'None' host key checks allowed: these tests are about the
# fields themselves (the policy's own tests are in test_policy.py).
PERMISSIVE = {"allow_no_host_key_check": True, "allowed_key_directories": ["/"]}


def raw(**overrides):
    base = {"hostname": "sftp.example.com", "port": 22.0, "root_path": "/data",
            "username": "dss", "auth_method": "password", "password": SECRETS[0],
            "host_key_check": "fingerprint", "host_key": FINGERPRINT,
            "proxy_type": "none", "timeout": 30}
    base.update(overrides)
    return base


def refused(**overrides):
    with pytest.raises(ConfigError) as info:
        service_from_config(raw(**overrides), plugin_config=PERMISSIVE)
    message = str(info.value)
    for secret in SECRETS:
        assert secret not in message
    return info.value


@pytest.fixture(scope="module")
def key_files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("keys")
    made = {}
    for name, args in (("ed25519", ["-t", "ed25519", "-N", ""]),
                       ("ed25519_enc", ["-t", "ed25519", "-N", SECRETS[2]]),
                       ("rsa_pem", ["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", ""]),
                       ("rsa_pem_enc", ["-t", "rsa", "-b", "2048", "-m", "PEM",
                                        "-N", SECRETS[2]]),
                       ("ecdsa_pem", ["-t", "ecdsa", "-m", "PEM", "-N", ""]),
                       ("rsa_pkcs8_enc", ["-t", "rsa", "-b", "2048", "-m", "PKCS8",
                                          "-N", SECRETS[2]])):
        path = str(directory / name)
        subprocess.check_call(["ssh-keygen", "-q", "-f", path, "-C", "test"] + args)
        made[name] = path
    return made


def test_labels_match_the_parameter_set():
    with open(os.path.join(PROJECT, "parameter-sets/sftp-services/parameter-set.json")) as f:
        params = json.load(f)["params"]
    labels = dict((p["name"], p["label"]) for p in params if p.get("name"))
    for name, label in labels.items():
        assert LABELS[name] == label, name


def test_valid_password_preset_with_float_port():
    service = service_from_config(raw(port=2222.0, timeout="15"))
    assert service.port == 2222 and service.timeout == 15
    assert service.hostname == "sftp.example.com" and service.root_path == "/data"
    assert service.auth.method == "password"
    assert service.host_key.fingerprint == FINGERPRINT


def test_defaults_apply_to_fields_never_touched():
    service = service_from_config({"hostname": "h", "username": "u",
                                   "password": SECRETS[0]})
    assert service.port == 22 and service.timeout == 30 and service.root_path == "/"
    assert service.host_key.mode == "fingerprint" and service.proxy.kind == "none"


def test_repr_hides_every_secret(key_files):
    service = service_from_config(raw(
        auth_method="private_key", private_key_path=key_files["ed25519_enc"],
        private_key_passphrase=SECRETS[2], proxy_type="socks5", proxy_hostname="p",
        proxy_port=1080, proxy_user="u", proxy_password=SECRETS[1]),
        plugin_config=PERMISSIVE)
    text = repr(service)
    for secret in SECRETS:
        assert secret not in text
    assert "******" in text


@pytest.mark.parametrize("value", [None, {}, "", {"description": "x"}])
def test_no_service_selected(value):
    with pytest.raises(ConfigError) as info:
        service_from_config(value)
    assert "no SFTP service selected" in str(info.value)


@pytest.mark.parametrize("overrides, field, words", [
    ({"hostname": ""}, "Hostname", "required"),
    ({"hostname": "sftp://files.example.com"}, "Hostname", "protocol prefix"),
    ({"hostname": "files.example.com:22"}, "Hostname", "without port"),
    ({"hostname": "me@files"}, "Hostname", "user name"),
    ({"port": 0}, "Port", "between 1 and 65535"),
    ({"port": 70000}, "Port", "between 1 and 65535"),
    ({"port": 22.5}, "Port", "whole number"),
    ({"port": "ssh"}, "Port", "whole number"),
    ({"username": ""}, "Username", "required"),
    ({"password": ""}, "Password", "required"),
    ({"auth_method": "kerberos"}, "Authentication method", "one of"),
    ({"root_path": "/data/../etc"}, "Root path", ".."),
    ({"root_path": "data"}, "Root path", "must be absolute, e.g. /srv/exchange"),
    ({"root_path": "~/exchange"}, "Root path", "must be absolute"),
    ({"proxy_type": "socks5"}, "Proxy hostname", "required"),
    ({"proxy_type": "http", "proxy_hostname": "proxy"}, "Proxy port", "required"),
    ({"proxy_type": "http", "proxy_hostname": "http://proxy", "proxy_port": 3128},
     "Proxy hostname", "protocol prefix"),
    ({"proxy_type": "ftp"}, "Proxy type", "one of"),
    ({"host_key": "SHA256:short"}, "Host key", "43 characters"),
    ({"host_key": "MD5:aa:bb"}, "Host key", "SHA256"),
    ({"host_key": "not a key"}, "Host key", "fingerprint"),
    ({"host_key": "ssh-ed25519 !!notbase64!!"}, "Host key", "base64"),
    ({"host_key_check": "known_hosts"}, "known_hosts file", "required"),
    ({"host_key_check": "known_hosts", "known_hosts_path": "/no/such/file"},
     "known_hosts file", "cannot read"),
    ({"timeout": 0}, "Timeout (seconds)", "between"),
    ({"auth_method": "private_key"}, "Private key path", "needs a key"),
    ({"auth_method": "private_key", "private_key_path": "/no/such/key"},
     "Private key path", "cannot read /no/such/key"),
    ({"auth_method": "private_key", "private_key": "hello"}, "Private key",
     "not a private key"),
])
def test_invalid_settings_name_the_field(overrides, field, words):
    error = refused(**overrides)
    assert error.field == field
    assert words in str(error)
    assert str(error).startswith('Invalid "%s"' % field)


def test_password_field_is_never_echoed_even_when_wrong_type():
    error = refused(port=SECRETS[0])
    assert error.field == "Port"


def test_key_path_and_text_together_are_refused(key_files):
    with open(key_files["ed25519"]) as f:
        text = f.read()
    error = refused(auth_method="private_key", private_key=text,
                    private_key_path=key_files["ed25519"])
    assert "not both" in str(error)
    assert "PRIVATE KEY" not in str(error)


@pytest.mark.parametrize("name, passphrase", [
    ("ed25519", ""), ("rsa_pem", ""), ("ecdsa_pem", ""), ("ed25519_enc", SECRETS[2]),
    ("rsa_pem_enc", SECRETS[2]), ("rsa_pkcs8_enc", SECRETS[2])])
def test_private_keys_load_from_path_and_pasted_text(key_files, name, passphrase):
    from_path = service_from_config(raw(
        auth_method="private_key", private_key_path=key_files[name],
        private_key_passphrase=passphrase), plugin_config=PERMISSIVE)
    with open(key_files[name]) as f:
        text = f.read()
    # A one-line password field turns newlines into spaces: still accepted.
    pasted = service_from_config(raw(
        auth_method="private_key", private_key=text.replace("\n", " "),
        private_key_passphrase=passphrase))
    assert from_path.auth.private_key.asbytes() == pasted.auth.private_key.asbytes()
    assert pasted.auth.key_source == "pasted key"


@pytest.mark.parametrize("name", ["ed25519_enc", "rsa_pem_enc", "rsa_pkcs8_enc"])
def test_encrypted_key_without_passphrase(key_files, name):
    error = refused(auth_method="private_key", private_key_path=key_files[name])
    assert error.field == "Private key path"
    assert "encrypted" in str(error) and "Private key passphrase" in str(error)


@pytest.mark.parametrize("name", ["ed25519_enc", "rsa_pem_enc", "rsa_pkcs8_enc"])
def test_encrypted_key_with_wrong_passphrase(key_files, name):
    error = refused(auth_method="private_key", private_key_path=key_files[name],
                    private_key_passphrase="Wrong-pass-1")
    assert "decrypted" in str(error) and "passphrase" in str(error)
    assert "Wrong-pass-1" not in str(error)


def test_unreadable_key_file(key_files, tmp_path):
    directory = tmp_path / "locked"
    directory.mkdir()
    error = refused(auth_method="private_key",
                    private_key_path=str(directory / "missing_key"))
    assert "readable by the UNIX account running DSS jobs (with user isolation, the " \
           "end user's own account" in str(error)


def test_public_key_line_pins_its_fingerprint_and_type(key_files):
    with open(key_files["ed25519"] + ".pub") as f:
        line = f.read().strip()
    expected = subprocess.check_output(
        ["ssh-keygen", "-lf", key_files["ed25519"] + ".pub"]).decode().split()[1]
    service = service_from_config(raw(host_key=line))
    assert service.host_key.fingerprint == expected
    assert service.host_key.key_type == "ssh-ed25519"
    known_hosts_style = service_from_config(raw(host_key="[host]:2222 " + line))
    assert known_hosts_style.host_key.fingerprint == expected


def test_empty_host_key_is_allowed_and_refused_at_connect_time():
    service = service_from_config(raw(host_key=""))
    assert service.host_key.mode == "fingerprint" and not service.host_key.fingerprint


def test_proxy_without_user_means_no_proxy_authentication():
    service = service_from_config(raw(proxy_type="http", proxy_hostname="proxy",
                                      proxy_port=3128, proxy_password=SECRETS[1]))
    assert service.proxy.user == "" and service.proxy.password == ""
    assert service.proxy.remote_dns is True


def test_ipv6_hostname_is_accepted():
    assert service_from_config(raw(hostname="[::1]")).hostname == "::1"


def test_sync_options_defaults_and_validation():
    options = sync_options_from_config({})
    assert options.workers == 4 and options.on_error == "stop"
    assert options.symlinks == "skip" and options.include == ()
    options = sync_options_from_config({"include_patterns": ["*.csv", " "],
                                        "workers": 2.0, "on_error": "continue"})
    assert options.include == ("*.csv",) and options.workers == 2
    with pytest.raises(ConfigError) as info:
        sync_options_from_config({"workers": 100})
    assert info.value.field == "Parallel transfers"


def test_module_exports_the_contract_names():
    assert set(settings_mod.PROXY_TYPES) == {"none", "http", "socks5", "socks4"}
    assert set(settings_mod.HOST_KEY_CHECKS) == {"fingerprint", "known_hosts", "none"}


def test_encrypted_legacy_pem_pasted_on_one_line(key_files):
    # Proc-Type / DEK-Info headers, with every newline turned into a space by DSS.
    with open(key_files["rsa_pem_enc"]) as f:
        text = f.read()
    assert "Proc-Type: 4,ENCRYPTED" in text and "DEK-Info:" in text
    one_line = text.replace("\n", " ")
    service = service_from_config(raw(auth_method="private_key", private_key=one_line,
                                      private_key_passphrase=SECRETS[2]))
    assert service.auth.private_key.get_name() == "ssh-rsa"
RECIPES = [os.path.join(PROJECT, "custom-recipes", name, "recipe.json") for name in (
    "sftp-python-connector_download-from-sftp", "sftp-python-connector_export-to-sftp")]


def recipe_labels():
    """{param name: {labels the recipes' forms show for it}}."""
    found = {}
    for path in RECIPES:
        with open(path) as handle:
            for param in json.load(handle)["params"]:
                if param.get("name"):
                    found.setdefault(param["name"], set()).add(param["label"])
    return found


def test_sync_option_labels_match_the_recipe_forms():
    labels = recipe_labels()
    for name, label in sync_options_mod.SYNC_LABELS.items():
        assert labels.get(name) == {label}, name


@pytest.mark.parametrize("name, bad", [
    ("include_patterns", 3), ("exclude_patterns", {"a": 1}), ("min_age_seconds", -1),
    ("min_age_seconds", "old"), ("symlinks", "maybe"), ("symlinks", 3),
    ("on_error", "retry"), ("workers", 0), ("workers", 2.5),
])
def test_every_recipe_option_error_names_a_label_of_the_form(name, bad):
    with pytest.raises(ConfigError) as info:
        sync_options_from_config({name: bad})
    assert info.value.field in recipe_labels()[name]
    assert str(info.value).startswith('Invalid "%s"' % info.value.field)
