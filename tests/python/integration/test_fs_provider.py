"""The "SFTP (through proxies)" FS provider: the real fs-provider.py, built as DSS builds
it, against the real sshd, directly and through each proxy. Each DSS method and the shape
it returns, confinement, atomic writes, partial reads, one session reused and reopened."""
import io
import os
import socket

import pytest

from conftest import PROJECT_DIR, PROXY_CASES, proxy_fields
from helpers import servers
from sftp_client.entries import PARTIAL_SUFFIX
from sftp_client.errors import (AuthenticationError, ConfigError, RemoteNotFoundError,
                                SftpClientError, TransferError, UnsafePathError)

FS_PROVIDER = os.path.join(PROJECT_DIR, "python-fs-providers", "sftp", "fs-provider.py")
T0 = 1600000000


@pytest.fixture
def open_provider(preset, remote_dir):
    """Build the provider as DSS does, rooted at ``<remote_dir>/<root>``; closed after."""
    from dataiku import _harness
    built = []

    def build(root="folder", **overrides):
        provider = _harness.load_fs_provider(
            FS_PROVIDER, "/%s/%s" % (remote_dir.name, root) if root else "/" + remote_dir.name,
            {"sftp_service": preset(**overrides)}, {})
        built.append(provider)
        return provider
    yield build
    for provider in built:
        provider.close()


@pytest.fixture
def fs(open_provider):
    return open_provider()


def partials(directory):
    return [os.path.join(top, n) for top, _, names in os.walk(directory) for n in names
            if n.endswith(PARTIAL_SUFFIX)]


def read(fs, path, limit=-1):
    out = io.BytesIO()
    fs.read(path, out, limit)
    return out.getvalue()


# --- shapes of each method ---------------------------------------------------------------

def test_stat_gives_dss_shapes(fs, remote_dir):
    remote_dir.write("folder/data/a.csv", b"a,b\n", mtime=T0)
    assert fs.stat("/data/a.csv") == {"path": "/data/a.csv", "isDirectory": False,
                                      "size": 4, "lastModified": T0 * 1000}
    folder = fs.stat("/data")
    assert folder["isDirectory"] is True and folder["size"] == 0
    assert folder["lastModified"] > 0 and folder["path"] == "/data"
    assert fs.stat("/")["isDirectory"] is True and fs.stat("")["isDirectory"] is True
    assert fs.stat("/data/missing.csv") is None
    assert fs.stat("/nowhere/missing.csv") is None


def test_everything_is_none_or_missing_before_the_folder_exists(fs):
    assert fs.stat("/") is None
    assert fs.browse("/") == {"fullPath": "/", "exists": False}
    assert fs.enumerate("/", False) is None
    assert fs.delete_recursive("/") == 0
    assert fs.move("/a", "/b") is False


def test_browse_lists_one_level(fs, remote_dir):
    remote_dir.write("folder/top.txt", b"12345", mtime=T0)
    remote_dir.write("folder/sub/inner.txt", b"x", mtime=T0)
    remote_dir.mkdir("folder/empty")
    root = fs.browse("/")
    assert root["exists"] is True and root["directory"] is True and root["fullPath"] == "/"
    children = dict((c["fullPath"], c) for c in root["children"])
    assert sorted(children) == ["/empty", "/sub", "/top.txt"]
    assert children["/top.txt"] == {"fullPath": "/top.txt", "exists": True,
                                    "directory": False, "size": 5,
                                    "lastModified": T0 * 1000}
    assert children["/sub"]["directory"] is True and "children" not in children["/sub"]
    leaf = fs.browse("/sub/inner.txt")
    assert (leaf["exists"], leaf["directory"], leaf["size"]) == (True, False, 1)
    assert "children" not in leaf
    assert fs.browse("/sub/nope") == {"fullPath": "/sub/nope", "exists": False}


