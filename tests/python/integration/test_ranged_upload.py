"""upload_ranges.py: a big file written in ranges over several channels into ONE
partial file, verified and committed once; a cut in the middle resumed by the
next attempt and by the next run; a server refusing extra channels (and
connections) leaves one stream. Sizes are scaled down (small ranges and margin)."""
import logging
import os
import threading

import pytest

from helpers.fake_sftp import FakeSftpServer
from helpers.recipes import upload
from helpers import servers
from sftp_client.connect.settings import service_from_config
from sftp_client.entries import Entry
from sftp_client.remote import commit as remote_commit
from sftp_client.sync import ranges, transfer, upload_ranges
from sftp_client.sync.folder import LocalFolderTree
from sftp_client.sync.planner import PlanItem
from sftp_client.sync.run import _Worker

T0 = 1600000000
MIB = 1024 * 1024
#: What the fake server answers to limits@openssh.com (OpenSSH's read and write).
LIMITS = (255 * 1024, 255 * 1024)


@pytest.fixture
def small_ranges(monkeypatch):
    """Ranges of 256 KiB for files from 1 MiB, 8 of them ahead (a 2 MiB resume
    margin), on any round trip (loopback is short)."""
    monkeypatch.setattr(upload_ranges, "MIN_SIZE", MIB)
    monkeypatch.setattr(upload_ranges, "UNIT", 256 * 1024)
    monkeypatch.setattr(remote_commit, "RESUME_MARGIN", 2 * MIB)
    monkeypatch.setattr(ranges, "LONG_RTT", 0.0)


def local_source(tmp_path, size, name="big.bin"):
    source = tmp_path / "source"
    source.mkdir()
    data = os.urandom(size)
    (source / name).write_bytes(data)
    os.utime(str(source / name), (T0, T0))
    return source, data


class FinalNameWatch(object):
    """Polls the server-side final name while the upload runs: every size it
    ever shows must be the whole file's."""

    def __init__(self, path):
        self.path, self.sizes = path, set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.sizes.add(os.stat(self.path).st_size)
            except OSError:
                pass
            self._stop.wait(0.001)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def test_a_big_upload_goes_in_ranges_and_is_committed_once(
        preset, remote_dir, tmp_path, small_ranges, monkeypatch, caplog):
    size = 6 * MIB + 123
    source, data = local_source(tmp_path, size)
    commits = []
    real = remote_commit.RemoteCommit.commit_partial

    def counted(self, temp, path, *args, **kwargs):
        commits.append((temp, path))
        return real(self, temp, path, *args, **kwargs)

    monkeypatch.setattr(remote_commit.RemoteCommit, "commit_partial", counted)
    settings = service_from_config(preset())
    worker = _Worker(settings, remote_dir.path, LocalFolderTree(str(source)),
                     remote_is_source=False)
    item = PlanItem("big.bin", "new", "new", Entry("big.bin", size, T0), None)
    caplog.set_level(logging.INFO, logger="sftp_client.sync.upload_ranges")
    try:
        fill = upload_ranges.filler(worker, item, spare=3)
        assert fill is not None
        with FinalNameWatch(os.path.join(remote_dir.path, "big.bin")) as watch:
            transfer.copy_file(worker.source, worker.target, item, fill=fill)
    finally:
        worker.close()
    assert remote_dir.read("big.bin") == data
    assert watch.sizes <= {size}               # never a partial under the final name
    assert [path for _, path in commits] == ["big.bin"]
    assert "over 4 channel(s)" in caplog.text
    assert os.listdir(remote_dir.path) == ["big.bin"]
    assert int(os.stat(os.path.join(remote_dir.path, "big.bin")).st_mtime) == T0


