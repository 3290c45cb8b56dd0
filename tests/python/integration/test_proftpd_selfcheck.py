"""Self-check of the ProFTPD mod_sftp fixture: the server the tests pin by host
key, with the extensions the tests expect it to lack."""
import base64
import hashlib
import os

import paramiko
import pytest

from sftp_client.remote.reader import server_limits


@pytest.fixture
def client(proftpd):
    transport = paramiko.Transport((proftpd.host, proftpd.port))
    transport.connect(username=proftpd.username, password=proftpd.password)
    key = transport.get_remote_server_key()
    digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode()
    assert "SHA256:" + digest.rstrip("=") == proftpd.host_key_fingerprint
    sftp = paramiko.SFTPClient.from_transport(transport)
    yield sftp
    transport.close()


def test_proftpd_serves_sftp_without_posix_rename_or_limits(proftpd, client):
    base = os.path.join(proftpd.root, "selfcheck-%d" % os.getpid())
    client.mkdir(base)
    for name in ("a", "b"):
        with client.open(base + "/" + name, "wb") as handle:
            handle.write(name.encode())
    with pytest.raises(IOError):
        client.posix_rename(base + "/a", base + "/b")     # switched off
    with pytest.raises(IOError):
        client.rename(base + "/a", base + "/b")           # never onto a file
    client.utime(base + "/b", (1600000000, 1600000000))
    assert client.stat(base + "/b").st_mtime == 1600000000
    assert sorted(client.listdir(base)) == ["a", "b"]
    assert not server_limits(client).stated               # no limits@openssh.com
