"""The DSS FS-provider surface over an SFTP service: managed folders and
files-based datasets stored in a directory of the server, reached through the
same proxies, host-key checks and credentials as the recipes.

Every method takes DSS's paths (relative to the provider's root, see fs_paths)
and returns DSS's shapes, over the provider's one SSH session (fs_session).
Reads use the recipes' pipelined reader and stop soon after DSS's limit; writes go to a partial file
beside the target (the recipes' 128 KiB pipelined writes), checked, then renamed
over it, so a failed write leaves the previous file and no partial behind.
"""
import logging
import posixpath
import stat

from sftp_client.fs import listing as fs_listing
from sftp_client.entries import printable
from sftp_client.errors import (RemoteNotADirectoryError, RemoteNotFoundError, RemotePathError,
                                SftpClientError, TransferError, UnsafePathError)
from sftp_client.fs.paths import base_of, folder_relative
from sftp_client.fs.session import ProviderSession
from sftp_client.remote.reader import finish_write, open_pipelined
from sftp_client.remote.tree import RemoteTree
from sftp_client.remote.error_map import QUIET_ERRORS, mtime_of, remote_errors
from sftp_client.connect.settings import service_from_config
from sftp_client.copying import CHUNK_SIZE

LOG = logging.getLogger(__name__)

#: Errors a DSS source stream may raise while we read it.
_SOURCE_ERRORS = (IOError, OSError, ValueError, EOFError)


def provider_from_config(root, config, plugin_config):
    """The provider DSS builds with ``(root, config, plugin_config)``."""
    settings = service_from_config((config or {}).get("sftp_service"),
                                   plugin_config=plugin_config)
    return SftpFsProvider(settings, root)


def _ms(attrs):
    """Modification time in ms since the epoch, -1 when unknown."""
    mtime = mtime_of(attrs)
    return mtime * 1000 if mtime is not None else -1


def _is_dir(attrs):
    return stat.S_ISDIR(attrs.st_mode or 0)


