"""batch.py: several small files in flight on one channel, against the real sshd
(and the fake server for what OpenSSH cannot refuse). A file the batch cannot
finish cleanly comes back untouched for the one-file path."""
import os

import pytest

from conftest import tree_of
from helpers.fake_sftp import FakeSftpServer
from sftp_client.sync import batch
from sftp_client.entries import Entry
from sftp_client.sync.folder import LocalFolderTree
from sftp_client.sync.planner import PlanItem
from sftp_client.remote.tree import RemoteTree
from sftp_client.connect.session import SftpSession
from sftp_client.connect.settings import service_from_config

T0 = 1600000000


class Worker(object):
    def __init__(self, source, target):
        self.source, self.target = source, target


def item(path, size, mtime=T0):
    return PlanItem(path, "new", "new", Entry(path, size, mtime), None)


def run_batch(worker, items):
    """{path: done} as transfer.execute's loop would see it (windows in turn)."""
    queue = list(items)

    def take(accept):
        return queue.pop(0) if queue and accept(queue[0]) else None

    results = {}
    while queue:
        for one, done in batch.copy_many(worker, queue.pop(0), take):
            results[one.path] = done
    return results


@pytest.fixture
def remote_tree(preset, remote_dir):
    session = SftpSession(service_from_config(preset())).connect()
    yield RemoteTree(session.open_sftp(), remote_dir.path, remote_dir.path)
    session.close()


def test_download_batches_small_files_and_hands_back_the_others(remote_tree, remote_dir,
                                                                tmp_path):
    contents = dict(("d%d/f%02d.bin" % (n % 3, n), os.urandom(n * 97)) for n in range(40))
    for path, data in contents.items():
        remote_dir.write(path, data, mtime=T0 + 1)
    remote_dir.write("big.bin", os.urandom(batch.MAX_SIZE + 1))
    remote_dir.write("grew.txt", b"longer than listed")
    items = [item(p, len(d), T0 + 1) for p, d in sorted(contents.items())]
    items += [item("grew.txt", 4), item("big.bin", batch.MAX_SIZE + 1)]
    target = LocalFolderTree(str(tmp_path))
    done = run_batch(Worker(remote_tree, target), items)
    assert done == dict([(p, True) for p in contents] + [("grew.txt", False),
                                                          ("big.bin", False)])
    assert tree_of(str(tmp_path)) == contents    # nothing of grew.txt, no partial
    assert os.stat(str(tmp_path / "d1" / "f01.bin")).st_mtime == T0 + 1


def test_upload_batches_with_checked_size_time_and_rename(remote_tree, remote_dir,
                                                          tmp_path):
    contents = dict(("a/b%d/f%02d.txt" % (n % 2, n), os.urandom(n * 31)) for n in range(40))
    for path, data in contents.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    (tmp_path / "shrunk.txt").write_bytes(b"abc")
    items = [item(p, len(d), T0 + 2) for p, d in sorted(contents.items())]
    items.append(item("shrunk.txt", 10))
    done = run_batch(Worker(LocalFolderTree(str(tmp_path)), remote_tree), items)
    assert done == dict([(p, True) for p in contents] + [("shrunk.txt", False)])
    assert tree_of(remote_dir.path) == contents   # no partial file, no shrunk.txt
    assert os.stat(os.path.join(remote_dir.path, "a/b1/f01.txt")).st_mtime == T0 + 2


@pytest.mark.parametrize("knob", ["refuse_setstat", "no_posix_rename"])
def test_upload_refusals_leave_nothing_and_go_back_to_the_one_file_path(tmp_path, knob):
    served = tmp_path / "served"
    served.mkdir()
    local = tmp_path / "local"
    local.mkdir()
    (local / "one.txt").write_bytes(b"one")
    (local / "two.txt").write_bytes(b"two!")
    options = {"refuse_setstat": True} if knob == "refuse_setstat" else {}
    with FakeSftpServer(str(served), **options) as server:
        session = SftpSession(service_from_config({
            "hostname": server.host, "port": server.port, "username": server.username,
            "password": server.password, "host_key": server.host_key_fingerprint,
            "host_key_check": "fingerprint", "auth_method": "password",
            "root_path": "/"})).connect()
        try:
            tree = RemoteTree(session.open_sftp(), "/", "/")
            done = run_batch(Worker(LocalFolderTree(str(local)), tree),
                             [item("one.txt", 3), item("two.txt", 4)])
        finally:
            session.close()
    assert done == {"one.txt": False, "two.txt": False}
    assert os.listdir(str(served)) == []
