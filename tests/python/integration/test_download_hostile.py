"""Download against a server we control: hostile names, cut connections."""
import os

import pytest

from conftest import PROJECT_DIR, tree_of
from helpers import leftovers
from helpers.fake_sftp import FakeSftpServer
from sftp_client.entries import STATE_FILE
from sftp_client.errors import SyncFailedError

RECIPE = os.path.join(PROJECT_DIR, "custom-recipes", "sftp-python-connector_download-from-sftp", "recipe.py")
T0 = 1600000000
HOSTILE = ["../escape.txt", "a/b.txt", "..", ".", "back\\slash.txt", "nul\x00byte.txt",
           "/etc/passwd", "../../../../tmp/evil-from-sftp.txt"]



def run_recipe(dss, server, folder_dir, local=True, **options):
    dss.register_folder("out", folder_dir, local=local)
    dss.register_dataset("report")
    dss.set_recipe(dict(sftp_service=server.service(), remote_path="data", **options),
                   outputs={"output_folder": ["out"], "report": ["report"]})
    try:
        dss.run_recipe(RECIPE)
    finally:
        rows = dss.dataset_rows("report") or []
    return dict((r["path"], r) for r in rows)


def make_served(tmp_path, size=2 * 1024 * 1024):
    served = tmp_path / "served"
    (served / "data" / "sub").mkdir(parents=True)
    (served / "data" / "ok.txt").write_bytes(b"fine")
    (served / "data" / "sub" / "big.bin").write_bytes(os.urandom(size))
    for path in ("data/ok.txt", "data/sub/big.bin"):
        os.utime(str(served / path), (T0, T0))
    return served


@pytest.mark.parametrize("local", [True, False], ids=["local-folder", "stream-folder"])
def test_hostile_names_never_write_outside_the_folder(dss, tmp_path, local):
    served = make_served(tmp_path)
    sandbox = tmp_path / "sandbox"
    folder = sandbox / "folder"
    folder.mkdir(parents=True)
    with FakeSftpServer(str(served), hostile_names={"/data": HOSTILE,
                                                    "/data/sub": HOSTILE}) as server:
        # Refused names were not copied: the run fails, after copying the rest.
        with pytest.raises(SyncFailedError) as info:
            run_recipe(dss, server, str(folder), local=local, on_error="continue")
        rows = dict((r["path"], r) for r in dss.dataset_rows("report"))
    assert "unsafe file name" in str(info.value) and "\n" not in str(info.value)
    # Only the two real files landed, inside the folder; nothing beside it.
    files = dict((k, v) for k, v in tree_of(str(folder)).items() if k != STATE_FILE)
    assert sorted(files) == ["ok.txt", "sub/big.bin"]
    assert sorted(os.listdir(str(sandbox))) == ["folder"]
    assert not os.path.exists("/tmp/evil-from-sftp.txt")
    assert b"EVIL!" not in b"".join(files.values())
    refused = [r for r in rows.values() if r["action"] == "failed"]
    assert len(refused) >= len(HOSTILE) * 2 - 4   # '.' and '..' are left out of listings
    assert all("unsafe file name" in r["error"] for r in refused)
    assert rows["/ok.txt"]["action"] == "downloaded"


def test_cut_connection_is_retried_on_a_new_connection(dss, tmp_path):
    served = make_served(tmp_path)
    folder = tmp_path / "folder"
    with FakeSftpServer(str(served), drop_after_bytes=1024 * 1024) as server:
        rows = run_recipe(dss, server, str(folder), workers=1)
        assert server.drops == 1
    assert rows["/sub/big.bin"]["action"] == "downloaded"
    assert tree_of(str(folder)) == tree_of(str(served / "data"))