class SftpFsProvider(object):
    """DSS's FS-provider methods for the directory ``root`` below the service's
    root path."""

    def __init__(self, settings, root):
        self.settings = settings
        self.base = base_of(settings.root_path, root)
        self.root = "/" + folder_relative(root)     # as DSS shows it, for messages
        self.session = ProviderSession(settings, self.base, self.root)
        self._swept = set()     # directories whose abandoned partial files are gone

    def close(self):
        self.session.close()

    def _run(self, what, rel, operation):
        return self.session.run(what, rel, operation)

    # --- describing -----------------------------------------------------------------

    def stat(self, path):
        rel = folder_relative(path)

        def operation(paths):
            _, attrs = paths.locate(rel)
            if attrs is None:
                return None
            return {"path": "/" + rel, "isDirectory": _is_dir(attrs),
                    "size": 0 if _is_dir(attrs) else attrs.st_size or 0,
                    "lastModified": _ms(attrs)}
        return self._run("Checking", rel, operation)

    def browse(self, path):
        rel = folder_relative(path)

        def operation(paths):
            _, attrs = paths.locate(rel)
            if attrs is None:
                return {"fullPath": "/" + rel, "exists": False}
            found = _details(rel, attrs)
            if found["directory"]:
                found["children"] = [_details(item.rel, item.attrs)
                                     for item in fs_listing.children(paths, rel)]
            return found
        return self._run("Browsing", rel, operation)

    def enumerate(self, prefix, first_non_empty):
        rel = folder_relative(prefix)

        def operation(paths):
            _, attrs = paths.locate(rel)
            if attrs is None:
                return None
            if not _is_dir(attrs):
                return [_file(rel, attrs)]
            found = []
            for item in fs_listing.files_below(paths, rel):
                found.append(_file(item.rel, item.attrs))
                if first_non_empty and item.attrs.st_size:
                    break
            return found
        return self._run("Listing", rel, operation)

    # --- reading and writing --------------------------------------------------------

    def read(self, path, stream, limit):
        rel = folder_relative(path, allow_root=False)

        def operation(paths):
            form, attrs = paths.locate(rel)
            if attrs is None:
                raise RemoteNotFoundError("no file there: check the path.", "/" + rel)
            if _is_dir(attrs):
                raise RemoteNotADirectoryError("it is a directory, not a file.", "/" + rel)
            size = attrs.st_size or 0
            wanted = size if limit is None or limit < 0 else min(size, int(limit))
            with self._reader(paths, rel, form, wanted) as reader:
                self._pour(reader, stream, wanted)
        return self._run("Reading", rel, operation)

    def _reader(self, paths, rel, form, wanted):
        if isinstance(form, str):
            return paths.tree.open_read(rel, size=wanted)
        full = paths.tree.abs(rel)
        with remote_errors("opening", full):
            return _Closing(open_pipelined(paths.sftp, form, wanted, 0,
                                           paths.tree.limits().read_size), full)

    def _pour(self, reader, stream, wanted):
        """Copy ``wanted`` bytes (or fewer, at the end of the file) into DSS's stream."""
        left = wanted
        while left > 0:
            chunk = reader.read(min(CHUNK_SIZE, left))
            if not chunk:
                break
            chunk = chunk[:left]
            self.session.data_moved()
            stream.write(chunk)
            left -= len(chunk)

    def write(self, path, stream):
        rel = folder_relative(path, allow_root=False)

        def operation(paths):
            tree, temp, handle = _open_partial(paths, rel)
            self._sweep_once(paths, posixpath.dirname(rel))
            try:
                with remote_errors("writing", temp):
                    with handle:
                        count = self._fill(stream, handle, rel)
                        written, _ = finish_write(paths.sftp, handle)
                tree.commit_partial(temp, rel, count, written=written)
            except BaseException:
                tree.discard(temp)
                raise
            return count
        self._run("Writing", rel, operation)

    def _sweep_once(self, paths, parent):
        """Remove the partial files that writers cut off (killed jobs, lost
        connections) left in ``parent``: once per directory and provider, so that
        a dataset written in many part files costs one listing."""
        if parent in self._swept:
            return
        self._swept.add(parent)
        swept = RemoteTree(paths.sftp, paths.tree.abs(parent), paths.tree.root,
                           label=paths.tree.label)
        try:
            swept.sweep_partials()
        except SftpClientError as exc:      # best effort: the write goes on
            LOG.info("Could not look for abandoned partial files in %s: %s",
                     printable(swept.base), exc)

    def _fill(self, stream, handle, rel):
        """Copy DSS's ``stream`` into the partial file; the bytes copied."""
        count = 0
        while True:
            self.session.data_moved()
            try:
                chunk = stream.read(CHUNK_SIZE)
            except _SOURCE_ERRORS as exc:
                raise TransferError("cannot read the data DSS sends (%s)." % exc,
                                    rel, "read") from exc
            if not chunk:
                return count
            handle.write(chunk)
            count += len(chunk)

    # --- changing -------------------------------------------------------------------

    def move(self, from_path, to_path):
        source = folder_relative(from_path, allow_root=False)
        target = folder_relative(to_path, allow_root=False)
        if target == source:
            return self.stat(from_path) is not None
        if target.startswith(source + "/"):
            raise UnsafePathError("Cannot move /%s into itself (/%s)." % (source, target),
                                  "/" + target)

        def operation(paths):
            form, attrs = paths.locate(source, follow=False)
            if attrs is None:
                return False
            paths.prepare_parent(target)
            # The atomic replace of remote_commit: posix-rename, else a safe swap.
            paths.tree._replace(form, paths.tree.abs(target))
            paths.forget()
            return True
        return self._run("Moving", source, operation)

    def delete_recursive(self, path):
        rel = folder_relative(path)

        def operation(paths):
            _, attrs = paths.locate(rel, follow=False)
            if attrs is None:
                return 0
            count = fs_listing.remove(paths, rel, attrs)
            paths.forget()
            return count
        return self._run("Deleting", rel, operation)

    def set_last_modified(self, path, last_modified):
        rel = folder_relative(path)
        seconds = int(last_modified) // 1000

        def operation(paths):
            form, attrs = paths.locate(rel)
            if attrs is None:
                return False
            try:
                with remote_errors("setting the modification time of",
                                   paths.tree.abs(rel)):
                    paths.sftp.utime(form, (seconds, seconds))
            except RemotePathError as exc:
                LOG.info("The server keeps its own time for /%s: %s", rel, exc)
                return False
            return True
        return self._run("Setting the time of", rel, operation)


def _open_partial(paths, rel):
    """``(tree, temp, handle)``: a partial file beside ``rel``, its directories
    created; once more from scratch when a directory known to exist went away (e.g.
    deleted by another DSS job)."""
    for attempt in (1, 2):
        paths.prepare_parent(rel)
        try:
            temp, handle = paths.tree.open_partial(rel)
            return paths.tree, temp, handle
        except RemoteNotFoundError:
            if attempt == 2:
                raise
            paths.forget()


def _details(rel, attrs):
    directory = _is_dir(attrs)
    return {"fullPath": "/" + rel, "exists": True, "directory": directory,
            "size": 0 if directory else attrs.st_size or 0, "lastModified": _ms(attrs)}


def _file(rel, attrs):
    return {"path": "/" + rel, "size": attrs.st_size or 0, "lastModified": _ms(attrs)}


class _Closing(object):
    """A reader of a file known by its raw name (RemoteTree.open_read's reader
    takes text paths), errors translated, closed quietly."""

    def __init__(self, reader, full):
        self.reader = reader
        self.full = full

    def read(self, size):
        with remote_errors("reading", self.full):
            return self.reader.read(size)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        try:
            self.reader.close()
        except QUIET_ERRORS:
            LOG.debug("Closing a remote file failed; the channel is dropped anyway")
