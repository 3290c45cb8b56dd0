"""The real sftp-python-connector_download-from-sftp recipe.py, run through the stand-in dataiku package
against the real sshd, into local and non-local managed folders."""
import json
import os

import pytest

from conftest import PROJECT_DIR, PROXY_CASES, SFTP_SERVERS, proxy_fields, tree_of
from sftp_client.entries import STATE_FILE
from sftp_client.errors import (ConfigError, RemoteNotADirectoryError, RemoteNotFoundError,
                                SyncFailedError, UnsafePathError)

RECIPE = os.path.join(PROJECT_DIR, "custom-recipes", "sftp-python-connector_download-from-sftp", "recipe.py")
T0 = 1600000000


class Run(object):
    """Configure and run the recipe; remembers the folder and the report."""

    def __init__(self, dss, tmp_path, local=True, report=True):
        self.dss = dss
        self.dir = str(tmp_path / "folder")
        self.local = local
        dss.register_folder("out", self.dir, local=local)
        self.report = report
        if report:
            dss.register_dataset("report")

    def __call__(self, service, remote_path, **options):
        config = dict(sftp_service=service, remote_path=remote_path, **options)
        outputs = {"output_folder": ["out"]}
        if self.report:
            outputs["report"] = ["report"]
        self.dss.set_recipe(config, outputs=outputs)
        self.dss.run_recipe(RECIPE)
        return self.rows()

    def rows(self):
        if not self.report:
            return {}
        rows = self.dss.dataset_rows("report") or []
        return dict((r["path"], r) for r in rows)

    def files(self):
        return dict((k, v) for k, v in tree_of(self.dir).items() if k != STATE_FILE)

    def writes(self):
        return self.dss.folder_write_count("out")


def actions(rows):
    return dict((path, row["action"]) for path, row in rows.items())


def make_tree(remote_dir):
    remote_dir.write("top.csv", b"a,b\n1,2\n", mtime=T0)
    remote_dir.write("empty.txt", b"", mtime=T0 + 1)
    remote_dir.write("sub dir/na\u00efve \u00e9t\u00e9.txt".encode("utf-8").decode("utf-8"),
                     "donn\u00e9es\n".encode("utf-8"), mtime=T0 + 2)
    remote_dir.write("sub dir/deeper/big.bin", os.urandom(3 * 1024 * 1024 + 17),
                     mtime=T0 + 3)
    remote_dir.mkdir("empty dir")


@pytest.mark.parametrize("sftp_server", SFTP_SERVERS, indirect=True)
@pytest.mark.parametrize("local", [True, False], ids=["local-folder", "stream-folder"])
def test_first_run_copies_the_whole_tree(dss, tmp_path, preset, remote_dir, local):
    make_tree(remote_dir)
    run = Run(dss, tmp_path, local=local)
    rows = run(preset(), remote_dir.name)
    assert run.files() == tree_of(remote_dir.path)
    assert set(actions(rows).values()) == {"downloaded"}
    assert len(rows) == 4
    big = rows["/sub dir/deeper/big.bin"]
    assert big["size"] == 3 * 1024 * 1024 + 17
    assert big["modified"] == "2020-09-13T12:26:43Z"
    assert big["remote_path"] == remote_dir.path + "/sub dir/deeper/big.bin"
    assert big["reason"] == "new" and big["error"] == "" and big["transferred_at"]
    if local:
        assert os.path.isdir(os.path.join(run.dir, "empty dir"))
        assert int(os.stat(os.path.join(run.dir, "top.csv")).st_mtime) == T0
    else:
        with open(os.path.join(run.dir, STATE_FILE)) as handle:
            state = json.load(handle)
        assert state["files"]["top.csv"] == {"size": 8, "mtime": T0}
    assert not [n for n in tree_of(run.dir) if n.endswith(".sftp-partial")]


