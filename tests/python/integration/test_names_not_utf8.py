"""Names that are not UTF-8 (issue 9, item 2), against the real sshd (files created
on disk under bytes names) and the in-process fake server.

Downloads copy b'caf\\xe9.txt' as 'caf%E9.txt' (entries.safe_name); a folder file
of that name updates the server's b'caf\\xe9.txt' when the listing knows it, and is
created under its text otherwise; a local folder's own non-UTF-8 names are
uploaded under their safe name. Nothing crashes, and every other file is copied.
"""
import logging
import os
import pwd

import pytest

from conftest import tree_of
from helpers.fake_sftp import FakeSftpServer
from helpers.recipes import download, upload
from sftp_client.entries import STATE_FILE
from sftp_client.errors import SyncFailedError

T0 = 1600000000


def write_bytes_name(directory, rel, data, mtime=T0, owner=None):
    """Create ``directory/rel`` where ``rel`` is bytes (parents too), owned by
    ``owner`` (a pwd entry) when given."""
    full = os.path.join(os.fsencode(str(directory)), rel)
    parent = os.path.dirname(full)
    if not os.path.isdir(parent):
        os.makedirs(parent)
        if owner is not None:
            os.chown(parent, owner.pw_uid, owner.pw_gid)
    with open(full, "wb") as handle:
        handle.write(data)
    os.utime(full, (mtime, mtime))
    if owner is not None:
        os.chown(full, owner.pw_uid, owner.pw_gid)
    return full


def bytes_tree(directory):
    """{relative bytes path: content} of every file under ``directory``."""
    found = {}
    base = os.fsencode(str(directory))
    for top, _, files in os.walk(base):
        for name in files:
            full = os.path.join(top, name)
            with open(full, "rb") as handle:
                found[os.path.relpath(full, base)] = handle.read()
    return found




def status(rows, column="action"):
    return dict((path, row[column]) for path, row in rows.items())


@pytest.mark.parametrize("local", [True, False], ids=["local-folder", "stream-folder"])
def test_latin1_names_are_downloaded_under_their_safe_names(dss, tmp_path, preset,
                                                            remote_dir, local, caplog):
    owner = pwd.getpwnam(remote_dir.owner.pw_name)
    write_bytes_name(remote_dir.path, b"caf\xe9.txt", b"latin-1 name", owner=owner)
    write_bytes_name(remote_dir.path, b"d\xe9j\xe0/inner.txt", b"in a latin-1 dir",
                     owner=owner)
    remote_dir.write("ok.txt", b"ok", mtime=T0)
    os.symlink(b"caf\xe9.txt", os.path.join(os.fsencode(remote_dir.path), b"l\xefnk"))
    folder = tmp_path / "folder"
    caplog.set_level(logging.INFO)
    rows = download(dss, preset(), remote_dir.name, folder, local=local,
                    symlinks="follow", workers=2)
    files = dict((k, v) for k, v in tree_of(str(folder)).items() if k != STATE_FILE)
    assert files == {"caf%E9.txt": b"latin-1 name", "d%E9j%E0/inner.txt": b"in a latin-1 dir",
                     "ok.txt": b"ok", "l%EFnk": b"latin-1 name"}
    assert set(status(rows).values()) == {"downloaded"}
    assert rows["/caf%E9.txt"]["size"] == len(b"latin-1 name")
    if local:
        assert os.stat(str(folder / "caf%E9.txt")).st_mtime == T0
    # The next run finds every file unchanged, under the same safe names.
    rows = download(dss, preset(), remote_dir.name, folder, local=local,
                    symlinks="follow")
    assert set(status(rows).values()) == {"unchanged"}
    assert not [r for r in caplog.records if "Traceback" in r.getMessage()]


def test_upload_updates_a_latin1_file_under_the_name_it_has(dss, tmp_path, preset,
                                                            remote_dir):
    owner = pwd.getpwnam(remote_dir.owner.pw_name)
    write_bytes_name(remote_dir.path, b"caf\xe9.txt", b"old", owner=owner)
    write_bytes_name(remote_dir.path, b"d\xe9j\xe0/inner.txt", b"old inner", owner=owner)
    source = tmp_path / "source"
    (source / "d%E9j%E0").mkdir(parents=True)
    (source / "caf%E9.txt").write_bytes(b"new content")
    (source / "d%E9j%E0" / "inner.txt").write_bytes(b"new inner content")
    (source / "new.txt").write_bytes(b"plain")
    for rel in ("caf%E9.txt", "d%E9j%E0/inner.txt", "new.txt"):
        os.utime(str(source / rel), (T0 + 60, T0 + 60))
    rows = upload(dss, preset(), source, remote_dir.name, workers=2)
    assert status(rows, "status") == {"/caf%E9.txt": "updated",
                                      "/d%E9j%E0/inner.txt": "updated",
                                      "/new.txt": "uploaded"}
    remote = dict((k, v) for k, v in bytes_tree(remote_dir.path).items()
                  if k != STATE_FILE.encode())
    assert remote == {b"caf\xe9.txt": b"new content",
                      b"d\xe9j\xe0/inner.txt": b"new inner content", b"new.txt": b"plain"}
    assert os.stat(os.path.join(os.fsencode(remote_dir.path), b"caf\xe9.txt")).st_mtime \
        == T0 + 60
    rows = upload(dss, preset(), source, remote_dir.name)
    assert set(status(rows, "status").values()) == {"unchanged"}


