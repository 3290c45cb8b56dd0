"""Dry runs of both recipes (the real recipe.py files through the stand-in dataiku
package) against the real sshd, directly and through each proxy: the report says
what would happen to each file, and nothing changes in the folder or on the server."""
import logging
import os

import pytest

from conftest import PROJECT_DIR, PROXY_CASES, proxy_fields

RECIPES = os.path.join(PROJECT_DIR, "custom-recipes")
DOWNLOAD = os.path.join(RECIPES, "sftp-python-connector_download-from-sftp", "recipe.py")
UPLOAD = os.path.join(RECIPES, "sftp-python-connector_export-to-sftp", "recipe.py")
T0 = 1600000000
STALE_PARTIAL = ".old.csv.0123456789ab.sftp-partial"


def snapshot(directory):
    """Every file and directory below ``directory`` with size, time and bytes."""
    found = {}
    for top, dirs, files in os.walk(directory):
        for name in dirs + files:
            full = os.path.join(top, name)
            info = os.lstat(full)
            data = None
            if os.path.isfile(full):
                with open(full, "rb") as handle:
                    data = handle.read()
            found[os.path.relpath(full, directory)] = (info.st_mtime, info.st_ino, data)
    return found


def write(base, rel, data, mtime):
    full = os.path.join(base, rel)
    if not os.path.isdir(os.path.dirname(full)):
        os.makedirs(os.path.dirname(full))
    with open(full, "wb") as handle:
        handle.write(data)
    os.utime(full, (mtime, mtime))


def run_download(dss, tmp_path, service, remote_path, local=True):
    folder = str(tmp_path / "landing")
    dss.register_folder("landing", folder, local=local)
    dss.register_dataset("report")
    dss.set_recipe({"sftp_service": service, "remote_path": remote_path, "dry_run": True},
                   outputs={"output_folder": ["landing"], "report": ["report"]})
    dss.run_recipe(DOWNLOAD)
    return dict((r["path"], r) for r in dss.dataset_rows("report")), folder


def run_upload(dss, folder, service, remote_path, local=True):
    dss.register_folder("src", folder, local=local)
    dss.register_dataset("uploaded")
    dss.set_recipe({"sftp_service": service, "remote_path": remote_path, "dry_run": True},
                   inputs={"input_folder": ["src"]}, outputs={"uploaded_files": ["uploaded"]})
    dss.run_recipe(UPLOAD)
    return dict((r["path"], r) for r in dss.dataset_rows("uploaded"))


@pytest.mark.parametrize("local", [True, False], ids=["local-folder", "stream-folder"])
def test_download_dry_run_reports_and_changes_nothing(dss, tmp_path, preset, remote_dir,
                                                       local, caplog):
    remote_dir.write("new.csv", b"1234567", mtime=T0)
    remote_dir.write("sub/changed.csv", b"new content", mtime=T0 + 60)
    remote_dir.write("same.csv", b"same", mtime=T0)
    remote_dir.write(STALE_PARTIAL, b"half", mtime=T0)
    folder = str(tmp_path / "landing")
    write(folder, "sub/changed.csv", b"old content", T0)
    write(folder, "same.csv", b"same", T0)
    write(folder, STALE_PARTIAL, b"half", T0)
    remote_before, folder_before = snapshot(remote_dir.path), snapshot(folder)
    with caplog.at_level(logging.INFO):
        rows, _ = run_download(dss, tmp_path, preset(), remote_dir.name, local=local)
    got = dict((path, (row["action"], row["size"])) for path, row in rows.items())
    assert got["/new.csv"] == ("would download", 7)
    assert got["/sub/changed.csv"] == ("would update", 11)
    if local:   # a stream folder keeps no times: its files are 'changed' until recorded
        assert got["/same.csv"] == ("unchanged", 4)
    assert all(row["transferred_at"] == "" for row in rows.values())
    assert snapshot(remote_dir.path) == remote_before
    assert snapshot(folder) == folder_before
    assert dss.folder_writes("landing") == [] and dss.folder_deletes("landing") == []
    assert "Plan (dry run, nothing is transferred)" in caplog.text
    assert "would download new.csv (7 bytes)" in caplog.text


