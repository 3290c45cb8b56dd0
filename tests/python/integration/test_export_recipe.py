"""The real sftp-python-connector_export-to-sftp recipe.py, run through the stand-in dataiku package,
from local and non-local managed folders to the real sshd (and, for what OpenSSH
cannot do, to the in-process fake server)."""
import json
import logging
import os

import pytest

from conftest import PROJECT_DIR, PROXY_CASES, SFTP_SERVERS, proxy_fields, tree_of
from helpers.fake_sftp import FakeSftpServer
from helpers.leftovers import LONG_AGO, dead_pid, partial_name
from sftp_client.entries import STATE_FILE
from sftp_client.errors import (ConfigError, RemotePathError, SyncFailedError, UnsafePathError)

RECIPE = os.path.join(PROJECT_DIR, "custom-recipes", "sftp-python-connector_export-to-sftp", "recipe.py")
T0 = 1600000000
COLUMNS = ["path", "remote_path", "size", "modified", "status", "reason", "error",
           "transferred_at"]


def write_local(base, rel, data, mtime=None):
    full = os.path.join(str(base), rel)
    if not os.path.isdir(os.path.dirname(full)):
        os.makedirs(os.path.dirname(full))
    with open(full, "wb") as handle:
        handle.write(data)
    if mtime is not None:
        os.utime(full, (mtime, mtime))
    return full


def make_tree(base):
    write_local(base, "top.csv", b"a,b\n1,2\n", T0)
    write_local(base, "empty.txt", b"", T0 + 1)
    write_local(base, "sub dir/na\u00efve \u00e9t\u00e9.txt", "donn\u00e9es\n".encode("utf-8"),
                T0 + 2)
    write_local(base, "sub dir/deeper/big.bin", os.urandom(3 * 1024 * 1024 + 17), T0 + 3)


class Run(object):
    """Configure and run the recipe; remembers the folder and the output dataset."""

    def __init__(self, dss, tmp_path, local=True, last_modified=True):
        self.dss = dss
        self.dir = str(tmp_path / "source")
        dss.register_folder("src", self.dir, local=local, last_modified=last_modified)
        dss.register_dataset("uploaded")

    def __call__(self, service, remote_path, **options):
        config = dict(sftp_service=service, remote_path=remote_path, **options)
        self.dss.set_recipe(config, inputs={"input_folder": ["src"]},
                            outputs={"uploaded_files": ["uploaded"]})
        try:
            self.dss.run_recipe(RECIPE)
        finally:
            self.last_rows = self.rows()
        return self.last_rows

    def rows(self):
        rows = self.dss.dataset_rows("uploaded") or []
        return dict((r["path"], r) for r in rows)


def statuses(rows):
    return dict((path, row["status"]) for path, row in rows.items())


def data_files(directory):
    return dict((k, v) for k, v in tree_of(directory).items()
                if k != STATE_FILE and not k.endswith(".sftp-partial"))


def remote_stats(directory):
    found = {}
    for path in data_files(directory):
        st = os.stat(os.path.join(directory, path))
        found[path] = (st.st_ino, st.st_mtime, st.st_ctime)
    return found


@pytest.mark.parametrize("sftp_server", SFTP_SERVERS, indirect=True)
@pytest.mark.parametrize("local", [True, False], ids=["local-folder", "stream-folder"])
def test_first_run_uploads_the_tree_with_its_times(dss, tmp_path, preset, remote_dir, local):
    run = Run(dss, tmp_path, local=local)
    make_tree(run.dir)
    rows = run(preset(), remote_dir.name + "/out/daily")   # parents created
    target = os.path.join(remote_dir.path, "out", "daily")
    assert tree_of(target) == tree_of(run.dir)
    for path in tree_of(run.dir):
        local_mtime = int(os.stat(os.path.join(run.dir, path)).st_mtime)
        assert int(os.stat(os.path.join(target, path)).st_mtime) == local_mtime, path
    assert set(statuses(rows).values()) == {"uploaded"} and len(rows) == 4
    big = rows["/sub dir/deeper/big.bin"]
    assert big["size"] == 3 * 1024 * 1024 + 17
    assert big["modified"] == "2020-09-13T12:26:43Z"
    assert big["remote_path"] == target + "/sub dir/deeper/big.bin"
    assert big["reason"] == "new" and big["error"] == "" and big["transferred_at"]
    assert [c["name"] for c in dss.dataset_schema("uploaded")] == COLUMNS
    # A server that keeps times needs no state file; the input folder is untouched.
    assert not os.path.exists(os.path.join(target, STATE_FILE))
    assert dss.folder_write_count("src") == 0