def test_the_upload_recipe_sends_big_files_in_ranges(dss, tmp_path, small_ranges, caplog):
    served = tmp_path / "served"
    (served / "data").mkdir(parents=True)
    source, data = local_source(tmp_path, 3 * MIB)
    (source / "small.txt").write_bytes(b"small")
    caplog.set_level(logging.INFO, logger="sftp_client.sync.upload_ranges")
    with FakeSftpServer(str(served), limits=LIMITS) as server:
        rows = upload(dss, server.service(), source, "data", workers=4)
    assert rows["/big.bin"]["status"] == "uploaded"
    assert (served / "data" / "big.bin").read_bytes() == data
    assert (served / "data" / "small.txt").read_bytes() == b"small"
    assert "Sent big.bin in 262144-byte ranges over" in caplog.text


@pytest.mark.parametrize("sftp_server", ["proftpd"], indirect=True)
def test_a_server_without_stated_limits_keeps_one_stream(
        preset, remote_dir, tmp_path, small_ranges):
    """ProFTPD (no limits@openssh.com, no posix-rename): one stream, committed
    by the safe swap onto an existing file."""
    size = 3 * MIB
    source, data = local_source(tmp_path, size)
    remote_dir.write("big.bin", b"old")
    worker = _Worker(service_from_config(preset()), remote_dir.path,
                     LocalFolderTree(str(source)), remote_is_source=False)
    item = PlanItem("big.bin", "changed", "size differs", Entry("big.bin", size, T0), None)
    try:
        assert upload_ranges.filler(worker, item, spare=3) is None
        transfer.copy_file(worker.source, worker.target, item)
    finally:
        worker.close()
    assert remote_dir.read("big.bin") == data
    assert os.listdir(remote_dir.path) == ["big.bin"]