@pytest.mark.parametrize("kind,fixture", PROXY_CASES)
def test_dry_runs_through_each_proxy(dss, request, tmp_path, preset, remote_dir, kind,
                                     fixture):
    proxy = request.getfixturevalue(fixture)
    service = preset(**proxy_fields(kind, proxy))
    remote_dir.write("in/a.txt", b"abc", mtime=T0)
    remote_before = snapshot(remote_dir.path)
    rows, folder = run_download(dss, tmp_path, service, remote_dir.name + "/in")
    assert {p: r["action"] for p, r in rows.items()} == {"/a.txt": "would download"}
    assert os.listdir(folder) == []
    source = str(tmp_path / "to-send")
    write(source, "b.txt", b"bbbb", T0)
    rows = run_upload(dss, source, service, remote_dir.name + "/out/new")
    assert {p: (r["status"], r["size"]) for p, r in rows.items()} == {
        "/b.txt": ("would upload", 4)}
    assert snapshot(remote_dir.path) == remote_before     # out/new not even created


def test_upload_dry_run_into_an_existing_directory(dss, tmp_path, preset, remote_dir):
    source = str(tmp_path / "to-send")
    write(source, "same.txt", b"same", T0)
    write(source, "changed.txt", b"changed!", T0 + 5)
    write(source, "new.txt", b"n", T0)
    remote_dir.write("same.txt", b"same", mtime=T0)
    remote_dir.write("changed.txt", b"old", mtime=T0)
    remote_dir.write(STALE_PARTIAL, b"half", mtime=T0)
    before = snapshot(remote_dir.path)
    # A stream folder records first-seen times in the remote state: not in a dry run.
    rows = run_upload(dss, source, preset(), remote_dir.name, local=False)
    assert {p: r["status"] for p, r in rows.items()} == {
        "/same.txt": "unchanged", "/changed.txt": "would update", "/new.txt": "would upload"}
    assert snapshot(remote_dir.path) == before
    assert dss.folder_writes("src") == []


def test_dry_run_then_real_run_does_what_was_announced(dss, tmp_path, preset, remote_dir):
    remote_dir.write("x.bin", b"x" * 10, mtime=T0)
    rows, folder = run_download(dss, tmp_path, preset(), remote_dir.name)
    assert rows["/x.bin"]["action"] == "would download"
    dss.set_recipe({"sftp_service": preset(), "remote_path": remote_dir.name},
                   outputs={"output_folder": ["landing"], "report": ["report"]})
    dss.run_recipe(DOWNLOAD)
    assert dss.dataset_rows("report")[0]["action"] == "downloaded"
    assert os.listdir(folder) == ["x.bin"]


@pytest.mark.parametrize("overrides,error", [
    ({"host_key": "SHA256:" + "A" * 43}, "HostKeyMismatchError"),
    ({"password": "wrong-password-9"}, "AuthenticationError"),
    ({"proxy_type": "socks5", "proxy_hostname": "127.0.0.1", "proxy_port": 1},
     "ProxyUnreachableError"),
], ids=["wrong-host-key", "wrong-password", "unreachable-proxy"])
def test_dry_run_fails_like_a_real_run_and_writes_nothing(dss, tmp_path, preset,
                                                         remote_dir, overrides, error):
    remote_dir.write("a.txt", b"a", mtime=T0)
    with pytest.raises(Exception) as failure:
        run_download(dss, tmp_path, preset(**overrides), remote_dir.name)
    assert failure.type.__name__ == error
    assert "wrong-password-9" not in str(failure.value)
    assert os.listdir(str(tmp_path / "landing")) == []
    assert dss.dataset_rows("report") is None
