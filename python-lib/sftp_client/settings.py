"""Validated, immutable settings built once from the raw DSS config dicts.

``service_from_config(raw)`` turns the "SFTP Services" preset dict (or the same
fields defined inline) into a ``ServiceSettings``; ``sync_options_from_config``
does the same for the recipes' options. Errors name the field's label as DSS shows
it and say what to do; reprs and messages never contain a secret.
"""
import ipaddress
import os
import posixpath
import re
from typing import NamedTuple, Optional, Tuple

from . import keys
from .errors import ConfigError
from .redact import mask

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
SYNC_LABELS = {
    "include_patterns": "Include patterns",
    "exclude_patterns": "Exclude patterns",
    "min_age_seconds": "Minimum age (seconds)",
    "symlinks": "Symbolic links",
    "on_error": "On error",
    "workers": "Parallel transfers",
}

AUTH_METHODS = ("password", "private_key")
HOST_KEY_CHECKS = ("fingerprint", "known_hosts", "none")
PROXY_TYPES = ("none", "http", "socks5", "socks4")
DEFAULT_PORT = 22
DEFAULT_TIMEOUT = 30
MAX_TIMEOUT = 3600

_HOSTNAME_RE = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_FINGERPRINT_RE = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}=?$")


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


class AuthSettings(NamedTuple):
    username: str
    method: str                # password / private_key
    password: str = ""
    private_key: Optional[object] = None   # a loaded paramiko PKey
    key_source: str = ""       # where the key came from, for messages

    def __repr__(self):
        return ("AuthSettings(username=%r, method=%r, password=%s, private_key=%s, "
                "key_source=%r)" % (self.username, self.method, mask(self.password),
                                    mask(self.private_key), self.key_source))


class HostKeySettings(NamedTuple):
    mode: str                  # fingerprint / known_hosts / none
    fingerprint: str = ""      # expected SHA256:... (fingerprint mode)
    key_type: str = ""         # expected key type, when a public key was given
    known_hosts_path: str = ""


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


class SyncOptions(NamedTuple):
    include: Tuple[str, ...] = ()
    exclude: Tuple[str, ...] = ()
    min_age_seconds: int = 0
    symlinks: str = "skip"          # skip / follow
    on_error: str = "stop"          # stop / continue
    workers: int = 4


def text_param(raw, name, default="", labels=None):
    """A text field; ``labels`` maps field names to form labels (default: the
    preset's)."""
    value = raw.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ConfigError((labels or LABELS).get(name, name), "expected text.")
    return value