def test_enumerate_lists_every_file_below_the_prefix(fs, remote_dir):
    remote_dir.write("folder/a/empty.csv", b"", mtime=T0)
    remote_dir.write("folder/a/b/one.csv", b"1", mtime=T0 + 1)
    remote_dir.write("folder/a/b/c/two.csv", b"22", mtime=T0 + 2)
    remote_dir.write("folder/z.csv", b"333", mtime=T0 + 3)
    remote_dir.mkdir("folder/a/nothing")
    everything = fs.enumerate("/", False)
    assert sorted(everything, key=lambda f: f["path"]) == [
        {"path": "/a/b/c/two.csv", "size": 2, "lastModified": (T0 + 2) * 1000},
        {"path": "/a/b/one.csv", "size": 1, "lastModified": (T0 + 1) * 1000},
        {"path": "/a/empty.csv", "size": 0, "lastModified": T0 * 1000},
        {"path": "/z.csv", "size": 3, "lastModified": (T0 + 3) * 1000}]
    assert sorted(f["path"] for f in fs.enumerate("/a/b", False)) == [
        "/a/b/c/two.csv", "/a/b/one.csv"]
    assert fs.enumerate("/z.csv", False) == [
        {"path": "/z.csv", "size": 3, "lastModified": (T0 + 3) * 1000}]
    assert fs.enumerate("/a/nothing", False) == []
    assert fs.enumerate("/missing", False) is None
    # Stops at the first non-empty file (breadth first: the empty one comes first).
    first = fs.enumerate("/a", True)
    assert [f["path"] for f in first] == ["/a/empty.csv", "/a/b/one.csv"]


def test_read_streams_the_whole_file_or_stops_at_the_limit(fs, remote_dir):
    data = os.urandom(3 * 1024 * 1024 + 11)
    remote_dir.write("folder/big.bin", data)
    remote_dir.write("folder/small.txt", b"hello")
    assert read(fs, "/big.bin") == data
    assert read(fs, "/big.bin", limit=100) == data[:100]
    assert read(fs, "/big.bin", limit=65536) == data[:65536]
    assert read(fs, "/small.txt", limit=1000) == b"hello"
    assert read(fs, "/small.txt", limit=0) == b""
    with pytest.raises(RemoteNotFoundError) as info:
        read(fs, "/missing.bin")
    assert "/missing.bin" in str(info.value) and "SFTP folder" in str(info.value)
    with pytest.raises(SftpClientError) as info:
        read(fs, "/")
    assert "file path" in str(info.value)


class CountingSink(object):
    """DSS's output stream: counts what it is given."""

    def __init__(self):
        self.count = 0

    def write(self, data):
        self.count += len(data)


def test_limited_read_of_a_big_file_stops_early(fs, remote_dir):
    full = remote_dir.write("folder/huge.bin", b"")
    with open(full, "r+b") as handle:      # sparse: 256 MiB without using the disk
        handle.truncate(256 * 1024 * 1024)
    sink = CountingSink()
    fs.read("/huge.bin", sink, 64 * 1024)
    assert sink.count == 64 * 1024
    # The session is still usable: the pipelined requests past the limit were dropped.
    assert read(fs, "/huge.bin", limit=10) == b"\0" * 10


def test_write_creates_parents_and_replaces_atomically(fs, remote_dir):
    fs.write("/new/deeper/file.csv", io.BytesIO(b"x,y\n1,2\n"))
    assert remote_dir.read("folder/new/deeper/file.csv") == b"x,y\n1,2\n"
    data = os.urandom(5 * 1024 * 1024 + 3)
    fs.write("/new/deeper/file.csv", io.BytesIO(data))
    assert remote_dir.read("folder/new/deeper/file.csv") == data
    fs.write("/empty.csv", io.BytesIO(b""))
    assert remote_dir.read("folder/empty.csv") == b""
    assert not partials(remote_dir.path)
    with pytest.raises(UnsafePathError):
        fs.write("/", io.BytesIO(b"x"))


