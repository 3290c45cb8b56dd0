"""An in-process SFTP server (paramiko, server mode) for what real OpenSSH cannot do.

It serves ``root_dir`` ("/" = root_dir, nothing outside it) on 127.0.0.1 and a free
port, password auth only, and can misbehave on purpose:

* ``hostile_names={"/dir": ["../escape.txt", "a/b.txt", ...]}``: extra entries of
  ``list_folder`` that do not exist on disk (regular files, size 5, mtime 1600000000);
  opening or stat-ing ``"/dir/" + name`` serves them (content ``b"EVIL!"``).
* no ``posix-rename@openssh.com``: paramiko's SFTPServer *does* dispatch that extension
  to ``SFTPServerInterface.posix_rename`` (without advertising it); we answer
  SSH_FX_OP_UNSUPPORTED (the client raises IOError). Plain rename fails if the
  target exists (SFTP v3 / OpenSSH semantics).
* ``max_read=N``: READ answers carry at most N bytes (short reads, as servers that
  cap the read length do); ``refuse_reads_over=N``: a READ asking more than N bytes
  fails (SSH_FX_FAILURE); ``pad_reads=N``: READ answers carry N bytes more than
  asked. ``counts["read_requests"]`` counts READs.
* ``refuse_setstat=True``: SETSTAT/FSETSTAT (utime, chmod, truncate) -> permission denied.
* ``drop_after_bytes=N``: a connection delivers (``drop_on="read"``) or stores
  (``drop_on="write"``) at most N bytes of file data; the request going beyond N cuts the
  TCP connection instead of being answered. With ``drop_once`` (default) only the
  first cut happens, so a retry on a new connection succeeds. ``server.drops`` counts cuts.
  With ``cut_with_reset``, a cut is a TCP reset (the client reads ECONNRESET, as behind
  a relay or firewall that kills the connection) instead of an orderly close.

* names that are not UTF-8: files created on disk under bytes names (e.g.
  ``b"caf\xe9.txt"``) are listed and served under those bytes, as older servers do.
* ``sftp_subsystem=False``: the "sftp" subsystem request is refused (the connection
  stays up); ``drop_on_sftp=True``: the connection is cut when SFTP is requested.

* stalls (``stall_after_bytes``, ``stall_on``, ``stall_once``: attributes set on the
  instance): past the limit a connection stops answering without being closed.

``server.bytes["read"]`` / ``["write"]`` total the file data served and stored.
``server.counts`` (a Counter) counts operations: connections, auth_ok, auth_failed,
publickey_refused, list_folder, stat, lstat, open_read, open_write, open_hostile,
remove, rename, posix_rename_attempts, mkdir, rmdir, setstat, readlink.
"""
import base64
import collections
import errno
import functools
import hashlib
import io
import os
import posixpath
import socket
import stat as stat_mod
import struct
import threading

import paramiko
from paramiko.sftp import (CMD_EXTENDED, CMD_EXTENDED_REPLY, SFTP_FAILURE, SFTP_OK,
                           SFTP_OP_UNSUPPORTED, SFTP_PERMISSION_DENIED)

__all__ = ["FakeSftpServer", "HOSTILE_CONTENT", "HOSTILE_MTIME"]

HOSTILE_CONTENT = b"EVIL!"
HOSTILE_MTIME = 1600000000


def _generate_host_key():
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption())
        return paramiko.Ed25519Key(file_obj=io.StringIO(pem.decode("ascii")))
    except Exception:  # no Ed25519 support: fall back to RSA
        return paramiko.RSAKey.generate(2048)


def _hostile_attr(name=None):
    attr = paramiko.SFTPAttributes()
    attr.st_size, attr.st_mode = len(HOSTILE_CONTENT), stat_mod.S_IFREG | 0o644
    attr.st_uid = attr.st_gid = 0
    attr.st_atime = attr.st_mtime = HOSTILE_MTIME
    if name is not None:
        attr.filename = name
    return attr