@pytest.mark.parametrize("sftp_server", SFTP_SERVERS, indirect=True)
@pytest.mark.parametrize("local", [True, False], ids=["local-folder", "stream-folder"])
def test_incremental_runs_rewrite_nothing_unchanged(dss, tmp_path, preset, remote_dir,
                                                    local):
    run = Run(dss, tmp_path, local=local)
    make_tree(run.dir)
    run(preset(), remote_dir.name)
    before = remote_stats(remote_dir.path)

    rows = run(preset(), remote_dir.name)
    assert set(statuses(rows).values()) == {"unchanged"} and len(rows) == 4
    assert all(r["transferred_at"] == "" for r in rows.values())
    assert remote_stats(remote_dir.path) == before

    # Same size, new content and time; a new file; a remote-only file kept.
    write_local(run.dir, "top.csv", b"x,y\n3,4\n", T0 + 100)
    write_local(run.dir, "fresh/new.txt", b"new", T0 + 5)
    remote_dir.write("remote-only.txt", b"theirs")
    rows = run(preset(), remote_dir.name)
    assert statuses(rows) == {
        "/top.csv": "updated", "/fresh/new.txt": "uploaded", "/empty.txt": "unchanged",
        "/sub dir/na\u00efve \u00e9t\u00e9.txt": "unchanged",
        "/sub dir/deeper/big.bin": "unchanged"}
    assert "modification time differs" in rows["/top.csv"]["reason"]
    assert remote_dir.read("top.csv") == b"x,y\n3,4\n"
    assert int(os.stat(os.path.join(remote_dir.path, "top.csv")).st_mtime) == T0 + 100
    assert remote_dir.read("remote-only.txt") == b"theirs"
    after = remote_stats(remote_dir.path)
    assert after["sub dir/deeper/big.bin"] == before["sub dir/deeper/big.bin"]


def test_stream_folder_without_times_stays_incremental(dss, tmp_path, preset, remote_dir):
    run = Run(dss, tmp_path, local=False, last_modified=False)
    make_tree(run.dir)
    assert set(statuses(run(preset(), remote_dir.name)).values()) == {"uploaded"}
    before = remote_stats(remote_dir.path)
    assert set(statuses(run(preset(), remote_dir.name)).values()) == {"unchanged"}
    assert remote_stats(remote_dir.path) == before
    write_local(run.dir, "top.csv", b"longer content\n")
    assert run(preset(), remote_dir.name)["/top.csv"]["status"] == "updated"
    assert remote_dir.read("top.csv") == b"longer content\n"


def test_empty_folder_still_writes_the_schema(dss, tmp_path, preset, remote_dir):
    run = Run(dss, tmp_path)
    assert run(preset(), remote_dir.name) == {}
    assert [c["name"] for c in dss.dataset_schema("uploaded")] == COLUMNS
    assert dss.dataset_rows("uploaded") == []


@pytest.mark.parametrize("kind, proxy_fixture", PROXY_CASES)
def test_upload_through_each_proxy(request, dss, tmp_path, preset, remote_dir, sshd,
                                   kind, proxy_fixture):
    proxy = request.getfixturevalue(proxy_fixture)
    before = len(proxy.connections_to(sshd.port))
    run = Run(dss, tmp_path, local=(kind != "http"))
    make_tree(run.dir)
    rows = run(preset(**proxy_fields(kind, proxy)), remote_dir.name, workers=2)
    assert set(statuses(rows).values()) == {"uploaded"}
    assert data_files(remote_dir.path) == tree_of(run.dir)
    proxy.wait_for_connection_to(sshd.port)
    # The listing session and each transfer connection went through the proxy.
    assert len(proxy.connections_to(sshd.port)) >= before + 2


def test_include_and_exclude_patterns(dss, tmp_path, preset, remote_dir):
    run = Run(dss, tmp_path)
    write_local(run.dir, "keep.csv", b"1", T0)
    write_local(run.dir, "skip.txt", b"2", T0)
    write_local(run.dir, "tmp/drop.csv", b"3", T0)
    rows = run(preset(), remote_dir.name, include_patterns=["*.csv"],
               exclude_patterns=["tmp/**"])
    assert data_files(remote_dir.path) == {"keep.csv": b"1"}
    assert statuses(rows) == {"/keep.csv": "uploaded"}