class FailingStream(object):
    """A DSS stream that breaks after a few chunks."""

    def __init__(self, chunks, error):
        self.chunks = list(chunks)
        self.error = error

    def read(self, size=-1):
        if not self.chunks:
            raise self.error
        return self.chunks.pop(0)


@pytest.mark.parametrize("error", [IOError("upstream closed"), RuntimeError("job killed")],
                         ids=["io-error", "other-error"])
def test_failing_write_keeps_the_previous_file_and_no_partial(fs, remote_dir, error):
    remote_dir.write("folder/keep/data.csv", b"previous content")
    with pytest.raises(Exception) as info:
        fs.write("/keep/data.csv", FailingStream([b"a" * 300000, b"b" * 300000], error))
    assert str(error) in str(info.value)
    if isinstance(error, IOError):
        assert isinstance(info.value, TransferError)
        assert "/keep/data.csv" in str(info.value)
    assert remote_dir.read("folder/keep/data.csv") == b"previous content"
    assert not partials(remote_dir.path)
    # And a new file is not created at all.
    with pytest.raises(Exception):
        fs.write("/keep/new.csv", FailingStream([b"c"], error))
    assert sorted(os.listdir(os.path.join(remote_dir.path, "folder", "keep"))) == ["data.csv"]


def test_a_write_removes_partial_files_that_dead_writers_left(fs, remote_dir):
    """A job killed mid-write leaves its partial file; the next write into that
    directory removes it, but never the one of a writer still alive."""
    from helpers.leftovers import dead_pid, partial_name
    dead = remote_dir.write("folder/out/" + partial_name("part-0.csv", pid=dead_pid()),
                            b"half")
    alive = remote_dir.write("folder/out/" + partial_name("part-1.csv"), b"writing")
    fs.write("/out/part-2.csv", io.BytesIO(b"a,b\n"))
    assert not os.path.exists(dead) and os.path.exists(alive)
    assert remote_dir.read("folder/out/part-2.csv") == b"a,b\n"


def test_move_renames_files_and_directories(fs, remote_dir):
    remote_dir.write("folder/a.csv", b"a")
    remote_dir.write("folder/dir/b.csv", b"b")
    remote_dir.write("folder/old.csv", b"old")
    assert fs.move("/a.csv", "/moved/here/a2.csv") is True
    assert remote_dir.read("folder/moved/here/a2.csv") == b"a"
    assert fs.stat("/a.csv") is None
    assert fs.move("/dir", "/renamed") is True
    assert remote_dir.read("folder/renamed/b.csv") == b"b"
    assert fs.move("/moved/here/a2.csv", "/old.csv") is True     # onto an existing file
    assert remote_dir.read("folder/old.csv") == b"a"
    assert fs.move("/missing.csv", "/x.csv") is False
    assert fs.move("/old.csv", "/old.csv") is True
    with pytest.raises(UnsafePathError):
        fs.move("/renamed", "/renamed/inside")
    # Writing into a directory that was just moved away recreates it.
    fs.write("/moved/here/again.csv", io.BytesIO(b"again"))
    assert remote_dir.read("folder/moved/here/again.csv") == b"again"


def test_delete_recursive_removes_files_and_trees(fs, remote_dir):
    remote_dir.write("folder/one.csv", b"1")
    remote_dir.write("folder/tree/a.csv", b"a")
    remote_dir.write("folder/tree/sub/b.csv", b"b")
    remote_dir.mkdir("folder/tree/empty")
    assert fs.delete_recursive("/one.csv") == 1
    assert fs.delete_recursive("/tree") == 2
    assert sorted(os.listdir(os.path.join(remote_dir.path, "folder"))) == []
    assert fs.delete_recursive("/tree") == 0
    remote_dir.write("folder/x/y.csv", b"y")
    remote_dir.write("folder/z.csv", b"z")
    assert fs.delete_recursive("/") == 2          # the folder's content, not its directory
    assert os.listdir(os.path.join(remote_dir.path, "folder")) == []
    fs.write("/x/again.csv", io.BytesIO(b"again"))  # directories known before are redone
    assert remote_dir.read("folder/x/again.csv") == b"again"
    import shutil
    shutil.rmtree(os.path.join(remote_dir.path, "folder", "x"))   # by someone else
    fs.write("/x/third.csv", io.BytesIO(b"third"))
    assert remote_dir.read("folder/x/third.csv") == b"third"


