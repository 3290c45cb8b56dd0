"""``download`` and ``upload``: list both trees, plan, execute, build report rows.

Both directions run the same ``_sync``; they differ only in which tree is the
source, in the words of the report, and in how a worker's trees are opened.
"""
import datetime
import logging
import posixpath
import time
from typing import NamedTuple

from . import partials, planner
from .entries import resolve_under
from .errors import SyncFailedError
from .folder import folder_tree
from .remote import RemoteTree
from .session import SftpSession
from .transfer import FAILED, SKIPPED, Progress, execute

LOG = logging.getLogger(__name__)


class Direction(NamedTuple):
    name: str
    status_column: str
    words: dict                # plan status -> report word


DOWNLOAD = Direction("Download", "action", {
    planner.NEW: "downloaded", planner.CHANGED: "updated",
    planner.UNCHANGED: "unchanged", planner.DEFERRED: "skipped"})
UPLOAD = Direction("Upload", "status", {
    planner.NEW: "uploaded", planner.CHANGED: "updated",
    planner.UNCHANGED: "unchanged", planner.DEFERRED: "skipped"})


def report_columns(direction):
    return [("path", "string"), ("remote_path", "string"), ("size", "bigint"),
            ("modified", "string"), (direction.status_column, "string"),
            ("reason", "string"), ("error", "string"), ("transferred_at", "string")]


class SyncResult(NamedTuple):
    direction: Direction
    rows: list
    plan: planner.Plan
    failed: int
    on_error: str

    def summary(self):
        words = [r[self.direction.status_column] for r in self.rows]
        counts = ", ".join("%d %s" % (words.count(w), w) for w in sorted(set(words)))
        return "%s finished: %s" % (self.direction.name, counts or "no files")

    def raise_for_failures(self):
        """Fail the run after the report is written when files failed."""
        if self.failed:
            raise SyncFailedError("%s: %d file(s) failed; see the report and the log for "
                                  "each error. %s" % (self.direction.name, self.failed,
                                                      self.summary()), self.failed)


class _Worker(object):
    """One transfer connection: its own SSH session and SFTP channel."""

    def __init__(self, settings, base, local_tree, remote_is_source, state=None):
        self.session = SftpSession(settings).connect()
        try:
            remote = RemoteTree(self.session.open_sftp(), base, settings.root_path,
                                state=state)
        except BaseException:
            self.session.close()
            raise
        self.source, self.target = ((remote, local_tree) if remote_is_source
                                    else (local_tree, remote))

    def close(self):
        self.session.close()


def download(settings, remote_path, folder, options):
    """Copy the remote directory ``remote_path`` into the managed ``folder``."""
    base = resolve_under(settings.root_path, remote_path, "Remote path")
    local = folder_tree(folder, "target")
    with SftpSession(settings) as session:
        remote = RemoteTree(session.open_sftp(), base, settings.root_path)
        remote.check_directory()
        LOG.info("Downloading %s from %s into a %s", base, session.describe(),
                 local.description)
        return _sync(DOWNLOAD, remote, local, options,
                     lambda: _Worker(settings, base, local, remote_is_source=True))


def upload(settings, folder, remote_path, options):
    """Copy the managed ``folder`` into the remote directory ``remote_path``."""
    base = resolve_under(settings.root_path, remote_path, "Remote path")
    local = folder_tree(folder, "source")
    with SftpSession(settings) as session:
        remote = RemoteTree(session.open_sftp(), base, settings.root_path)
        remote.check_directory(create=True)
        state = remote.load_state()
        local.share_state(state)
        LOG.info("Uploading a %s to %s on %s", local.description, base,
                 session.describe())
        return _sync(UPLOAD, local, remote, options,
                     lambda: _Worker(settings, base, local, remote_is_source=False,
                                     state=state))


def _sync(direction, source, target, options, open_worker):
    listed = source.walk(options.symlinks)
    existing = target.walk(as_target=True)
    plan = planner.plan(listed.files, existing.files, listed.dirs, existing.dirs,
                        options.include, options.exclude, options.min_age_seconds,
                        now=time.time())
    LOG.info("Plan: %s", plan.summary())
    for problem_path, message in listed.problems:
        LOG.warning("Skipped %s: %s", problem_path, message)
    for path in plan.dirs:
        target.makedirs(path)
    resumes = partials.settle(target, existing.partials, plan.items, time.time())
    to_copy = [item for item in plan.items if item.copy]
    progress = Progress(len(to_copy), plan.bytes_to_copy(), direction.name)
    try:
        outcomes = execute(to_copy, open_worker, options.workers, options.on_error,
                           progress, resumes=resumes)
    finally:
        target.close()
    LOG.info("%s", progress.line())
    rows = [_row(direction, item, outcomes.get(item.path), source, target)
            for item in plan.items]
    rows.extend(_problem_row(direction, path, message, source, target)
                for path, message in listed.problems)
    failed = sum(1 for o in outcomes.values() if o.status == FAILED)
    result = SyncResult(direction, rows, plan, failed, options.on_error)
    LOG.info("%s", result.summary())
    return result


def _remote_and_local(direction, path, source, target):
    """Folder path and remote path of a row (display only, never opened)."""
    remote = source if direction is DOWNLOAD else target
    return "/" + path, posixpath.join(remote.base, path)


def _row(direction, item, outcome, source, target):
    local_path, remote_path = _remote_and_local(direction, item.path, source, target)
    status = direction.words[item.status]
    error, transferred = "", None
    if outcome is not None:
        if outcome.status in (FAILED, SKIPPED):
            status, error = outcome.status, outcome.error
        transferred = outcome.transferred_at
    elif item.status == planner.DEFERRED:
        error = item.reason
    return {"path": local_path, "remote_path": remote_path, "size": item.source.size,
            "modified": iso_time(item.source.mtime),
            direction.status_column: status, "reason": item.reason, "error": error,
            "transferred_at": iso_time(transferred)}


def _problem_row(direction, path, message, source, target):
    local_path, remote_path = _remote_and_local(direction, path, source, target)
    return {"path": local_path, "remote_path": remote_path, "size": None,
            "modified": "", direction.status_column: SKIPPED, "reason": "",
            "error": message, "transferred_at": ""}


def iso_time(epoch):
    """ISO-8601 UTC text for an epoch time, '' when unknown."""
    if epoch is None:
        return ""
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")
