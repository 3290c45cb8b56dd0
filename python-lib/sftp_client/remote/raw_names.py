"""Remote names as bytes: listing, and sending each path as the server knows it.

SFTP v3 names are bytes. paramiko decodes listed names (and REALPATH answers) as
strict UTF-8, so one Latin-1 name ('caf\\xe9.txt') makes a whole listing raise.
``list_raw`` sends OPENDIR/READDIR itself, the way paramiko's ``listdir_attr``
does, and reads each name as bytes: ``filename`` is its text
(``entries.safe_name``: 'caf%E9.txt'), ``raw_filename`` the bytes.

``RawNameSftp`` wraps one paramiko ``SFTPClient``: every path argument that was
listed under an escaped name is sent as the listed bytes (``NameMap``); any other
text path is sent as UTF-8, and a lookup of a text path that spells an escape
('caf%E9.txt') falls back to its raw bytes when the UTF-8 name does not exist
(for paths that come from a report or an earlier run, never listed here). New
files and directories are created under their text. Everything else is
paramiko's client, unchanged.
"""
import errno

from paramiko import SFTPAttributes
from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR, CMD_REALPATH

from sftp_client import entries
from sftp_client.names import NameMap


def list_raw(sftp, raw_full):
    """Attributes of every entry of remote directory ``raw_full`` (bytes), with
    ``filename`` (text) and ``raw_filename`` (bytes); '.' and '..' left out."""
    t, msg = sftp._request(CMD_OPENDIR, raw_full)
    if t != CMD_HANDLE:
        raise IOError("the server answered type %r to OPENDIR" % t)
    handle = msg.get_string()
    listed = []
    while True:
        try:
            t, msg = sftp._request(CMD_READDIR, handle)
        except EOFError:             # SSH_FX_EOF: every entry read
            break
        if t != CMD_NAME:
            raise IOError("the server answered type %r to READDIR" % t)
        for _ in range(msg.get_int()):
            raw = msg.get_string()
            longname = msg.get_string().decode("utf-8", "replace")
            attrs = SFTPAttributes._from_msg(msg, entries.safe_name(raw), longname)
            attrs.raw_filename = raw
            if raw not in (b".", b".."):
                listed.append(attrs)
    sftp._request(CMD_CLOSE, handle)
    return listed


def is_escaped(attrs):
    """Whether a listed entry's text name stands for other bytes (not UTF-8)."""
    raw = getattr(attrs, "raw_filename", None)
    return raw is not None and attrs.filename.encode("utf-8") != raw


def text_of(raw_path):
    """Text of a remote bytes path, each component through ``safe_name``."""
    return "/".join(entries.safe_name(part) for part in raw_path.split(b"/"))


class RawNameSftp(object):
    """``SFTPClient`` whose path arguments go out as the bytes the server listed."""

    def __init__(self, client, names=None):
        self.client = client
        self.names = names if names is not None else NameMap()

    def __getattr__(self, name):
        return getattr(self.client, name)

    # --- translating paths --------------------------------------------------------

    def wire(self, path):
        """What to send for ``path``: the listed bytes when known, else the path."""
        if isinstance(path, bytes):
            return path
        native = self.names.native(path)
        return path if native is None else native

    def _lookup(self, call, path, *args):
        """``call(wire path, *args)``; a text path that spells an escape and is not
        found as UTF-8 is tried again as its raw bytes."""
        wire = self.wire(path)
        try:
            return call(wire, *args)
        except IOError as exc:
            if exc.errno != errno.ENOENT or wire is not path:
                raise
            raw = entries.raw_path(path)
            if raw == path.encode("utf-8"):
                raise
        return call(raw, *args)

    # --- paramiko's calls on paths ---------------------------------------------------

    def listdir_attr(self, path):
        """``list_raw`` of ``path``; escaped names are remembered for later calls
        (not one whose text is also the UTF-8 name of another entry: the walk
        reports it)."""
        def listing(wire):
            raw = wire if isinstance(wire, bytes) else wire.encode("utf-8")
            return raw, list_raw(self.client, raw)
        raw_dir, listed = self._lookup(listing, path)
        text_dir = (path if isinstance(path, str) else text_of(path)).rstrip("/")
        self.names.remember(text_dir or "/", raw_dir)
        plain = set(a.filename for a in listed if not is_escaped(a))
        for attrs in listed:
            if is_escaped(attrs) and attrs.filename not in plain:
                self.names.remember(text_dir + "/" + attrs.filename,
                                    raw_dir.rstrip(b"/") + b"/" + attrs.raw_filename)
        return listed

    def normalize(self, path):
        """The server's absolute path for ``path``, as text (escaped names
        remembered), where paramiko would fail on a name that is not UTF-8."""
        def realpath(wire):
            t, msg = self.client._request(CMD_REALPATH, wire)
            if t != CMD_NAME or msg.get_int() != 1:
                raise IOError("the server answered type %r to REALPATH" % t)
            return msg.get_string()
        raw = self._lookup(realpath, path)
        parts = raw.split(b"/")
        for end in range(1, len(parts) + 1):
            self.names.remember(text_of(b"/".join(parts[:end])), b"/".join(parts[:end]))
        return text_of(raw)

    def open(self, path, mode="r", bufsize=-1):
        if "r" in mode and "+" not in mode:
            return self._lookup(self.client.open, path, mode, bufsize)
        return self.client.open(self.wire(path), mode, bufsize)

    def stat(self, path):
        return self._lookup(self.client.stat, path)

    def lstat(self, path):
        return self._lookup(self.client.lstat, path)

    def remove(self, path):
        return self._lookup(self.client.remove, path)

    def rmdir(self, path):
        return self._lookup(self.client.rmdir, path)

    def mkdir(self, path, mode=0o777):
        return self.client.mkdir(self.wire(path), mode)

    def utime(self, path, times):
        return self._lookup(self.client.utime, path, times)

    def rename(self, oldpath, newpath):
        return self._lookup(self.client.rename, oldpath, self.wire(newpath))

    def posix_rename(self, oldpath, newpath):
        return self._lookup(self.client.posix_rename, oldpath, self.wire(newpath))