@pytest.mark.parametrize("sftp_server", SFTP_SERVERS, indirect=True)
@pytest.mark.parametrize("local", [True, False], ids=["local-folder", "stream-folder"])
def test_incremental_runs(dss, tmp_path, preset, remote_dir, local):
    make_tree(remote_dir)
    run = Run(dss, tmp_path, local=local)
    run(preset(), remote_dir.name)
    writes = run.writes()
    stats = dict((p, os.stat(os.path.join(run.dir, p))) for p in run.files())

    # Nothing changed: nothing rewritten, every row unchanged.
    rows = run(preset(), remote_dir.name)
    assert set(actions(rows).values()) == {"unchanged"}
    assert run.writes() == writes
    for path, before in stats.items():
        after = os.stat(os.path.join(run.dir, path))
        assert (after.st_ino, after.st_mtime) == (before.st_ino, before.st_mtime)

    # Same size, new content and time; a new file; a new sub-directory;
    # a local-only file that must be kept.
    remote_dir.write("top.csv", b"x,y\n3,4\n", mtime=T0 + 100)
    remote_dir.write("new.txt", b"new", mtime=T0 + 5)
    remote_dir.write("fresh/inner.txt", b"inner", mtime=T0 + 6)
    with open(os.path.join(run.dir, "local-only.txt"), "wb") as handle:
        handle.write(b"mine")
    rows = run(preset(), remote_dir.name)
    assert actions(rows) == {
        "/top.csv": "updated", "/new.txt": "downloaded", "/fresh/inner.txt": "downloaded",
        "/empty.txt": "unchanged", "/sub dir/na\u00efve \u00e9t\u00e9.txt": "unchanged",
        "/sub dir/deeper/big.bin": "unchanged"}
    assert "modification time differs" in rows["/top.csv"]["reason"]
    files = run.files()
    assert files["top.csv"] == b"x,y\n3,4\n" and files["local-only.txt"] == b"mine"
    assert files["fresh/inner.txt"] == b"inner"


def test_report_is_optional(dss, tmp_path, preset, remote_dir):
    remote_dir.write("a.txt", b"a", mtime=T0)
    run = Run(dss, tmp_path, report=False)
    run(preset(), remote_dir.name)
    assert run.files() == {"a.txt": b"a"}


@pytest.mark.parametrize("kind, proxy_fixture", PROXY_CASES)
def test_download_through_each_proxy(request, dss, tmp_path, preset, remote_dir, sshd,
                                     kind, proxy_fixture):
    proxy = request.getfixturevalue(proxy_fixture)
    before = len(proxy.connections_to(sshd.port))
    make_tree(remote_dir)
    run = Run(dss, tmp_path, local=(kind != "http"))
    run(preset(**proxy_fields(kind, proxy)), remote_dir.name, workers=2)
    assert run.files() == tree_of(remote_dir.path)
    proxy.wait_for_connection_to(sshd.port)
    # The listing session and each transfer connection went through the proxy.
    assert len(proxy.connections_to(sshd.port)) >= before + 2


def test_include_exclude_and_minimum_age(dss, tmp_path, preset, remote_dir):
    import time
    remote_dir.write("keep.csv", b"1", mtime=T0)
    remote_dir.write("skip.txt", b"2", mtime=T0)
    remote_dir.write("tmp/drop.csv", b"3", mtime=T0)
    remote_dir.write("young.csv", b"4", mtime=int(time.time()))
    run = Run(dss, tmp_path)
    rows = run(preset(), remote_dir.name, include_patterns=["*.csv"],
               exclude_patterns=["tmp/**"], min_age_seconds=3600)
    assert run.files() == {"keep.csv": b"1"}
    assert actions(rows) == {"/keep.csv": "downloaded", "/young.csv": "skipped"}
    assert "younger than the minimum age" in rows["/young.csv"]["error"]


