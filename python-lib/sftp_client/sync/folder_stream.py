"""``StreamFolderTree``: a managed folder reached through DSS's stream API (S3, GCS,
HDFS, FS providers, ...). A file is spooled to local disk, checked, then handed to
the folder in a single ``upload_stream`` call. Such folders cannot store
modification times, so a small state file (``.sftp-sync-state.json``) remembers them.
"""
import logging
import os
import tempfile
import time

from sftp_client import entries
from sftp_client.entries import Entry, WalkResult
from sftp_client.errors import TransferError, UnsafePathError
from sftp_client.state import SyncState
from sftp_client.copying import CHUNK_SIZE, copy_stream, keep_partial

LOG = logging.getLogger(__name__)

#: Seconds between two saves of the state file during a long run.
STATE_SAVE_INTERVAL = 30.0


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
