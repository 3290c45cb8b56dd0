"""``LocalFolderTree``: a managed folder on the DSS host's filesystem (``get_path()``
works). Files are written beside their final name and renamed into place; the
source's modification time is set on them, so no state file is needed.
"""
import logging
import os
import time

from sftp_client import entries, partials
from sftp_client.entries import Entry, WalkResult
from sftp_client.errors import TransferError, UnsafePathError
from sftp_client.sync.local_files import printable_path, remove_quietly
from sftp_client.names import NameMap, same
from sftp_client.copying import copy_stream, keep_partial

LOG = logging.getLogger(__name__)


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
        remove_quietly(self.abs(leftover.path))

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
                remove_quietly(temp)
            raise TransferError("Cannot write %s in the managed folder: %s" % (
                path, exc.strerror or exc), path, "write") from exc
        except BaseException as exc:
            if not keep_partial(resume, exc, temp if created else None) and created:
                remove_quietly(temp)
            raise

    def resume_offset(self, resume):
        """A local partial file is written in order: all of it is kept."""
        try:
            return os.path.getsize(resume.temp)
        except OSError:
            resume.temp = None
            return 0

    def discard_resume(self, resume):
        remove_quietly(resume.temp)
        resume.temp = None

    def save_state(self):
        """Local folders keep modification times on the files themselves."""

    def share_state(self, state):
        """Local files carry their own times: nothing to share."""

    def close(self):
        pass
