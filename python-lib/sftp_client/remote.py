"""``RemoteTree``: the tree surface (walk, open_read, write_atomic, makedirs) over
one SFTP channel, rooted at a directory inside the service's root path.

All remote errors become the library's own exception types in ``remote_errors``.
"""
import contextlib
import errno
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
from .transfer import copy_stream

LOG = logging.getLogger(__name__)

#: Read requests kept in flight per file (each up to 32 KiB): enough to fill a
#: fast link, bounded so a huge file does not queue thousands of requests.
MAX_PREFETCH_REQUESTS = 128
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
    if code in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ENOTCONN):
        return ConnectionLostError("The connection was lost while %s %s." % (action, path))
    text = exc.strerror or (exc.args[0] if exc.args else "") or "error"
    hint = " (the disk or quota may be full)" if "write" in action else ""
    return RemotePathError("The server reported '%s' while %s %s%s." % (
        text, action, path, hint), path)


class RemoteTree(object):
    """Files under ``base`` (absolute) on one SFTP channel; paths are relative."""

    def __init__(self, sftp, base, root=None):
        self.sftp = sftp
        self.base = base
        self.root = root or base
        self._dirs = set()
        self._lock = threading.Lock()
        self.posix_rename = True
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
                                          "'Remote path'." % self.base, self.base)
            self.makedirs("")
            return
        if not stat.S_ISDIR(attrs.st_mode or 0):
            raise RemoteNotADirectoryError("Remote path %s is a file, not a directory: "
                                           "check 'Remote path'." % self.base, self.base)
        with remote_errors("resolving", self.base):
            real, real_root = self.sftp.normalize(self.base), self.sftp.normalize(self.root)
        if not entries.is_within(real_root, real):
            raise UnsafePathError("Remote path %s resolves to %s, outside the service's "
                                  "root path %s." % (self.base, real, self.root), self.base)

    # --- reading --------------------------------------------------------------

    def walk(self, symlinks="skip"):
        """Every file and directory below the base, with problems listed apart."""
        result = WalkResult(files=[], dirs=[], problems=[])
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
            result.files.append(Entry(path, attrs.st_size or 0, _mtime(attrs)))
        else:
            result.problems.append((path, "not a regular file or directory: skipped"))
        return None

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

    def open_read(self, path, size=None):
        full = self.abs(path)
        with remote_errors("opening", full):
            handle = self.sftp.open(full, "rb")
            if size is None:
                size = handle.stat().st_size
            if size:
                try:
                    handle.prefetch(size, max_concurrent_requests=MAX_PREFETCH_REQUESTS)
                except TypeError:  # paramiko < 3.3 has no request limit
                    handle.prefetch(size)
        return _RemoteReader(handle, full)

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
                # Another worker may have created it meanwhile.
                if not stat.S_ISDIR(self.sftp.stat(full).st_mode or 0):
                    raise

    def write_atomic(self, path, source, size, mtime, progress=None):
        """Write ``source`` to a partial name, check it, then rename onto ``path``."""
        temp, handle = self.open_partial(path)
        try:
            with remote_errors("writing", temp):
                with handle:
                    copy_stream(source, handle, size, path, progress)
            self.commit_partial(temp, path, size, mtime)
        except BaseException:
            self.discard(temp)
            raise

    def open_partial(self, path):
        """``(temp path, pipelined write handle)`` for a new partial file beside
        ``path``, its parents created. Finish with ``commit_partial`` or ``discard``."""
        self.makedirs(posixpath.dirname(path))
        temp = entries.partial_path(self.abs(path))
        with remote_errors("creating", temp):
            handle = self.sftp.open(temp, "wb")
        handle.set_pipelined(True)
        return temp, handle

    def commit_partial(self, temp, path, size, mtime=None):
        """Check the closed partial file holds ``size`` bytes, set its time, and
        rename it onto ``path`` atomically. The caller discards it on failure."""
        with remote_errors("checking", temp):
            written = self.sftp.stat(temp).st_size
        if written != size:
            raise TransferError("%s: the server holds %d bytes after writing %d."
                                % (path, written, size), path, "verify", transient=True)
        self._set_mtime(temp, mtime)
        self._replace(temp, self.abs(path))

    def _set_mtime(self, full, mtime):
        if mtime is None or not self.can_set_mtime:
            return
        try:
            with remote_errors("setting the modification time of", full):
                self.sftp.utime(full, (mtime, mtime))
        except (RemotePermissionError, RemotePathError) as exc:
            self.can_set_mtime = False
            LOG.warning("The server refuses to set modification times (%s); the next "
                        "runs compare against recorded times instead.", exc)

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
