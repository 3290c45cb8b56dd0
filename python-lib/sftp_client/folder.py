"""Managed folders as trees: the same surface as ``RemoteTree`` over a DSS folder
object passed in (duck-typed; this module never imports ``dataiku``).

- ``LocalFolderTree``: folders on the DSS host's filesystem (``get_path()`` works).
  Files are written beside their final name and renamed into place; the remote
  modification time is set on them, so no state file is needed.
- ``StreamFolderTree``: any other folder (S3, GCS, HDFS, ...), through the stream
  API. A file is spooled to local disk, checked, then handed to the folder in a
  single ``upload_stream`` call. Such folders cannot store modification times, so
  a small state file (``.sftp-sync-state.json``) remembers them.
"""
import errno
import logging
import os
import tempfile
import time

from . import entries, partials
from .entries import Entry, WalkResult
from .errors import TransferError, UnsafePathError
from .names import NameMap, same
from .state import SyncState
from .transfer import CHUNK_SIZE, copy_stream, keep_partial

LOG = logging.getLogger(__name__)

#: Seconds between two saves of the state file during a long run.
STATE_SAVE_INTERVAL = 30.0


def folder_tree(folder, role):
    """The tree for a DSS folder object; ``role`` is "source" or "target"."""
    try:
        path = folder.get_path()
    except Exception:  # DSS raises a plain Exception for non-filesystem folders
        path = None
    if path and os.path.isdir(path):
        return LocalFolderTree(path)
    return StreamFolderTree(folder, role)


