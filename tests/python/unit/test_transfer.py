"""Unit tests of the transfer machinery (execute, copy_stream, Progress), the shared
sync state and the path helpers: no server, in-memory trees."""
import io
import logging
import threading

import pytest

from sftp_client import copying, entries
from sftp_client.sync import transfer
from sftp_client.entries import Entry
from sftp_client.errors import ConnectionLostError, TransferError, UnsafePathError
from sftp_client.sync.planner import CHANGED, NEW, PlanItem
from sftp_client.state import SyncState


@pytest.fixture(autouse=True)
def no_retry_delay(monkeypatch):
    monkeypatch.setattr(transfer, "RETRY_DELAY", 0)


class MemoryTree(object):
    """A source or target tree in memory; ``fail`` maps path -> list of errors
    raised by successive opens (then success)."""

    def __init__(self, files=None, fail=None):
        self.files = dict(files or {})
        self.fail = dict((k, list(v)) for k, v in (fail or {}).items())
        self.lock = threading.Lock()
        self.offsets, self.discarded = [], 0

    def open_read(self, path, size=None, offset=0):
        with self.lock:
            errors = self.fail.get(path)
            if errors:
                raise errors.pop(0)
        self.offsets.append(offset)
        return io.BytesIO(self.files[path][offset:])

    def write_atomic(self, path, source, size, mtime, progress=None, resume=None,
                     offset=0):
        sink = resume.temp if offset else io.BytesIO()
        sink.seek(offset)
        sink.truncate()
        try:
            copying.copy_stream(source, sink, size - offset, path, progress)
        except Exception as exc:
            copying.keep_partial(resume, exc, sink)
            raise
        with self.lock:
            self.files[path] = sink.getvalue()

    def resume_offset(self, resume):
        return len(resume.temp.getvalue())

    def discard_resume(self, resume):
        self.discarded += 1
        resume.temp = None


class Worker(object):
    opened = 0
    closed = 0
    lock = threading.Lock()

    def __init__(self, source, target):
        self.source, self.target = source, target
        with Worker.lock:
            Worker.opened += 1

    def close(self):
        with Worker.lock:
            Worker.closed += 1


@pytest.fixture
def counts():
    Worker.opened = Worker.closed = 0
    return Worker


def item(path, data, status=NEW):
    return PlanItem(path, status, status, Entry(path, len(data), 1600000000), None)


def test_every_item_is_copied_by_a_bounded_pool(counts):
    files = dict(("f%02d" % n, b"x" * n) for n in range(20))
    source, target = MemoryTree(files), MemoryTree()
    progress = transfer.Progress(20, sum(len(v) for v in files.values()), "Test")
    outcomes = transfer.execute([item(p, d) for p, d in sorted(files.items())],
                                lambda: Worker(source, target), workers=4,
                                progress=progress)
    assert target.files == files
    assert set(o.status for o in outcomes.values()) == {NEW}
    assert all(o.transferred_at for o in outcomes.values())
    assert counts.opened == counts.closed == 4
    assert progress.done_files == 20 and progress.done_bytes == progress.total_bytes


def test_nothing_to_copy_opens_no_connection(counts):
    assert transfer.execute([], lambda: Worker(None, None), workers=4) == {}
    assert counts.opened == 0


def test_fewer_items_than_workers_opens_fewer_connections(counts):
    source, target = MemoryTree({"a": b"a"}), MemoryTree()
    transfer.execute([item("a", b"a")], lambda: Worker(source, target), workers=8)
    assert counts.opened == 1


def test_transient_failure_is_retried_on_a_new_connection(counts):
    lost = ConnectionLostError("The connection was lost while reading a.")
    source = MemoryTree({"a": b"data"}, fail={"a": [lost, lost]})
    target = MemoryTree()
    outcomes = transfer.execute([item("a", b"data", CHANGED)],
                                lambda: Worker(source, target), workers=1)
    assert outcomes["a"].status == CHANGED and target.files == {"a": b"data"}
    assert counts.opened == 3 and counts.closed == 3


class Flaky(object):
    """A source stream that breaks (transiently) after ``cut`` bytes."""

    def __init__(self, data, cut):
        self.stream, self.left = io.BytesIO(data), cut

    def read(self, size):
        if self.left <= 0:
            raise ConnectionLostError("cut")
        chunk = self.stream.read(min(size, self.left))
        self.left -= len(chunk)
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def test_a_retry_resumes_after_what_the_target_kept(counts, monkeypatch):
    monkeypatch.setattr(copying, "CHUNK_SIZE", 1000)
    data = bytes(bytearray(range(256))) * 40           # 10,240 bytes
    source, target = MemoryTree({"a": data}), MemoryTree()
    cuts = [3000, 4000]
    real_open = source.open_read

    def open_read(path, size=None, offset=0):
        stream = real_open(path, size, offset)
        return Flaky(stream.read(), cuts.pop(0)) if cuts else stream
    source.open_read = open_read
    outcomes = transfer.execute([item("a", data)], lambda: Worker(source, target))
    assert outcomes["a"].status == NEW and target.files == {"a": data}
    assert source.offsets == [0, 3000, 7000]           # each retry starts where it broke


