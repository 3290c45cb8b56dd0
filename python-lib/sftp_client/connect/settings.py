"""Validated, immutable settings built once from the raw DSS config dicts.

``service_from_config(raw, plugin_config=...)`` turns the "SFTP Services" preset
dict (or the same fields defined inline) into a ``ServiceSettings``, enforcing the
administrators' policy (``policy.py``) read from the plugin config (the recipes' options are
``sync/options.py``'s). Errors name the field's label as DSS shows it and say what to
do; reprs and messages never contain a secret.
"""
import ipaddress
import posixpath
import re
from typing import NamedTuple, Tuple

from sftp_client.connect import policy as policy_mod
from sftp_client.connect.credentials import (  # noqa: F401 (the form's choices, re-exported)
    AUTH_METHODS, HOST_KEY_CHECKS, AuthSettings, HostKeySettings, read_auth, read_host_key)
from sftp_client.errors import ConfigError
from sftp_client.connect.fields import boolean_param, choice_param, integer_param, text_param
from sftp_client.redact import mask

#: Labels of the preset's fields, as in parameter-sets/sftp-services/parameter-set.json.
LABELS = {
    "sftp_service": "SFTP service",
    "description": "Description",
    "hostname": "Hostname",
    "port": "Port",
    "root_path": "Root path",
    "username": "Username",
    "auth_method": "Authentication method",
    "password": "Password",
    "private_key_path": "Private key path",
    "private_key": "Private key",
    "private_key_passphrase": "Private key passphrase",
    "host_key_check": "Host key verification",
    "host_key": "Host key",
    "known_hosts_path": "known_hosts file",
    "proxy_type": "Proxy type",
    "proxy_hostname": "Proxy hostname",
    "proxy_port": "Proxy port",
    "proxy_user": "Proxy user",
    "proxy_password": "Proxy password",
    "proxy_remote_dns": "Proxy resolves hostnames",
    "timeout": "Timeout (seconds)",
}

#: Labels of the recipes' options, as in custom-recipes/*/recipe.json.
PROXY_TYPES = ("none", "http", "socks5", "socks4")
DEFAULT_PORT = 22
DEFAULT_TIMEOUT = 30
MAX_TIMEOUT = 3600

_HOSTNAME_RE = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")


class ProxySettings(NamedTuple):
    kind: str                  # none / http / socks5 / socks4
    hostname: str = ""
    port: int = 0
    user: str = ""             # empty: no proxy authentication
    password: str = ""
    remote_dns: bool = True

    def __repr__(self):
        return ("ProxySettings(kind=%r, hostname=%r, port=%r, user=%r, password=%s, "
                "remote_dns=%r)" % (self.kind, self.hostname, self.port, self.user,
                                    mask(self.password), self.remote_dns))


class ServiceSettings(NamedTuple):
    hostname: str
    port: int
    root_path: str
    auth: AuthSettings
    host_key: HostKeySettings
    proxy: ProxySettings
    timeout: int
    description: str = ""
    secrets: Tuple[str, ...] = ()

    def __repr__(self):
        return ("ServiceSettings(hostname=%r, port=%r, root_path=%r, auth=%r, "
                "host_key=%r, proxy=%r, timeout=%r)" % (
                    self.hostname, self.port, self.root_path, self.auth,
                    self.host_key, self.proxy, self.timeout))

    def display_name(self):
        """``user@host:port`` for log lines and messages."""
        return "%s@%s:%d" % (self.auth.username, self.hostname, self.port)


def _text(raw, name, default=""):
    return text_param(raw, name, default, LABELS)


def _choice(raw, name, choices, default):
    return choice_param(raw, name, choices, default, LABELS)


def _boolean(raw, name, default):
    return boolean_param(raw, name, default, LABELS)


def _integer(raw, name, default, low, high):
    return integer_param(raw, name, default, low, high, label=LABELS.get(name, name))


