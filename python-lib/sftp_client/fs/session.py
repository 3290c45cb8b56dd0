"""The one SSH session of an FS provider: opened at the first call, reused by the
next ones, reopened once when the connection was lost (unless data already moved
to or from DSS in that call: a stream cannot be replayed). Errors leave it with
the folder path DSS asked for in their message.
"""
import logging
import threading

from sftp_client.errors import (ConfigError, ConnectionLostError, RemotePathError,
                                SftpClientError, TransferError, UnsafePathError)
from sftp_client.fs.paths import FolderPaths
from sftp_client.remote.error_map import QUIET_ERRORS
from sftp_client.connect.session import SftpSession

LOG = logging.getLogger(__name__)


class ProviderSession(object):
    """Runs the provider's operations, one at a time, on one SFTP channel."""

    def __init__(self, settings, base, root):
        self.settings = settings
        self.base = base              # the folder's remote directory
        self.root = root              # the folder's path as DSS shows it
        self.connections = 0          # sessions opened so far (tests, logs)
        self._session = None
        self._paths = None
        self._moved = False           # data moved to or from DSS in this call
        self._lock = threading.RLock()

    @property
    def transport(self):
        return self._session.transport if self._session is not None else None

    def run(self, what, rel, operation):
        """``operation(paths)`` (``FolderPaths`` on the live channel); once more on a
        new session when the connection was lost before any data moved."""
        with self._lock:
            for attempt in (1, 2):
                self._moved = False
                try:
                    return operation(self._connect())
                except ConnectionLostError as exc:
                    self._drop()
                    if attempt == 2 or self._moved:
                        raise self._reworded(exc, what, rel) from exc
                    LOG.warning("Connection to %s lost (%s); reconnecting once.",
                                self.settings.display_name(), exc)
                except ConfigError:
                    raise
                except SftpClientError as exc:
                    raise self._reworded(exc, what, rel) from exc

    def data_moved(self):
        """Bytes went to or came from DSS: the call can no longer be replayed."""
        self._moved = True

    def close(self):
        with self._lock:
            self._drop()

    def _connect(self):
        transport = self.transport
        if transport is not None and transport.is_active():
            return self._paths
        self._drop()
        session = SftpSession(self.settings).connect()
        try:
            sftp = session.open_sftp()
        except BaseException:
            session.close()
            raise
        self._session = session
        self._paths = FolderPaths(sftp, self.base, self.settings.root_path)
        self.connections += 1
        return self._paths

    def _drop(self):
        session, self._session, self._paths = self._session, None, None
        if session is not None:
            try:
                session.close()
            except QUIET_ERRORS:
                LOG.debug("Closing a lost connection failed; dropped anyway")

    def _reworded(self, exc, what, rel):
        """The same error, its message naming the folder path DSS asked for."""
        text = "%s /%s in the SFTP folder %s (%s) failed: %s" % (
            what, rel, self.root, self.base, exc)
        if isinstance(exc, (RemotePathError, UnsafePathError)):
            return type(exc)(text, "/" + rel)
        if isinstance(exc, TransferError):
            return TransferError(text, "/" + rel, exc.stage, exc.transient)
        return type(exc)(text)
