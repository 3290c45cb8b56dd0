"""Managed folders as trees: the same surface as ``RemoteTree`` over a DSS folder
object passed in (duck-typed; this module never imports ``dataiku``).

- ``LocalFolderTree`` (folder_local.py): folders on the DSS host's filesystem (``get_path()`` works).
  Files are written beside their final name and renamed into place; the
  source's modification time is set on them, so no state file is needed.
- ``StreamFolderTree`` (folder_stream.py): any other folder (S3, GCS, HDFS, ...), through the stream
  API. A file is spooled to local disk, checked, then handed to the folder in a
  single ``upload_stream`` call. Such folders cannot store modification times, so
  a small state file (``.sftp-sync-state.json``) remembers them.
"""
import os

from sftp_client.sync.folder_local import LocalFolderTree
from sftp_client.sync.folder_stream import StreamFolderTree

__all__ = ["LocalFolderTree", "StreamFolderTree", "folder_tree"]


def folder_tree(folder, role):
    """The tree for a DSS folder object; ``role`` is "source" or "target"."""
    try:
        path = folder.get_path()
    except Exception:  # DSS raises a plain Exception for non-filesystem folders
        path = None
    if path and os.path.isdir(path):
        return LocalFolderTree(path)
    return StreamFolderTree(folder, role)
