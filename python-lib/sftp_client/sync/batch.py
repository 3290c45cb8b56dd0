"""Several small files in flight on one SFTP channel.

Copying a small file one by one costs a chain of round trips (open, read or
write, close, rename) with the channel idle in between. Here a worker keeps up
to ``WINDOW`` files in flight: each file's requests are sent as soon as the
answer they depend on arrives, and answers are taken in the order the requests
went out (SFTP servers answer one channel's requests in order).

The guarantees are those of the one-file path: a download goes through the
target's own ``write_atomic`` once all its bytes are in; an upload is written to
a partial name, its size checked with FSTAT and its time set with FSETSTAT
before CLOSE, and only then renamed onto the final name with posix-rename. A
file this path cannot finish cleanly (an error, a short or long read, a refused
time, no posix-rename) is handed back untouched, partial removed, for the
one-file path to copy with its retries, messages and fallbacks.

Uses SFTPClient's request plumbing like ``reader.py``; without it, nothing is
batched.
"""
import collections
import io
import logging
import posixpath
import time

from paramiko import SFTPAttributes, SSHException
from paramiko.sftp import (CMD_CLOSE, CMD_DATA, CMD_EXTENDED, CMD_FSETSTAT, CMD_FSTAT,
                           CMD_HANDLE, CMD_OPEN, CMD_READ, CMD_REMOVE, CMD_STATUS, CMD_WRITE,
                           SFTP_FLAG_CREATE, SFTP_FLAG_READ, SFTP_FLAG_TRUNC, SFTP_FLAG_WRITE,
                           SFTP_OK)

from sftp_client import partials
from sftp_client.entries import printable
from sftp_client.errors import SftpClientError
from sftp_client.remote.flight import Flight
from sftp_client.remote.reader import int64, supported

LOG = logging.getLogger(__name__)

#: Files in flight per channel: enough to keep the server and the link busy,
#: few enough that a window of the largest batched files stays small in memory.
WINDOW = 32
#: Largest file batched (bytes): one READ or WRITE request holds it whole.
MAX_SIZE = 64 * 1024
#: Errors that leave a batch's unfinished files to the one-file path (which
#: meets them again, and retries or reports them with its own messages).
CHANNEL_ERRORS = (IOError, OSError, EOFError, SSHException, SftpClientError)


def _ok(t, msg):
    return t == CMD_STATUS and msg.get_int() == SFTP_OK


def _remote(tree):
    """The tree's SFTP channel when it is a remote tree that can batch, else None."""
    sftp = getattr(tree, "sftp", None)
    return sftp if sftp is not None and supported(sftp) else None


def accepts(worker):
    """A predicate telling the items this worker can batch, or None."""
    if worker is None:
        return None
    if _remote(worker.source) is not None:
        limit = min(MAX_SIZE, worker.source.limits().read_size - 1)
    elif _remote(worker.target) is not None:
        target = worker.target
        if not (target.posix_rename and target.can_set_mtime):
            return None
        limit = min(MAX_SIZE, target.limits().write_size)
    else:
        return None
    return lambda item: item.source.size <= limit and item.source.mtime is not None


class _File(object):
    """One file of a batch and what its answers said so far."""

    def __init__(self, item):
        self.item = item
        self.data = None
        self.handle = None
        self.failed = False
        self.done = False
        self.size = None
        self.temp = None


def copy_many(worker, first, take, progress=None, alone=()):
    """Copy ``first`` and the next items ``take()`` gives (None when there are
    none) with several in flight. Yields ``(item, done)``: ``done`` False hands
    the item back for the one-file path. Paths in ``alone`` (partial copies an
    earlier run left, to resume) always go one by one."""
    batchable = accepts(worker)
    if batchable is None or first.path in alone or not batchable(first):
        yield first, False
        return

    def accept(item):
        return item.path not in alone and batchable(item)
    files = collections.deque([first])
    while len(files) < WINDOW:
        item = take(accept)
        if item is None:
            break
        files.append(item)
    run = _download if _remote(worker.source) is not None else _upload
    finished = []
    try:
        run(worker, list(files), finished)
    except CHANNEL_ERRORS as exc:     # the channel broke: the one-file path retries
        LOG.debug("Batch interrupted (%s); its unfinished files go one by one", exc)
        if not isinstance(exc, SftpClientError):
            # Answers may still be on their way: the one-file path must not wait on
            # this channel (or read them as its own); it reconnects at once.
            _abandon(worker)
    done = set(id(state.item) for state in finished if state.done)
    for item in files:
        ok = id(item) in done
        if ok:
            if progress is not None:
                progress.add_bytes(item.source.size)
                progress.file_done()
            LOG.info("Copied %s (%d bytes, %s)", printable(item.path), item.source.size,
                     item.reason)
        yield item, ok


