"""``RemoteTree``: the tree surface (walk, open_read, write_atomic, makedirs) over
one SFTP channel, rooted at a directory inside the service's root path.

All remote errors become the library's own exception types in ``remote_errors``.
"""
import contextlib
import errno
import io
import logging
import posixpath
import socket
import stat
import threading

import paramiko

from . import entries
from .entries import Entry, WalkResult
from .errors import (ConnectionLostError, RemoteNotADirectoryError, RemoteNotFoundError,
                     RemotePathError, RemotePermissionError, RemoteSpaceError,
                     TransferError, UnsafePathError)
from .reader import finish_write, open_pipelined, server_limits
from .state import SyncState
from .transfer import copy_stream, keep_partial

LOG = logging.getLogger(__name__)

#: Bytes at the end of an interrupted upload's partial file that are written again
#: when resuming: more than the writes a connection can have in flight.
RESUME_MARGIN = 8 * 1024 * 1024
#: What paramiko raises (an OSError without errno) on a channel the connection lost.
_CLOSED_CHANNEL = "Socket is closed"
_SPACE_ERRNOS = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


@contextlib.contextmanager
def remote_errors(action, path):
    """Translate what paramiko raises while ``action``-ing ``path``."""
    try:
        yield
    except socket.timeout as exc:
        raise ConnectionLostError("The server stopped answering while %s %s." % (
            action, path)) from exc
    except (EOFError, paramiko.SSHException) as exc:
        raise ConnectionLostError("The connection was lost while %s %s (%s)." % (
            action, path, exc or exc.__class__.__name__)) from exc
    except (IOError, OSError) as exc:
        raise _path_error(exc, action, path) from exc


def _path_error(exc, action, path):
    code = exc.errno
    if code == errno.ENOENT:
        return RemoteNotFoundError("Remote path not found while %s: %s" % (action, path),
                                   path)
    if code in (errno.EACCES, errno.EPERM):
        return RemotePermissionError("Permission denied by the server while %s %s: "
                                     "check the SFTP user's rights." % (action, path), path)
    if code in _SPACE_ERRNOS:
        return RemoteSpaceError("The server is out of disk space or quota while %s %s."
                                % (action, path), path)
    if code in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ENOTCONN) or (
            code is None and str(exc) == _CLOSED_CHANNEL):
        return ConnectionLostError("The connection was lost while %s %s." % (action, path))
    text = exc.strerror or (exc.args[0] if exc.args else "") or "error"
    hint = " (the disk or quota may be full)" if "write" in action else ""
    return RemotePathError("The server reported '%s' while %s %s%s." % (
        text, action, path, hint), path)


