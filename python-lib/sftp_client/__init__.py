"""SFTP client for the DSS plugin: settings, proxied sessions, incremental sync."""
from .fast_import import import_paramiko

import_paramiko()  # before any module below imports it (see fast_import.py)

from .errors import ConfigError, SftpClientError
from .settings import service_from_config
from .sync_options import sync_options_from_config
from .session import SftpSession
from .sync import download, upload

__all__ = ["ConfigError", "SftpClientError", "SftpSession", "download",
           "service_from_config", "sync_options_from_config", "upload"]
