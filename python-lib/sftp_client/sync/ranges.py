"""One big download over several channels or connections: byte ranges fetched at
once, each written at its offset into the partial file, which is then stamped
and renamed like any other (``LocalFolderTree.write_atomic``'s guarantees).

Used for files of at least ``MIN_SIZE`` fetched into a local managed folder (the
one destination here that takes positioned writes; others get one stream) when
one channel cannot fill the link: through a proxy (a relay moves less than one
connection could) or over a round trip of ``LONG_RTT`` or more, with the hands
the *Parallel transfers* cap leaves spare. The file is cut into ``UNIT``-sized
ranges that the worker's own channel and the extra hands take in turn. Extra
hands are new connections through a proxy, else channels on the worker's
connection (a new connection when the server refuses channels): a hand the
server refuses only means fewer hands, never a failure. Each range must bring
exactly its bytes, and the last one shows a file that grew (one byte more is
asked), so a file changing while it is copied fails the attempt as in the
one-stream path.

On loopback ranges only help through proxies: a relay such as tinyproxy moves
~70 MB/s per connection, while one paramiko connection here does ~200 MB/s.
"""
import collections
import logging
import os
import threading

from sftp_client import partials
from sftp_client.entries import printable
from sftp_client.errors import SftpClientError, TransferError
from sftp_client.remote.reader import PipelinedReader, supported
from sftp_client.remote.error_map import remote_errors
from sftp_client.remote.raw_names import RawNameSftp
from sftp_client.connect.session import SftpSession
from sftp_client.sync.folder_local import LocalFolderTree

LOG = logging.getLogger(__name__)

#: Smallest file fetched in ranges: below, connecting costs more than it brings.
MIN_SIZE = 64 * 1024 * 1024
#: Connections that get ranges: through a proxy, where one relayed connection is
#: the limit. Direct ones get them on a long round trip only (measured ~10 %
#: slower in ranges on loopback: one paramiko connection already keeps this
#: process's one core busy).
RANGED_PROXIES = ("socks5", "socks4", "http")
#: Round trip (s) from which one channel may not fill the link: its window (2 MiB
#: at OpenSSH for uploads) per round trip is then under 1 GB/s.
LONG_RTT = 0.002
#: Bytes per range: enough to keep a connection streaming, small enough that
#: fast connections take more ranges than slow ones.
UNIT = 32 * 1024 * 1024


def applies(worker, item, spare):
    """True when ``item`` should be fetched in ranges by ``worker`` with ``spare``
    extra hands allowed."""
    if worker is None or spare < 1 or item.source.size < MIN_SIZE:
        return False
    sftp = getattr(worker.source, "sftp", None)
    return (sftp is not None and supported(sftp)
            and isinstance(worker.target, LocalFolderTree)
            and long_or_proxied(worker, worker.source))


def long_or_proxied(worker, tree):
    """Whether one channel of ``worker`` (its remote ``tree``) may not fill the
    link: a proxied connection, or a round trip of LONG_RTT or more."""
    session = getattr(worker, "session", None)
    if session is None:
        return False
    if session.settings.proxy.kind in RANGED_PROXIES:
        return True
    return tree.round_trip(short=LONG_RTT) >= LONG_RTT


def open_hand(worker, sftp):
    """One more hand for ranges: ``(RawNameSftp, close)``, or None when the server
    refuses. A channel on the worker's connection, or through a proxy (or when
    channels are refused) a new connection."""
    session = worker.session
    if session.settings.proxy.kind not in RANGED_PROXIES:
        try:
            return RawNameSftp(session.open_sftp(), sftp.names), lambda: None
        except SftpClientError as exc:
            LOG.info("One more channel for ranges was refused (%s); trying a "
                     "connection", exc)
    try:
        extra = SftpSession(session.settings).connect()
    except SftpClientError as exc:
        LOG.info("One more connection for ranges was refused (%s); fewer in use", exc)
        return None
    try:
        return RawNameSftp(extra.open_sftp(), sftp.names), extra.close
    except SftpClientError as exc:
        extra.close()
        LOG.info("One more channel for ranges was refused (%s); fewer in use", exc)
        return None


