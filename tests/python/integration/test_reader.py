"""The pipelined reader against the real sshd and against servers that cap or
refuse large reads (the in-process fake)."""
import contextlib
import os
import threading

import paramiko
import pytest

from helpers.fake_sftp import FakeSftpServer
from sftp_client.remote import reader
from sftp_client.remote.reader import MIN_REQUEST_SIZE, REQUEST_SIZE, PipelinedReader


def read_all(stream):
    chunks = []
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


@pytest.fixture
def sftp(sshd):
    transport = paramiko.Transport((sshd.host, sshd.port))
    transport.connect(username=sshd.username, password=sshd.password)
    client = paramiko.SFTPClient.from_transport(transport)
    yield client
    transport.close()


@pytest.mark.parametrize("size", [0, 1, REQUEST_SIZE - 1, REQUEST_SIZE, REQUEST_SIZE + 1,
                                  5 * 1024 * 1024 + 3])
def test_reads_exact_bytes(sftp, remote_dir, size):
    data = os.urandom(size)
    path = remote_dir.write("f.bin", data)
    with_threads = threading.active_count()
    stream = reader.open_pipelined(sftp, path, size)
    assert isinstance(stream, PipelinedReader)
    assert read_all(stream) == data
    assert threading.active_count() == with_threads    # no helper thread
    assert stream.read(10) == b""
    stream.close()


def test_size_is_asked_when_unknown(sftp, remote_dir):
    path = remote_dir.write("f.bin", b"0123456789")
    stream = reader.open_pipelined(sftp, path)
    assert read_all(stream) == b"0123456789"
    stream.close()


def test_a_file_that_grew_shows_one_byte_more(sftp, remote_dir):
    path = remote_dir.write("f.bin", b"x" * 1000)
    stream = reader.open_pipelined(sftp, path, 600)     # listed smaller than it is
    assert len(read_all(stream)) == 601                  # the caller's check fails it
    stream.close()


def test_a_file_that_shrank_ends_early(sftp, remote_dir):
    path = remote_dir.write("f.bin", b"x" * 1000)
    stream = reader.open_pipelined(sftp, path, 3 * REQUEST_SIZE)
    assert read_all(stream) == b"x" * 1000
    stream.close()


def test_bounded_requests_in_flight(sftp, remote_dir):
    size = 40 * REQUEST_SIZE
    path = remote_dir.write("f.bin", os.urandom(size))
    stream = reader.open_pipelined(sftp, path, size)
    stream.read()
    assert len(stream._pending) <= reader.DEPTH
    assert stream._next <= (reader.DEPTH + 1) * REQUEST_SIZE
    stream.close()
    # The channel stays usable after closing mid-file.
    assert sftp.stat(path).st_size == size


@contextlib.contextmanager
def fake_client(server):
    transport = paramiko.Transport((server.host, server.port))
    try:
        transport.connect(username=server.username, password=server.password)
        yield paramiko.SFTPClient.from_transport(transport)
    finally:
        transport.close()


@pytest.mark.parametrize("knob", [{"max_read": 20000}, {"refuse_reads_over": MIN_REQUEST_SIZE}],
                         ids=["capped-reads", "large-reads-refused"])
def test_servers_limiting_reads(tmp_path, knob):
    data = os.urandom(3 * 1024 * 1024 + 5)
    (tmp_path / "f.bin").write_bytes(data)
    with FakeSftpServer(str(tmp_path), **knob) as server:
        with fake_client(server) as client:
            stream = reader.open_pipelined(client, "/f.bin", len(data))
            assert read_all(stream) == data
            stream.close()
            assert client.listdir("/") == ["f.bin"]     # channel still in step


def test_one_round_trip_per_small_file(tmp_path):
    (tmp_path / "f.txt").write_bytes(b"small")
    with FakeSftpServer(str(tmp_path)) as server:
        with fake_client(server) as client:
            stream = reader.open_pipelined(client, "/f.txt", 5)
            assert read_all(stream) == b"small"
            stream.close()
            assert server.counts["read_requests"] == 1   # no extra read to find EOF


def test_read_errors_are_raised(tmp_path):
    (tmp_path / "f.bin").write_bytes(b"x" * 100)
    with FakeSftpServer(str(tmp_path), refuse_reads_over=0) as server:
        with fake_client(server) as client:
            stream = reader.open_pipelined(client, "/f.bin", 100)
            with pytest.raises(IOError):
                read_all(stream)
            stream.close()


def test_finish_write_reports_size_and_sets_the_time(sftp, remote_dir):
    path = remote_dir.path + "/w.bin"
    handle = sftp.open(path, "wb")
    handle.set_pipelined(True)
    handle.write(b"z" * 100000)
    size, refusal = reader.finish_write(sftp, handle, 1500000000)
    assert (size, refusal) == (100000, None)
    assert handle.closed
    st = os.stat(path)
    assert st.st_size == 100000 and int(st.st_mtime) == 1500000000


def test_finish_write_without_time(sftp, remote_dir):
    path = remote_dir.path + "/w.bin"
    handle = sftp.open(path, "wb")
    handle.write(b"abc")
    assert reader.finish_write(sftp, handle) == (3, None)


def test_finish_write_reports_a_refused_setstat(tmp_path):
    with FakeSftpServer(str(tmp_path), refuse_setstat=True) as server:
        with fake_client(server) as client:
            handle = client.open("/w.bin", "wb")
            handle.set_pipelined(True)
            handle.write(b"data")
            size, refusal = reader.finish_write(client, handle, 1500000000)
            assert size == 4 and isinstance(refusal, IOError)
            assert client.listdir("/") == ["w.bin"]      # channel still in step
    assert (tmp_path / "w.bin").read_bytes() == b"data"


def test_an_answer_longer_than_asked_is_an_error(tmp_path):
    (tmp_path / "f.bin").write_bytes(b"x" * 1000)
    with FakeSftpServer(str(tmp_path), pad_reads=10) as server:
        with fake_client(server) as client:
            stream = reader.open_pipelined(client, "/f.bin", 1000)
            with pytest.raises(IOError, match="answered 1010 bytes to a read of 1001"):
                read_all(stream)
            stream.close()


def test_openssh_states_its_limits(sftp, remote_dir):
    limits = reader.server_limits(sftp)
    assert limits.stated
    assert MIN_REQUEST_SIZE <= limits.read_size <= REQUEST_SIZE
    assert MIN_REQUEST_SIZE <= limits.write_size <= reader.WRITE_SIZE
    from sftp_client.remote.tree import RemoteTree
    tree = RemoteTree(sftp, remote_dir.path)
    temp, handle = tree.open_partial("big.bin")
    data = os.urandom(3 * limits.write_size + 5)
    handle.write(data)
    assert reader.finish_write(sftp, handle) == (len(data), None)
    assert handle.MAX_REQUEST_SIZE == limits.write_size
    with open(os.path.join(remote_dir.path, os.path.basename(temp)), "rb") as stored:
        assert stored.read() == data


def test_a_server_without_limits_gets_the_sizes_every_server_accepts(tmp_path):
    with FakeSftpServer(str(tmp_path)) as server:
        with fake_client(server) as client:
            limits = reader.server_limits(client)
            assert not limits.stated
            assert limits.write_size == MIN_REQUEST_SIZE
            assert limits.read_size == REQUEST_SIZE        # short reads adapt it
            assert client.listdir("/") == []               # channel still in step