def test_a_failed_file_drops_the_kept_partial_copy(counts):
    data = b"x" * 5000
    source, target = MemoryTree({"a": data}), MemoryTree()
    source.open_read = lambda path, size=None, offset=0: Flaky(data[offset:], 100)
    outcomes = transfer.execute([item("a", data)], lambda: Worker(source, target))
    assert outcomes["a"].status == transfer.FAILED
    assert target.discarded == 1 and "a" not in target.files


def test_transient_failure_gives_up_after_the_retries(counts):
    lost = ConnectionLostError("lost")
    source = MemoryTree({"a": b"data"}, fail={"a": [lost] * 5})
    outcomes = transfer.execute([item("a", b"data")],
                                lambda: Worker(source, MemoryTree()), workers=1)
    assert outcomes["a"].status == transfer.FAILED
    assert outcomes["a"].error == "lost (after %d attempts)" % (transfer.MAX_RETRIES + 1)
    assert len(source.fail["a"]) == 5 - (transfer.MAX_RETRIES + 1)


def test_permanent_failure_is_not_retried_and_stop_skips_the_rest(counts):
    denied = TransferError("Permission denied on b", "b", "read")
    files = {"a": b"1", "b": b"2", "c": b"3"}
    source = MemoryTree(files, fail={"b": [denied]})
    target = MemoryTree()
    outcomes = transfer.execute([item(p, d) for p, d in sorted(files.items())],
                                lambda: Worker(source, target), workers=1,
                                on_error="stop")
    assert outcomes["a"].status == NEW
    assert outcomes["b"].status == transfer.FAILED
    assert outcomes["c"].status == transfer.SKIPPED
    assert "'On error'" in outcomes["c"].error
    assert outcomes["c"].path == "c" and target.files == {"a": b"1"}


def test_continue_copies_the_others(counts):
    denied = TransferError("Permission denied on b", "b", "read")
    files = {"a": b"1", "b": b"2", "c": b"3"}
    source, target = MemoryTree(files, fail={"b": [denied]}), MemoryTree()
    outcomes = transfer.execute([item(p, d) for p, d in sorted(files.items())],
                                lambda: Worker(source, target), workers=2,
                                on_error="continue")
    assert [outcomes[p].status for p in "abc"] == [NEW, transfer.FAILED, NEW]
    assert target.files == {"a": b"1", "c": b"3"}


def test_no_connection_at_all_fails_every_file_with_the_reason(counts):
    def refuse():
        raise ConnectionLostError("proxy refused the connection")
    outcomes = transfer.execute([item("a", b"1"), item("b", b"2")], refuse, workers=2)
    assert set(o.status for o in outcomes.values()) == {transfer.FAILED}
    assert "proxy refused the connection" in outcomes["a"].error


def test_copy_stream_detects_a_file_that_changed_size():
    with pytest.raises(TransferError) as info:
        copying.copy_stream(io.BytesIO(b"12345"), io.BytesIO(), 3, "x.csv")
    assert "listed with 3 bytes, 5 read" in str(info.value)
    assert info.value.path == "x.csv"


def test_progress_logs_at_most_every_interval(caplog):
    caplog.set_level(logging.INFO, logger="sftp_client.sync.transfer")
    progress = transfer.Progress(2, 2048, "Download", interval=0)
    progress.add_bytes(1024)
    progress.file_done()
    lines = [r.message for r in caplog.records]
    assert lines and lines[-1].startswith("Download: 1/2 files, 1.0 KiB/2.0 KiB")
    quiet = transfer.Progress(2, 2048, "Download", interval=3600)
    caplog.clear()
    quiet.add_bytes(10)
    assert not caplog.records


def test_human_bytes():
    assert transfer.human_bytes(0) == "0 B"
    assert transfer.human_bytes(1536) == "1.5 KiB"
    assert transfer.human_bytes(5 * 1024 ** 4) == "5120.0 GiB"


# --- SyncState -----------------------------------------------------------------

def test_state_round_trip_and_dirty_flag():
    state = SyncState()
    assert not state.dirty
    state.record("a/b.csv", size=3, mtime=1600000000, remote_mtime=1700000000)
    assert state.dirty
    payload = state.to_bytes()
    assert not state.dirty
    again = SyncState.from_bytes(payload)
    assert again.get("a/b.csv") == {"size": 3, "mtime": 1600000000,
                                    "remote_mtime": 1700000000}


