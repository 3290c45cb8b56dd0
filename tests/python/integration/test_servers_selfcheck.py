"""Self-check of tests/helpers/servers.py: the real sshd, Dante and tinyproxy it
starts work as the plugin's tests expect (logins, key formats, proxies, proxy logs).

The fixtures live here for now; they are meant to move to tests/conftest.py.
"""

import os
import socket
import sys

import paramiko
import pytest
import socks

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from helpers import servers  # noqa: E402
from helpers.servers import (  # noqa: E402
    ENCRYPTED_KEYS, KEY_PASSPHRASE, DanteProxy, MissingBinary, SshServer, TinyProxy,
    make_keys, require_binary,
)


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("servers"))


@pytest.fixture(scope="module")
def client_keys(base_dir):
    return make_keys(os.path.join(base_dir, "client-keys"))


@pytest.fixture(scope="module")
def sshd(base_dir, client_keys):
    with SshServer(base_dir, keys=client_keys) as server:
        yield server


@pytest.fixture(scope="module")
def dante(base_dir):
    with DanteProxy(auth=True, base_dir=base_dir) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def dante_noauth(base_dir):
    with DanteProxy(auth=False, base_dir=base_dir) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def tinyproxy(base_dir, sshd):
    with TinyProxy(auth=True, connect_ports=[sshd.port], base_dir=base_dir) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def tinyproxy_noauth(base_dir, sshd):
    with TinyProxy(auth=False, connect_ports=[sshd.port], base_dir=base_dir) as proxy:
        yield proxy


# --------------------------------------------------------------------------- helpers

