"""Dry runs: list and plan as usual, then say what would happen to each file.

Nothing is transferred, written, renamed or deleted, in the folder or on the
server: no directory is created, stale partial files are left alone, and no state
file is saved. The report rows use the words below instead of the real ones.
"""
import logging

from sftp_client.sync import planner
from sftp_client.entries import WalkResult
from sftp_client.errors import RemoteNotFoundError
from sftp_client.state import SyncState

LOG = logging.getLogger(__name__)

#: Report words of a dry run, per direction name and plan status.
WORDS = {
    "Download": {planner.NEW: "would download", planner.CHANGED: "would update",
                 planner.UNCHANGED: "unchanged", planner.DEFERRED: "skipped"},
    "Upload": {planner.NEW: "would upload", planner.CHANGED: "would update",
               planner.UNCHANGED: "unchanged", planner.DEFERRED: "skipped"},
}


def direction(real):
    """The dry-run version of a sync ``Direction``: its name and report words."""
    return real._replace(name=real.name + " (dry run)", words=WORDS[real.name])


def log_plan(shown, plan):
    """The plan line, then one line per file that would be copied."""
    LOG.info("Plan (dry run, nothing is transferred): %s", plan.summary())
    for item in plan.items:
        if item.copy:
            LOG.info("Dry run: %s %s (%d bytes): %s", shown.words[item.status],
                     item.path, item.source.size, item.reason)


def existing_or_empty(remote):
    """The remote target directory, or an empty stand-in when it does not exist
    yet (a real upload would create it; a dry run creates nothing)."""
    try:
        remote.check_directory()
    except RemoteNotFoundError:
        LOG.info("Dry run: remote directory %s does not exist yet; the upload would "
                 "create it", remote.base)
        return MissingDirectory(remote.base)
    return remote


class MissingDirectory(object):
    """A remote directory that does not exist yet: empty, never written."""

    def __init__(self, base):
        self.base = base

    def load_state(self):
        return SyncState()

    def walk(self, symlinks="skip", as_target=False):
        return WalkResult.empty()

    def close(self):
        pass
