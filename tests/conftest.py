"""Shared test set-up: import paths, real servers started once per session, and
small builders for preset dicts and remote test trees.

Servers are real (OpenSSH sshd, ProFTPD mod_sftp, Dante, tinyproxy) on loopback free ports; a
missing binary fails the test with the package to install, never skips it.
"""
import os
import pwd
import shutil
import sys
import tempfile
import uuid

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
PROJECT_DIR = os.path.dirname(TESTS_DIR)
for path in (os.path.join(PROJECT_DIR, "python-lib"), os.path.join(TESTS_DIR, "stubs"),
             TESTS_DIR):
    if path not in sys.path:
        sys.path.insert(0, path)

from helpers import servers  # noqa: E402


@pytest.fixture(scope="session")
def servers_dir():
    """Outside pytest's own temp root: every pytest session resets that root to
    0700, which would lock the servers' users out of their directories while
    another session (another checkout's suite) starts."""
    path = tempfile.mkdtemp(prefix="sftp-test-servers-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def client_keys(servers_dir):
    return servers.make_keys(os.path.join(servers_dir, "client-keys"))


@pytest.fixture(scope="session")
def sshd(servers_dir, client_keys):
    with servers.SshServer(servers_dir, keys=client_keys) as server:
        yield server


@pytest.fixture(scope="session")
def proftpd(servers_dir):
    """ProFTPD mod_sftp, without posix-rename: replacing a file takes the safe swap."""
    with servers.ProftpdServer(servers_dir, posix_rename=False) as server:
        yield server


#: The real SFTP servers; tests parametrize ``sftp_server`` with these to run on each.
SFTP_SERVERS = ["sshd", "proftpd"]


@pytest.fixture
def sftp_server(request):
    """The server ``preset`` and ``remote_dir`` use: sshd, unless the test
    parametrizes it (``@pytest.mark.parametrize("sftp_server", SFTP_SERVERS,
    indirect=True)``)."""
    return request.getfixturevalue(getattr(request, "param", "sshd"))


@pytest.fixture(scope="session")
def dante(servers_dir):
    with servers.DanteProxy(auth=True, base_dir=servers_dir) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def dante_noauth(servers_dir):
    with servers.DanteProxy(auth=False, base_dir=servers_dir) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def tinyproxy(servers_dir, sshd):
    with servers.TinyProxy(auth=True, connect_ports=[sshd.port],
                           base_dir=servers_dir) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def tinyproxy_noauth(servers_dir, sshd):
    with servers.TinyProxy(auth=False, connect_ports=[sshd.port],
                           base_dir=servers_dir) as proxy:
        yield proxy


#: (proxy_type, fixture) for every supported proxy kind, with and without auth.
PROXY_CASES = [("socks5", "dante"), ("socks5", "dante_noauth"), ("socks4", "dante_noauth"),
               ("http", "tinyproxy"), ("http", "tinyproxy_noauth")]


def proxy_fields(kind, proxy):
    """Preset fields that route the connection through ``proxy``."""
    fields = {"proxy_type": kind, "proxy_hostname": proxy.host,
              "proxy_port": float(proxy.port)}  # DSS may hand INT fields as floats
    if getattr(proxy, "username", None):
        fields.update(proxy_user=proxy.username, proxy_password=proxy.password)
    return fields


@pytest.fixture
def preset(sftp_server):
    """Build the preset dict DSS would pass for the test server (password auth,
    pinned host key), with overrides."""
    sshd = sftp_server
    def build(**overrides):
        raw = {"hostname": sshd.host, "port": sshd.port, "root_path": sshd.root,
               "username": sshd.username, "auth_method": "password",
               "password": sshd.password, "host_key_check": "fingerprint",
               "host_key": sshd.host_key_fingerprint, "proxy_type": "none",
               "timeout": 10}
        raw.update(overrides)
        return raw
    return build


class RemoteDir(object):
    """A fresh directory on the test sshd, owned by the SFTP user."""

    def __init__(self, root, owner):
        self.name = "t-" + uuid.uuid4().hex[:10]
        self.path = os.path.join(root, self.name)
        self.owner = owner
        os.makedirs(self.path)
        self._chown(self.path)

    def _chown(self, path):
        os.chown(path, self.owner.pw_uid, self.owner.pw_gid)

    def write(self, rel, data, mtime=None):
        full = os.path.join(self.path, rel)
        parent = os.path.dirname(full)
        if not os.path.isdir(parent):
            os.makedirs(parent)
            walk = parent
            while walk != self.path:
                self._chown(walk)
                walk = os.path.dirname(walk)
        with open(full, "wb") as handle:
            handle.write(data)
        self._chown(full)
        if mtime is not None:
            os.utime(full, (mtime, mtime))
        return full

    def mkdir(self, rel):
        full = os.path.join(self.path, rel)
        os.makedirs(full)
        self._chown(full)
        return full

    def read(self, rel):
        with open(os.path.join(self.path, rel), "rb") as handle:
            return handle.read()


@pytest.fixture
def remote_dir(sftp_server):
    return RemoteDir(sftp_server.root, pwd.getpwnam(sftp_server.username))


@pytest.fixture
def dss():
    """The stand-in dataiku harness, reset for each test."""
    from dataiku import _harness
    _harness.reset()
    yield _harness
    _harness.reset()


def tree_of(directory):
    """``{relative path: bytes}`` of every file under a local directory."""
    found = {}
    for top, _, files in os.walk(directory):
        for name in files:
            full = os.path.join(top, name)
            with open(full, "rb") as handle:
                found[os.path.relpath(full, directory).replace(os.sep, "/")] = handle.read()
    return found