class RemoteTree(object):
    """Files under ``base`` (absolute) on one SFTP channel; paths are relative."""

    def __init__(self, sftp, base, root=None, state=None, label="Remote path"):
        self.sftp = sftp
        self.base = base
        self.root = root or base
        self.label = label        # the form field the base comes from, for messages
        self.state = state        # SyncState shared by the run's trees, or None
        self._dirs = set()
        self._lock = threading.Lock()
        self.posix_rename = True
        self._as_target = False
        self._limits = None
        self.can_set_mtime = True

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

    # --- reading --------------------------------------------------------------

    def walk(self, symlinks="skip", as_target=False):
        """Every file and directory below the base, with problems listed apart.
        As a target, partial files left by an interrupted run are removed."""
        result = WalkResult(files=[], dirs=[], problems=[])
        self._as_target = as_target
        visited = set()
        if symlinks == "follow":
            with remote_errors("resolving", self.base):
                visited.add(self.sftp.normalize(self.base))
        pending = [""]
        while pending:
            rel = pending.pop(0)
            try:
                with remote_errors("listing", self.abs(rel) + "/"):
                    listing = self.sftp.listdir_attr(self.abs(rel))
            except (RemotePermissionError, RemoteNotFoundError, RemotePathError) as exc:
                if not rel:
                    raise
                result.problems.append((rel, "cannot list this directory: %s" % exc))
                continue
            for attrs in sorted(listing, key=lambda a: a.filename):
                child = self._classify(rel, attrs, symlinks, visited, result)
                if child is not None:
                    result.dirs.append(child)
                    pending.append(child)
        return result

    def _classify(self, rel, attrs, symlinks, visited, result):
        """Record a listed entry; return its path when it is a directory to walk."""
        name = attrs.filename
        try:
            path = entries.join(rel, name)
        except UnsafePathError as exc:
            result.problems.append(((rel + "/" if rel else "") + repr(name)[1:-1],
                                    str(exc)))
            return None
        if entries.is_internal(name):
            if self._as_target and entries.is_stale_partial(name):
                LOG.info("Removing %s, left by an interrupted run", self.abs(path))
                self.discard(self.abs(path))
            return None
        mode = attrs.st_mode or 0
        if stat.S_ISLNK(mode):
            if symlinks != "follow":
                result.problems.append((path, "symbolic link skipped (the 'Symbolic "
                                              "links' option is 'skip')"))
                return None
            return self._follow(path, visited, result)
        if stat.S_ISDIR(mode):
            return path
        if stat.S_ISREG(mode):
            result.files.append(self._entry(path, attrs))
        else:
            result.problems.append((path, "not a regular file or directory: skipped"))
        return None

    def _entry(self, path, attrs):
        """The file's entry; where the server could not keep our times, the time
        recorded at upload stands in while the file is as we left it."""
        size, mtime = attrs.st_size or 0, _mtime(attrs)
        if self.state is not None:
            known = self.state.known_mtime(path, size, remote_mtime=mtime)
            if known is not None:
                mtime = known
        return Entry(path, size, mtime)

    def _follow(self, path, visited, result):
        full = self.abs(path)
        try:
            with remote_errors("following link", full):
                attrs = self.sftp.stat(full)
                target = self.sftp.normalize(full)
        except RemotePathError as exc:
            result.problems.append((path, "broken symbolic link skipped (%s)" % exc))
            return None
        if not entries.is_within(self.sftp.normalize(self.root), target):
            result.problems.append((path, "symbolic link to %s, outside the service's "
                                          "root path: skipped" % target))
            return None
        if stat.S_ISREG(attrs.st_mode or 0):
            result.files.append(Entry(path, attrs.st_size or 0, _mtime(attrs)))
            return None
        if not stat.S_ISDIR(attrs.st_mode or 0) or target in visited:
            result.problems.append((path, "symbolic link loop or special file: skipped"))
            return None
        visited.add(target)
        return path

    def open_read(self, path, size=None, offset=0):
        """A reader of the remote file from byte ``offset`` on, requests pipelined
        (see reader.py)."""
        full = self.abs(path)
        with remote_errors("opening", full):
            stream = open_pipelined(self.sftp, full, size, offset,
                                    self.limits().read_size)
        return _RemoteReader(stream, full)

    def limits(self):
        """The server's request limits, asked once per channel."""
        if self._limits is None:
            with remote_errors("asking the limits of", self.base):
                self._limits = server_limits(self.sftp)
        return self._limits

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

    def write_atomic(self, path, source, size, mtime, progress=None, resume=None,
                     offset=0):
        """Write ``source`` to a partial name, check it, then rename onto ``path``.
        With ``offset``, continue the partial file a previous attempt kept."""
        if offset:
            temp = resume.temp
            with remote_errors("reopening", temp):
                handle = self._writable(self.sftp.open(temp, "r+b"))
            handle.seek(offset)
        else:
            temp, handle = self.open_partial(path)
        try:
            with remote_errors("writing", temp):
                with handle:
                    copy_stream(source, handle, size - offset, path, progress)
                    written, kept = self._finish_partial(handle, temp, mtime)
            self.commit_partial(temp, path, size, mtime, written=written, kept=kept)
        except BaseException as exc:
            if not keep_partial(resume, exc, temp):
                self.discard(temp)
            raise

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

    def open_partial(self, path):
        """``(temp path, pipelined write handle)`` for a new partial file beside
        ``path``, its parents created. Finish with ``commit_partial`` or ``discard``."""
        self.makedirs(posixpath.dirname(path))
        temp = entries.partial_path(self.abs(path))
        with remote_errors("creating", temp):
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
            error = _path_error(refusal, "setting the modification time of", temp)
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
                self.sftp.utime(full, (mtime, mtime))
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
                aside = entries.partial_path(full)
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
        try:
            self.sftp.remove(temp)
        except (IOError, OSError, EOFError, socket.error, paramiko.SSHException):
            LOG.debug("Could not remove partial file %s (removed on a later run)", temp)

    def stat(self, path):
        """``Entry`` for ``path``, or None when it does not exist."""
        full = self.abs(path)
        try:
            with remote_errors("checking", full):
                attrs = self.sftp.stat(full)
        except RemoteNotFoundError:
            return None
        return Entry(path, attrs.st_size or 0, _mtime(attrs))

    def close(self):
        """Save the state (as a target) and close the channel."""
        try:
            self.save_state()
        finally:
            self.sftp.close()


class _RemoteReader(object):
    """A remote file being read, translating errors; closes the handle."""

    def __init__(self, handle, full):
        self.handle = handle
        self.full = full

    def read(self, size):
        with remote_errors("reading", self.full):
            return self.handle.read(size)

    def close(self):
        try:
            self.handle.close()
        except (IOError, OSError, EOFError, socket.error, paramiko.SSHException):
            LOG.debug("Closing %s failed; the channel is dropped anyway", self.full)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _mtime(attrs):
    return int(attrs.st_mtime) if attrs.st_mtime is not None else None
