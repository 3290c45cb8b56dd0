"""Writers sharing a remote directory or a folder, on the real servers: runs in
other processes (their own process ids, as DSS runs jobs) keep each other's
partial files; the partial file of a killed run is resumed by the next run when
its source is unchanged, and verified like any other."""
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import PROJECT_DIR, SFTP_SERVERS, TESTS_DIR, tree_of
from sftp_client import service_from_config
from sftp_client.remote import commit as remote_commit
from sftp_client.export.writer import SftpCsvExport, export_options_from_config
from sftp_client.entries import is_internal

RECIPES = {kind: os.path.join(PROJECT_DIR, "custom-recipes",
                              "sftp-python-connector_%s" % name, "recipe.py")
           for kind, name in (("upload", "export-to-sftp"),
                              ("download", "download-from-sftp"))}
EXPORTER = os.path.join(PROJECT_DIR, "python-exporters",
                        "sftp-python-connector_export-to-sftp", "exporter.py")
CHILD = os.path.join(TESTS_DIR, "helpers", "child_run.py")
PATHS = [os.path.join(PROJECT_DIR, "python-lib"), os.path.join(TESTS_DIR, "stubs"),
         TESTS_DIR]
SCHEMA = {"columns": [{"name": "id", "type": "int"}, {"name": "text", "type": "string"}]}
T0 = 1600000000
MIB = 1024 * 1024


class Child(object):
    """A recipe or export running in another process."""

    def __init__(self, kind, config, folder=None, hang_after=None, rows=()):
        spec = {"paths": PATHS, "kind": kind, "config": config, "folder": folder,
                "hang_after": hang_after, "recipes": RECIPES, "exporter": EXPORTER,
                "schema": SCHEMA, "rows": list(rows)}
        self.proc = subprocess.Popen([sys.executable, CHILD], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     universal_newlines=True)
        self.proc.stdin.write(json.dumps(spec))
        self.proc.stdin.close()
        self.proc.stdin = None        # communicate() must not flush it

    def wait_hanging(self):
        line = self.proc.stdout.readline()
        assert line == "hanging\n", self.proc.stderr.read()[-3000:]

    def finish(self):
        out, err = self.proc.communicate(timeout=120)
        assert self.proc.returncode == 0, err[-3000:]

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.communicate(timeout=30)


def partial_files(directory):
    return sorted(p for p in tree_of(directory) if is_internal(os.path.basename(p)))


def wait_size(path_pattern_dir, size, timeout=30):
    """The one partial file in the directory, once it holds ``size`` bytes."""
    deadline = time.monotonic() + timeout
    while True:
        found = [n for n in os.listdir(path_pattern_dir) if n.endswith(".sftp-partial")]
        if len(found) == 1:
            full = os.path.join(path_pattern_dir, found[0])
            if os.path.getsize(full) >= size:
                return full
        assert time.monotonic() < deadline, found
        time.sleep(0.05)


