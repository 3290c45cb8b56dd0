"""Where paramiko's exceptions become the library's own, for every remote call.

``remote_errors(action, path)`` wraps one remote operation; ``path_error`` turns
an ``IOError``/``OSError`` the server answered into the matching
``RemotePathError`` (or a lost connection).
"""
import contextlib
import errno
import socket

import paramiko

from sftp_client.errors import (ConnectionLostError, RemoteNotFoundError, RemotePathError,
                                RemotePermissionError, RemoteSpaceError, describe)

#: What paramiko raises (an OSError without errno) on a channel the connection lost.
_CLOSED_CHANNEL = "Socket is closed"
_SPACE_ERRNOS = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
#: What a best-effort remote call may raise besides the library's own errors.
QUIET_ERRORS = (IOError, OSError, EOFError, socket.error, paramiko.SSHException)


@contextlib.contextmanager
def remote_errors(action, path):
    """Translate what paramiko raises while ``action``-ing ``path``."""
    try:
        yield
    except socket.timeout as exc:
        raise ConnectionLostError("The server stopped answering while %s %s." % (
            action, path)) from exc
    except (EOFError, paramiko.SSHException) as exc:
        raise ConnectionLostError("The connection was lost while %s %s (%s)." % (
            action, path, describe(exc))) from exc
    except (IOError, OSError) as exc:
        raise path_error(exc, action, path) from exc


def path_error(exc, action, path):
    code = exc.errno
    if code == errno.ENOENT:
        return RemoteNotFoundError("Remote path not found while %s: %s" % (action, path),
                                   path)
    if code in (errno.EACCES, errno.EPERM):
        return RemotePermissionError("Permission denied by the server while %s %s: "
                                     "check the SFTP user's rights." % (action, path), path)
    if code in _SPACE_ERRNOS:
        return RemoteSpaceError("The server is out of disk space or quota while %s %s."
                                % (action, path), path)
    if code in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ENOTCONN) or (
            code is None and str(exc) == _CLOSED_CHANNEL):
        return ConnectionLostError("The connection was lost while %s %s." % (action, path))
    text = exc.strerror or (exc.args[0] if exc.args else "") or "error"
    hint = " (the disk or quota may be full)" if "write" in action else ""
    return RemotePathError("The server reported '%s' while %s %s%s." % (
        text, action, path, hint), path)



def mtime_of(attrs):
    """Whole-second modification time of listed attributes, None when unknown."""
    return int(attrs.st_mtime) if attrs.st_mtime is not None else None
