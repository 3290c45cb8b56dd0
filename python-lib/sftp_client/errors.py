"""The error tree of the SFTP client.

Every message is written for a DSS user: what failed, at which stage and what to
check. No message ever contains a password, a passphrase or key material: callers
build messages from field labels, host names, ports and paths only.
"""


class SftpClientError(Exception):
    """Base class; ``str(err)`` is safe to show in the DSS job log."""

    #: Whether retrying after a reconnect may succeed (timeouts, resets).
    transient = False


class ConfigError(SftpClientError):
    """A setting is missing or invalid. ``field`` is the label shown in DSS."""

    def __init__(self, field, message):
        self.field = field
        super(ConfigError, self).__init__('Invalid "%s": %s' % (field, message))


# --- Reaching the server ------------------------------------------------------

class ProxyError(SftpClientError):
    """The proxy could not open the tunnel to the SFTP server."""


class ProxyUnreachableError(ProxyError):
    """No TCP connection to the proxy itself."""


class ProxyAuthError(ProxyError):
    """The proxy refused (or required) credentials."""


class ProxyRefusedError(ProxyError):
    """The proxy refused to connect to the destination (rules, DNS, port)."""


class ProxyTimeoutError(ProxyError):
    transient = True


class ProxyProtocolError(ProxyError):
    """The proxy answered something that is not its protocol."""


class ConnectError(SftpClientError):
    """TCP connection, name resolution or SSH handshake with the server failed."""


class ConnectTimeoutError(ConnectError):
    transient = True


class HostKeyError(SftpClientError):
    """The server's host key could not be verified; the connection was refused."""


class HostKeyUnknownError(HostKeyError):
    pass


class HostKeyMismatchError(HostKeyError):
    pass


class AuthenticationError(SftpClientError):
    """The SSH server refused the login."""


class ConnectionLostError(SftpClientError):
    """The connection dropped or stopped answering in the middle of the work."""

    transient = True


# --- Working on paths ---------------------------------------------------------

class RemotePathError(SftpClientError):
    """An operation on a remote path failed; ``path`` is the remote path."""

    def __init__(self, message, path=None):
        self.path = path
        super(RemotePathError, self).__init__(message)


class RemoteNotFoundError(RemotePathError):
    pass


class RemotePermissionError(RemotePathError):
    pass


class RemoteNotADirectoryError(RemotePathError):
    pass


class RemoteExistsError(RemotePathError):
    pass


class RemoteSpaceError(RemotePathError):
    """The server reported a full disk or an exceeded quota."""


class UnsafePathError(SftpClientError):
    """A path would leave the allowed tree (root path or output folder)."""

    def __init__(self, message, path=None):
        self.path = path
        super(UnsafePathError, self).__init__(message)


class TransferError(SftpClientError):
    """Copying one file failed. ``path`` is relative to the synced trees."""

    def __init__(self, message, path=None, stage=None, transient=False):
        self.path = path
        self.stage = stage
        self.transient = transient
        super(TransferError, self).__init__(message)


class SyncFailedError(SftpClientError):
    """Raised after the report is written, when some files failed."""

    def __init__(self, message, failed=0):
        self.failed = failed
        super(SyncFailedError, self).__init__(message)


def describe(exc):
    """Short text of a low-level exception, never empty: paramiko raises
    ``EOFError()`` and 'Server connection dropped: ' (with nothing after it)."""
    text = str(exc).strip().rstrip(":").strip()
    if text:
        return text
    if isinstance(exc, EOFError):
        return "the server closed the connection"
    return exc.__class__.__name__