def write_local(base, rel, data, mtime=T0):
    full = os.path.join(str(base), rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as handle:
        handle.write(data)
    os.utime(full, (mtime, mtime))


def run_in_process(dss, kind, config, folder):
    dss.register_folder("f", str(folder))
    dss.register_dataset("report")
    if kind == "upload":
        dss.set_recipe(config, inputs={"input_folder": ["f"]},
                       outputs={"uploaded_files": ["report"]})
    else:
        dss.set_recipe(config, outputs={"output_folder": ["f"], "report": ["report"]})
    dss.run_recipe(RECIPES[kind])
    return dict((r["path"], r) for r in dss.dataset_rows("report"))


def final_progress(caplog, label):
    """(bytes done, bytes total) of the last progress line, in bytes."""
    units = {"B": 1, "KiB": 1024, "MiB": MIB, "GiB": 1024 * MIB}
    lines = [r.getMessage() for r in caplog.records
             if r.getMessage().startswith(label + ": ") and " files, " in r.getMessage()]
    match = re.search(r"files, ([\d.]+) (\w+)/([\d.]+) (\w+),", lines[-1])
    return (float(match.group(1)) * units[match.group(2)],
            float(match.group(3)) * units[match.group(4)])


@pytest.mark.parametrize("sftp_server", SFTP_SERVERS, indirect=True)
def test_an_export_in_progress_survives_other_writers_in_its_directory(
        tmp_path, preset, remote_dir):
    export = SftpCsvExport(service_from_config(preset()), export_options_from_config(
        {"remote_path": remote_dir.name + "/a.csv"}))
    export.open(SCHEMA)
    try:
        for i in range(100):
            export.write_row((float(i), "first"))
        ours = partial_files(remote_dir.path)
        assert len(ours) == 1
        # Another process uploads a folder into the same directory, and another
        # process exports a second file there, while this export is open.
        folder = tmp_path / "folder"
        write_local(folder, "b.txt", b"from the upload")
        Child("upload", {"sftp_service": preset(), "remote_path": remote_dir.name},
              str(folder)).finish()
        Child("export", {"sftp_service": preset(),
                         "remote_path": remote_dir.name + "/c.csv"},
              rows=[(1.0, "other")]).finish()
        assert partial_files(remote_dir.path) == ours
        for i in range(100, 200):
            export.write_row((float(i), "second"))
        export.close()
    finally:
        export.abort()
    assert remote_dir.read("b.txt") == b"from the upload"
    assert remote_dir.read("c.csv") == b"id,text\r\n1,other\r\n"
    assert remote_dir.read("a.csv").count(b"\r\n") == 201
    assert partial_files(remote_dir.path) == []


@pytest.mark.parametrize("sftp_server", SFTP_SERVERS, indirect=True)
def test_two_uploads_at_once_then_the_killed_one_is_resumed(
        dss, tmp_path, preset, remote_dir, monkeypatch, caplog):
    monkeypatch.setattr(remote_commit, "RESUME_MARGIN", 256 * 1024)
    big = os.urandom(4 * MIB + 5)
    first, second = tmp_path / "first", tmp_path / "second"
    write_local(first, "big.bin", big)
    write_local(second, "other.txt", b"second run")
    config = {"sftp_service": preset(), "remote_path": remote_dir.name, "workers": 1}
    # Run 1 (another process) hangs in the middle of big.bin ...
    child = Child("upload", config, str(first), hang_after=MIB)
    try:
        child.wait_hanging()
        partial = wait_size(remote_dir.path, MIB)
        # ... while run 2 uploads into the same directory: run 1's file stays.
        rows = run_in_process(dss, "upload", config, second)
        assert rows["/other.txt"]["status"] == "uploaded"
        assert os.path.exists(partial)
    finally:
        child.kill()             # as DSS kills an aborted job
    assert os.path.getsize(partial) == MIB
    # Run 3 (big.bin unchanged) takes the killed run's partial file over.
    caplog.set_level(logging.INFO, logger="sftp_client")
    rows = run_in_process(dss, "upload", config, first)
    assert rows["/big.bin"]["status"] == "uploaded"
    resumed = [r.getMessage() for r in caplog.records if "Resuming" in r.getMessage()]
    assert resumed == ["Resuming big.bin at byte %d of %d" % (MIB - 256 * 1024, len(big))]
    assert remote_dir.read("big.bin") == big
    assert int(os.stat(os.path.join(remote_dir.path, "big.bin")).st_mtime) == T0
    assert partial_files(remote_dir.path) == []
    done, total = final_progress(caplog, "Upload")
    # Only what was sent counts: done equals the total, which lacks what run 1 sent.
    assert done == total
    assert abs(total - (len(big) - (MIB - 256 * 1024))) < 0.05 * MIB


@pytest.mark.parametrize("sftp_server", SFTP_SERVERS, indirect=True)
def test_a_killed_download_is_resumed_into_a_local_folder(dss, tmp_path, preset,
                                                          remote_dir, caplog):
    big = os.urandom(4 * MIB + 5)
    remote_dir.write("big.bin", big, mtime=T0)
    remote_dir.write("small.txt", b"small", mtime=T0)
    folder = tmp_path / "folder"
    config = {"sftp_service": preset(), "remote_path": remote_dir.name, "workers": 1}
    child = Child("download", config, str(folder), hang_after=MIB)
    try:
        child.wait_hanging()
        partial = wait_size(str(folder), MIB)
    finally:
        child.kill()
    assert os.path.getsize(partial) == MIB
    caplog.set_level(logging.INFO, logger="sftp_client")
    rows = run_in_process(dss, "download", config, folder)
    assert rows["/big.bin"]["action"] == "downloaded"
    resumed = [r.getMessage() for r in caplog.records if "Resuming" in r.getMessage()]
    assert resumed == ["Resuming big.bin at byte %d of %d" % (MIB, len(big))]
    assert tree_of(str(folder)) == {"big.bin": big, "small.txt": b"small"}
    done, total = final_progress(caplog, "Download")
    assert done <= total


def test_a_changed_source_is_not_resumed(dss, tmp_path, preset, remote_dir, caplog):
    big = os.urandom(2 * MIB)
    remote_dir.write("big.bin", big, mtime=T0)
    folder = tmp_path / "folder"
    config = {"sftp_service": preset(), "remote_path": remote_dir.name, "workers": 1}
    child = Child("download", config, str(folder), hang_after=MIB)
    try:
        child.wait_hanging()
        partial = wait_size(str(folder), MIB)
    finally:
        child.kill()
    changed = os.urandom(2 * MIB)          # same size, new content and time
    remote_dir.write("big.bin", changed, mtime=T0 + 60)
    caplog.set_level(logging.INFO, logger="sftp_client")
    run_in_process(dss, "download", config, folder)
    assert not [r for r in caplog.records if "Resuming" in r.getMessage()]
    assert tree_of(str(folder)) == {"big.bin": changed}
    assert not os.path.exists(partial)


@pytest.mark.parametrize("sftp_server", SFTP_SERVERS, indirect=True)
def test_a_killed_export_is_cleaned_up_by_the_next_export(tmp_path, preset, remote_dir):
    remote_dir.write("a.csv", b"old content\n")
    config = {"sftp_service": preset(), "remote_path": remote_dir.name + "/a.csv"}
    rows = [(float(i), "x" * 1000) for i in range(2000)]
    child = Child("export", config, rows=rows, hang_after=1000)
    try:
        child.wait_hanging()
        left = wait_size(remote_dir.path, 1)
    finally:
        child.kill()             # no exit hook runs: the temporary file stays
    assert remote_dir.read("a.csv") == b"old content\n"
    Child("export", config, rows=rows[:1]).finish()
    assert not os.path.exists(left)
    assert partial_files(remote_dir.path) == []
    assert remote_dir.read("a.csv") == b"id,text\r\n0," + b"x" * 1000 + b"\r\n"