def _integer(raw, name, default, low, high, label=None):
    """INT fields may arrive as 22, 22.0 or "22"; anything else is refused."""
    label = label or LABELS.get(name, name)
    value = raw.get(name)
    if value is None or value == "":
        return default
    # Values are not echoed: a secret typed into the wrong field must not leak.
    if isinstance(value, bool):
        raise ConfigError(label, "expected a whole number, got true/false.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(label, "expected a whole number, got text.") from None
    if number != number or number in (float("inf"), float("-inf")) \
            or number != int(number):
        raise ConfigError(label, "expected a whole number, got %s." % number)
    number = int(number)
    if not low <= number <= high:
        raise ConfigError(label, "must be between %d and %d, got %d." % (low, high, number))
    return number


def choice_param(raw, name, choices, default, labels=None):
    """A SELECT field: one of ``choices``; empty gives ``default``."""
    value = text_param(raw, name, default, labels) or default
    if value not in choices:
        raise ConfigError((labels or LABELS).get(name, name), "must be one of %s, got "
                                                              "%r." % (", ".join(choices),
                                                                       value))
    return value


def boolean_param(raw, name, default, labels=None):
    """A BOOLEAN field, also accepted as "true"/"false" text; empty gives ``default``."""
    value = raw.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ConfigError((labels or LABELS).get(name, name), "expected true or false.")


def _hostname(raw, name, required=True):
    label = LABELS[name]
    value = text_param(raw, name).strip()
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
    value = text_param(raw, "root_path", "/").strip() or "/"
    if "\x00" in value:
        raise ConfigError(LABELS["root_path"], "contains a NUL character.")
    if ".." in value.split("/"):
        raise ConfigError(LABELS["root_path"], "must not contain '..'.")
    if not value.startswith("/"):
        # A relative path would silently depend on the account's home directory.
        raise ConfigError(LABELS["root_path"], "must be absolute, e.g. /srv/exchange "
                                               "(or / for the whole server).")
    return posixpath.normpath(value) if value != "/" else "/"


def _read_key_file(path):
    label = LABELS["private_key_path"]
    try:
        with open(os.path.expanduser(path), "r") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        raise ConfigError(label, "cannot read %s (%s). The file must exist on the DSS "
                                 "host and be readable by the user running DSS jobs."
                          % (path, exc.strerror or "unreadable")) from exc
    except UnicodeError as exc:
        raise ConfigError(label, "%s is not a text key file." % path) from exc


def _auth(raw):
    username = text_param(raw, "username").strip()
    if not username:
        raise ConfigError(LABELS["username"], "is required: the SSH user name.")
    method = choice_param(raw, "auth_method", AUTH_METHODS, "password")
    if method == "password":
        password = text_param(raw, "password")
        if not password:
            raise ConfigError(LABELS["password"], "is required with password "
                                                  "authentication.")
        return AuthSettings(username=username, method=method, password=password)
    key_text = text_param(raw, "private_key").strip()
    key_path = text_param(raw, "private_key_path").strip()
    passphrase = text_param(raw, "private_key_passphrase")
    if key_text and key_path:
        raise ConfigError(LABELS["private_key"], "fill either 'Private key' (pasted "
                                                 "text) or 'Private key path', not both.")
    if key_path:
        key = keys.load_private_key(_read_key_file(key_path), passphrase,
                                    LABELS["private_key_path"])
        return AuthSettings(username=username, method=method, private_key=key,
                            key_source="file %s" % key_path)
    if key_text:
        key = keys.load_private_key(key_text, passphrase, LABELS["private_key"])
        return AuthSettings(username=username, method=method, private_key=key,
                            key_source="pasted key")
    raise ConfigError(LABELS["private_key_path"], "private key authentication needs "
                                                  "a key: fill 'Private key path' or "
                                                  "paste the key into 'Private key'.")


def _host_key(raw):
    mode = choice_param(raw, "host_key_check", HOST_KEY_CHECKS, "fingerprint")
    if mode == "none":
        return HostKeySettings(mode=mode)
    if mode == "known_hosts":
        label = LABELS["known_hosts_path"]
        path = text_param(raw, "known_hosts_path").strip()
        if not path:
            raise ConfigError(label, "is required when host keys are checked against "
                                     "a known_hosts file.")
        path = os.path.expanduser(path)
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise ConfigError(label, "cannot read %s: the file must exist on the DSS "
                                     "host and be readable by the user running DSS "
                                     "jobs." % path)
        return HostKeySettings(mode=mode, known_hosts_path=path)
    value = text_param(raw, "host_key").strip()
    if not value:
        # Allowed: the first connection is refused with the server's fingerprint.
        return HostKeySettings(mode=mode)
    if value.startswith("SHA256:"):
        if not _FINGERPRINT_RE.match(value):
            raise ConfigError(LABELS["host_key"], "a SHA256 fingerprint has 43 "
                                                  "characters after 'SHA256:'; copy it "
                                                  "again from 'ssh-keygen -lf'.")
        return HostKeySettings(mode=mode, fingerprint=value.rstrip("="))
    if value.upper().startswith("MD5:"):
        raise ConfigError(LABELS["host_key"], "MD5 fingerprints are not accepted: use "
                                              "the SHA256 one ('ssh-keygen -lf').")
    key_type, blob = keys.parse_public_key(value, LABELS["host_key"])
    return HostKeySettings(mode=mode, fingerprint=keys.fingerprint(blob),
                           key_type=key_type)


def _proxy(raw):
    kind = choice_param(raw, "proxy_type", PROXY_TYPES, "none")
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
    user = text_param(raw, "proxy_user").strip()
    password = text_param(raw, "proxy_password") if user else ""
    return ProxySettings(kind=kind, hostname=hostname, port=port, user=user,
                         password=password,
                         remote_dns=boolean_param(raw, "proxy_remote_dns", True))


def service_from_config(raw, field="sftp_service"):
    """Validate the preset (or inline) dict into ``ServiceSettings``."""
    if not isinstance(raw, dict) or not any(raw.get(k) for k in ("hostname", "username")):
        raise ConfigError(LABELS.get(field, field), "no SFTP service selected: pick a "
                                                    "preset or define the service inline.")
    hostname = _hostname(raw, "hostname")
    port = _integer(raw, "port", DEFAULT_PORT, 1, 65535)
    root_path = _root_path(raw)
    auth = _auth(raw)
    host_key = _host_key(raw)
    proxy = _proxy(raw)
    secrets = tuple(s for s in (auth.password, text_param(raw, "private_key"),
                                text_param(raw, "private_key_passphrase"),
                                text_param(raw, "proxy_password")) if s)
    return ServiceSettings(
        hostname=hostname, port=port, root_path=root_path, auth=auth,
        host_key=host_key, proxy=proxy,
        timeout=_integer(raw, "timeout", DEFAULT_TIMEOUT, 1, MAX_TIMEOUT),
        description=text_param(raw, "description"), secrets=secrets)


def _patterns(raw, name, label):
    value = raw.get(name) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ConfigError(label, "expected a list of glob patterns.")
    return tuple(p.strip() for p in value if isinstance(p, str) and p.strip())


def sync_options_from_config(raw):
    """The recipes' transfer options, with defaults for fields never touched."""
    raw = raw or {}
    labels = SYNC_LABELS
    return SyncOptions(
        include=_patterns(raw, "include_patterns", labels["include_patterns"]),
        exclude=_patterns(raw, "exclude_patterns", labels["exclude_patterns"]),
        min_age_seconds=_integer(raw, "min_age_seconds", 0, 0, 10 ** 9,
                                 label=labels["min_age_seconds"]),
        symlinks=choice_param(raw, "symlinks", ("skip", "follow"), "skip", labels),
        on_error=choice_param(raw, "on_error", ("stop", "continue"), "stop", labels),
        workers=_integer(raw, "workers", 4, 1, 16, label=labels["workers"]),
    )