def test_set_last_modified(fs, remote_dir):
    remote_dir.write("folder/a.csv", b"a", mtime=T0)
    assert fs.set_last_modified("/a.csv", (T0 + 60) * 1000 + 999) is True
    assert fs.stat("/a.csv")["lastModified"] == (T0 + 60) * 1000
    assert int(os.stat(os.path.join(remote_dir.path, "folder/a.csv")).st_mtime) == T0 + 60
    assert fs.set_last_modified("/missing.csv", T0 * 1000) is False


def test_set_last_modified_refused_is_false(fs, remote_dir):
    remote_dir.write("folder/a.csv", b"a", mtime=T0)
    os.chown(os.path.join(remote_dir.path, "folder", "a.csv"), 0, 0)   # not the user's
    assert fs.set_last_modified("/a.csv", (T0 + 60) * 1000) is False


def test_unicode_and_space_names(fs, remote_dir):
    name = "/donn\u00e9es 2024/\u00e9t\u00e9 r\u00e9sum\u00e9 \u4e2d\u6587.csv"
    fs.write(name, io.BytesIO("caf\u00e9\n".encode("utf-8")))
    assert remote_dir.read(("folder" + name)) == "caf\u00e9\n".encode("utf-8")
    assert fs.enumerate("/", False)[0]["path"] == name
    assert fs.browse("/donn\u00e9es 2024")["children"][0]["fullPath"] == name
    assert read(fs, name) == "caf\u00e9\n".encode("utf-8")
    assert fs.move(name, "/with space.csv") is True
    assert fs.stat("/with space.csv")["size"] == 6
    assert fs.delete_recursive("/donn\u00e9es 2024") == 0


