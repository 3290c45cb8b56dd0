"""SFTP client for the DSS plugin: settings, proxied sessions, incremental sync."""
from sftp_client.fast_import import import_paramiko

import_paramiko()  # before any module below imports it (see fast_import.py)

from sftp_client.errors import ConfigError, SftpClientError
from sftp_client.connect.settings import service_from_config
from sftp_client.sync.options import sync_options_from_config
from sftp_client.connect.session import SftpSession
from sftp_client.sync.run import download, upload

__all__ = ["ConfigError", "SftpClientError", "SftpSession", "download",
           "service_from_config", "sync_options_from_config", "upload"]