class LocalFolderTree(object):
    """A folder on the local disk. A name ``os.listdir`` gives that is not UTF-8
    (surrogate-escaped) is listed under its safe name (``entries.safe_name``) and
    opened under its own; a new file is created under its text name."""

    description = "local filesystem folder"

    def __init__(self, base):
        self.base = os.path.realpath(base)
        self._names = NameMap(encode=same)   # text relative path -> native one
        self._checked = set()      # existing directories seen to resolve inside base

    def abs(self, path):
        parts = entries.split_relative(path)
        native = self._names.native("/".join(parts))
        full = os.path.join(self.base, *(native.split("/") if native else parts))
        directory = os.path.dirname(full)
        if directory in self._checked:
            return full
        parent = os.path.realpath(directory)
        if not (parent == self.base or parent.startswith(self.base + os.sep)):
            raise UnsafePathError("%s would be written outside the managed folder "
                                  "(through a symbolic link): refused." % path, path)
        if parent == directory and os.path.isdir(directory):
            self._checked.add(directory)
        return full

    def walk(self, symlinks="skip", as_target=False):
        result = WalkResult.empty()
        texts = {self.base: ""}              # native directory -> its text path
        errors = []
        for top, dirs, files in os.walk(self.base, onerror=errors.append):
            rel_top = texts[top]
            seen = set()
            dirs[:] = [name for name in sorted(dirs)
                       if self._add_dir(top, rel_top, name, seen, texts, result)]
            for name in sorted(files):
                self._add_file(top, rel_top, name, seen, as_target, result)
        for exc in errors:
            if exc.filename == self.base:
                raise TransferError("Cannot list the managed folder: %s" % exc.strerror,
                                    "", "list") from exc
            result.problems.append((texts.get(exc.filename, printable_path(exc.filename)),
                                    "cannot list this directory: %s" % exc.strerror))
        return result

    def _text_path(self, top, rel_top, name, seen, result):
        """The text path of a listed native name (remembered when it differs);
        None, with a problem recorded, when the name cannot be used."""
        text = entries.safe_name(os.fsencode(name))
        try:
            path = entries.join(rel_top, text)
        except UnsafePathError as exc:
            result.problems.append(((rel_top + "/" if rel_top else "") +
                                    entries.printable(text), str(exc)))
            return None
        if text in seen:
            result.problems.append((path, "a name that is not UTF-8 (%r) has the same "
                                          "safe name as another file here: not copied"
                                    % os.fsencode(name)))
            return None
        seen.add(text)
        native_top = os.path.relpath(top, self.base).replace(os.sep, "/")
        self._names.remember(path, name if native_top == "." else
                             native_top + "/" + name)
        return path

    def _add_dir(self, top, rel_top, name, seen, texts, result):
        path = self._text_path(top, rel_top, name, seen, result)
        if path is None:
            return False
        result.dirs.append(path)
        texts[os.path.join(top, name)] = path
        return True

    def _add_file(self, top, rel_top, name, seen, as_target, result):
        full = os.path.join(top, name)
        if entries.is_internal(name):
            if as_target:
                self._note_partial(rel_top, name, full, result)
            return
        path = self._text_path(top, rel_top, name, seen, result)
        if path is None:
            return
        try:
            info = os.stat(full)
        except OSError as exc:
            result.problems.append((path, "cannot read this file's size and time: %s"
                                    % exc.strerror))
            return
        result.files.append(Entry(path, info.st_size, int(info.st_mtime)))

    @staticmethod
    def _note_partial(rel_top, name, full, result):
        try:
            info = os.stat(full)
        except OSError:
            return           # removed meanwhile
        found = partials.leftover(rel_top, name, info.st_size,
                                  max(info.st_mtime, info.st_atime))
        if found is not None:
            result.partials.append(found)

    #: Partial files of a killed run can be taken over (partials.settle).
    can_resume_runs = True

    def claim_partial(self, leftover, source):
        """Take over an abandoned partial file (see RemoteTree.claim_partial)."""
        old = self.abs(leftover.path)
        new = os.path.join(os.path.dirname(old), partials.partial_name(
            os.path.basename(self.abs(leftover.target)), source.size, source.mtime))
        try:
            os.rename(old, new)
        except OSError as exc:
            LOG.info("Could not take over %s (%s): starting the file over", old,
                     exc.strerror)
            return None
        return new

    def remove_partial(self, leftover):
        _remove_quietly(self.abs(leftover.path))

    def open_read(self, path, size=None, offset=0):
        try:
            handle = open(self.abs(path), "rb")
        except (IOError, OSError) as exc:
            raise TransferError("Cannot open %s in the managed folder: %s" % (
                path, exc.strerror), path, "read") from exc
        handle.seek(offset)
        return handle

    def makedirs(self, path):
        full = self.abs(path) if path else self.base
        if full in self._checked:
            return
        try:
            os.makedirs(full, exist_ok=True)
        except OSError as exc:
            raise TransferError("Cannot create directory %s in the managed folder: %s"
                                % (path, exc.strerror), path, "mkdir") from exc

    def write_atomic(self, path, source, size, mtime, progress=None, resume=None,
                     offset=0):
        """Write ``source`` (from byte ``offset`` on, into the partial file a
        previous attempt kept) to a partial file, then rename it onto ``path``."""
        full = self.abs(path)
        self.makedirs(os.path.dirname(path.strip("/")))
        temp = resume.temp if offset else os.path.join(
            os.path.dirname(full), partials.partial_name(os.path.basename(full), size,
                                                         mtime))
        created = bool(offset)
        try:
            with open(temp, "r+b" if offset else "wb") as handle:
                created = True
                handle.truncate(offset)
                handle.seek(offset)
                copy_stream(source, handle, size - offset, path, progress)
            if mtime is not None:    # access time now: the partial's lease
                os.utime(temp, (time.time(), mtime))
            os.replace(temp, full)
        except (IOError, OSError) as exc:
            keep_partial(resume, exc, None)
            if created:
                _remove_quietly(temp)
            raise TransferError("Cannot write %s in the managed folder: %s" % (
                path, exc.strerror or exc), path, "write") from exc
        except BaseException as exc:
            if not keep_partial(resume, exc, temp if created else None) and created:
                _remove_quietly(temp)
            raise

    def resume_offset(self, resume):
        """A local partial file is written in order: all of it is kept."""
        try:
            return os.path.getsize(resume.temp)
        except OSError:
            resume.temp = None
            return 0

    def discard_resume(self, resume):
        _remove_quietly(resume.temp)
        resume.temp = None

    def save_state(self):
        """Local folders keep modification times on the files themselves."""

    def share_state(self, state):
        """Local files carry their own times: nothing to share."""

    def close(self):
        pass