def test_names_that_are_not_utf8_are_reached_by_their_safe_name(fs, remote_dir):
    """Paths DSS got from a listing with escaped names (entries.safe_name) reach the
    file by its raw bytes; a real name that only looks escaped is tried first."""
    folder = os.path.join(remote_dir.path, "folder").encode()
    os.makedirs(folder)
    os.chown(folder, remote_dir.owner.pw_uid, remote_dir.owner.pw_gid)
    with open(os.path.join(folder, b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"latin-1 name")
    os.chown(os.path.join(folder, b"caf\xe9.txt"), remote_dir.owner.pw_uid,
             remote_dir.owner.pw_gid)
    remote_dir.write("folder/100%E9.csv", b"ascii name")
    assert fs.stat("/caf%E9.txt")["size"] == 12
    assert read(fs, "/caf%E9.txt") == b"latin-1 name"
    assert read(fs, "/100%E9.csv") == b"ascii name"
    assert fs.set_last_modified("/caf%E9.txt", T0 * 1000) is True
    assert fs.move("/caf%E9.txt", "/renamed.txt") is True
    assert remote_dir.read("folder/renamed.txt") == b"latin-1 name"
    os.rename(os.path.join(folder, b"renamed.txt"), os.path.join(folder, b"caf\xe9.txt"))
    assert fs.delete_recursive("/caf%E9.txt") == 1
    assert os.listdir(folder) == [b"100%E9.csv"]
    # In a directory whose name is not UTF-8 either.
    inner = os.path.join(folder, b"d\xe9j\xe0")
    os.mkdir(inner)
    with open(os.path.join(inner, b"x.csv"), "wb") as handle:
        handle.write(b"x")
    for path in (inner, os.path.join(inner, b"x.csv")):
        os.chown(path, remote_dir.owner.pw_uid, remote_dir.owner.pw_gid)
    assert fs.stat("/d%E9j%E0/x.csv")["size"] == 1
    assert read(fs, "/d%E9j%E0/x.csv") == b"x"
    assert fs.delete_recursive("/d%E9j%E0/x.csv") == 1
    assert fs.stat("/d%E9j%E0")["isDirectory"] is True


def test_listings_show_names_that_are_not_utf8_by_their_safe_name(fs, remote_dir):
    """enumerate, browse and delete_recursive list names as bytes: a Latin-1 file
    or directory shows as its escaped safe name, which every other call reaches."""
    folder = os.path.join(remote_dir.path, "folder").encode()
    inner = os.path.join(folder, b"d\xe9j\xe0")
    os.makedirs(inner)
    files = {os.path.join(folder, b"caf\xe9.txt"): b"latin-1 name",
             os.path.join(inner, b"x\xff.csv"): b"xy",
             os.path.join(folder, b"plain.txt"): b"p"}
    for path, data in files.items():
        with open(path, "wb") as handle:
            handle.write(data)
    for top, dirs, names in os.walk(folder):
        for name in [b""] + dirs + names:
            os.chown(os.path.join(top, name), remote_dir.owner.pw_uid,
                     remote_dir.owner.pw_gid)
    listed = sorted((e["path"], e["size"]) for e in fs.enumerate("/", False))
    assert listed == [("/caf%E9.txt", 12), ("/d%E9j%E0/x%FF.csv", 2), ("/plain.txt", 1)]
    children = sorted(c["fullPath"] for c in fs.browse("/")["children"])
    assert children == ["/caf%E9.txt", "/d%E9j%E0", "/plain.txt"]
    assert [c["fullPath"] for c in fs.browse("/d%E9j%E0")["children"]] == [
        "/d%E9j%E0/x%FF.csv"]
    assert read(fs, "/d%E9j%E0/x%FF.csv") == b"xy"
    assert fs.delete_recursive("/d%E9j%E0") == 1
    assert sorted(os.listdir(folder)) == [b"caf\xe9.txt", b"plain.txt"]


# --- confinement ---------------------------------------------------------------------------

def test_dot_dot_is_refused_everywhere(fs, remote_dir, open_provider):
    remote_dir.write("secret.txt", b"outside the folder")
    remote_dir.write("folder/a.csv", b"a")
    for call in (lambda: fs.stat("/../secret.txt"), lambda: read(fs, "/../secret.txt"),
                 lambda: fs.browse("/a/../../"), lambda: fs.enumerate("..", False),
                 lambda: fs.write("/../x.csv", io.BytesIO(b"x")),
                 lambda: fs.move("/a.csv", "/../a.csv"),
                 lambda: fs.delete_recursive("/.."),
                 lambda: fs.delete_recursive("sub\\..\\..")):
        with pytest.raises(UnsafePathError) as info:
            call()
        assert "'..'" in str(info.value) or ".." in str(info.value)
    with pytest.raises(UnsafePathError) as info:
        open_provider(root="../../etc")
    assert "Path" in str(info.value)
    assert remote_dir.read("secret.txt") == b"outside the folder"
    assert remote_dir.read("folder/a.csv") == b"a"
    assert not os.path.exists(os.path.join(os.path.dirname(remote_dir.path), "x.csv"))


def test_absolute_paths_stay_inside_the_folder(fs, remote_dir, open_provider):
    remote_dir.write("folder/etc/hostname", b"mine")
    assert read(fs, "/etc/hostname") == b"mine"                 # never the server's
    assert fs.stat("//etc//passwd") is None
    fs.write("/tmp/x.csv", io.BytesIO(b"x"))
    assert remote_dir.read("folder/tmp/x.csv") == b"x"
    # A root written as an absolute path is still below the service's root path.
    other = open_provider(root="")
    assert other.stat("/folder/etc/hostname")["size"] == 4


def test_symbolic_links_leading_outside_are_refused(fs, remote_dir):
    remote_dir.write("outside/secret.txt", b"secret")
    remote_dir.write("folder/inside/real.txt", b"real")
    base = os.path.join(remote_dir.path, "folder")
    os.symlink(os.path.join(remote_dir.path, "outside"), os.path.join(base, "out_dir"))
    os.symlink(os.path.join(remote_dir.path, "outside", "secret.txt"),
               os.path.join(base, "out_file.txt"))
    os.symlink("/etc", os.path.join(base, "etc_link"))
    os.symlink("inside/real.txt", os.path.join(base, "in_link.txt"))
    os.symlink("inside", os.path.join(base, "in_dir"))
    os.symlink(".", os.path.join(base, "inside", "loop"))
    # Listings leave outside links out and follow inside ones (no loop).
    assert sorted(c["fullPath"] for c in fs.browse("/")["children"]) == [
        "/in_dir", "/in_link.txt", "/inside"]
    assert sorted(f["path"] for f in fs.enumerate("/", False)) == [
        "/in_dir/real.txt", "/in_link.txt", "/inside/real.txt"]
    assert read(fs, "/in_link.txt") == b"real"
    # Reading, stating, writing through outside links: refused.
    for call in (lambda: read(fs, "/out_file.txt"), lambda: read(fs, "/out_dir/secret.txt"),
                 lambda: fs.stat("/etc_link/hostname"), lambda: fs.browse("/out_dir"),
                 lambda: fs.enumerate("/out_dir", False),
                 lambda: fs.write("/out_dir/new.txt", io.BytesIO(b"new")),
                 lambda: fs.write("/out_dir/sub/new.txt", io.BytesIO(b"new")),
                 lambda: fs.move("/inside/real.txt", "/out_dir/stolen.txt"),
                 lambda: fs.set_last_modified("/out_file.txt", 0),
                 lambda: fs.delete_recursive("/out_dir/secret.txt")):
        with pytest.raises(UnsafePathError) as info:
            call()
        assert "outside the folder" in str(info.value)
    assert sorted(os.listdir(os.path.join(remote_dir.path, "outside"))) == ["secret.txt"]
    # Deleting a link removes the link, never what it points to.
    assert fs.delete_recursive("/out_dir") == 1
    # Left: real.txt and the links out_file.txt, etc_link, in_link.txt, in_dir, loop.
    assert fs.delete_recursive("/") == 6
    assert remote_dir.read("outside/secret.txt") == b"secret"
    assert os.listdir(base) == []


def test_a_folder_root_that_is_a_link_outside_the_root_path_is_refused(open_provider,
                                                                       remote_dir, sshd):
    os.symlink("/etc", os.path.join(remote_dir.path, "folder"))
    fs = open_provider()
    with pytest.raises(UnsafePathError) as info:
        fs.stat("/hostname")
    assert "outside the service's root path" in str(info.value)


# --- the session ---------------------------------------------------------------------------

def test_one_session_for_every_call(fs, remote_dir):
    remote_dir.write("folder/a.csv", b"a")
    for _ in range(3):
        fs.stat("/a.csv")
        fs.browse("/")
        fs.enumerate("/", False)
        read(fs, "/a.csv")
        fs.write("/b.csv", io.BytesIO(b"b"))
        fs.move("/b.csv", "/c.csv")
        fs.delete_recursive("/c.csv")
    assert fs.provider.session.connections == 1


@pytest.mark.parametrize("how", ["transport-closed", "socket-cut"])
def test_a_dropped_connection_is_reopened_once(fs, remote_dir, how):
    remote_dir.write("folder/a.csv", b"a")
    assert fs.stat("/a.csv")["size"] == 1
    transport = fs.provider.session.transport
    if how == "transport-closed":
        transport.close()
    else:
        transport.sock.shutdown(socket.SHUT_RDWR)
    assert read(fs, "/a.csv") == b"a"
    assert fs.provider.session.connections == 2
    fs.write("/b.csv", io.BytesIO(b"b"))
    assert fs.provider.session.connections == 2
    fs.close()
    assert fs.stat("/b.csv")["size"] == 1      # usable again after close: a new session
    assert fs.provider.session.connections == 3


class CuttingSink(object):
    """DSS's stream; the connection drops once the first bytes reached it."""

    def __init__(self, transport):
        self.transport = transport
        self.data = b""

    def write(self, data):
        self.data += data
        self.transport.sock.shutdown(socket.SHUT_RDWR)


def test_a_connection_lost_after_data_reached_dss_is_not_replayed(fs, remote_dir):
    data = os.urandom(8 * 1024 * 1024)
    remote_dir.write("folder/big.bin", data)
    fs.stat("/big.bin")
    sink = CuttingSink(fs.provider.session.transport)
    with pytest.raises(SftpClientError) as info:
        fs.read("/big.bin", sink, -1)
    assert "lost" in str(info.value) and "/big.bin" in str(info.value)
    assert 0 < len(sink.data) < len(data) and data.startswith(sink.data)
    assert read(fs, "/big.bin") == data            # the next call reconnects
    assert fs.provider.session.connections == 2


@pytest.mark.parametrize("kind, proxy_fixture", PROXY_CASES)
def test_every_method_through_each_proxy(request, open_provider, remote_dir, sshd, kind,
                                         proxy_fixture):
    proxy = request.getfixturevalue(proxy_fixture)
    before = len(proxy.connections_to(sshd.port))
    fs = open_provider(**proxy_fields(kind, proxy))
    fs.write("/in/a.csv", io.BytesIO(b"a,b\n1,2\n"))
    assert fs.stat("/in/a.csv")["size"] == 8
    assert [c["fullPath"] for c in fs.browse("/in")["children"]] == ["/in/a.csv"]
    assert [f["path"] for f in fs.enumerate("/", False)] == ["/in/a.csv"]
    assert read(fs, "/in/a.csv", limit=3) == b"a,b"
    assert fs.move("/in/a.csv", "/out/b.csv") is True
    assert fs.set_last_modified("/out/b.csv", T0 * 1000) is True
    assert fs.delete_recursive("/") == 1
    assert fs.provider.session.connections == 1
    proxy.wait_for_connection_to(sshd.port)
    assert len(proxy.connections_to(sshd.port)) == before + 1


# --- errors --------------------------------------------------------------------------------

def test_errors_name_the_folder_path_and_hold_no_secret(open_provider, remote_dir, sshd):
    locked = remote_dir.mkdir("folder/locked")
    remote_dir.write("folder/locked/x.csv", b"x")
    os.chmod(locked, 0o000)
    fs = open_provider()
    with pytest.raises(SftpClientError) as info:
        read(fs, "/locked/x.csv")
    text = str(info.value)
    assert "/locked/x.csv" in text and "Permission denied" in text
    assert "check the SFTP user's rights" in text
    with pytest.raises(SftpClientError) as info:
        fs.enumerate("/", False)
    assert "Permission denied" in str(info.value) and "listing" in str(info.value)
    os.chmod(locked, 0o755)
    bad = open_provider(password="not-the-password-xyz")
    with pytest.raises(AuthenticationError) as info:
        bad.stat("/")
    assert "not-the-password-xyz" not in str(info.value)
    assert servers.SFTP_PASSWORD not in str(info.value)
    assert "Password" in str(info.value)


def test_a_missing_service_is_a_config_error_naming_the_field():
    from dataiku import _harness
    with pytest.raises(ConfigError) as info:
        _harness.load_fs_provider(FS_PROVIDER, "/P/f", {}, {})
    assert "SFTP service" in str(info.value)