class _Job(object):
    """The ranges left to fetch, the first error, bytes done per range."""

    def __init__(self, full, size, progress):
        self.full, self.size, self.progress = full, size, progress
        self.todo = collections.deque((start, min(start + UNIT, size))
                                      for start in range(0, size, UNIT))
        self.lock = threading.Lock()
        self.error = None

    def take(self):
        with self.lock:
            return self.todo.popleft() if self.todo and self.error is None else None

    def fail(self, exc):
        with self.lock:
            if self.error is None:
                self.error = exc


def copy(worker, item, spare, progress=None):
    """Fetch ``item`` in ranges into its partial file, then rename it into place."""
    target, size, path = worker.target, item.source.size, item.path
    full = target.abs(path)
    target.makedirs(os.path.dirname(path.strip("/")))
    # No source signature in the name: a range-filled file has holes until every
    # range is in, so a killed run's copy must never be resumed (partials.py).
    temp = os.path.join(os.path.dirname(full), partials.partial_name(os.path.basename(full)))
    job = _Job(worker.source.abs(path), size, progress)
    helpers = min(spare, -(-size // UNIT) - 1)
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            threads = [threading.Thread(target=_helper, args=(worker, job, fd),
                                        name="sftp-range-%d" % n) for n in range(helpers)]
            for thread in threads:
                thread.start()
            _fetch(worker.source.sftp, job, fd)
            for thread in threads:
                thread.join()
        finally:
            os.close(fd)
        if job.error is not None:
            raise job.error
        if item.source.mtime is not None:
            os.utime(temp, (item.source.mtime, item.source.mtime))
        os.replace(temp, full)
    except (IOError, OSError) as exc:
        _remove(temp)
        raise TransferError("Cannot write %s in the managed folder: %s" % (
            path, exc.strerror or exc), path, "write") from exc
    except BaseException:
        _remove(temp)
        raise
    LOG.info("Fetched %s in %d-byte ranges over %d hand(s)", printable(path), UNIT,
             helpers + 1)


def _helper(worker, job, fd):
    """An extra hand taking ranges; one the server refuses just ends."""
    hand = open_hand(worker, worker.source.sftp)
    if hand is None:
        return
    sftp, close = hand
    try:
        _fetch(sftp, job, fd)
    except SftpClientError as exc:
        job.fail(exc)
    finally:
        try:
            sftp.close()
        finally:
            close()


def _fetch(sftp, job, fd):
    """Take ranges until none is left, writing each at its offset."""
    unit, depth = job.take(), None
    while unit is not None:
        try:
            depth = _fetch_range(sftp, job, fd, unit[0], unit[1], depth)
        except SftpClientError as exc:
            job.fail(exc)
            return
        unit = job.take()


def _fetch_range(sftp, job, fd, start, end, depth=None):
    """Bytes ``start`` to ``end`` of the file at offset ``start`` of ``fd``; the last
    range also asks one byte more, to see a file that grew. ``depth``: requests in
    flight the previous range of this hand ended with (returned for the next)."""
    with remote_errors("reading", job.full):
        handle = sftp.open(job.full, "rb")
        reader = PipelinedReader(sftp, handle, end, offset=start)
        reader.depth = max(reader.depth, depth or 0)
        try:
            offset, last = start, end == job.size
            while last or offset < end:          # the last range reads to the end
                data = reader.read()
                if not data:
                    break
                data = data if last else data[:end - offset]
                _pwrite(fd, data, offset)
                offset += len(data)
                if job.progress is not None:
                    job.progress.add_bytes(len(data))
        finally:
            reader.close()
    if offset != end:
        raise TransferError("%s changed while it was copied (listed with %d bytes, %d at "
                            "offset %d): it is copied again on the next run." % (
                                job.full, job.size, offset, start), job.full, "verify")
    return reader.depth


def _pwrite(fd, data, offset):
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