class StreamFolderTree(object):
    description = "managed folder (stream API)"
    #: Files are spooled on local disk and sent whole: nothing to resume from
    #: after the run that spooled them ended.
    can_resume_runs = False

    def __init__(self, folder, role):
        self.folder = folder
        self.role = role
        self._last_save = time.time()
        # A source folder is never written: its first-seen times live in the
        # target's state (see share_state).
        self.state = self._load_state() if role == "target" else SyncState()

    def share_state(self, state):
        """As a source, record first-seen times in ``state``, the state the
        target keeps (the SFTP upload's state file)."""
        self.state = state

    # --- state file -------------------------------------------------------------

    def _load_state(self):
        try:
            with self.folder.get_download_stream("/" + entries.STATE_FILE) as stream:
                return SyncState.from_bytes(stream.read())
        except Exception:  # missing or unreadable: DSS raises plain Exceptions
            LOG.info("No readable %s in the folder: modification times start unknown",
                     entries.STATE_FILE)
            return SyncState()

    def save_state(self):
        self._last_save = time.time()
        with tempfile.TemporaryFile() as spool:
            spool.write(self.state.to_bytes())
            spool.seek(0)
            self._upload("/" + entries.STATE_FILE, spool)

    def _remember(self, path, size, mtime):
        self.state.record(path, size=size, mtime=mtime)
        if self.role == "target" and time.time() - self._last_save >= STATE_SAVE_INTERVAL:
            self.save_state()

    # --- listing ----------------------------------------------------------------

    def walk(self, symlinks="skip", as_target=False):
        result = WalkResult.empty()
        pending = [""]
        while pending:
            rel = pending.pop(0)
            details = self.folder.get_path_details("/" + rel)
            for child in sorted(details.get("children") or [],
                                key=lambda c: c.get("fullPath", "")):
                self._add_child(child, result, pending)
        return result

    def _add_child(self, child, result, pending):
        full = (child.get("fullPath") or "").strip("/")
        try:
            parts = entries.split_relative(full)
        except UnsafePathError as exc:
            result.problems.append((full, str(exc)))
            return
        path = "/".join(parts)
        if not parts or entries.is_internal(parts[-1]):
            return
        if child.get("directory"):
            result.dirs.append(path)
            pending.append(path)
            return
        size = int(child.get("size") or 0)
        result.files.append(Entry(path, size, self._mtime(path, size, child)))

    def _mtime(self, path, size, child):
        """Target: the time recorded when we wrote the file. Source: the folder's
        own time when it has one, else the time the file was first seen."""
        known = self.state.known_mtime(path, size)
        if self.role == "target":
            return known
        modified = child.get("lastModified")
        if modified:
            return int(modified) // 1000
        if known is None:
            known = int(time.time())
            self._remember(path, size, known)
        return known

    # --- reading and writing ----------------------------------------------------

    def open_read(self, path, size=None, offset=0):
        try:
            stream = self.folder.get_download_stream("/" + "/".join(
                entries.split_relative(path)))
            left = offset
            while left > 0:      # DSS streams cannot seek: skip what is copied
                skipped = len(stream.read(min(left, CHUNK_SIZE)))
                if not skipped:
                    break        # shorter than expected: the byte count tells
                left -= skipped
            return stream
        except Exception as exc:  # DSS raises plain Exceptions
            raise TransferError("Cannot read %s from the managed folder: %s" % (
                path, exc), path, "read") from exc

    def makedirs(self, path):
        """Object stores have no directories; they appear with their files."""

    def write_atomic(self, path, source, size, mtime, progress=None, resume=None,
                     offset=0):
        """Spool ``source`` (from byte ``offset`` on, after the spool a previous
        attempt kept) into a local temporary file, then upload it whole."""
        clean = "/".join(entries.split_relative(path))
        spool = resume.temp if offset else tempfile.TemporaryFile(prefix="sftp-spool-")
        kept = False
        try:
            spool.seek(offset)
            spool.truncate()
            copy_stream(source, spool, size - offset, path, progress)
            spool.seek(0)
            self._upload("/" + clean, spool)
        except BaseException as exc:
            kept = keep_partial(resume, exc, spool)
            raise
        finally:
            if not kept:
                spool.close()
        self._remember(clean, size, mtime)

    def resume_offset(self, resume):
        """The spool is written in order: all of it is kept."""
        return resume.temp.seek(0, os.SEEK_END)

    def discard_resume(self, resume):
        resume.temp.close()
        resume.temp = None

    def _upload(self, path, stream):
        try:
            self.folder.upload_stream(path, stream)
        except Exception as exc:  # DSS raises plain Exceptions
            raise TransferError("Cannot write %s into the managed folder: %s" % (
                path, exc), path, "write") from exc

    def close(self):
        if self.role == "target" and self.state.dirty:
            self.save_state()


def printable_path(path):
    """A local path for a log line or report: names that are not UTF-8 escaped."""
    return entries.printable(entries.safe_name(os.fsencode(path)))


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            LOG.warning("Could not remove %s: %s", printable_path(path), exc.strerror)
