"""Self-check of tests/helpers/fake_sftp.py with a plain paramiko client."""
import os
import socket
import stat
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import paramiko  # noqa: E402
import pytest  # noqa: E402
from paramiko.sftp import CMD_CLOSE, CMD_OPENDIR, CMD_READDIR  # noqa: E402

from helpers.fake_sftp import HOSTILE_CONTENT, HOSTILE_MTIME, FakeSftpServer  # noqa: E402

HOSTILE = ["../escape.txt", "a/b.txt", "..", ".", "back\\slash.txt", "nul\x00byte.txt",
           "/etc/passwd"]
CUT_ERRORS = (EOFError, paramiko.SSHException, socket.error, OSError)


def connect(server, username=None, password=None):
    transport = paramiko.Transport((server.host, server.port))
    transport.banner_timeout = transport.auth_timeout = 10
    transport.connect(username=username or server.username,
                      password=password or server.password)
    sftp = paramiko.SFTPClient.from_transport(transport)
    sftp.get_channel().settimeout(10)
    return transport, sftp


def raw_readdir(sftp, path):
    """OPENDIR/READDIR by hand: every name the server sent, "." and ".." included."""
    _, msg = sftp._request(CMD_OPENDIR, path)
    handle, out = msg.get_binary(), {}
    try:
        while True:
            try:
                _, msg = sftp._request(CMD_READDIR, handle)
            except EOFError:
                return out
            for _ in range(msg.get_int()):
                name = msg.get_text()
                msg.get_text()  # longname
                out[name] = paramiko.SFTPAttributes._from_msg(msg, name)
    finally:
        sftp._request(CMD_CLOSE, handle)


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "d" / "real.txt").write_bytes(b"real")
    return root


def test_host_key_and_auth(root):
    with FakeSftpServer(str(root)) as server:
        transport, sftp = connect(server)
        key = transport.get_remote_server_key()
        assert server.host_key_line == "%s %s" % (key.get_name(), key.get_base64())
        assert server.host_key_line.startswith("ssh-ed25519 AAAA")
        assert server.host_key_fingerprint.startswith("SHA256:")
        assert "=" not in server.host_key_fingerprint
        assert sftp.listdir("/d") == ["real.txt"]
        transport.close()
        with pytest.raises(paramiko.AuthenticationException):
            connect(server, password="wrong")
        t = paramiko.Transport((server.host, server.port))
        t.connect()
        with pytest.raises(paramiko.AuthenticationException):
            t.auth_publickey(server.username, paramiko.RSAKey.generate(1024))
        t.close()
        assert server.counts["publickey_refused"] == 1
        assert server.counts["auth_failed"] == 1


def test_hostile_names_listed_and_served(root, tmp_path):
    with FakeSftpServer(str(root), hostile_names={"/d": HOSTILE}) as server:
        transport, sftp = connect(server)
        attrs = raw_readdir(sftp, "/d")
        assert set(attrs) == set(HOSTILE) | {"real.txt"}
        # paramiko's own listdir_attr silently drops "." and ".."
        assert {a.filename for a in sftp.listdir_attr("/d")} == set(attrs) - {".", ".."}
        for name in HOSTILE:
            assert stat.S_ISREG(attrs[name].st_mode)
            assert attrs[name].st_size == 5 and attrs[name].st_mtime == HOSTILE_MTIME
        with sftp.open("/d/../escape.txt") as f:
            assert f.read() == HOSTILE_CONTENT
        with sftp.open("/d/a/b.txt") as f:
            assert f.read() == HOSTILE_CONTENT
        assert sftp.stat("/d/nul\x00byte.txt").st_size == 5
        assert server.counts["open_hostile"] == 2
        # nothing of that exists on disk, and the real file is untouched
        assert sorted(os.listdir(str(root / "d"))) == ["real.txt"]
        assert not (tmp_path / "escape.txt").exists()
        transport.close()


