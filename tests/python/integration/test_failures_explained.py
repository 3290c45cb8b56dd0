"""Every failure is explained and nothing fails silently (issue 9, items 1, 3, 8):
the final error names the file and its cause, the log stays honest and quiet,
against the real sshd and the in-process fake server."""
import logging
import os
import re

import pytest

from conftest import tree_of
from helpers.fake_sftp import FakeSftpServer
from helpers.recipes import download, upload
from sftp_client.errors import ConnectError, ConnectionLostError, SyncFailedError
from sftp_client.connect.session import SftpSession
from sftp_client.connect.settings import service_from_config

T0 = 1600000000
_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}





def served_tree(tmp_path, size):
    served = tmp_path / "served"
    (served / "data" / "sub").mkdir(parents=True)
    (served / "data" / "ok.txt").write_bytes(b"fine")
    (served / "data" / "sub" / "big.bin").write_bytes(os.urandom(size))
    return served


def no_empty_brackets(text):
    assert "()" not in text and not re.search(r":\s*\)", text), text


def test_the_final_error_names_the_file_and_its_cause(dss, tmp_path, caplog):
    served = served_tree(tmp_path, 2 * 1024 * 1024)
    caplog.set_level(logging.INFO)
    with FakeSftpServer(str(served), drop_after_bytes=256 * 1024, drop_once=False,
                        cut_with_reset=True) as server:
        with pytest.raises(SyncFailedError) as info:
            download(dss, server.service(), "data", tmp_path / "folder",
                     workers=1, on_error="continue")
        assert server.drops == 3
    message = str(info.value)
    assert message.startswith("Download: 1 file failed: /sub/big.bin: The connection "
                              "was lost while reading"), message
    assert "(after 3 attempts)" in message and "1 downloaded" in message
    no_empty_brackets(message)
    for record in caplog.records:
        no_empty_brackets(record.getMessage())
    # Our own lines say what happened; paramiko's raw socket errors stay out.
    assert not [r for r in caplog.records if r.getMessage().startswith("Socket exception")]
    assert [r for r in caplog.records if "Transient failure on sub/big.bin" in r.getMessage()]


def test_file_names_in_log_lines_and_errors_are_escaped(dss, tmp_path, preset,
                                                        remote_dir, caplog):
    remote_dir.write("good.txt", b"good", mtime=T0)
    forged = "evil\n2026-01-01 00:00:00 INFO forged: all files copied.txt"
    bad = remote_dir.write(forged, b"bad", mtime=T0)
    os.chmod(bad, 0o000)
    caplog.set_level(logging.INFO)
    with pytest.raises(SyncFailedError) as info:
        download(dss, preset(), remote_dir.name, tmp_path / "folder",
                 on_error="continue")
    assert "\n" not in str(info.value)
    assert "evil\\n2026-01-01" in str(info.value)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("sftp_client")]
    assert [m for m in ours if "evil\\n2026" in m]
    assert not [m for m in ours if "\n" in m]


def test_progress_never_exceeds_its_total_after_a_resumed_upload(dss, tmp_path, caplog):
    served = tmp_path / "served"
    (served / "data").mkdir(parents=True)
    source = tmp_path / "source"
    source.mkdir()
    size = 10 * 1024 * 1024
    (source / "big.bin").write_bytes(os.urandom(size))
    caplog.set_level(logging.INFO)
    # Cut after 9 MiB: the retry resumes RESUME_MARGIN before the cut (here: at 0).
    with FakeSftpServer(str(served), drop_after_bytes=9 * 1024 * 1024,
                        drop_on="write") as server:
        rows = upload(dss, server.service(), source, "data", workers=1)
        assert server.drops == 1
    assert rows["/big.bin"]["status"] == "uploaded"
    lines = [r.getMessage() for r in caplog.records
             if re.match(r"Upload: \d+/\d+ files, ", r.getMessage())]
    assert lines
    for line in lines:
        done, total = re.search(r"files, ([\d.]+ \w+)/([\d.]+ \w+),", line).groups()
        assert _bytes(done) <= _bytes(total), line
    assert "Upload: 1/1 files, 10.0 MiB/10.0 MiB" in lines[-1]


def _bytes(text):
    number, unit = text.split()
    return float(number) * _UNITS[unit]


def test_no_posix_rename_is_said_once_per_run(dss, tmp_path, caplog):
    served = tmp_path / "served"
    (served / "data").mkdir(parents=True)
    source = tmp_path / "source"
    source.mkdir()
    for n in range(6):
        (source / ("f%d.txt" % n)).write_bytes(b"x" * n)
    caplog.set_level(logging.INFO)
    with FakeSftpServer(str(served)) as server:
        upload(dss, server.service(), source, "data", workers=3)
        assert server.counts["posix_rename_attempts"] >= 2   # one per connection
    said = [r for r in caplog.records if "no posix-rename extension" in r.getMessage()]
    assert len(said) == 1


def test_a_temporary_file_never_created_is_not_reported_as_left(dss, tmp_path, preset,
                                                               remote_dir, caplog):
    """A 250-character name: its partial name beside it is too long for the local
    disk, so the file fails, and no warning talks of removing that partial."""
    remote_dir.write("n" * 250, b"long name", mtime=T0)
    remote_dir.write("ok.txt", b"ok", mtime=T0)
    caplog.set_level(logging.INFO)
    folder = tmp_path / "folder"
    with pytest.raises(SyncFailedError) as info:
        download(dss, preset(), remote_dir.name, folder, on_error="continue")
    assert "File name too long" in str(info.value)
    assert tree_of(str(folder)) == {"ok.txt": b"ok"}
    assert not [r for r in caplog.records if "Could not remove" in r.getMessage()]


def test_a_refused_sftp_subsystem_is_told_apart_from_a_dropped_connection(tmp_path):
    (tmp_path / "served").mkdir()
    with FakeSftpServer(str(tmp_path / "served"), sftp_subsystem=False) as server:
        with SftpSession(service_from_config(server.service())) as session:
            with pytest.raises(ConnectError) as info:
                session.open_sftp()
    assert "refused the SFTP subsystem" in str(info.value)
    assert "is the SFTP subsystem enabled" in str(info.value)
    no_empty_brackets(str(info.value))
    with FakeSftpServer(str(tmp_path / "served"), drop_on_sftp=True) as server:
        with SftpSession(service_from_config(server.service())) as session:
            with pytest.raises(ConnectionLostError) as info:
                session.open_sftp()
        assert server.counts["sftp_dropped"] == 1
    assert "lost while opening the SFTP channel" in str(info.value)
    assert "subsystem" not in str(info.value)
    no_empty_brackets(str(info.value))
