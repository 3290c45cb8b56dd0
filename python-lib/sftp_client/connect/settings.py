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
from typing import NamedTuple, Optional, Tuple

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
    "jump_hostname": "Jump host",
    "jump_port": "Jump host port",
    "jump_username": "Jump host username",
    "jump_auth_method": "Jump host authentication method",
    "jump_password": "Jump host password",
    "jump_private_key_path": "Jump host private key path",
    "jump_private_key": "Jump host private key",
    "jump_private_key_passphrase": "Jump host private key passphrase",
    "jump_host_key_check": "Jump host key verification",
    "jump_host_key": "Jump host key",
    "jump_known_hosts_path": "Jump host known_hosts file",
}
#: The jump host's fields are the server's, with this prefix.
JUMP_PREFIX = "jump_"

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


class JumpSettings(NamedTuple):
    """The SSH bastion in front of the server (OpenSSH's ProxyJump)."""
    hostname: str
    port: int
    auth: AuthSettings
    host_key: HostKeySettings

    def display_name(self):
        return "%s@%s:%d" % (self.auth.username, self.hostname, self.port)


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
    jump: Optional[JumpSettings] = None     # None: no jump host

    def __repr__(self):
        return ("ServiceSettings(hostname=%r, port=%r, root_path=%r, auth=%r, "
                "host_key=%r, proxy=%r, timeout=%r, jump=%r)" % (
                    self.hostname, self.port, self.root_path, self.auth,
                    self.host_key, self.proxy, self.timeout, self.jump))

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


def _jump(raw, policy):
    """The jump host, or None when 'Jump host' is empty."""
    hostname = _hostname(raw, JUMP_PREFIX + "hostname", required=False)
    if not hostname:
        return None
    policy_mod.check_host(policy, hostname, LABELS[JUMP_PREFIX + "hostname"])
    return JumpSettings(
        hostname=hostname,
        port=_integer(raw, JUMP_PREFIX + "port", DEFAULT_PORT, 1, 65535),
        auth=read_auth(raw, policy, LABELS, JUMP_PREFIX),
        host_key=read_host_key(raw, policy, LABELS, JUMP_PREFIX))


def _secrets(raw, *auths):
    """Every secret text of the service, for masking in messages."""
    names = ("private_key", "private_key_passphrase", "jump_private_key",
             "jump_private_key_passphrase", "proxy_password")
    found = [auth.password for auth in auths if auth is not None]
    return tuple(s for s in found + [_text(raw, name) for name in names] if s)


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
    jump = _jump(raw, policy)
    return ServiceSettings(
        hostname=hostname, port=port, root_path=root_path, auth=auth,
        host_key=host_key, proxy=proxy,
        timeout=_integer(raw, "timeout", DEFAULT_TIMEOUT, 1, MAX_TIMEOUT),
        description=_text(raw, "description"),
        secrets=_secrets(raw, auth, jump.auth if jump else None), jump=jump)