def test_failed_file_is_reported_then_fails_the_recipe(dss, tmp_path, preset, remote_dir):
    run = Run(dss, tmp_path)
    write_local(run.dir, "good.txt", b"good", T0)
    remote_dir.write("blocked/x.txt", b"old", mtime=T0)
    os.chmod(os.path.join(remote_dir.path, "blocked"), 0o555)   # not writable
    write_local(run.dir, "blocked/x.txt", b"new", T0 + 1)
    try:
        with pytest.raises(SyncFailedError) as info:
            run(preset(), remote_dir.name, on_error="continue", workers=1)
    finally:
        os.chmod(os.path.join(remote_dir.path, "blocked"), 0o755)
    message = str(info.value)
    assert message.startswith("Upload: 1 file failed: /blocked/x.txt: Permission denied")
    assert "1 uploaded" in message and "()" not in message
    rows = run.last_rows
    assert rows["/good.txt"]["status"] == "uploaded"
    assert rows["/blocked/x.txt"]["status"] == "failed"
    assert "Permission denied" in rows["/blocked/x.txt"]["error"]
    assert rows["/blocked/x.txt"]["transferred_at"] == ""
    assert remote_dir.read("blocked/x.txt") == b"old"
    assert remote_dir.read("good.txt") == b"good"


def test_remote_directory_not_writable_is_a_clear_error(dss, tmp_path, preset, remote_dir):
    run = Run(dss, tmp_path)
    write_local(run.dir, "a.txt", b"a", T0)
    os.chmod(remote_dir.path, 0o555)
    try:
        with pytest.raises(RemotePathError) as info:
            run(preset(), remote_dir.name + "/new/dir")
    finally:
        os.chmod(remote_dir.path, 0o755)
    message = str(info.value)
    assert "Permission denied" in message and remote_dir.name + "/new" in message
    assert preset()["password"] not in message


def test_remote_path_escaping_the_root_is_refused(dss, tmp_path, preset):
    run = Run(dss, tmp_path)
    write_local(run.dir, "a.txt", b"a", T0)
    with pytest.raises(UnsafePathError) as info:
        run(preset(), "../..")
    assert "Remote path" in str(info.value)


def test_missing_service_is_a_config_error(dss, tmp_path):
    run = Run(dss, tmp_path)
    with pytest.raises(ConfigError) as info:
        run(None, "")
    assert "no SFTP service selected" in str(info.value)


# --- against the in-process fake server -------------------------------------------


def served_dir(tmp_path):
    served = tmp_path / "served"
    (served / "data").mkdir(parents=True)
    return served


def test_cut_mid_upload_keeps_the_old_file_and_the_next_run_cleans_up(dss, tmp_path):
    served = served_dir(tmp_path)
    run = Run(dss, tmp_path, local=False)
    old = os.urandom(2 * 1024 * 1024)
    write_local(run.dir, "big.bin", old, T0)
    write_local(run.dir, "ok.txt", b"fine", T0)
    with FakeSftpServer(str(served)) as server:
        run(server.service(), "data")
    new = os.urandom(2 * 1024 * 1024)
    write_local(run.dir, "big.bin", new, T0 + 10)
    with FakeSftpServer(str(served), drop_after_bytes=1024 * 1024, drop_on="write",
                        drop_once=False) as server:
        with pytest.raises(SyncFailedError):
            run(server.service(), "data", workers=1)
        assert server.drops == 3   # first attempt and two retries, each cut
    assert run.last_rows["/big.bin"]["status"] == "failed"
    assert "connection" in run.last_rows["/big.bin"]["error"].lower()
    assert (served / "data" / "big.bin").read_bytes() == old
    with FakeSftpServer(str(served)) as server:
        rows = run(server.service(), "data")
    assert statuses(rows) == {"/big.bin": "updated", "/ok.txt": "unchanged"}
    assert (served / "data" / "big.bin").read_bytes() == new
    assert sorted(os.listdir(str(served / "data"))) == ["big.bin", "ok.txt"]


@pytest.mark.parametrize("local", [True, False], ids=["local-folder", "stream-folder"])
def test_a_cut_upload_resumes_where_it_stopped(dss, tmp_path, monkeypatch, local):
    from sftp_client.remote import commit as remote_commit
    monkeypatch.setattr(remote_commit, "RESUME_MARGIN", 256 * 1024)
    served = served_dir(tmp_path)
    run = Run(dss, tmp_path, local=local)
    data = os.urandom(6 * 1024 * 1024)
    write_local(run.dir, "big.bin", data, T0)
    # Every connection is cut after 2.5 MiB written: only resuming (writing the
    # last RESUME_MARGIN bytes again) gets the 6 MiB file up in three attempts.
    with FakeSftpServer(str(served), drop_after_bytes=5 * 512 * 1024, drop_on="write",
                        drop_once=False) as server:
        rows = run(server.service(), "data", workers=1)
        assert server.drops == 2
        assert server.bytes["write"] < len(data) + 2 * 256 * 1024 + 1
    assert rows["/big.bin"]["status"] == "uploaded"
    assert (served / "data" / "big.bin").read_bytes() == data
    assert int(os.stat(str(served / "data" / "big.bin")).st_mtime) == T0
    assert sorted(os.listdir(str(served / "data"))) == ["big.bin"]


