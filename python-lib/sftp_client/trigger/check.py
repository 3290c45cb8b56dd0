"""One check of the "New files on SFTP" trigger: read the settings, list the remote
tree once (one connection, through the preset's proxy, bounded by its timeout),
decide (``decide.py``), remember, and say whether to fire.

A check that fails (bad settings, a refused policy, an unreachable server or proxy,
a changed host key, a refused login, a directory that cannot be listed) writes one
log line with the same message the recipes raise, never fires and changes nothing
in what the trigger remembers. Messages never hold a secret (``errors.py``).
"""
import logging
import time

from sftp_client.connect.session import SftpSession
from sftp_client.connect.settings import service_from_config
from sftp_client.entries import printable, resolve_under
from sftp_client.errors import RemotePathError, SftpClientError
from sftp_client.patterns import selected
from sftp_client.remote.tree import RemoteTree
from sftp_client.trigger import memory as memory_mod
from sftp_client.trigger.decide import decide
from sftp_client.trigger.settings import TRIGGER_LABELS, trigger_settings_from_config

LOG = logging.getLogger(__name__)

#: How every log line of a check starts.
PREFIX = "New files on SFTP"


class ListingIncompleteError(RemotePathError):
    """Part of the tree could not be listed: a check that cannot see every file
    could take the missing ones for removed, then fire again when they reappear."""


def check(config, plugin_config, variables, now=None):
    """Run one check; returns the ``Decision``, or None when the check failed.

    ``config``: the trigger's params (with the ``sftp_service`` preset dict);
    ``plugin_config``: the plugin-level admin settings (the only source of the
    policy); ``variables``: a ``ProjectVariables``."""
    try:
        settings = trigger_settings_from_config(config)
        service = service_from_config((config or {}).get("sftp_service"),
                                      plugin_config=plugin_config)
        base = resolve_under(service.root_path, settings.remote_path,
                             TRIGGER_LABELS["remote_path"])
        name = memory_mod.variable_name(service, base, settings)
        stored = variables.get(name)
        files = list_files(service, base, settings)
    except SftpClientError as exc:
        LOG.error("%s: check failed, not firing: %s", PREFIX, printable(str(exc)))
        return None
    previous = memory_mod.from_value(stored)
    if stored is not None and previous is None:
        LOG.warning("%s: project variable %s is not a memory of this trigger: this "
                    "check counts as the first one", PREFIX, name)
    decision = decide(previous, files, settings, time.time() if now is None else now)
    value = decision.memory.to_value()
    if value != stored:
        variables.put(name, value)
    LOG.info("%s: %s: %s", PREFIX, printable(base), decision.reason)
    return decision


def list_files(service, base, settings):
    """Every regular file below ``base`` that the patterns select, as ``Entry``
    (path relative to ``base``); partial files of the recipes and names this plugin
    writes for itself are never listed (``remote.walk``)."""
    with SftpSession(service) as session:
        tree = RemoteTree(session.open_sftp(), base, service.root_path,
                          label=TRIGGER_LABELS["remote_path"])
        tree.check_directory()
        listed = tree.walk()
    if listed.problems:
        path, message = listed.problems[0]
        raise ListingIncompleteError(
            "cannot list everything below %s (%d problem(s); first: %s: %s); fix the "
            "permissions on the server" % (base, len(listed.problems), path,
                                           message.rstrip(". ")),
            base)
    return [entry for entry in listed.files
            if selected(entry.path, settings.include, settings.exclude)]
