"""A small Python API for notebooks and code recipes inside DSS (python-lib is
importable there), composed of the plugin's own pieces:

    from sftp_client.api import Sftp

    with Sftp(preset) as sftp:                   # preset: the SFTP Services dict
        for entry in sftp.listdir("incoming"):
            print(entry.path, entry.size, entry.is_dir)
        with sftp.open("incoming/sales.csv") as handle:
            df = pandas.read_csv(handle)
    result = Sftp(preset).download("incoming", dataiku.Folder("landing"))

``download`` / ``upload`` follow the recipes' incremental rules (same planner,
atomic writes, report rows); a local directory path also works as the folder.
"""
import io
import os
import posixpath
import stat
from typing import NamedTuple, Optional

from sftp_client.entries import resolve_under
from sftp_client.remote.tree import RemoteTree
from sftp_client.remote.error_map import mtime_of, remote_errors
from sftp_client.remote.walk import listdir
from sftp_client.connect.session import SftpSession
from sftp_client.connect.settings import service_from_config
from sftp_client.sync.options import sync_options_from_config
from sftp_client.sync.run import download as sync_download
from sftp_client.sync.run import upload as sync_upload


class RemoteEntry(NamedTuple):
    name: str
    path: str                  # relative to the service's root path
    size: int
    mtime: Optional[int]       # seconds since the epoch; None when unknown
    is_dir: bool


class Sftp(object):
    """One SFTP service; a context manager holding one connection for ``listdir``
    and ``open`` (``download`` and ``upload`` open their own)."""

    def __init__(self, preset, plugin_config=None):
        # ``plugin_config``: the plugin's admin settings (policy.py); without them the
        # strict defaults apply (no key or known_hosts file, no 'none' host key check).
        self.settings = service_from_config(preset, plugin_config=plugin_config)
        self.session = None
        self.sftp = None

    def __enter__(self):
        self.session = SftpSession(self.settings).connect()
        try:
            self.sftp = self.session.open_sftp()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        if self.session is not None:
            self.session.close()
        self.session = self.sftp = None

    def _tree(self, remote_dir):
        if self.sftp is None:
            raise RuntimeError("use 'with Sftp(preset) as sftp:' to connect first")
        base = resolve_under(self.settings.root_path, remote_dir or "", "Remote path")
        return RemoteTree(self.sftp, base, self.settings.root_path)

    def listdir(self, remote_path=""):
        """The entries of one remote directory (relative to the root path), sorted."""
        tree = self._tree(remote_path)
        tree.check_directory()
        with remote_errors("listing", tree.base + "/"):
            listing = listdir(self.sftp, tree.base)
        rel = posixpath.relpath(tree.base, self.settings.root_path)
        rel = "" if rel == "." else rel
        found = []
        for attrs in listing:
            name = attrs.filename
            found.append(RemoteEntry(name, posixpath.join(rel, name), attrs.st_size or 0,
                                     mtime_of(attrs),
                                     stat.S_ISDIR(attrs.st_mode or 0)))
        return sorted(found, key=lambda e: e.name)

    def open(self, remote_path):
        """A binary, read-only file object for one remote file (buffered, with
        ``read()``, ``readline()`` and iteration); close it, or use ``with``."""
        full = resolve_under(self.settings.root_path, remote_path, "Remote path")
        tree = self._tree(posixpath.dirname(full))
        reader = tree.open_read(posixpath.basename(full))
        return io.BufferedReader(_RawReader(reader), buffer_size=1024 * 1024)

    def download(self, remote_path, folder, **options):
        """Copy the remote directory into ``folder`` (a ``dataiku.Folder`` or a local
        directory path) incrementally; options as the recipe's params
        (include_patterns, exclude_patterns, min_age_seconds, symlinks, on_error,
        workers, dry_run). Returns the ``SyncResult`` (``rows``, ``summary()``)."""
        return sync_download(settings=self.settings, remote_path=remote_path,
                             folder=_folder(folder, create=True),
                             options=sync_options_from_config(options))

    def upload(self, folder, remote_path, **options):
        """Copy ``folder`` into the remote directory incrementally (see download)."""
        return sync_upload(settings=self.settings, folder=_folder(folder),
                           remote_path=remote_path, options=sync_options_from_config(options))


def _folder(folder, create=False):
    if not isinstance(folder, str):
        return folder
    if create and not os.path.isdir(folder):
        os.makedirs(folder)
    return _LocalDirectory(folder)


class _LocalDirectory(object):
    """A local directory seen as a filesystem managed folder."""

    def __init__(self, path):
        self.path = path

    def get_path(self):
        return self.path


class _RawReader(io.RawIOBase):
    """``readinto`` over a remote reader whose ``read`` returns answers as they
    come, whatever their size."""

    def __init__(self, reader):
        io.RawIOBase.__init__(self)
        self._reader = reader
        self._pending = b""

    def readable(self):
        return True

    def readinto(self, buffer):
        if not self._pending:
            self._pending = self._reader.read(len(buffer))
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self):
        if not self.closed:
            self._reader.close()
        io.RawIOBase.close(self)
