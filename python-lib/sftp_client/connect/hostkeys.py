"""Host key policy: a pinned key or fingerprint, a known_hosts file, or (by name
only) no check at all. An unknown or different key refuses the connection with a
message that shows what the server presented, so an admin can verify and pin it.
"""
import logging

import paramiko

from sftp_client.connect import keys
from sftp_client.errors import ConfigError, HostKeyMismatchError, HostKeyUnknownError

LOG = logging.getLogger(__name__)


def known_hosts_name(hostname, port):
    """How OpenSSH names a host in known_hosts: ``[host]:port`` off port 22."""
    return hostname if port == 22 else "[%s]:%d" % (hostname, port)


def _known_hosts_entries(policy, hostname, port):
    """``{key type: PKey}`` known for the host in the known_hosts file."""
    try:
        host_keys = paramiko.HostKeys(policy.known_hosts_path)
    except (IOError, OSError) as exc:
        raise ConfigError("known_hosts file", "cannot read %s (%s)." % (
            policy.known_hosts_path, exc.strerror or exc)) from exc
    except paramiko.SSHException as exc:
        raise ConfigError("known_hosts file", "%s is not a valid known_hosts file."
                          % policy.known_hosts_path) from exc
    return dict(host_keys.lookup(known_hosts_name(hostname, port)) or {})


def preferred_algorithms(policy, hostname, port):
    """Host key algorithms to offer so the server shows the key we can check.

    Empty when any type will do (fingerprint only, or no check).
    """
    types = []
    if policy.mode == "fingerprint" and policy.key_type:
        types = [policy.key_type]
    elif policy.mode == "known_hosts":
        types = sorted(_known_hosts_entries(policy, hostname, port))
    algorithms = []
    for key_type in types:
        algorithms.extend(keys.host_key_algorithms(key_type))
    return tuple(algorithms)


def verify(server_key, policy, hostname, port, field="Host key"):
    """Raise a HostKeyError unless ``server_key`` is trusted by ``policy``;
    ``field``: where the form takes the pinned key (the server's or the jump host's)."""
    offered = key_description(server_key)
    where = known_hosts_name(hostname, port)
    if policy.mode == "none":
        LOG.warning("Host key NOT verified for %s (host key verification is 'none'): "
                    "the server presented %s", where, offered)
        return
    if policy.mode == "fingerprint":
        if not policy.fingerprint:
            raise HostKeyUnknownError(
                "Host key of %s is unknown: the server presented %s. Confirm this "
                "fingerprint with the server's administrator, then paste it into the "
                "'%s' field of the SFTP service." % (where, offered, field))
        if keys.key_fingerprint(server_key) != policy.fingerprint:
            expected = policy.fingerprint + (
                " (%s)" % policy.key_type if policy.key_type else "")
            raise _mismatch(where, offered, expected)
        LOG.info("Host key of %s verified: %s", where, offered)
        return
    known = _known_hosts_entries(policy, hostname, port)
    if not known:
        raise HostKeyUnknownError(
            "Host key of %s is unknown: %s has no entry for '%s'. The server presented "
            "%s. Add the host to the file after confirming this fingerprint with the "
            "server's administrator (for example with ssh-keyscan -p %d %s)."
            % (where, policy.known_hosts_path, where, offered, port, hostname))
    expected_key = known.get(server_key.get_name())
    if expected_key is None or expected_key.asbytes() != server_key.asbytes():
        expected = ", ".join(key_description(k) for k in known.values())
        raise _mismatch(where, offered, expected + " in " + policy.known_hosts_path)
    LOG.info("Host key of %s verified against %s: %s", where,
             policy.known_hosts_path, offered)


def key_description(key):
    return "%s key %s" % (key.get_name(), keys.key_fingerprint(key))


def _mismatch(where, offered, expected):
    return HostKeyMismatchError(
        "HOST KEY MISMATCH for %s: the server presented %s, but the SFTP service "
        "expects %s. The server's key has changed, or the connection is being "
        "intercepted: do not connect until the server's administrator confirms the "
        "new key, then update the SFTP service." % (where, offered, expected))