def _hostname(raw, name, required=True):
    label = LABELS[name]
    value = _text(raw, name).strip()
    if not value:
        if required:
            raise ConfigError(label, "is required: the server's name or IP address, "
                                     "e.g. sftp.example.com.")
        return ""
    if "://" in value:
        raise ConfigError(label, "remove the protocol prefix ('%s://'): give only the "
                                 "name or IP address." % value.split("://", 1)[0])
    if "@" in value:
        raise ConfigError(label, "give only the host name; put the user name in its "
                                 "own field.")
    bare = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    if ":" in value or "/" in value:
        raise ConfigError(label, "give only the host name, without port or path "
                                 "(the port has its own field).")
    if not _HOSTNAME_RE.match(value):
        raise ConfigError(label, "%r is not a valid host name." % value)
    return value


def _root_path(raw):
    value = _text(raw, "root_path", "/").strip() or "/"
    if "\x00" in value:
        raise ConfigError(LABELS["root_path"], "contains a NUL character.")
    if ".." in value.split("/"):
        raise ConfigError(LABELS["root_path"], "must not contain '..'.")
    if not value.startswith("/"):
        # A relative path would silently depend on the account's home directory.
        raise ConfigError(LABELS["root_path"], "must be absolute, e.g. /srv/exchange "
                                               "(or / for the whole server).")
    return posixpath.normpath(value) if value != "/" else "/"


def _proxy(raw):
    kind = _choice(raw, "proxy_type", PROXY_TYPES, "none")
    if kind == "none":
        return ProxySettings(kind=kind)
    hostname = _hostname(raw, "proxy_hostname", required=False)
    if not hostname:
        raise ConfigError(LABELS["proxy_hostname"], "is required when a proxy type is "
                                                    "chosen (or set 'Proxy type' to none).")
    port = _integer(raw, "proxy_port", None, 1, 65535)
    if port is None:
        raise ConfigError(LABELS["proxy_port"], "is required when a proxy type is "
                                                "chosen, e.g. 1080 or 3128.")
    user = _text(raw, "proxy_user").strip()
    password = _text(raw, "proxy_password") if user else ""
    return ProxySettings(kind=kind, hostname=hostname, port=port, user=user,
                         password=password,
                         remote_dns=_boolean(raw, "proxy_remote_dns", True))


def is_preset_reference(raw):
    """Whether ``raw`` is a preset reference (``{"mode": "PRESET", "name": ...}``)
    rather than the preset's resolved fields."""
    return isinstance(raw, dict) and str(raw.get("mode", "")).upper() == "PRESET" \
        and not raw.get("hostname")


def _unresolved_preset(raw, label):
    """DSS stores a chosen preset as ``{"mode": "PRESET", "name": ...}`` and hands the
    resolved fields to the code; the reference itself arriving means DSS could not
    resolve it."""
    name = raw.get("name")
    raise ConfigError(label, "the preset %r could not be resolved: it may have been "
                             "deleted or renamed, or you may not be allowed to use it. "
                             "Pick another preset, or ask its owner or an administrator "
                             "to share it." % (name if isinstance(name, str) else "?"))


def service_from_config(raw, field="sftp_service", plugin_config=None):
    """Validate the preset (or inline) dict into ``ServiceSettings``.

    ``plugin_config``: the plugin-level settings dict DSS passes (or a
    ``PluginPolicy``); None applies the secure defaults.
    """
    label = LABELS.get(field, field)
    policy = policy_mod.policy_from_plugin_config(plugin_config)
    if is_preset_reference(raw):
        _unresolved_preset(raw, label)
    if not isinstance(raw, dict) or not any(raw.get(k) for k in ("hostname", "username")):
        raise ConfigError(label, "no SFTP service selected: pick a preset or define the "
                                 "service inline.")
    hostname = _hostname(raw, "hostname")
    policy_mod.check_host(policy, hostname, LABELS["hostname"])
    port = _integer(raw, "port", DEFAULT_PORT, 1, 65535)
    root_path = _root_path(raw)
    auth = read_auth(raw, policy, LABELS)
    host_key = read_host_key(raw, policy, LABELS)
    proxy = _proxy(raw)
    secrets = tuple(s for s in (auth.password, _text(raw, "private_key"),
                                _text(raw, "private_key_passphrase"),
                                _text(raw, "proxy_password")) if s)
    return ServiceSettings(
        hostname=hostname, port=port, root_path=root_path, auth=auth,
        host_key=host_key, proxy=proxy,
        timeout=_integer(raw, "timeout", DEFAULT_TIMEOUT, 1, MAX_TIMEOUT),
        description=_text(raw, "description"), secrets=secrets)