def test_paths_stay_inside_root(root, tmp_path):
    (tmp_path / "outside.txt").write_bytes(b"secret")
    os.symlink(str(tmp_path / "outside.txt"), str(root / "d" / "link"))
    with FakeSftpServer(str(root)) as server:
        transport, sftp = connect(server)
        with pytest.raises(IOError):
            sftp.open("/../outside.txt")
        with pytest.raises(IOError):
            sftp.open("/d/link")  # symlink leading out of root
        assert stat.S_ISLNK(sftp.lstat("/d/link").st_mode)
        assert sftp.normalize("/d/../d/./") == "/d"
        with pytest.raises(IOError):
            sftp.open("/../new.txt", "w")
        assert not (tmp_path / "new.txt").exists()
        with sftp.open("/d/new.txt", "w") as f:
            f.write(b"hello")
        assert (root / "d" / "new.txt").read_bytes() == b"hello"
        sftp.mkdir("/e")
        sftp.rmdir("/e")
        sftp.remove("/d/new.txt")
        assert sorted(os.listdir(str(root / "d"))) == ["link", "real.txt"]
        transport.close()


def test_rename_and_no_posix_rename(root):
    (root / "d" / "other.txt").write_bytes(b"other")
    with FakeSftpServer(str(root)) as server:
        transport, sftp = connect(server)
        with pytest.raises(IOError):
            sftp.rename("/d/real.txt", "/d/other.txt")
        assert (root / "d" / "other.txt").read_bytes() == b"other"
        with pytest.raises(IOError):
            sftp.posix_rename("/d/real.txt", "/d/other.txt")
        assert (root / "d" / "real.txt").read_bytes() == b"real"
        sftp.rename("/d/real.txt", "/d/renamed.txt")
        assert (root / "d" / "renamed.txt").read_bytes() == b"real"
        assert not (root / "d" / "real.txt").exists()
        assert server.counts["rename"] == 2
        assert server.counts["posix_rename_attempts"] == 1
        transport.close()


def test_setstat(root):
    with FakeSftpServer(str(root)) as server:
        transport, sftp = connect(server)
        sftp.utime("/d/real.txt", (1500000000, 1500000000))
        assert os.stat(str(root / "d" / "real.txt")).st_mtime == 1500000000
        transport.close()
    with FakeSftpServer(str(root), refuse_setstat=True) as server:
        transport, sftp = connect(server)
        with pytest.raises(IOError) as info:
            sftp.utime("/d/real.txt", (1400000000, 1400000000))
        assert info.value.errno == 13
        with sftp.open("/d/real.txt", "r+") as f:
            with pytest.raises(IOError):
                f.utime((1400000000, 1400000000))
        assert os.stat(str(root / "d" / "real.txt")).st_mtime == 1500000000
        assert server.counts["setstat"] == 2
        transport.close()


def test_drop_on_read_then_retry(root):
    payload = os.urandom(1 << 20)
    (root / "big.bin").write_bytes(payload)
    with FakeSftpServer(str(root), drop_after_bytes=100000) as server:
        transport, sftp = connect(server)
        with pytest.raises(CUT_ERRORS):
            with sftp.open("/big.bin") as f:
                f.read()
        transport.close()
        assert server.drops == 1
        transport, sftp = connect(server)  # drop_once: the retry works
        with sftp.open("/big.bin") as f:
            assert f.read() == payload
        transport.close()
        assert server.drops == 1


def test_drop_on_write_then_retry(root, tmp_path):
    payload = os.urandom(1 << 20)
    src = tmp_path / "src.bin"
    src.write_bytes(payload)
    with FakeSftpServer(str(root), drop_after_bytes=200000, drop_on="write") as server:
        transport, sftp = connect(server)
        with pytest.raises(CUT_ERRORS):
            sftp.put(str(src), "/up.bin")
        transport.close()
        assert server.drops == 1
        assert os.path.getsize(str(root / "up.bin")) <= 200000
        transport, sftp = connect(server)
        sftp.put(str(src), "/up.bin")
        transport.close()
        assert (root / "up.bin").read_bytes() == payload
        assert server.counts["open_write"] == 2


def test_concurrent_connections(root):
    payload = os.urandom(300000)
    (root / "c.bin").write_bytes(payload)
    results = []
    with FakeSftpServer(str(root)) as server:
        def worker():
            transport, sftp = connect(server)
            with sftp.open("/c.bin") as f:
                results.append(f.read() == payload)
            transport.close()
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert results == [True] * 4
        assert server.counts["connections"] == 4
