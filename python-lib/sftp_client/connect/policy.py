"""The administrators' safety policy: plugin-level settings enforced on every service.

DSS shows ``plugin.json``'s ``params`` to administrators only and hands their values to
the code as the plugin config (recipes: ``get_plugin_config()``; exporter, FS provider,
macro: the ``plugin_config`` argument; ``resource/`` scripts: ``do()``'s). Nothing in
the DSS documentation or public plugins shows the runtime telling an inline service
definition from a preset, so every rule applies to every definition.

The defaults are the secure ones, also when no plugin config is given at all:
``host_key_check = none`` refused, no key or known_hosts file read from disk, any host.
"""
import fnmatch
import ipaddress
import os
from typing import NamedTuple, Tuple

from sftp_client.errors import ConfigError

#: Labels of the plugin-level settings, as in plugin.json.
POLICY_LABELS = {
    "allow_no_host_key_check": "Allow services without host key verification",
    "allowed_key_directories": "Allowed key directories",
    "allowed_hosts": "Allowed SFTP hosts",
}


class PluginPolicy(NamedTuple):
    allow_no_host_key_check: bool = False
    allowed_key_directories: Tuple[str, ...] = ()   # absolute, as typed
    allowed_hosts: Tuple[str, ...] = ()             # empty: any host


def _setting(name):
    """How messages name a setting: its label and its key, for the admin."""
    return "'%s' (%s) in the plugin settings" % (POLICY_LABELS[name], name)


def _strings(raw, name):
    value = raw.get(name)
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = value.split("\n")
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(POLICY_LABELS[name], "expected a list of text entries "
                                               "(plugin settings, set by an administrator).")
    return tuple(v.strip() for v in value if v.strip())


def policy_from_plugin_config(plugin_config):
    """A ``PluginPolicy`` from the plugin config dict; None or {} gives the defaults."""
    if isinstance(plugin_config, PluginPolicy):
        return plugin_config
    raw = plugin_config or {}
    if not isinstance(raw, dict):
        raise ConfigError("Plugin settings", "expected the plugin config dict.")
    allow = raw.get("allow_no_host_key_check")
    if allow not in (None, "", True, False):
        raise ConfigError(POLICY_LABELS["allow_no_host_key_check"],
                          "expected true or false (plugin settings).")
    directories = _strings(raw, "allowed_key_directories")
    for directory in directories:
        if not os.path.isabs(os.path.expanduser(directory)):
            raise ConfigError(POLICY_LABELS["allowed_key_directories"],
                              "%r is not an absolute path (plugin settings): give "
                              "directories such as /etc/dataiku/sftp-keys." % directory)
    return PluginPolicy(allow_no_host_key_check=allow is True,
                        allowed_key_directories=directories,
                        allowed_hosts=tuple(h.lower() for h in
                                            _strings(raw, "allowed_hosts")))


def _host_matches(hostname, pattern):
    if fnmatch.fnmatchcase(hostname.lower(), pattern):
        return True
    try:
        network = ipaddress.ip_network(pattern, strict=False)
        return ipaddress.ip_address(hostname) in network
    except ValueError:
        return False


def check_host(policy, hostname, label):
    """Refuse a hostname outside ``allowed_hosts`` (glob patterns or CIDR networks)."""
    if not policy.allowed_hosts:
        return
    if any(_host_matches(hostname, pattern) for pattern in policy.allowed_hosts):
        return
    raise ConfigError(label, "%s is not among the SFTP hosts this DSS instance allows "
                             "(%s); ask an administrator to add it."
                      % (hostname, _setting("allowed_hosts")))


def check_no_host_key_check(policy, label):
    """Refuse ``host_key_check = none`` unless the administrators allowed it."""
    if not policy.allow_no_host_key_check:
        raise ConfigError(label, "'None' (no verification) is disabled on this DSS "
                                 "instance: pin the server's key in 'Host key' instead, "
                                 "or ask an administrator to tick %s."
                          % _setting("allow_no_host_key_check"))


#: What "readable" means for key and known_hosts files: with user isolation
#: (impersonation), jobs, macros and pickers run as the end user's UNIX account.
READABLE_BY_JOBS = ("be readable by the UNIX account running DSS jobs (with user "
                    "isolation, the end user's own account, not the DSS service account)")


def allowed_file(policy, path, label, alternative):
    """The real path of ``path`` when it lies inside an allowed key directory.

    Checked on the resolved path, so ``..`` and symbolic links cannot leave the
    directories. ``alternative`` tells the user what to use instead of a file.
    """
    if not policy.allowed_key_directories:
        raise ConfigError(label, "reading files from the DSS server is disabled on this "
                                 "instance: %s, or ask an administrator to list the "
                                 "file's directory in %s."
                          % (alternative, _setting("allowed_key_directories")))
    real = os.path.realpath(os.path.expanduser(path))
    for directory in policy.allowed_key_directories:
        root = os.path.realpath(os.path.expanduser(directory))
        if os.path.commonpath([real, root]) == root:
            return real
    raise ConfigError(label, "%s is outside the directories this DSS instance allows "
                             "for key files (%s): %s, or ask an administrator."
                      % (path, _setting("allowed_key_directories"), alternative))
