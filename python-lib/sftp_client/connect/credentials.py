"""Who the client is and whom it trusts, for one SSH hop: the authentication
(password, or a private key pasted or read from an allowed directory) and the
host key check (pinned key or fingerprint, known_hosts file, or none by name).
The server and the jump host read the same fields, the jump host's prefixed
``jump_``; errors name each field by its form label."""
import os
import re
from typing import NamedTuple, Optional

from sftp_client.connect import keys, policy as policy_mod
from sftp_client.connect.fields import choice_param, text_param
from sftp_client.errors import ConfigError
from sftp_client.redact import mask

AUTH_METHODS = ("password", "private_key")
HOST_KEY_CHECKS = ("fingerprint", "known_hosts", "none")
_FINGERPRINT_RE = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}=?$")


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


class _Fields(object):
    """The fields of one hop: ``name`` stands for ``prefix + name``."""

    def __init__(self, raw, labels, prefix):
        self.raw, self.labels, self.prefix = raw, labels, prefix

    def label(self, name):
        return self.labels[self.prefix + name]

    def text(self, name, default=""):
        return text_param(self.raw, self.prefix + name, default, self.labels)

    def choice(self, name, choices, default):
        return choice_param(self.raw, self.prefix + name, choices, default, self.labels)


def _read_key_file(path, policy, label, pasted_label):
    real = policy_mod.allowed_file(policy, path, label,
                                   "paste the key into '%s' instead" % pasted_label)
    try:
        with open(real, "r") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        raise ConfigError(label, "cannot read %s (%s). The file must exist on the DSS "
                                 "host and %s." % (path, exc.strerror or "unreadable",
                                                   policy_mod.READABLE_BY_JOBS)) from exc
    except UnicodeError as exc:
        raise ConfigError(label, "%s is not a text key file." % path) from exc


def read_auth(raw, policy, labels, prefix=""):
    """``AuthSettings`` from the fields ``<prefix>username`` ... (the server's, or the
    jump host's with prefix ``jump_``); errors name the fields by ``labels``."""
    field = _Fields(raw, labels, prefix)
    username = field.text("username").strip()
    if not username:
        raise ConfigError(field.label("username"), "is required: the SSH user name.")
    method = field.choice("auth_method", AUTH_METHODS, "password")
    if method == "password":
        password = field.text("password")
        if not password:
            raise ConfigError(field.label("password"),
                              "is required with password authentication.")
        return AuthSettings(username=username, method=method, password=password)
    key_text = field.text("private_key").strip()
    key_path = field.text("private_key_path").strip()
    passphrase = field.text("private_key_passphrase")
    if key_text and key_path:
        raise ConfigError(field.label("private_key"), "fill either '%s' (pasted text) or "
                          "'%s', not both." % (field.label("private_key"),
                                               field.label("private_key_path")))
    if key_path:
        text = _read_key_file(key_path, policy, field.label("private_key_path"),
                              field.label("private_key"))
        key = keys.load_private_key(text, passphrase, field.label("private_key_path"))
        return AuthSettings(username=username, method=method, private_key=key,
                            key_source="file %s" % key_path)
    if key_text:
        key = keys.load_private_key(key_text, passphrase, field.label("private_key"))
        return AuthSettings(username=username, method=method, private_key=key,
                            key_source="pasted key")
    raise ConfigError(field.label("private_key_path"),
                      "private key authentication needs a key: fill '%s' or paste the "
                      "key into '%s'." % (field.label("private_key_path"),
                                          field.label("private_key")))


def read_host_key(raw, policy, labels, prefix=""):
    """``HostKeySettings`` from ``<prefix>host_key_check`` and its fields."""
    field = _Fields(raw, labels, prefix)
    mode = field.choice("host_key_check", HOST_KEY_CHECKS, "fingerprint")
    if mode == "none":
        policy_mod.check_no_host_key_check(policy, field.label("host_key_check"))
        return HostKeySettings(mode=mode)
    if mode == "known_hosts":
        label = field.label("known_hosts_path")
        path = field.text("known_hosts_path").strip()
        if not path:
            raise ConfigError(label, "is required when host keys are checked against "
                                     "a known_hosts file.")
        real = policy_mod.allowed_file(policy, path, label, "pin the key in '%s' "
                                       "instead" % field.label("host_key"))
        if not os.path.isfile(real) or not os.access(real, os.R_OK):
            raise ConfigError(label, "cannot read %s: the file must exist on the DSS "
                                     "host and %s." % (path, policy_mod.READABLE_BY_JOBS))
        return HostKeySettings(mode=mode, known_hosts_path=real)
    value = field.text("host_key").strip()
    if not value:
        # Allowed: the first connection is refused with the server's fingerprint.
        return HostKeySettings(mode=mode)
    if value.startswith("SHA256:"):
        if not _FINGERPRINT_RE.match(value):
            raise ConfigError(field.label("host_key"), "a SHA256 fingerprint has 43 "
                              "characters after 'SHA256:'; copy it again from "
                              "'ssh-keygen -lf'.")
        return HostKeySettings(mode=mode, fingerprint=value.rstrip("="))
    if value.upper().startswith("MD5:"):
        raise ConfigError(field.label("host_key"), "MD5 fingerprints are not accepted: "
                          "use the SHA256 one ('ssh-keygen -lf').")
    key_type, blob = keys.parse_public_key(value, field.label("host_key"))
    return HostKeySettings(mode=mode, fingerprint=keys.fingerprint(blob),
                           key_type=key_type)