def _sftp_session(sock, sshd, **auth):
    """Log in over ``sock`` and return (transport, sftp client)."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock)
    try:
        transport.connect(username=sshd.username, **auth)
        return transport, paramiko.SFTPClient.from_transport(transport)
    except Exception:
        transport.close()
        raise


def _direct(sshd):
    return socket.create_connection((sshd.host, sshd.port), timeout=10)


def _proxied(proxy_type, proxy, sshd, username=None, password=None, dest_host=None):
    sock = socks.socksocket()
    sock.settimeout(10)
    sock.set_proxy(proxy_type, proxy.host, proxy.port, rdns=True, username=username, password=password)
    try:
        sock.connect((dest_host or sshd.host, sshd.port))
    except Exception:
        sock.close()
        raise
    return sock


def _http_tunnel(proxy, sshd, username=None, password=None, dest_host=None):
    """A CONNECT tunnel read byte by byte: PySocks reads the proxy's answer through
    a buffered file and may swallow the SSH banner that follows it in one segment."""
    import base64
    sock = socket.create_connection((proxy.host, proxy.port), timeout=10)
    dest = "%s:%d" % (dest_host or sshd.host, sshd.port)
    request = "CONNECT %s HTTP/1.1\r\nHost: %s\r\n" % (dest, dest)
    if username:
        token = base64.b64encode(("%s:%s" % (username, password)).encode()).decode()
        request += "Proxy-Authorization: Basic %s\r\n" % token
    sock.sendall((request + "\r\n").encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            break
        head += byte
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status + b" ":
        sock.close()
        raise AssertionError("proxy refused the tunnel: %r" % status)
    return sock


def _check_listing(sftp, sshd, name):
    path = sshd.root + "/" + name
    with sftp.open(path, "wb") as f:
        f.write(b"hello " + name.encode())
    try:
        assert name in sftp.listdir(sshd.root)
        assert sftp.stat(path).st_size == len(b"hello " + name.encode())
    finally:
        sftp.remove(path)


# --------------------------------------------------------------------------- sshd

def test_require_binary_fails_loudly():
    with pytest.raises(MissingBinary, match=r"no-such-daemon not found: install it with "
                                            r"`apt-get install -y no-such-package`"):
        require_binary("no-such-daemon", "no-such-package")


def test_root_is_an_empty_directory_owned_by_the_login_user(sshd):
    import pwd
    st = os.stat(sshd.root)
    assert st.st_uid == pwd.getpwnam(sshd.username).pw_uid
    assert os.listdir(sshd.root) == []


def test_password_login_and_host_key(sshd):
    transport, sftp = _sftp_session(_direct(sshd), sshd, password=sshd.password)
    try:
        key = transport.get_remote_server_key()
        assert key.fingerprint == sshd.host_key_fingerprint
        assert sshd.host_key_fingerprint.startswith("SHA256:")
        assert "%s %s" % (key.get_name(), key.get_base64()) == sshd.host_key_line
        _check_listing(sftp, sshd, "password.txt")
    finally:
        transport.close()
    servers.wait_for_log(sshd, "Accepted password for %s" % sshd.username)


def test_wrong_password_is_refused(sshd):
    with pytest.raises(paramiko.AuthenticationException):
        _sftp_session(_direct(sshd), sshd, password="not-the-password")


@pytest.mark.parametrize("key_name", ["ed25519", "ecdsa", "rsa", "rsa_encrypted", "ed25519_encrypted"])
def test_key_login(sshd, client_keys, key_name):
    path, public_line = client_keys[key_name]
    passphrase = KEY_PASSPHRASE.encode() if key_name in ENCRYPTED_KEYS else None
    pkey = paramiko.PKey.from_path(path, passphrase)  # 'passphrase' keyword renamed in paramiko 5
    assert "%s %s" % (pkey.get_name() if not pkey.get_name().startswith("rsa") else "ssh-rsa",
                      pkey.get_base64()) == public_line
    transport, sftp = _sftp_session(_direct(sshd), sshd, pkey=pkey)
    try:
        _check_listing(sftp, sshd, key_name + ".txt")
    finally:
        transport.close()


def test_key_formats(client_keys):
    def first_line(name):
        with open(client_keys[name].path) as f:
            return f.readline().strip()
    assert first_line("ecdsa") == "-----BEGIN EC PRIVATE KEY-----"
    assert first_line("rsa") == "-----BEGIN RSA PRIVATE KEY-----"
    for name in ("ed25519", "rsa_encrypted", "ed25519_encrypted"):
        assert first_line(name) == "-----BEGIN OPENSSH PRIVATE KEY-----"
    # paramiko 5.1 PKey.from_path() lets cryptography's errors through for encrypted
    # OpenSSH-format keys: no passphrase -> TypeError, wrong one -> ValueError, str
    # passphrase -> TypeError ("password must be bytes"); the legacy
    # <Class>.from_private_key_file() raises PasswordRequiredException / SSHException.
    for name in ("rsa_encrypted", "ed25519_encrypted"):
        # (paramiko 3 with an older cryptography raises ValueError here)
        with pytest.raises((TypeError, ValueError, paramiko.PasswordRequiredException)):
            paramiko.PKey.from_path(client_keys[name].path)
        with pytest.raises((ValueError, paramiko.SSHException)):
            paramiko.PKey.from_path(client_keys[name].path, b"wrong-passphrase")


def test_extra_config_and_stop_kills_sessions(base_dir, client_keys):
    server = SshServer(base_dir, keys=client_keys, extra_config=["MaxSessions 2"])
    with server:
        assert "MaxSessions 2" in open(server.config_path).read()
        transport, sftp = _sftp_session(_direct(server), server, password=server.password)
        sftp.listdir(server.root)
        pid = server.proc.pid
        children = servers._children_of(pid)
        assert children  # the per-connection sshd
    # after stop(): listener and session processes are gone, the session is dead
    for p in [pid] + children:
        assert not os.path.exists("/proc/%d" % p) or _is_zombie(p)
    with pytest.raises((OSError, EOFError, paramiko.SSHException)):
        sftp.listdir(server.root)
    transport.close()
    with pytest.raises(OSError):
        socket.create_connection((server.host, server.port), timeout=2).close()


def _is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# --------------------------------------------------------------------------- SOCKS5 (Dante)

def test_socks5_with_credentials(sshd, dante):
    sock = _proxied(socks.SOCKS5, dante, sshd, dante.username, dante.password)
    transport, sftp = _sftp_session(sock, sshd, password=sshd.password)
    try:
        _check_listing(sftp, sshd, "socks.txt")
    finally:
        transport.close()
    lines = dante.wait_for_connection_to(sshd.port)
    assert "username%%%s@" % dante.username in lines[-1]


def test_socks5_without_auth_resolves_hostname(sshd, dante_noauth):
    sock = _proxied(socks.SOCKS5, dante_noauth, sshd, dest_host="localhost")
    transport, sftp = _sftp_session(sock, sshd, password=sshd.password)
    try:
        assert sftp.listdir(sshd.root) == []
    finally:
        transport.close()
    dante_noauth.wait_for_connection_to(sshd.port)


def test_socks5_wrong_or_missing_credentials(sshd, dante):
    with pytest.raises(socks.ProxyError, match="SOCKS5 authentication failed"):
        _proxied(socks.SOCKS5, dante, sshd, dante.username, "wrong-password")
    with pytest.raises(socks.ProxyError, match="authentication methods were rejected"):
        _proxied(socks.SOCKS5, dante, sshd)
    dante.wait_for_log('system password authentication failed for user "%s"' % dante.username)


# --------------------------------------------------------------------------- HTTP CONNECT (tinyproxy)

def test_http_connect_with_credentials(sshd, tinyproxy):
    sock = _http_tunnel(tinyproxy, sshd, tinyproxy.username, tinyproxy.password)
    transport, sftp = _sftp_session(sock, sshd, password=sshd.password)
    try:
        _check_listing(sftp, sshd, "http.txt")
    finally:
        transport.close()
    assert tinyproxy.wait_for_connection_to(sshd.port)


def test_http_connect_without_auth(sshd, tinyproxy_noauth):
    sock = _http_tunnel(tinyproxy_noauth, sshd, dest_host="localhost")
    transport, sftp = _sftp_session(sock, sshd, password=sshd.password)
    transport.close()
    assert tinyproxy_noauth.connections_to(sshd.port, host="localhost") or \
        tinyproxy_noauth.wait_for_connection_to(sshd.port)


def test_http_connect_refusals(sshd, tinyproxy, tinyproxy_noauth):
    before = len(tinyproxy.connections_to(sshd.port))
    with pytest.raises(socks.ProxyError, match="401"):
        _proxied(socks.HTTP, tinyproxy, sshd, tinyproxy.username, "wrong-password")
    with pytest.raises(socks.ProxyError, match="407"):
        _proxied(socks.HTTP, tinyproxy, sshd)
    assert len(tinyproxy.connections_to(sshd.port)) == before
    # ports not listed with ConnectPort are refused
    sock = socks.socksocket()
    sock.set_proxy(socks.HTTP, tinyproxy_noauth.host, tinyproxy_noauth.port)
    with pytest.raises(socks.ProxyError, match="403"):
        sock.connect((sshd.host, servers.free_port()))
    sock.close()
