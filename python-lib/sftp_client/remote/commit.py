"""Atomic writes on a remote tree: a partial file beside the target, its size
checked, its time set, then renamed into place (posix-rename, or a safe swap);
resuming an interrupted partial; the state file. A mixin of ``RemoteTree``.
"""
import errno
import io
import logging
import posixpath
import time

from sftp_client import entries, partials
from sftp_client.errors import (ConnectionLostError, RemoteNotFoundError, RemotePathError,
                                RemotePermissionError, TransferError)
from sftp_client.remote.reader import finish_write
from sftp_client.remote.error_map import QUIET_ERRORS, path_error, remote_errors
from sftp_client.state import SyncState
from sftp_client.copying import copy_stream, keep_partial

LOG = logging.getLogger(__name__)

#: Bytes at the end of an interrupted upload's partial file that are written again
#: when resuming: more than the writes a connection can have in flight, and the
#: span a ranged upload may hold unacknowledged below the file's end
#: (sync/upload_ranges.py: 8 ranges of 4 MiB).
RESUME_MARGIN = 32 * 1024 * 1024


class RemoteCommit(object):
    """Writing for ``RemoteTree`` (needs ``sftp``, ``abs``, ``makedirs``,
    ``limits``, ``stat``, ``state``, ``can_set_mtime``, ``posix_rename``)."""

    def write_atomic(self, path, source, size, mtime, progress=None, resume=None,
                     offset=0, fill=None):
        """Write ``source`` to a partial name, check it, then rename onto ``path``.
        With ``offset``, continue the partial file a previous attempt kept.
        ``fill(source, handle, temp, offset, progress)``, when given, writes the
        bytes instead of one stream (e.g. ranges over several channels)."""
        if offset:
            temp = resume.temp
            with remote_errors("reopening", temp):
                handle = self._writable(self.sftp.open(temp, "r+b"))
            handle.seek(offset)
        else:
            temp, handle = self.open_partial(path, size, mtime)
        try:
            try:
                with remote_errors("writing", self.abs(path)):
                    if fill is None:
                        copy_stream(source, handle, size - offset, path, progress)
                    else:
                        fill(source, handle, temp, offset, progress)
                    written, kept = self._finish_partial(handle, temp, mtime)
            except BaseException as exc:
                self.drop_handle(handle, exc)
                raise
            self.commit_partial(temp, path, size, mtime, written=written, kept=kept)
        except BaseException as exc:
            if isinstance(exc, ConnectionLostError):
                self.abandon()         # e.g. the rename timed out: nothing more to ask
            if not keep_partial(resume, exc, temp):
                self.discard(temp)     # given up for a later run when abandoned
            raise

    def drop_handle(self, handle, exc):
        """Close ``handle`` after ``exc``; on a connection known to be lost, close
        the connection first, so that nothing waits on it for another timeout."""
        if isinstance(exc, ConnectionLostError):
            self.abandon()
        try:
            handle.close()
        except QUIET_ERRORS:
            LOG.debug("Closing a file on a failed connection failed")

    def resume_offset(self, resume):
        """Where to continue a partial file an interrupted attempt left. Servers
        may run pipelined writes out of order, so its last RESUME_MARGIN bytes
        are written again; a shorter file is started over."""
        try:
            with remote_errors("checking", resume.temp):
                held = self.sftp.stat(resume.temp).st_size or 0
        except RemoteNotFoundError:
            resume.temp = None
            return 0
        return max(0, held - RESUME_MARGIN)

    def discard_resume(self, resume):
        self.discard(resume.temp)
        resume.temp = None

    def open_partial(self, path, size=None, mtime=None):
        """``(temp path, pipelined write handle)`` for a new partial file beside
        ``path``, its parents created; named after the source's ``size`` and
        ``mtime`` when given (see partials.py). Finish with ``commit_partial`` or
        ``discard``."""
        self.makedirs(posixpath.dirname(path))
        temp = partials.partial_path(self.abs(path), size, mtime)
        with remote_errors("creating", self.abs(path)):
            handle = self._writable(self.sftp.open(temp, "wb"))
        return temp, handle

    def _writable(self, handle):
        """Pipelined writes, as large as the server says it accepts."""
        handle.set_pipelined(True)
        handle.MAX_REQUEST_SIZE = self.limits().write_size
        return handle

    def _finish_partial(self, handle, temp, mtime):
        """Close the written handle; ``(size held, time kept)`` learnt on the way,
        or (None, None) when the server had to be asked separately."""
        wanted = mtime if self.can_set_mtime else None
        written, refusal = finish_write(self.sftp, handle, wanted)
        if written is None:
            return None, None
        if refusal is not None:
            error = path_error(refusal, "setting the modification time of", temp)
            if not isinstance(error, RemotePathError):
                raise error from refusal
            return written, self._mtime_refused(error)
        return written, wanted is not None

    def commit_partial(self, temp, path, size, mtime=None, written=None, kept=None):
        """Check the closed partial file holds ``size`` bytes, set its time, and
        rename it onto ``path`` atomically. The caller discards it on failure.
        ``written`` and ``kept``: what closing the file already told."""
        self.verify_partial(temp, path, size, written)
        if kept is None:
            kept = self._set_mtime(temp, mtime)
        self._replace(temp, self.abs(path))
        if not kept and mtime is not None and self.state is not None:
            stamped = self.stat(path)
            self.state.record(path, size=size, mtime=mtime,
                              remote_mtime=stamped.mtime if stamped else None)

    def verify_partial(self, temp, path, size, written=None):
        """Refuse (transiently) a partial file that does not hold ``size`` bytes;
        ``written``: the size already known, else asked."""
        if written is None:
            with remote_errors("checking", temp):
                written = self.sftp.stat(temp).st_size
        if written != size:
            raise TransferError("%s: the server holds %d bytes after writing %d."
                                % (path, written, size), path, "verify", transient=True)

    def _set_mtime(self, full, mtime):
        """Give the file ``mtime``; False when the server refuses."""
        if mtime is None or not self.can_set_mtime:
            return False
        try:
            with remote_errors("setting the modification time of", full):
                # access time now: the lease of a partial file (partials.py)
                self.sftp.utime(full, (time.time(), mtime))
            return True
        except RemotePathError as exc:
            return self._mtime_refused(exc)

    def _mtime_refused(self, exc):
        """Stop asking for times on this channel; say so once per run. False."""
        self.can_set_mtime = False
        if self.state is None or self.state.note_once("setstat refused"):
            LOG.warning("The server refuses to set modification times (%s); the "
                        "next runs compare against the times recorded in %s "
                        "instead.", exc, entries.STATE_FILE)
        return False

    def load_state(self):
        """Read the state file at the base, if any, into a new shared state."""
        self.state = SyncState()
        try:
            with remote_errors("reading", self.abs(entries.STATE_FILE)):
                with self.sftp.open(self.abs(entries.STATE_FILE), "rb") as handle:
                    self.state = SyncState.from_bytes(handle.read())
        except RemoteNotFoundError:
            pass
        return self.state

    def save_state(self):
        """Write the state file when this run recorded anything."""
        if self.state is None or not self.state.dirty:
            return
        payload = self.state.to_bytes()
        self.write_atomic(entries.STATE_FILE, io.BytesIO(payload), len(payload), None)

    def _replace(self, temp, full):
        """Atomic replace: posix-rename when offered, else a safe swap."""
        if self.posix_rename:
            try:
                with remote_errors("renaming onto", full):
                    self.sftp.posix_rename(temp, full)
                return
            except RemotePathError as exc:
                if isinstance(exc, (RemotePermissionError, RemoteNotFoundError)):
                    raise
                self.posix_rename = False
                # Each worker's channel learns it; the run's state says it once.
                if self.state is None or self.state.note_once("no posix-rename"):
                    LOG.info("The server has no posix-rename extension (%s): replacing "
                             "files by renaming the old copy aside first.", exc)
        self._swap(temp, full)

    def _swap(self, temp, full):
        """Plain SFTP rename refuses existing targets: move the old file aside,
        rename the new one in, then delete the old one. A failure in between puts
        the old file back, so the final name never disappears for good."""
        aside = None
        with remote_errors("replacing", full):
            try:
                self.sftp.stat(full)
                aside = partials.partial_path(full)
                self.sftp.rename(full, aside)
            except IOError as exc:
                if exc.errno != errno.ENOENT:
                    raise
            try:
                self.sftp.rename(temp, full)
            except (IOError, OSError):
                if aside:
                    self.sftp.rename(aside, full)
                raise
            if aside:
                self.sftp.remove(aside)

    def discard(self, temp):
        """Best-effort removal of a partial file."""
        if self.abandoned:
            partials.give_up(temp)    # removed (or resumed) by a later run
            return
        try:
            self.sftp.remove(temp)
        except QUIET_ERRORS:
            LOG.debug("Could not remove partial file %s (removed on a later run)", temp)