def _op(count=None):
    """Count the call in fake.counts; None -> SFTP_OK; OSError -> its SFTP code (EACCES:
    permission denied, ENOENT/ENOTDIR: no such file, else failure); ValueError -> failure."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(self, *args):
            if count:
                self.fake._count(count)
            try:
                result = fn(self, *args)
            except OSError as e:
                return paramiko.SFTPServer.convert_errno(e.errno)
            except (ValueError, UnicodeError):  # e.g. a NUL byte in a path
                return SFTP_FAILURE
            return SFTP_OK if result is None else result
        return wrapper
    return decorate


def _mode(attr, default):
    if attr is not None and attr._flags & attr.FLAG_PERMISSIONS:
        return stat_mod.S_IMODE(attr.st_mode)
    return default


def _apply_attr(target, attr):
    """chmod / utime / truncate of a path or an fd (no chown)."""
    if attr._flags & attr.FLAG_PERMISSIONS:
        os.chmod(target, stat_mod.S_IMODE(attr.st_mode))
    if attr._flags & attr.FLAG_AMTIME:
        os.utime(target, (attr.st_atime, attr.st_mtime))
    if attr._flags & attr.FLAG_SIZE:  # paramiko's set_file_attr would empty the file
        os.truncate(target, attr.st_size)


class _Conn(object):
    def __init__(self, sock):
        self.sock, self.transport, self.channels, self.cut = sock, None, [], False
        self.done = {"read": 0, "write": 0}


class _Handle(paramiko.SFTPHandle):
    def __init__(self, fake, conn, fd=None, flags=0, content=None):
        super(_Handle, self).__init__(flags)
        self.fake, self.conn, self.fd, self.content = fake, conn, fd, content
        self.open_flags = flags

    @_op()
    def read(self, offset, length):
        self.fake._count("read_requests")
        limit = self.fake.refuse_reads_over
        if limit is not None and length > limit:
            return SFTP_FAILURE
        if self.fake.max_read is not None:
            length = min(length, self.fake.max_read)
        if self.content is not None:
            data = self.content[offset:offset + length]
        else:
            data = os.pread(self.fd, length, offset)
        if self.fake.pad_reads and data:
            data += b"\0" * self.fake.pad_reads      # more than asked: a broken server
        self.fake._stall(self.conn, "read", len(data))
        return SFTP_FAILURE if self.fake._cut(self.conn, "read", len(data)) else data

    @_op()
    def write(self, offset, data):
        if self.content is not None:
            return SFTP_PERMISSION_DENIED
        self.fake._stall(self.conn, "write", len(data))
        if self.fake._cut(self.conn, "write", len(data)):
            return SFTP_FAILURE
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view) if self.open_flags & os.O_APPEND else \
                os.pwrite(self.fd, view, offset)
            view, offset = view[n:], offset + n

    @_op()
    def stat(self):
        if self.content is not None:
            return _hostile_attr()
        return paramiko.SFTPAttributes.from_stat(os.fstat(self.fd))

    @_op("setstat")
    def chattr(self, attr):
        if self.fake.refuse_setstat:
            return SFTP_PERMISSION_DENIED
        if self.content is None:
            _apply_attr(self.fd, attr)

    def close(self):
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


class _BytesNamesMessage(paramiko.Message):
    """Paths received as bytes: a name that is not UTF-8 becomes a surrogate-escaped
    str, which os functions turn back into the same bytes."""

    def get_text(self):
        return os.fsdecode(self.get_string())


class _SftpServer(paramiko.SFTPServer):
    def _process(self, t, request_number, msg):
        msg.__class__ = _BytesNamesMessage
        limits = self.server.fake.limits
        if t == CMD_EXTENDED and limits is not None:
            position = msg.packet.tell()
            if msg.get_text() == "limits@openssh.com":
                reply = paramiko.Message()
                reply.add_int(request_number)
                for value in (256 * 1024,) + tuple(limits) + (64,):
                    reply.add_int64(value)
                return self._send_packet(CMD_EXTENDED_REPLY, reply)
            msg.packet.seek(position)
        return super(_SftpServer, self)._process(t, request_number, msg)


class _Interface(paramiko.SFTPServerInterface):
    """Paths are mapped by FakeSftpServer._local (follow=False: only the parent directory
    must resolve inside root_dir, so symlinks themselves can be lstat/removed/renamed)."""

    def __init__(self, server, *args, **kwargs):
        super(_Interface, self).__init__(server, *args, **kwargs)
        self.fake, self.conn = server.fake, server.conn
        self._local = self.fake._local

    @_op("list_folder")
    def list_folder(self, path):
        out = [paramiko.SFTPAttributes.from_stat(os.lstat(e.path), os.fsencode(e.name))
               for e in os.scandir(self._local(path))]
        extra = self.fake.hostile_names.get(self.fake.normalize(path), ())
        return out + [_hostile_attr(name) for name in extra]

    @_op("stat")
    def stat(self, path):
        if path in self.fake._hostile_paths:
            return _hostile_attr()
        return paramiko.SFTPAttributes.from_stat(os.stat(self._local(path)))

    @_op("lstat")
    def lstat(self, path):
        if path in self.fake._hostile_paths:
            return _hostile_attr()
        return paramiko.SFTPAttributes.from_stat(os.lstat(self._local(path, False)))

    @_op()
    def open(self, path, flags, attr):
        writing = bool(flags & (os.O_WRONLY | os.O_RDWR))
        self.fake._count("open_write" if writing else "open_read")
        if not writing and path in self.fake._hostile_paths:
            self.fake._count("open_hostile")
            return _Handle(self.fake, self.conn, content=HOSTILE_CONTENT)
        fd = os.open(self._local(path), flags | os.O_CLOEXEC, _mode(attr, 0o666))
        return _Handle(self.fake, self.conn, fd=fd, flags=flags)

    @_op("remove")
    def remove(self, path):
        os.remove(self._local(path, False))

    @_op("rename")
    def rename(self, oldpath, newpath):
        old, new = self._local(oldpath, False), self._local(newpath, False)
        if os.path.lexists(new):  # SFTP v3 rename never replaces (OpenSSH: failure)
            return SFTP_FAILURE
        os.rename(old, new)

    @_op("posix_rename_attempts")
    def posix_rename(self, oldpath, newpath):
        return SFTP_OP_UNSUPPORTED

    @_op("mkdir")
    def mkdir(self, path, attr):
        os.mkdir(self._local(path, False), _mode(attr, 0o777))

    @_op("rmdir")
    def rmdir(self, path):
        os.rmdir(self._local(path, False))

    @_op("setstat")
    def chattr(self, path, attr):
        if self.fake.refuse_setstat:
            return SFTP_PERMISSION_DENIED
        _apply_attr(self._local(path), attr)

    def canonicalize(self, path):  # str or bytes: paramiko sends it unchecked
        return os.fsencode(self.fake.normalize(path))

    @_op("readlink")
    def readlink(self, path):
        target = os.readlink(self._local(path, False))
        if os.path.isabs(target) and self.fake._inside(target):
            target = self.fake.normalize(os.path.relpath(target, self.fake.root_dir))
        return target


class _Auth(paramiko.ServerInterface):
    def __init__(self, fake, conn):
        self.fake, self.conn = fake, conn

    def get_allowed_auths(self, username):
        return "password"

    def check_auth_password(self, username, password):
        ok = (username, password) == (self.fake.username, self.fake.password)
        self.fake._count("auth_ok" if ok else "auth_failed")
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        self.fake._count("publickey_refused")
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        limit = self.fake.max_sessions
        if kind == "session" and (limit is None or len(self.conn.channels) < limit):
            return paramiko.OPEN_SUCCEEDED
        self.fake._count("channels_refused")
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_subsystem_request(self, channel, name):
        if self.fake.drop_on_sftp:
            self.fake._count("sftp_dropped")
            try:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return False
        if not self.fake.sftp_subsystem:
            return False
        return super(_Auth, self).check_channel_subsystem_request(channel, name)


class FakeSftpServer(object):
    host = "127.0.0.1"
    #: Stalls, set on the instance: past ``stall_after_bytes`` of file data read
    #: (``stall_on="read"``) or written ("write") on one connection, the server
    #: stops answering that connection without closing it (until it stops or
    #: STALL_SECONDS pass). With ``stall_once`` only the first connection stalls.
    #: ``stalls`` counts stalled connections.
    stall_after_bytes, stall_on, stall_once, stalls = None, "read", True, 0
    STALL_SECONDS = 120
    #: Refusals, set on the instance: channels beyond ``max_sessions`` on one
    #: connection (sshd's MaxSessions), connections beyond ``max_connections``
    #: open at once (closed before the SSH banner).
    max_sessions = max_connections = None
    #: ``(max_read, max_write)`` answered to limits@openssh.com, as OpenSSH does;
    #: None: the request is refused, as paramiko's server does.
    limits = None

    def __init__(self, root_dir, username="fake", password="fake-pw", hostile_names=None,
                 refuse_setstat=False, drop_after_bytes=None, drop_on="read",
                 host_key=None, drop_once=True, max_read=None, refuse_reads_over=None,
                 pad_reads=0, sftp_subsystem=True, drop_on_sftp=False,
                 cut_with_reset=False, limits=None):
        self.limits = limits
        self.max_read, self.refuse_reads_over = max_read, refuse_reads_over
        self.sftp_subsystem, self.drop_on_sftp = sftp_subsystem, drop_on_sftp
        self.cut_with_reset = cut_with_reset
        self.pad_reads = pad_reads
        if drop_on not in ("read", "write"):
            raise ValueError("drop_on must be 'read' or 'write'")
        self.root_dir = os.path.realpath(root_dir)
        self.username, self.password = username, password
        self.refuse_setstat, self.drop_on, self.drop_once = refuse_setstat, drop_on, drop_once
        self.drop_after_bytes = drop_after_bytes
        self.hostile_names = {}
        self._hostile_paths = set()
        for folder, names in (hostile_names or {}).items():
            self.hostile_names[self.normalize(folder)] = list(names)
            for d in (folder, self.normalize(folder)):
                for name in names:
                    self._hostile_paths.update((d.rstrip("/") + "/" + name,
                                                posixpath.join(d, name)))
        self.host_key = host_key or _generate_host_key()
        digest = hashlib.sha256(self.host_key.asbytes()).digest()
        self.host_key_fingerprint = "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
        self.host_key_line = "%s %s" % (self.host_key.get_name(), self.host_key.get_base64())
        self.counts, self.drops, self.port = collections.Counter(), 0, None
        self.bytes = collections.Counter()   # file data served: "read" / "write"
        self._lock, self._conns, self._sock, self._thread = threading.Lock(), [], None, None
        self._stopping = threading.Event()

    def service(self, root_path="/", timeout=5):
        """The SFTP Services preset fields DSS would pass for this server (password
        login, its host key pinned)."""
        return {"hostname": self.host, "port": self.port, "username": self.username,
                "password": self.password, "host_key": self.host_key_fingerprint,
                "root_path": root_path, "timeout": timeout}

    # ---- helpers used by the interface
    def _count(self, name):
        with self._lock:
            self.counts[name] += 1

    @staticmethod
    def normalize(path, strict=False):
        parts = []
        for seg in path.split("/"):
            if seg == "..":
                if not parts and strict:
                    raise PermissionError(errno.EACCES, "outside root: %r" % path)
                parts = parts[:-1]
            elif seg not in ("", "."):
                parts.append(seg)
        return "/" + "/".join(parts)

    def _inside(self, local):
        return local == self.root_dir or local.startswith(self.root_dir.rstrip(os.sep) + os.sep)

    def _local(self, path, follow=True):
        rel = self.normalize(path, strict=True).lstrip("/")
        local = os.path.join(self.root_dir, *rel.split("/")) if rel else self.root_dir
        check = os.path.realpath(local if follow or not rel else os.path.dirname(local))
        if not self._inside(check):
            raise PermissionError(errno.EACCES, "outside root: %r" % path)
        return local

    def _cut(self, conn, kind, nbytes):
        """Account nbytes of file data; True (and the connection is cut) beyond the limit."""
        with self._lock:
            if conn.cut:  # requests already buffered when the connection was cut
                return True
            limit = self.drop_after_bytes
            armed = limit is not None and kind == self.drop_on and \
                not (self.drop_once and self.drops)
            if not armed or conn.done[kind] + nbytes <= limit:
                conn.done[kind] += nbytes
                self.bytes[kind] += nbytes
                return False
            self.drops += 1
            conn.cut = True
        if self.cut_with_reset:
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.sock.close()             # linger 0: the close sends a TCP reset
        self._kill(conn)
        return True

    def _stall(self, conn, kind, nbytes):
        """Block (the connection stops answering) once past the stall limit."""
        with self._lock:
            stalled = getattr(conn, "stalled", False)
            if not stalled and self.stall_after_bytes is not None and \
                    kind == self.stall_on and not (self.stall_once and self.stalls):
                conn.stall_seen = getattr(conn, "stall_seen", 0) + nbytes
                if conn.stall_seen > self.stall_after_bytes:
                    stalled = conn.stalled = True
                    self.stalls += 1
        if stalled:
            self._stopping.wait(self.STALL_SECONDS)

    @staticmethod
    def _kill(conn):
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if conn.transport is not None:
            conn.transport.close()

    # ---- lifecycle
    def start(self):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((self.host, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, daemon=True,
                                        name="fake-sftp-accept")
        self._thread.start()
        return self

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                sock, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.settimeout(None)
            with self._lock:
                full = (self.max_connections is not None
                        and len(self._conns) >= self.max_connections)
            if full:
                self._count("connections_refused")
                sock.close()
                continue
            threading.Thread(target=self._serve, args=(sock,), daemon=True,
                             name="fake-sftp-conn").start()

    def _serve(self, sock):
        conn = _Conn(sock)
        self._count("connections")
        transport = conn.transport = paramiko.Transport(sock)
        with self._lock:
            self._conns.append(conn)
        transport.add_server_key(self.host_key)
        transport.set_subsystem_handler("sftp", _SftpServer, _Interface)
        server = _Auth(self, conn)
        try:
            transport.start_server(server=server)
            while transport.is_active() and not self._stopping.is_set():
                # keep accepted channels referenced: Channel.__del__ would close them
                chan = transport.accept(0.5)
                if chan is not None:
                    conn.channels.append(chan)
        except (paramiko.SSHException, EOFError, OSError):
            pass
        finally:
            if self._stopping.is_set():
                self._kill(conn)
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)

    def stop(self):
        self._stopping.set()
        if self._sock is not None:
            self._sock.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            self._kill(conn)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