def test_symbolic_links_skip_and_follow(dss, tmp_path, preset, remote_dir):
    remote_dir.write("real/data.txt", b"data", mtime=T0)
    os.symlink("real/data.txt", os.path.join(remote_dir.path, "link.txt"))
    os.symlink("real", os.path.join(remote_dir.path, "linkdir"))
    os.symlink(".", os.path.join(remote_dir.path, "real", "loop"))
    os.symlink("/etc/hostname", os.path.join(remote_dir.path, "outside"))
    run = Run(dss, tmp_path)
    rows = run(preset(), remote_dir.name)
    assert run.files() == {"real/data.txt": b"data"}
    assert rows["/link.txt"]["action"] == "skipped"

    assert "'Symbolic links' is 'Skip'" in rows["/link.txt"]["error"]

    # Following: a link that cannot be followed (outside the root) is a failure.
    run2 = Run(dss, tmp_path / "second")
    with pytest.raises(SyncFailedError) as info:
        run2(preset(), remote_dir.name, symlinks="follow", on_error="continue")
    rows = run2.rows()
    assert run2.files() == {"real/data.txt": b"data", "link.txt": b"data",
                            "linkdir/data.txt": b"data"}
    assert "outside the service's root path" in rows["/outside"]["error"]
    assert rows["/outside"]["action"] == "failed"
    assert str(info.value).startswith("Download: 1 file failed: /outside: symbolic link")
    assert "loop" in rows["/real/loop"]["error"] or "loop" in rows.get(
        "/linkdir/loop", {}).get("error", "loop")


@pytest.mark.parametrize("on_error", ["continue", "stop"])
def test_unreadable_subdirectory_fails_the_run(dss, tmp_path, preset, remote_dir,
                                              on_error):
    """No silent success: the subtree was not copied, so the run fails whatever
    'On error' says; 'On error' only decides whether the rest is copied."""
    remote_dir.write("ok.txt", b"ok", mtime=T0)
    locked = remote_dir.mkdir("locked")
    remote_dir.write("locked/secret.txt", b"s", mtime=T0)
    os.chmod(locked, 0o000)
    run = Run(dss, tmp_path)
    with pytest.raises(SyncFailedError) as info:
        run(preset(), remote_dir.name, on_error=on_error)
    rows = run.rows()
    assert rows["/locked"]["action"] == "failed"
    assert "cannot list this directory" in rows["/locked"]["error"]
    assert "/locked: cannot list this directory" in str(info.value)
    if on_error == "continue":
        assert run.files() == {"ok.txt": b"ok"}
        assert rows["/ok.txt"]["action"] == "downloaded"
    else:
        assert run.files() == {}
        assert rows["/ok.txt"]["action"] == "skipped"
        assert "not attempted" in rows["/ok.txt"]["error"]


def test_missing_remote_path_fails_with_a_clear_error(dss, tmp_path, preset, remote_dir):
    run = Run(dss, tmp_path)
    with pytest.raises(RemoteNotFoundError) as info:
        run(preset(), remote_dir.name + "/nope")
    assert "does not exist" in str(info.value) and "Remote path" in str(info.value)


def test_remote_path_to_a_file_fails(dss, tmp_path, preset, remote_dir):
    remote_dir.write("file.txt", b"x")
    run = Run(dss, tmp_path)
    with pytest.raises(RemoteNotADirectoryError):
        run(preset(), remote_dir.name + "/file.txt")


def test_remote_path_escaping_the_root_is_refused(dss, tmp_path, preset):
    run = Run(dss, tmp_path)
    with pytest.raises(UnsafePathError):
        run(preset(), "../..")
    assert run.files() == {}


def test_missing_service_is_a_config_error(dss, tmp_path):
    run = Run(dss, tmp_path)
    with pytest.raises(ConfigError) as info:
        run(None, "")
    assert "no SFTP service selected" in str(info.value)


def test_failed_file_is_reported_then_fails_the_recipe(dss, tmp_path, preset, remote_dir):
    remote_dir.write("good.txt", b"good", mtime=T0)
    bad = remote_dir.write("unreadable.txt", b"bad", mtime=T0)
    os.chmod(bad, 0o000)
    run = Run(dss, tmp_path)
    with pytest.raises(SyncFailedError) as info:
        run(preset(), remote_dir.name, on_error="continue", workers=1)
    message = str(info.value)
    assert message.startswith("Download: 1 file failed: /unreadable.txt: Permission denied")
    assert "1 downloaded" in message
    rows = run.rows()
    assert rows["/unreadable.txt"]["action"] == "failed"
    assert "Permission denied" in rows["/unreadable.txt"]["error"]
    assert rows["/good.txt"]["action"] == "downloaded"
    assert run.files() == {"good.txt": b"good"}
