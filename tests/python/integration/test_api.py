"""The notebook / code recipe API (sftp_client.api) against the real sshd."""
import csv
import io
import os

import dataiku
import pytest

from conftest import proxy_fields, tree_of
from sftp_client.api import Sftp
from sftp_client.errors import ConfigError, RemoteNotFoundError, UnsafePathError

T0 = 1600000000


def test_listdir_and_open_a_remote_file(preset, remote_dir):
    remote_dir.write("in/sales.csv", b"region,amount\nnorth,10\nsouth,5\n", mtime=T0)
    remote_dir.write("in/big.bin", os.urandom(700 * 1024 + 3), mtime=T0)
    remote_dir.mkdir("in/archive")
    with Sftp(preset()) as sftp:
        entries = sftp.listdir(remote_dir.name + "/in")
        assert [(e.name, e.is_dir) for e in entries] == [
            ("archive", True), ("big.bin", False), ("sales.csv", False)]
        sales = entries[2]
        assert sales.path == remote_dir.name + "/in/sales.csv"
        assert (sales.size, sales.mtime) == (31, T0)
        with sftp.open(remote_dir.name + "/in/sales.csv") as handle:
            rows = list(csv.reader(io.TextIOWrapper(handle, encoding="utf-8")))
        assert rows == [["region", "amount"], ["north", "10"], ["south", "5"]]
        with sftp.open(remote_dir.name + "/in/big.bin") as handle:
            assert handle.read(10) == remote_dir.read("in/big.bin")[:10]
            assert handle.read() == remote_dir.read("in/big.bin")[10:]
        with pytest.raises(RemoteNotFoundError):
            sftp.listdir(remote_dir.name + "/missing")
        with pytest.raises(UnsafePathError):
            sftp.open("../etc/passwd")


def test_download_and_upload_trees_incrementally(preset, remote_dir, tmp_path, dss):
    remote_dir.write("a.txt", b"a", mtime=T0)
    remote_dir.write("sub/b.txt", b"bb", mtime=T0)
    target = str(tmp_path / "local")
    sftp = Sftp(preset())
    first = sftp.download(remote_dir.name, target)
    assert tree_of(target) == {"a.txt": b"a", "sub/b.txt": b"bb"}
    assert sorted(r["action"] for r in first.rows) == ["downloaded", "downloaded"]
    again = sftp.download(remote_dir.name, target, dry_run=True)
    assert sorted(r["action"] for r in again.rows) == ["unchanged", "unchanged"]
    # Upload from a managed folder object (stream API), with an exclude pattern.
    dss.register_folder("outbox", str(tmp_path / "outbox"), local=False)
    with open(str(tmp_path / "outbox" / "c.csv"), "wb") as handle:
        handle.write(b"c")
    with open(str(tmp_path / "outbox" / "skip.tmp"), "wb") as handle:
        handle.write(b"t")
    result = sftp.upload(dataiku.Folder("outbox"), remote_dir.name + "/up",
                         exclude_patterns=["*.tmp"])
    assert [r["status"] for r in result.rows] == ["uploaded"]
    assert remote_dir.read("up/c.csv") == b"c"


def test_api_through_a_proxy(preset, remote_dir, dante):
    remote_dir.write("x.txt", b"x")
    with Sftp(preset(**proxy_fields("socks5", dante))) as sftp:
        assert [e.name for e in sftp.listdir(remote_dir.name)] == ["x.txt"]


def test_api_needs_a_valid_preset_and_a_connection(preset):
    with pytest.raises(ConfigError):
        Sftp({"hostname": ""})
    with pytest.raises(RuntimeError):
        Sftp(preset()).listdir("")
