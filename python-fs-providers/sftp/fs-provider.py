"""SFTP (through proxies): managed folders and files-based datasets stored on an
SFTP server. DSS builds the one FSProvider subclass below with
(root, config, plugin_config) and calls its methods with paths relative to root;
everything happens in python-lib (sftp_client.fs_provider).
"""
from dataiku.fsprovider import FSProvider

from sftp_client.dss import dss_io
from sftp_client.fs.provider import provider_from_config


class SftpFSProvider(FSProvider):

    def __init__(self, root, config, plugin_config):
        # --- Setup: validated settings now; the connection opens at the first call --
        dss_io.setup_logging()
        self.provider = provider_from_config(root, config, plugin_config)

    # --- Run: every call goes to the library, in DSS's shapes ------------------------
    def close(self):
        self.provider.close()

    def stat(self, path):
        return self.provider.stat(path)

    def set_last_modified(self, path, last_modified):
        return self.provider.set_last_modified(path, last_modified)

    def browse(self, path):
        return self.provider.browse(path)

    def enumerate(self, prefix, first_non_empty):
        return self.provider.enumerate(prefix, first_non_empty)

    def delete_recursive(self, path):
        return self.provider.delete_recursive(path)

    def move(self, from_path, to_path):
        return self.provider.move(from_path, to_path)

    def read(self, path, stream, limit):
        return self.provider.read(path, stream, limit)

    def write(self, path, stream):
        return self.provider.write(path, stream)