def test_a_single_cut_is_retried_on_a_new_connection(dss, tmp_path):
    served = served_dir(tmp_path)
    run = Run(dss, tmp_path)
    data = os.urandom(3 * 1024 * 1024)
    write_local(run.dir, "big.bin", data, T0)
    with FakeSftpServer(str(served), drop_after_bytes=1024 * 1024, drop_on="write") as server:
        rows = run(server.service(), "data", workers=1)
        assert server.drops == 1
    assert rows["/big.bin"]["status"] == "uploaded"
    assert (served / "data" / "big.bin").read_bytes() == data


def test_server_without_posix_rename_still_replaces_atomically(dss, tmp_path):
    served = served_dir(tmp_path)
    (served / "data" / "a.txt").write_bytes(b"old content")
    run = Run(dss, tmp_path)
    write_local(run.dir, "a.txt", b"new content!", T0)
    write_local(run.dir, "b.txt", b"brand new", T0)
    with FakeSftpServer(str(served)) as server:
        rows = run(server.service(), "data")
        assert server.counts["posix_rename_attempts"] >= 1
        assert server.counts["rename"] >= 2
    assert statuses(rows) == {"/a.txt": "updated", "/b.txt": "uploaded"}
    assert (served / "data" / "a.txt").read_bytes() == b"new content!"
    assert sorted(os.listdir(str(served / "data"))) == ["a.txt", "b.txt"]


def test_server_refusing_setstat_stays_incremental(dss, tmp_path, caplog):
    served = served_dir(tmp_path)
    run = Run(dss, tmp_path)
    for name in ("a.txt", "b.txt", "c.txt"):
        write_local(run.dir, name, name.encode() * 10, T0)
    caplog.set_level(logging.WARNING, logger="sftp_client")
    with FakeSftpServer(str(served), refuse_setstat=True) as server:
        rows = run(server.service(), "data", workers=2)
        assert set(statuses(rows).values()) == {"uploaded"}
        refusals = [r for r in caplog.records if "refuses to set modification" in r.message]
        assert len(refusals) == 1
        state = json.loads((served / "data" / STATE_FILE).read_text())
        assert state["files"]["a.txt"]["mtime"] == T0

        writes = server.counts["open_write"]
        rows = run(server.service(), "data")
        assert set(statuses(rows).values()) == {"unchanged"}
        assert server.counts["open_write"] == writes

        write_local(run.dir, "b.txt", b"B" * 20, T0 + 60)
        rows = run(server.service(), "data")
        assert statuses(rows) == {"/a.txt": "unchanged", "/b.txt": "updated",
                                  "/c.txt": "unchanged"}
    # Someone else rewrites a.txt on the server: its record no longer holds.
    (served / "data" / "a.txt").write_bytes(b"changed by someone")
    with FakeSftpServer(str(served), refuse_setstat=True) as server:
        rows = run(server.service(), "data")
    assert rows["/a.txt"]["status"] == "updated"
    assert (served / "data" / "a.txt").read_bytes() == b"a.txt" * 10


@pytest.mark.parametrize("sftp_server", SFTP_SERVERS, indirect=True)
def test_only_abandoned_remote_partial_files_are_removed(dss, tmp_path, preset,
                                                        remote_dir):
    old = LONG_AGO
    stale = remote_dir.write("sub/.x.bin.0123456789ab.sftp-partial", b"half", mtime=old)
    dead = remote_dir.write("sub/" + partial_name("y.bin", pid=dead_pid()), b"half")
    live = remote_dir.write("sub/" + partial_name("x.bin"), b"half")
    other_host = remote_dir.write("sub/" + partial_name("x.bin", pid=dead_pid(),
                                                        host="0a0b0c"), b"half")
    remote_dir.write("sub/notes.sftp-partial.txt", b"keep me")
    run = Run(dss, tmp_path)
    write_local(run.dir, "sub/x.bin", b"whole", T0)
    rows = run(preset(), remote_dir.name)
    assert statuses(rows) == {"/sub/x.bin": "uploaded"}
    assert not os.path.exists(stale) and not os.path.exists(dead)
    # Runs that may still be writing keep their files.
    assert os.path.exists(live) and os.path.exists(other_host)
    assert remote_dir.read("sub/notes.sftp-partial.txt") == b"keep me"
