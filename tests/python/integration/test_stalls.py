"""A server that stops answering (without closing the connection) costs one
timeout per attempt, not one per cleanup step: the connection is given up at
once, and its partial file is left for a later run to remove or resume."""
import os
import time

import pytest

from conftest import PROJECT_DIR, tree_of
from helpers.fake_sftp import FakeSftpServer
from sftp_client.sync import transfer
from sftp_client.entries import is_internal
from sftp_client.errors import ConnectionLostError, SyncFailedError

DOWNLOAD = os.path.join(PROJECT_DIR, "custom-recipes",
                        "sftp-python-connector_download-from-sftp", "recipe.py")
UPLOAD = os.path.join(PROJECT_DIR, "custom-recipes", "sftp-python-connector_export-to-sftp",
                      "recipe.py")
EXPORTER = os.path.join(PROJECT_DIR, "python-exporters",
                        "sftp-python-connector_export-to-sftp", "exporter.py")
#: The service's timeout here. The old behaviour waited it out two or three times
#: per attempt (reading, then closing the file, then removing the partial).
TIMEOUT = 5
ATTEMPTS = 2
#: Generous for one timeout per attempt plus reconnecting; less than two per attempt.
BOUND = ATTEMPTS * TIMEOUT * 1.5
T0 = 1600000000



@pytest.fixture
def two_attempts(monkeypatch):
    monkeypatch.setattr(transfer, "MAX_RETRIES", ATTEMPTS - 1)
    monkeypatch.setattr(transfer, "RETRY_DELAY", 0.0)


def stalling(served, on, after, once=False):
    server = FakeSftpServer(str(served))
    server.stall_after_bytes, server.stall_on, server.stall_once = after, on, once
    return server


def download(dss, server, folder):
    dss.register_folder("out", str(folder))
    dss.register_dataset("report")
    dss.set_recipe({"sftp_service": server.service(timeout=TIMEOUT), "remote_path": "data",
                    "workers": 1},
                   outputs={"output_folder": ["out"], "report": ["report"]})
    dss.run_recipe(DOWNLOAD)


def upload(dss, server, folder):
    dss.register_folder("src", str(folder))
    dss.register_dataset("uploaded")
    dss.set_recipe({"sftp_service": server.service(timeout=TIMEOUT), "remote_path": "data",
                    "workers": 1},
                   inputs={"input_folder": ["src"]},
                   outputs={"uploaded_files": ["uploaded"]})
    dss.run_recipe(UPLOAD)


def test_a_stalled_download_costs_one_timeout_per_attempt(dss, tmp_path, two_attempts):
    served = tmp_path / "served"
    (served / "data").mkdir(parents=True)
    (served / "data" / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    folder = tmp_path / "folder"
    with stalling(served, "read", 1024 * 1024) as server:
        started = time.monotonic()
        with pytest.raises(SyncFailedError):
            download(dss, server, folder)
        elapsed = time.monotonic() - started
        assert server.stalls == ATTEMPTS
    print("stalled download: %.1f s for %d attempts of %d s" % (elapsed, ATTEMPTS, TIMEOUT))
    assert ATTEMPTS * TIMEOUT <= elapsed < BOUND
    assert not [p for p in tree_of(str(folder)) if not is_internal(os.path.basename(p))]


def test_a_stalled_upload_costs_one_timeout_per_attempt_and_is_cleaned_later(
        dss, tmp_path, two_attempts):
    served = tmp_path / "served"
    (served / "data").mkdir(parents=True)
    folder = tmp_path / "folder"
    folder.mkdir()
    data = os.urandom(3 * 1024 * 1024)
    (folder / "big.bin").write_bytes(data)
    os.utime(str(folder / "big.bin"), (T0, T0))
    with stalling(served, "write", 1024 * 1024) as server:
        started = time.monotonic()
        with pytest.raises(SyncFailedError):
            upload(dss, server, folder)
        elapsed = time.monotonic() - started
        assert server.stalls == ATTEMPTS
    print("stalled upload: %.1f s for %d attempts of %d s" % (elapsed, ATTEMPTS, TIMEOUT))
    assert ATTEMPTS * TIMEOUT <= elapsed < BOUND
    # The partial file given up on the dead connection is there; the next run
    # takes it over (same source) or removes it, and leaves nothing behind.
    assert [n for n in os.listdir(str(served / "data")) if is_internal(n)]
    with FakeSftpServer(str(served)) as server:
        upload(dss, server, folder)
    assert sorted(os.listdir(str(served / "data"))) == ["big.bin"]
    assert (served / "data" / "big.bin").read_bytes() == data


def test_a_stall_once_is_retried_and_succeeds(dss, tmp_path, two_attempts):
    served = tmp_path / "served"
    (served / "data").mkdir(parents=True)
    (served / "data" / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    folder = tmp_path / "folder"
    with stalling(served, "read", 1024 * 1024, once=True) as server:
        started = time.monotonic()
        download(dss, server, folder)
        elapsed = time.monotonic() - started
        assert server.stalls == 1
    assert elapsed < TIMEOUT * 1.5 + 3
    assert tree_of(str(folder)) == tree_of(str(served / "data"))


def test_a_stalled_export_fails_after_one_timeout_naming_the_target(dss, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "data.csv").write_bytes(b"old content\n")
    schema = {"columns": [{"name": "id", "type": "int"}, {"name": "text", "type": "string"}]}
    rows = [(float(i), "x" * 1000) for i in range(3000)]
    with stalling(served, "write", 300 * 1000) as server:
        started = time.monotonic()
        with pytest.raises(ConnectionLostError) as info:
            dss.run_exporter(EXPORTER, {"sftp_service": server.service(timeout=TIMEOUT),
                                        "remote_path": "data.csv"}, {}, schema, rows)
        elapsed = time.monotonic() - started
        assert server.stalls == 1
    print("stalled export: %.1f s with a %d s timeout" % (elapsed, TIMEOUT))
    assert TIMEOUT <= elapsed < TIMEOUT * 2
    # The error names the file the user asked for, not the hidden temporary one.
    assert "/data.csv" in str(info.value) and "sftp-partial" not in str(info.value)
    leftovers = [n for n in os.listdir(str(served)) if is_internal(n)]
    assert len(leftovers) == 1 and (served / "data.csv").read_bytes() == b"old content\n"
    # The next export into that directory removes what this one could not.
    with FakeSftpServer(str(served)) as server:
        dss.run_exporter(EXPORTER, {"sftp_service": server.service(timeout=TIMEOUT),
                                    "remote_path": "data.csv"}, {}, schema, rows[:2])
    assert sorted(os.listdir(str(served))) == ["data.csv"]