def test_state_record_holds_only_while_the_file_is_as_recorded():
    state = SyncState({"a": {"size": 3, "mtime": 100, "remote_mtime": 200}})
    assert state.known_mtime("a", 3) == 100
    assert state.known_mtime("a", 3, remote_mtime=200) == 100
    assert state.known_mtime("a", 3, remote_mtime=201) is None   # touched since
    assert state.known_mtime("a", 4) is None                     # size changed
    assert state.known_mtime("b", 3) is None


@pytest.mark.parametrize("payload", [b"", b"not json", b"[]", b'{"version": 99}',
                                     b'{"version": 1, "files": []}', b"\xff\xfe"])
def test_unreadable_state_starts_empty(payload):
    state = SyncState.from_bytes(payload)
    assert state.get("a") is None and not state.dirty


def test_note_once():
    state = SyncState()
    assert state.note_once("setstat") and not state.note_once("setstat")


# --- path helpers ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\\b", "nul\x00"])
def test_unsafe_names_are_refused(name):
    with pytest.raises(UnsafePathError):
        entries.check_name(name)


def test_resolve_under():
    assert entries.resolve_under("/srv/x", "", "Remote path") == "/srv/x"
    assert entries.resolve_under("/srv/x", "in/daily/", "Remote path") == "/srv/x/in/daily"
    assert entries.resolve_under("/srv/x", "/srv/x/in", "Remote path") == "/srv/x/in"
    assert entries.resolve_under("/", "a", "Remote path") == "/a"
    for bad in ("../y", "a/../../y", "/srv/y", "/srv/xy"):
        with pytest.raises(UnsafePathError) as info:
            entries.resolve_under("/srv/x", bad, "Remote path")
        assert "Remote path" in str(info.value)


def test_an_empty_kept_copy_is_dropped_before_starting_over(counts):
    data = b"y" * 3000
    source, target = MemoryTree({"a": data}), MemoryTree()
    streams = [Flaky(data, 0)]          # the first attempt breaks before any byte
    real_open = source.open_read
    source.open_read = lambda path, size=None, offset=0: (
        streams.pop(0) if streams else real_open(path, size, offset))
    outcomes = transfer.execute([item("a", data)], lambda: Worker(source, target))
    assert outcomes["a"].status == NEW and target.files == {"a": data}
    assert target.discarded == 1 and source.offsets == [0]


class MarginTree(MemoryTree):
    """A target that, like an SFTP one, trusts its partial copy only up to a
    margin: the bytes after it are written (and counted) again."""

    def resume_offset(self, resume):
        return max(0, len(resume.temp.getvalue()) - 2500)


def test_progress_counts_each_byte_once_across_resumed_attempts(counts, monkeypatch):
    monkeypatch.setattr(copying, "CHUNK_SIZE", 1000)
    data = bytes(bytearray(range(256))) * 40           # 10,240 bytes
    source, target = MemoryTree({"a": data}), MarginTree()
    cuts = [6000, 6000]
    real_open = source.open_read

    def open_read(path, size=None, offset=0):
        stream = real_open(path, size, offset)
        return Flaky(stream.read(), cuts.pop(0)) if cuts else stream
    source.open_read = open_read
    progress = transfer.Progress(1, len(data), "Upload", interval=3600)
    outcomes = transfer.execute([item("a", data)], lambda: Worker(source, target),
                                progress=progress)
    assert outcomes["a"].status == NEW and target.files == {"a": data}
    assert source.offsets == [0, 3500, 7000]           # the margin is sent again
    assert progress.done_bytes == len(data)             # ... but counted once
    assert "10.0 KiB/10.0 KiB" in progress.line()


def test_progress_total_is_never_below_what_was_done():
    progress = transfer.Progress(1, 1024, "Download", interval=3600)
    progress.add_bytes(2048)                            # the file grew meanwhile
    assert "2.0 KiB/2.0 KiB" in progress.line()
@pytest.mark.parametrize("files,workers,busy", [(1, 4, 1), (6, 4, 4), (1, 1, 1)])
def test_ranges_get_only_the_connections_the_cap_leaves(monkeypatch, files, workers, busy):
    """While ``busy`` threads hold a connection, ranges may open ``workers - busy``
    more (threads end only when nothing is left to take)."""
    from sftp_client.sync import ranges
    seen = []
    monkeypatch.setattr(ranges, "applies", lambda worker, item, spare: seen.append(spare))
    content = dict(("f%d" % n, b"data") for n in range(files))
    items = [PlanItem(p, NEW, "new", Entry(p, 4, 0), None) for p in sorted(content)]
    gate = threading.Barrier(busy)

    def open_worker():
        worker = Worker(MemoryTree(content), MemoryTree())
        gate.wait(timeout=10)     # every thread has its connection before copying
        return worker

    outcomes = transfer.execute(items, open_worker, workers=workers)
    assert len(outcomes) == files and len(seen) == files
    assert seen[:busy] == [workers - busy] * busy
    assert max(seen) <= workers - 1
