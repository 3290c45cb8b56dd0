"""ranges.py: a big file fetched through a proxy over several connections, each
range written at its offset; a file that changes fails the attempt and leaves
no partial file; the cap on connections holds."""
import os

import pytest

from conftest import proxy_fields, tree_of
from sftp_client.sync import ranges
from sftp_client.entries import Entry
from sftp_client.errors import TransferError
from sftp_client.sync.folder import LocalFolderTree
from sftp_client.sync.planner import PlanItem
from sftp_client.connect.settings import service_from_config
from sftp_client.sync.run import _Worker

T0 = 1600000000
MIB = 1024 * 1024


@pytest.fixture
def small_units(monkeypatch):
    monkeypatch.setattr(ranges, "MIN_SIZE", 2 * MIB)
    monkeypatch.setattr(ranges, "UNIT", MIB)


def worker_for(preset, remote_dir, tmp_path, proxy):
    settings = service_from_config(preset(**proxy))
    return _Worker(settings, remote_dir.path, LocalFolderTree(str(tmp_path)),
                   remote_is_source=True)


def test_big_file_through_a_proxy_comes_in_ranges(preset, remote_dir, tmp_path, tinyproxy,
                                                  small_units, caplog):
    data = os.urandom(5 * MIB + 123)
    remote_dir.write("sub/big.bin", data, mtime=T0)
    item = PlanItem("sub/big.bin", "new", "new", Entry("sub/big.bin", len(data), T0), None)
    worker = worker_for(preset, remote_dir, tmp_path, proxy_fields("http", tinyproxy))
    try:
        assert ranges.applies(worker, item, spare=3)
        caplog.set_level("INFO", logger="sftp_client.sync.ranges")
        ranges.copy(worker, item, spare=3)
    finally:
        worker.close()
    assert tree_of(str(tmp_path)) == {"sub/big.bin": data}
    assert os.stat(str(tmp_path / "sub" / "big.bin")).st_mtime == T0
    assert "over 4 hand(s)" in caplog.text


def test_a_direct_short_link_keeps_one_stream(preset, remote_dir, tmp_path, small_units,
                                             monkeypatch):
    monkeypatch.setattr(ranges, "LONG_RTT", 10.0)      # loopback is a short link
    remote_dir.write("big.bin", b"x" * (3 * MIB))
    item = PlanItem("big.bin", "new", "new", Entry("big.bin", 3 * MIB, T0), None)
    worker = worker_for(preset, remote_dir, tmp_path, {})
    try:
        assert not ranges.applies(worker, item, spare=3)
    finally:
        worker.close()


def test_a_direct_long_link_downloads_in_ranges_over_channels(
        preset, remote_dir, tmp_path, small_units, monkeypatch, sshd, caplog):
    """No proxy: when the round trip is long, extra hands are channels on the
    worker's own connection (no new connection is opened)."""
    monkeypatch.setattr(ranges, "LONG_RTT", 0.0)
    data = os.urandom(5 * MIB + 7)
    remote_dir.write("big.bin", data, mtime=T0)
    item = PlanItem("big.bin", "new", "new", Entry("big.bin", len(data), T0), None)
    worker = worker_for(preset, remote_dir, tmp_path, {})
    opened = []
    real = ranges.SftpSession.connect
    monkeypatch.setattr(ranges.SftpSession, "connect",
                        lambda self: opened.append(self) or real(self))
    caplog.set_level("INFO", logger="sftp_client.sync.ranges")
    try:
        assert ranges.applies(worker, item, spare=3)
        ranges.copy(worker, item, spare=3)
    finally:
        worker.close()
    assert tree_of(str(tmp_path)) == {"big.bin": data}
    assert "over 4 hand(s)" in caplog.text
    assert opened == []


@pytest.mark.parametrize("change", [b"grown" * 10, b""], ids=["grew", "shrank"])
def test_a_file_changing_under_the_copy_fails_and_leaves_nothing(
        preset, remote_dir, tmp_path, dante, small_units, change):
    data = os.urandom(4 * MIB)
    remote_dir.write("big.bin", data[:3 * MIB] if not change else data + change)
    item = PlanItem("big.bin", "new", "new", Entry("big.bin", len(data), T0), None)
    worker = worker_for(preset, remote_dir, tmp_path, proxy_fields("socks5", dante))
    try:
        with pytest.raises(TransferError, match="changed while it was copied"):
            ranges.copy(worker, item, spare=1)
    finally:
        worker.close()
    assert tree_of(str(tmp_path)) == {}


def test_a_ranged_partial_file_is_never_resumed(preset, remote_dir, tmp_path, dante,
                                                small_units, monkeypatch):
    """Ranges fill the partial file out of order (holes until every range is in): a
    copy killed midway must be started over by the next run, never continued."""
    from sftp_client import partials
    data = os.urandom(4 * MIB)
    remote_dir.write("big.bin", data + b"grown")            # fails after writing
    monkeypatch.setattr(ranges, "_remove", lambda path: None)   # as if killed
    item = PlanItem("big.bin", "new", "new", Entry("big.bin", len(data), T0), None)
    worker = worker_for(preset, remote_dir, tmp_path, proxy_fields("socks5", dante))
    try:
        with pytest.raises(TransferError):
            ranges.copy(worker, item, spare=1)
    finally:
        worker.close()
    (left,) = os.listdir(str(tmp_path))
    found = partials.leftover("", left, len(data), T0)
    assert found is not None and not partials.resumable(found, item.source)