def test_a_cut_ranged_upload_resumes_in_the_next_attempt(dss, tmp_path, small_ranges,
                                                         caplog):
    served = tmp_path / "served"
    (served / "data").mkdir(parents=True)
    size = 8 * MIB
    source, data = local_source(tmp_path, size)
    caplog.set_level(logging.INFO, logger="sftp_client")
    with FakeSftpServer(str(served), drop_after_bytes=5 * MIB, drop_on="write",
                        limits=LIMITS) as server:
        rows = upload(dss, server.service(), source, "data", workers=4)
        assert server.drops == 1
        written = server.bytes["write"]
    assert rows["/big.bin"]["status"] == "uploaded"
    assert (served / "data" / "big.bin").read_bytes() == data
    assert sorted(os.listdir(str(served / "data"))) == ["big.bin"]
    resumed = [r.getMessage() for r in caplog.records
               if r.getMessage().startswith("Resuming big.bin at byte ")]
    assert resumed, "the retry started over instead of resuming"
    offset = int(resumed[0].split()[4])
    # Trusted only below the held size minus the 2 MiB margin: about 5 MiB came
    # in before the cut (ranges out of order), so the retry starts near 3 MiB;
    # the identical content above proves no hole below it was trusted.
    assert 0 < offset <= 3 * MIB + 512 * 1024
    # ... from the start of the range holding ``offset`` (ranges of 256 KiB)
    assert written <= 5 * MIB + (size - offset // (256 * 1024) * (256 * 1024))
    assert caplog.text.count("Sent big.bin in 262144-byte ranges") == 1


def test_a_ranged_upload_killed_midway_is_resumed_by_the_next_run(
        dss, tmp_path, small_ranges, monkeypatch, caplog):
    """The first run gives up after its one attempt is cut (its partial file is
    left, as a killed run would leave it); the next run takes it over."""
    monkeypatch.setattr(transfer, "MAX_RETRIES", 0)
    served = tmp_path / "served"
    (served / "data").mkdir(parents=True)
    size = 8 * MIB
    source, data = local_source(tmp_path, size)
    with FakeSftpServer(str(served), drop_after_bytes=5 * MIB, drop_on="write",
                        limits=LIMITS) as server:
        with pytest.raises(Exception):
            upload(dss, server.service(), source, "data", workers=4)
    left = [n for n in os.listdir(str(served / "data")) if n.endswith(".sftp-partial")]
    assert len(left) == 1 and "big.bin" not in os.listdir(str(served / "data"))
    caplog.set_level(logging.INFO, logger="sftp_client")
    with FakeSftpServer(str(served), limits=LIMITS) as server:
        rows = upload(dss, server.service(), source, "data", workers=4)
        written = server.bytes["write"]
    assert rows["/big.bin"]["status"] == "uploaded"
    assert (served / "data" / "big.bin").read_bytes() == data
    assert sorted(os.listdir(str(served / "data"))) == ["big.bin"]
    assert "Resuming big.bin at byte " in caplog.text
    assert written < size


def _fake_worker(server, source):
    settings = service_from_config(dict(server.service(), host_key_check="fingerprint"))
    return _Worker(settings, "/data", LocalFolderTree(str(source)), remote_is_source=False)


def test_refused_channels_and_connections_leave_one_stream(tmp_path, small_ranges, caplog):
    served = tmp_path / "served"
    (served / "data").mkdir(parents=True)
    size = 3 * MIB
    source, data = local_source(tmp_path, size)
    item = PlanItem("big.bin", "new", "new", Entry("big.bin", size, T0), None)
    caplog.set_level(logging.INFO, logger="sftp_client.sync")
    with FakeSftpServer(str(served), limits=LIMITS) as server:
        server.max_sessions, server.max_connections = 1, 1
        worker = _fake_worker(server, source)
        try:
            fill = upload_ranges.filler(worker, item, spare=3)
            transfer.copy_file(worker.source, worker.target, item, fill=fill)
        finally:
            worker.close()
        assert server.counts["channels_refused"] >= 1
        assert server.counts["connections_refused"] >= 1
    assert (served / "data" / "big.bin").read_bytes() == data
    assert "over 1 channel(s)" in caplog.text
    assert "One more channel for ranges was refused" in caplog.text


def test_sshd_max_sessions_1_falls_back_to_more_connections(servers_dir, client_keys,
                                                           tmp_path, small_ranges, caplog):
    size = 3 * MIB
    source, data = local_source(tmp_path, size)
    item = PlanItem("big.bin", "new", "new", Entry("big.bin", size, T0), None)
    caplog.set_level(logging.INFO, logger="sftp_client.sync")
    with servers.SshServer(servers_dir, keys=client_keys,
                           extra_config=["MaxSessions 1"]) as sshd:
        raw = {"hostname": sshd.host, "port": sshd.port, "root_path": sshd.root,
               "username": sshd.username, "auth_method": "password",
               "password": sshd.password, "host_key_check": "fingerprint",
               "host_key": sshd.host_key_fingerprint, "proxy_type": "none", "timeout": 10}
        worker = _Worker(service_from_config(raw), sshd.root, LocalFolderTree(str(source)),
                         remote_is_source=False)
        try:
            fill = upload_ranges.filler(worker, item, spare=3)
            transfer.copy_file(worker.source, worker.target, item, fill=fill)
        finally:
            worker.close()
        with open(os.path.join(sshd.root, "big.bin"), "rb") as handle:
            assert handle.read() == data
    assert "One more channel for ranges was refused" in caplog.text
    assert "over 4 channel(s)" in caplog.text


def test_small_files_and_short_links_keep_one_stream(preset, remote_dir, tmp_path,
                                                     monkeypatch):
    monkeypatch.setattr(upload_ranges, "MIN_SIZE", MIB)
    monkeypatch.setattr(ranges, "LONG_RTT", 10.0)          # loopback: short
    source, _ = local_source(tmp_path, 2 * MIB)
    worker = _Worker(service_from_config(preset()), remote_dir.path,
                     LocalFolderTree(str(source)), remote_is_source=False)
    try:
        big = PlanItem("big.bin", "new", "new", Entry("big.bin", 2 * MIB, T0), None)
        small = PlanItem("s", "new", "new", Entry("s", MIB - 1, T0), None)
        assert upload_ranges.filler(worker, big, spare=3) is None
        monkeypatch.setattr(ranges, "LONG_RTT", 0.0)
        assert upload_ranges.filler(worker, small, spare=3) is None
        assert upload_ranges.filler(worker, big, spare=0) is None
        assert upload_ranges.filler(worker, big, spare=1) is not None
    finally:
        worker.close()
