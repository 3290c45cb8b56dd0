"""``RemoteTree``: the tree surface (walk, open_read, write_atomic, makedirs) over
one SFTP channel, rooted at a directory inside the service's root path.

Confinement and reading live here; walking in ``remote_walk``, atomic writes in
``remote_commit``; paramiko's errors become the library's in ``remote_errors``.
"""
import errno
import logging
import posixpath
import stat
import threading
import time

from sftp_client import entries, partials
from sftp_client.entries import Entry
from sftp_client.errors import (ConnectionLostError, RemoteNotADirectoryError,
                                RemoteNotFoundError, RemotePathError, UnsafePathError)
from sftp_client.remote.reader import open_pipelined, server_limits
from sftp_client.remote.flight import round_trip
from sftp_client.remote.commit import RESUME_MARGIN, RemoteCommit
from sftp_client.remote.error_map import QUIET_ERRORS, mtime_of, path_error, remote_errors
from sftp_client.remote.raw_names import RawNameSftp
from sftp_client.remote.walk import RemoteWalk, listdir, touched

__all__ = ["RESUME_MARGIN", "RemoteTree", "path_error", "remote_errors"]

LOG = logging.getLogger(__name__)


class RemoteTree(RemoteWalk, RemoteCommit):
    """Files under ``base`` (absolute) on one SFTP channel; paths are relative.
    Paths are text; ``sftp`` (a ``RawNameSftp`` around the paramiko client) sends
    those listed under a name that is not UTF-8 as their bytes. ``names``: the
    run's shared ``NameMap``, so that every worker's tree knows them."""

    def __init__(self, sftp, base, root=None, state=None, label="Remote path",
                 names=None):
        self.sftp = sftp if isinstance(sftp, RawNameSftp) else RawNameSftp(sftp, names)
        self.names = self.sftp.names
        self.base = base
        self.root = root or base
        self.label = label        # the form field the base comes from, for messages
        self.state = state        # SyncState shared by the run's trees, or None
        self._dirs = set()
        self._lock = threading.Lock()
        self.posix_rename = True
        self._as_target = False
        self._limits = None
        self._rtt, self._rtt_checked = None, False
        self.can_set_mtime = True
        self.abandoned = False    # the connection was given up (see abandon)

    #: Partial files of a killed run can be taken over (partials.settle).
    can_resume_runs = True

    def abs(self, path):
        parts = entries.split_relative(path)
        return posixpath.join(self.base, *parts) if parts else self.base

    def check_directory(self, create=False):
        """Make sure the base is a directory inside the root (symlinks resolved)."""
        try:
            with remote_errors("opening", self.base):
                attrs = self.sftp.stat(self.base)
        except RemoteNotFoundError:
            if not create:
                raise RemoteNotFoundError("Remote directory %s does not exist: check "
                                          "'%s'." % (self.base, self.label), self.base)
            self._create_base()
            return
        if not stat.S_ISDIR(attrs.st_mode or 0):
            raise RemoteNotADirectoryError("Remote path %s is a file, not a directory: "
                                           "check '%s'." % (self.base, self.label), self.base)
        self._check_within_root(self.base)

    def _create_base(self):
        """Create the base and its missing parents below the root, each existing
        parent checked to resolve inside the root first."""
        current = self.root
        below = posixpath.relpath(self.base, self.root) if self.base != self.root else ""
        for part in entries.split_relative(below):
            parent, current = current, posixpath.join(current, part)
            try:
                with remote_errors("opening", current):
                    attrs = self.sftp.stat(current)
            except RemoteNotFoundError:
                self._check_within_root(parent)
                self._mkdir(current)
                continue
            if not stat.S_ISDIR(attrs.st_mode or 0):
                raise RemoteNotADirectoryError(
                    "%s is a file, so the remote directory %s cannot be created: check "
                    "'%s'." % (current, self.base, self.label), current)
        self._check_within_root(self.base)
        with self._lock:
            self._dirs.add(self.base)

    def _check_within_root(self, full):
        with remote_errors("resolving", full):
            real, real_root = self.sftp.normalize(full), self.sftp.normalize(self.root)
        if not entries.is_within(real_root, real):
            raise UnsafePathError("Remote path %s resolves to %s, outside the service's "
                                  "root path %s." % (full, real, self.root), full)


    def open_read(self, path, size=None, offset=0):
        """A reader of the remote file from byte ``offset`` on, requests pipelined
        (see reader.py)."""
        full = self.abs(path)
        with remote_errors("opening", full):
            stream = open_pipelined(self.sftp, full, size, offset,
                                    self.limits().read_size)
        return _RemoteReader(stream, full, self.abandon)

    def limits(self):
        """The server's request limits, asked once per channel (the answer's
        time is a first measure of the round trip)."""
        if self._limits is None:
            with remote_errors("asking the limits of", self.base):
                started = time.perf_counter()
                self._limits = server_limits(self.sftp)
                self._rtt = time.perf_counter() - started
        return self._limits

    def round_trip(self, short=0.0):
        """The channel's round-trip time in seconds: the limits request's, and
        when that is not under ``short``, the quickest of it and more timed
        requests (a busy machine only ever adds to one). Measured once."""
        self.limits()
        if not self._rtt_checked and self._rtt >= short:
            with remote_errors("checking", self.base):
                self._rtt = min(self._rtt, round_trip(self.sftp, self.base))
        self._rtt_checked = True
        return self._rtt

    # --- writing --------------------------------------------------------------

    def makedirs(self, path):
        """Create ``path`` and its parents (relative to the base) when missing."""
        current = self.base
        parts = entries.split_relative(path)
        for part in [None] + parts:
            current = posixpath.join(current, part) if part else current
            with self._lock:
                if current in self._dirs:
                    continue
            self._mkdir(current)
            with self._lock:
                self._dirs.add(current)

    def _mkdir(self, full):
        with remote_errors("creating directory", full):
            try:
                if stat.S_ISDIR(self.sftp.stat(full).st_mode or 0):
                    return
                raise RemoteNotADirectoryError("%s exists and is not a directory." % full,
                                               full)
            except IOError as exc:
                if exc.errno != errno.ENOENT:
                    raise
            try:
                self.sftp.mkdir(full)
            except IOError:
                # Another worker may have created it meanwhile; else the mkdir
                # error (permission denied, ...) is the one to report.
                try:
                    created = stat.S_ISDIR(self.sftp.stat(full).st_mode or 0)
                except IOError:
                    created = False
                if not created:
                    raise

    def stat(self, path):
        """``Entry`` for ``path``, or None when it does not exist."""
        full = self.abs(path)
        try:
            with remote_errors("checking", full):
                attrs = self.sftp.stat(full)
        except RemoteNotFoundError:
            return None
        return Entry(path, attrs.st_size or 0, mtime_of(attrs))

    def abandon(self):
        """Give up this tree's connection without waiting on it. After a timeout
        (or a drop) the channel is dead: closing a file or removing a partial
        over it would wait a whole timeout more for an answer that never comes.
        Closing the transport makes every further call fail at once."""
        if self.abandoned:
            return
        self.abandoned = True
        try:
            self.sftp.get_channel().get_transport().close()
        except QUIET_ERRORS:
            LOG.debug("Closing a lost connection failed")

    def claim_partial(self, leftover, source):
        """Take over the abandoned partial file ``leftover`` (``partials.Leftover``)
        for resuming: renamed to a partial name of this run, so that no other
        run takes it too. Its new path, or None when someone else was faster."""
        old = self.abs(leftover.path)
        new = partials.partial_path(self.abs(leftover.target), source.size, source.mtime)
        try:
            with remote_errors("claiming", old):
                self.sftp.rename(old, new)
        except RemotePathError as exc:
            LOG.info("Could not take over %s (%s): starting the file over", old, exc)
            return None
        return new

    def remove_partial(self, leftover):
        self.discard(self.abs(leftover.path))

    def sweep_partials(self):
        """Remove the abandoned partial files directly in the base (what the
        exporter does before writing: earlier exports cut off leave them)."""
        with remote_errors("listing", self.base + "/"):
            listing = listdir(self.sftp, self.base)
        now = time.time()
        for attrs in listing:
            found = partials.leftover("", attrs.filename, attrs.st_size or 0, touched(attrs))
            if found is not None and partials.abandoned(found, now):
                LOG.info("Removing %s, left by an interrupted export or run",
                         self.abs(found.path))
                self.discard(self.abs(found.path))

    def close(self):
        """Save the state (as a target) and close the channel."""
        try:
            self.save_state()
        finally:
            self.sftp.close()


class _RemoteReader(object):
    """A remote file being read, translating errors; closes the handle."""

    def __init__(self, handle, full, on_lost):
        self.handle = handle
        self.full = full
        self.on_lost = on_lost    # called when the connection is known to be lost

    def read(self, size):
        try:
            with remote_errors("reading", self.full):
                return self.handle.read(size)
        except ConnectionLostError:
            self.on_lost()
            raise

    def close(self):
        try:
            self.handle.close()
        except QUIET_ERRORS:
            LOG.debug("Closing %s failed; the channel is dropped anyway", self.full)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