@pytest.mark.parametrize("local", [True, False], ids=["local-folder", "stream-folder"])
def test_interrupted_run_keeps_the_old_copy_and_the_next_run_completes(dss, tmp_path,
                                                                       local):
    served = make_served(tmp_path)
    folder = tmp_path / "folder"
    with FakeSftpServer(str(served)) as server:
        run_recipe(dss, server, str(folder), local=local)
    old = tree_of(str(folder))["sub/big.bin"]
    # The remote file changes; every attempt to fetch it is cut after 256 KiB
    # (resuming, three attempts get 768 KiB of the 2 MiB).
    new = os.urandom(2 * 1024 * 1024)
    (served / "data" / "sub" / "big.bin").write_bytes(new)
    with FakeSftpServer(str(served), drop_after_bytes=256 * 1024,
                        drop_once=False) as server:
        with pytest.raises(SyncFailedError):
            run_recipe(dss, server, str(folder), local=local, workers=1)
        assert server.drops == 3   # first attempt and two retries
    files = tree_of(str(folder))
    assert files["sub/big.bin"] == old                 # previous good copy intact
    assert not [n for n in files if n.endswith(".sftp-partial")]
    with FakeSftpServer(str(served)) as server:
        rows = run_recipe(dss, server, str(folder), local=local)
    assert rows["/sub/big.bin"]["action"] == "updated"
    assert rows["/ok.txt"]["action"] == "unchanged"
    assert tree_of(str(folder))["sub/big.bin"] == new


@pytest.mark.parametrize("local", [True, False], ids=["local-folder", "stream-folder"])
def test_a_cut_transfer_resumes_where_it_stopped(dss, tmp_path, monkeypatch, local):
    from sftp_client.remote import flight, reader
    monkeypatch.setattr(reader, "DEPTH", 1)    # little in flight: cuts lose little
    # and it stays little: on a loaded machine one slow round trip of the in-process
    # server would otherwise let the adaptive depth grow (flight.depth_for)
    monkeypatch.setattr(flight, "GROW_RTT", float("inf"))
    served = make_served(tmp_path, size=6 * 1024 * 1024)
    folder = tmp_path / "folder"
    # Every connection is cut after 2.5 MiB: only resuming gets the 6 MiB file
    # within the three attempts.
    with FakeSftpServer(str(served), drop_after_bytes=5 * 512 * 1024,
                        drop_once=False) as server:
        rows = run_recipe(dss, server, str(folder), local=local, workers=1)
        assert server.drops == 2
        served_bytes = server.bytes["read"]
    assert rows["/sub/big.bin"]["action"] == "downloaded"
    files = dict((k, v) for k, v in tree_of(str(folder)).items() if k != STATE_FILE)
    assert files == tree_of(str(served / "data"))
    # What was fetched twice is only what was in flight when the connection broke.
    assert served_bytes <= 6 * 1024 * 1024 + 2 * reader.REQUEST_SIZE + 5


def test_only_abandoned_partial_files_are_removed(dss, tmp_path):
    served = make_served(tmp_path)
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    dead = folder / "sub" / leftovers.partial_name("gone.bin", pid=leftovers.dead_pid())
    legacy_old = folder / "sub" / ".big.bin.0123456789ab.sftp-partial"
    legacy_new = folder / "sub" / ".big.bin.ba9876543210.sftp-partial"
    live = folder / "sub" / leftovers.partial_name("big.bin")     # this process
    user_file = folder / "sub" / "notes.sftp-partial.txt"
    for path in (dead, legacy_old, legacy_new, live):
        path.write_bytes(b"half")
    os.utime(str(legacy_old), (leftovers.LONG_AGO, leftovers.LONG_AGO))
    user_file.write_bytes(b"keep me")
    with FakeSftpServer(str(served)) as server:
        run_recipe(dss, server, str(folder))
    # A dead writer's and a long-silent one's are removed; a live writer's, and
    # one an older version may still be writing, are left alone.
    assert not dead.exists() and not legacy_old.exists()
    assert live.read_bytes() == b"half" and legacy_new.read_bytes() == b"half"
    assert user_file.read_bytes() == b"keep me"
