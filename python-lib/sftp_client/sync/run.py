"""``download`` and ``upload``: list both trees, plan, execute, build report rows.

Both directions run the same ``_sync``; they differ only in which tree is the
source, in the words of the report, and in how a worker's trees are opened.
"""
import datetime
import logging
import posixpath
import time
from typing import NamedTuple

from sftp_client.sync import dry_run, planner
from sftp_client import partials
from sftp_client.entries import printable, resolve_under
from sftp_client.errors import SyncFailedError
from sftp_client.sync.folder import folder_tree
from sftp_client.remote.tree import RemoteTree
from sftp_client.connect.session import SftpSession
from sftp_client.sync.transfer import FAILED, SKIPPED, Outcome, Progress, execute

LOG = logging.getLogger(__name__)

#: Failed files the run's final error names (DSS shows users its last line).
FAILURES_NAMED = 3
#: Characters of each named failure's error kept in that line.
FAILURE_TEXT_MAX = 240


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
    """Times are DSS ``date`` columns: ISO-8601 UTC text (iso_time), empty when unknown."""
    return [("path", "string"), ("remote_path", "string"), ("size", "bigint"),
            ("modified", "date"), (direction.status_column, "string"),
            ("reason", "string"), ("error", "string"), ("transferred_at", "date")]


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
        """Fail the run after the report is written when anything failed (a file,
        a directory that could not be listed, a refused name), whatever 'On
        error' says; the message names the first failures and their cause."""
        if self.failed:
            raise SyncFailedError(failure_message(self.direction, self.rows,
                                                  self.summary()), self.failed)


def failure_message(direction, rows, summary):
    """One line: how many failed, the first ones with their error, the counts."""
    failed = [row for row in rows if row[direction.status_column] == FAILED]
    named = "; ".join("%s: %s" % (printable(row["path"]), _shorten(row["error"]))
                      for row in failed[:FAILURES_NAMED])
    more = len(failed) - FAILURES_NAMED
    return "%s: %d file%s failed%s %s%s. %s; see the report and the log." % (
        direction.name, len(failed), "" if len(failed) == 1 else "s",
        ":" if len(failed) == 1 else ". First:", named,
        "; and %d more" % more if more > 0 else "", summary)


def _shorten(error):
    """The error on one line; a long one (long paths) loses its middle, so that
    both what was done and the server's answer at the end stay."""
    text = printable(error or "unknown error").rstrip(". ")
    if len(text) <= FAILURE_TEXT_MAX:
        return text
    half = (FAILURE_TEXT_MAX - 5) // 2
    return text[:half] + " ... " + text[-half:]


class _Worker(object):
    """One transfer connection: its own SSH session and SFTP channel."""

    def __init__(self, settings, base, local_tree, remote_is_source, state=None,
                 names=None):
        self.session = SftpSession(settings).connect()
        try:
            remote = RemoteTree(self.session.open_sftp(), base, settings.root_path,
                                state=state, names=names)
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
        LOG.info("Downloading %s from %s into a %s", printable(base), session.describe(),
                 local.description)
        return _sync(DOWNLOAD, remote, local, options,
                     lambda: _Worker(settings, base, local, remote_is_source=True,
                                     names=remote.names))


def upload(settings, folder, remote_path, options):
    """Copy the managed ``folder`` into the remote directory ``remote_path``."""
    base = resolve_under(settings.root_path, remote_path, "Remote path")
    local = folder_tree(folder, "source")
    with SftpSession(settings) as session:
        remote = RemoteTree(session.open_sftp(), base, settings.root_path)
        if options.dry_run:
            remote = dry_run.existing_or_empty(remote)
        else:
            remote.check_directory(create=True)
        state = remote.load_state()
        local.share_state(state)
        LOG.info("Uploading a %s to %s on %s", local.description, printable(base),
                 session.describe())
        return _sync(UPLOAD, local, remote, options,
                     lambda: _Worker(settings, base, local, remote_is_source=False,
                                     state=state, names=remote.names))


def _sync(direction, source, target, options, open_worker):
    listed = source.walk(options.symlinks)
    existing = target.walk(as_target=True)  # lists partial files; only settle() acts
    plan = planner.plan(listed.files, existing.files, listed.dirs, existing.dirs,
                        options.include, options.exclude, options.min_age_seconds,
                        now=time.time())
    if options.dry_run:
        return _dry_run(direction, plan, listed, source, target, options)
    LOG.info("Plan: %s", plan.summary())
    _log_walk(listed, existing)
    to_copy = [item for item in plan.items if item.copy]
    progress = Progress(len(to_copy), plan.bytes_to_copy(), direction.name)
    try:
        if listed.problems and options.on_error == "stop":
            outcomes = dict((item.path, _NOT_ATTEMPTED._replace(path=item.path))
                            for item in to_copy)
        else:
            for path in plan.dirs:
                target.makedirs(path)
            resumes = partials.settle(target, existing.partials, plan.items, time.time())
            outcomes = execute(to_copy, open_worker, options.workers, options.on_error,
                               progress, resumes=resumes)
    finally:
        target.close()
    LOG.info("%s", progress.line())
    rows = [_row(direction, item, outcomes.get(item.path), source, target)
            for item in plan.items]
    rows.extend(_problem_rows(direction, listed, source, target))
    failed = sum(1 for row in rows if row[direction.status_column] == FAILED)
    result = SyncResult(direction, rows, plan, failed, options.on_error)
    LOG.info("%s", result.summary())
    return result


def _dry_run(direction, plan, listed, source, target, options):
    """What the run would do, as report rows; nothing is transferred."""
    shown = dry_run.direction(direction)
    dry_run.log_plan(shown, plan)
    rows = []
    for item in plan.items:
        row = _row(direction, item, None, source, target)
        row[direction.status_column] = shown.words[item.status]
        rows.append(row)
    rows.extend(_problem_rows(direction, listed, source, target))
    failed = sum(1 for row in rows if row[direction.status_column] == FAILED)
    result = SyncResult(shown, rows, plan, failed, options.on_error)
    LOG.info("%s", result.summary())
    return result


_NOT_ATTEMPTED = Outcome("", SKIPPED, "not attempted: the listing failed (see the failed "
                                      "rows) and 'On error' is 'Stop at the first failed "
                                      "file'")


def _log_walk(listed, existing):
    for path, message in listed.problems:
        LOG.error("Cannot copy %s: %s", printable(path), printable(message))
    for path, message in listed.skipped:
        LOG.info("Skipped %s: %s", printable(path), printable(message))
    for path, message in existing.problems:
        LOG.warning("In the target, %s: %s", printable(path), printable(message))


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


def _problem_rows(direction, listed, source, target):
    """Rows for what the listing could not use: failures, then what was left out
    on purpose (links with 'Skip', special files)."""
    for status, problems in ((FAILED, listed.problems), (SKIPPED, listed.skipped)):
        for path, message in problems:
            yield _problem_row(direction, path, message, source, target, status)


def _problem_row(direction, path, message, source, target, status):
    local_path, remote_path = _remote_and_local(direction, path, source, target)
    return {"path": local_path, "remote_path": remote_path, "size": None,
            "modified": "", direction.status_column: status, "reason": "",
            "error": message, "transferred_at": ""}


def iso_time(epoch):
    """ISO-8601 UTC text for an epoch time, '' when unknown."""
    if epoch is None:
        return ""
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")