def _abandon(worker):
    for tree in (worker.source, worker.target):
        if _remote(tree) is not None and hasattr(tree, "abandon"):
            tree.abandon()


def _wire(sftp, path):
    """What to send for text ``path``: the listed bytes of a name that is not UTF-8
    (remote_names.RawNameSftp), else the path."""
    wire = getattr(sftp, "wire", None)
    return wire(path) if wire is not None else path


def _download(worker, items, finished):
    """Open, read whole and close each remote file in flight; each complete file
    is handed to the target's ``write_atomic``."""
    source, target = worker.source, worker.target
    flight = Flight(source.sftp)
    with flight.cork:
        for item in items:
            state = _File(item)
            finished.append(state)
            flight.send(_on_open(flight, state), CMD_OPEN,
                        _wire(source.sftp, source.abs(item.path)),
                        SFTP_FLAG_READ, SFTPAttributes())
    while len(flight):
        flight.step()
        for state in finished:
            if state.data is not None and not state.done and not state.failed \
                    and state.handle is None:
                _write(target, state)


def _write(target, state):
    """Hand a fully read file to the target; a refusal leaves it to the one-file
    path (which reports it)."""
    item, data = state.item, state.data
    state.data = None
    try:
        target.write_atomic(item.path, io.BytesIO(data), item.source.size,
                            item.source.mtime)
        state.done = True
    except SftpClientError as exc:
        LOG.debug("Batched write of %s failed (%s); retried alone", item.path, exc)
        state.failed = True


def _on_open(flight, state):
    size = state.item.source.size

    def opened(t, msg):
        if t != CMD_HANDLE:
            state.failed = True
            return
        state.handle = msg.get_binary()
        flight.send(read, CMD_READ, state.handle, int64(0), size + 1)
        flight.send(closed, CMD_CLOSE, state.handle)

    def read(t, msg):
        if t == CMD_DATA:
            data = msg.get_string()
        elif t == CMD_STATUS and msg.get_int() == 1:      # SSH_FX_EOF: empty file
            data = b""
        else:
            state.failed = True
            return
        if len(data) != size:         # grew, shrank or capped: the one-file path says
            state.failed = True
        else:
            state.data = data

    def closed(t, msg):
        state.handle = None

    return opened


def _upload(worker, items, finished):
    """Write each file to a partial name, check its size, set its time and close
    it in flight; rename the good ones onto their final names."""
    source, target = worker.source, worker.target
    flight = Flight(target.sftp)
    ready = []
    for item in items:
        state = _File(item)
        finished.append(state)
        data = _read_local(source, item)
        if data is None:
            state.failed = True
            continue
        target.makedirs(posixpath.dirname(item.path))     # waits: not corked
        state.temp = _wire(target.sftp, partials.partial_path(
            target.abs(item.path), item.source.size, item.source.mtime))
        ready.append((state, data))
    with flight.cork:
        for state, data in ready:
            flight.send(_on_create(flight, state, data, target), CMD_OPEN, state.temp,
                        SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC,
                        SFTPAttributes())
    while len(flight):
        flight.step()


def _read_local(source, item):
    """The whole file, or None when it cannot be read or its size changed."""
    try:
        with source.open_read(item.path, item.source.size) as reader:
            parts, left = [], item.source.size + 1
            while left > 0:          # streams may answer short reads
                part = reader.read(left)
                if not part:
                    break
                parts.append(part)
                left -= len(part)
            data = b"".join(parts)
    except (IOError, OSError, SftpClientError):
        return None
    return data if len(data) == item.source.size else None


def _on_create(flight, state, data, target):
    item = state.item
    checks = []

    def opened(t, msg):
        if t != CMD_HANDLE:
            state.failed = True
            return
        handle = msg.get_binary()
        if data:
            flight.send(check, CMD_WRITE, handle, int64(0), data)
        flight.send(fstat, CMD_FSTAT, handle)
        attrs = SFTPAttributes()
        attrs.st_mtime = int(item.source.mtime)
        attrs.st_atime = int(time.time())   # the partial's lease (partials.py)
        flight.send(check, CMD_FSETSTAT, handle, attrs)
        flight.send(closed, CMD_CLOSE, handle)

    def check(t, msg):
        checks.append(_ok(t, msg))

    def fstat(t, msg):
        state.size = SFTPAttributes._from_msg(msg).st_size if t != CMD_STATUS else None

    def closed(t, msg):
        if _ok(t, msg) and all(checks) and state.size == len(data):
            flight.send(renamed, CMD_EXTENDED, "posix-rename@openssh.com", state.temp,
                        _wire(target.sftp, target.abs(item.path)))
        else:
            discard()

    def renamed(t, msg):
        if _ok(t, msg):
            state.done = True
        else:
            discard()

    def discard():
        state.failed = True
        flight.send(lambda t, msg: None, CMD_REMOVE, state.temp)

    return opened
