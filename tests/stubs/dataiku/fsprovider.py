"""Stand-in for ``dataiku.fsprovider`` (reference section 15; DSS's "API for custom FS
providers"), for tests only.

DSS finds the one ``FSProvider`` subclass of an fs-provider.py by its base class and builds
it with ``(root, config, plugin_config)``; every method's ``path`` is relative to ``root``
('/' or '' is the root itself). ``_harness.register_provider_folder`` builds one the same way
and serves a managed folder's stream API with it.
"""

__all__ = ["FSProvider"]


class FSProvider(object):
    """The base interface for a custom FS provider."""

    def __init__(self, root, config, plugin_config):
        """root: the root path for this provider; config: the dict of the configuration of
        the object; plugin_config: the plugin settings. Stores nothing."""

    def close(self):
        """Perform any necessary cleanup."""
        raise NotImplementedError

    def stat(self, path):
        """Info about the object at ``path``: {"path", "isDirectory", "size",
        "lastModified"}, or None if the object doesn't exist."""
        raise NotImplementedError

    def set_last_modified(self, path, last_modified):
        """Set the modification time (ms) of ``path``. Return False if not possible."""
        raise NotImplementedError

    def browse(self, path):
        """The file or directory at ``path`` and its children (if a directory):
        {"fullPath", "exists", "directory", "size", "children": [...]}."""
        raise NotImplementedError

    def enumerate(self, prefix, first_non_empty):
        """Files below ``prefix``, recursively: [{"path", "size", "lastModified"}]. If
        first_non_empty, stop at the first non-empty file. None if the prefix doesn't
        denote a file or folder."""
        raise NotImplementedError

    def delete_recursive(self, path):
        """Delete recursively from ``path``. Return the number of deleted files (optional)."""
        raise NotImplementedError

    def move(self, from_path, to_path):
        """Move a file or folder to a new path inside the provider's root. Return False if
        the moved file didn't exist."""
        raise NotImplementedError

    def read(self, path, stream, limit):
        """Read the object at ``path`` into ``stream``; ``limit`` (-1: none) is an optional
        bound on the number of bytes to send."""
        raise NotImplementedError

    def write(self, path, stream):
        """Write the content of ``stream`` to the object at ``path``."""
        raise NotImplementedError