def test_local_names_that_are_not_utf8_are_uploaded_under_their_safe_name(
        dss, tmp_path, preset, remote_dir):
    source = tmp_path / "source"
    source.mkdir()
    write_bytes_name(source, b"r\xe9sum\xe9.txt", b"resume")
    write_bytes_name(source, b"sub\xff/x.txt", b"x")
    rows = upload(dss, preset(), source, remote_dir.name)
    assert status(rows, "status") == {"/r%E9sum%E9.txt": "uploaded",
                                      "/sub%FF/x.txt": "uploaded"}
    assert remote_dir.read("r%E9sum%E9.txt") == b"resume"
    assert remote_dir.read("sub%FF/x.txt") == b"x"
    rows = upload(dss, preset(), source, remote_dir.name)
    assert set(status(rows, "status").values()) == {"unchanged"}
    # And back: the local non-UTF-8 file is the target of its safe name.
    rows = download(dss, preset(), remote_dir.name, source)
    assert set(status(rows).values()) == {"unchanged"}


def test_a_name_whose_safe_name_is_taken_fails_alone(dss, tmp_path, preset, remote_dir):
    owner = pwd.getpwnam(remote_dir.owner.pw_name)
    write_bytes_name(remote_dir.path, b"caf\xe9.txt", b"latin-1", owner=owner)
    remote_dir.write("caf%E9.txt", b"ascii", mtime=T0)
    folder = tmp_path / "folder"
    with pytest.raises(SyncFailedError) as info:
        download(dss, preset(), remote_dir.name, folder, on_error="continue")
    assert tree_of(str(folder)) == {"caf%E9.txt": b"ascii"}
    assert "same safe name" in str(info.value)


def test_the_fake_server_serves_non_utf8_names(dss, tmp_path):
    served = tmp_path / "served"
    write_bytes_name(served, b"data/caf\xe9.txt", b"from the fake")
    write_bytes_name(served, b"data/\xff\xfe/deep.bin", os.urandom(300 * 1024))
    folder = tmp_path / "folder"
    with FakeSftpServer(str(served)) as server:
        service = {"hostname": server.host, "port": server.port,
                   "username": server.username, "password": server.password,
                   "host_key": server.host_key_fingerprint, "root_path": "/",
                   "timeout": 5}
        rows = download(dss, service, "data", folder)
        assert set(status(rows).values()) == {"downloaded"}
        assert tree_of(str(folder)) == {
            "caf%E9.txt": b"from the fake",
            "%FF%FE/deep.bin": bytes_tree(served)[b"data/\xff\xfe/deep.bin"]}
        # Changed locally, uploaded back: the server's own names are updated.
        (folder / "caf%E9.txt").write_bytes(b"changed")
        os.utime(str(folder / "caf%E9.txt"), (T0 + 9, T0 + 9))
        rows = upload(dss, service, folder, "data")
        assert status(rows, "status")["/caf%E9.txt"] == "updated"
    assert set(bytes_tree(served)) == {b"data/\xff\xfe/deep.bin", b"data/caf\xe9.txt"}
    assert bytes_tree(served)[b"data/caf\xe9.txt"] == b"changed"


def test_listdir_contract_on_a_plain_paramiko_client(preset, remote_dir):
    """remote_walk.listdir, the one listing seam (also for the FS provider): text
    names, their bytes beside them, no '.' / '..'; an escaped directory name is
    listed from its text."""
    from sftp_client.remote.walk import listdir
    from sftp_client.connect.session import SftpSession
    from sftp_client.connect.settings import service_from_config
    owner = pwd.getpwnam(remote_dir.owner.pw_name)
    write_bytes_name(remote_dir.path, b"caf\xe9.txt", b"x", owner=owner)
    write_bytes_name(remote_dir.path, b"d\xe9j/inner.txt", b"y", owner=owner)
    with SftpSession(service_from_config(preset())) as session:
        sftp = session.open_sftp()
        listed = dict((a.filename, a) for a in listdir(sftp, remote_dir.path))
        assert sorted(listed) == ["caf%E9.txt", "d%E9j"]
        assert listed["caf%E9.txt"].raw_filename == b"caf\xe9.txt"
        assert listed["caf%E9.txt"].st_size == 1
        inner = listdir(sftp, remote_dir.path + "/d%E9j")
        assert [(a.filename, a.raw_filename) for a in inner] == [("inner.txt", b"inner.txt")]
