"""One big upload over several SFTP channels: the file is cut into ranges that
each channel writes at their offsets into the ONE partial file; the partial is
then verified (the size the server holds) and committed once, by
``RemoteCommit.write_atomic`` like any upload (``fill`` replaces its one stream).

Why: a server's channel window caps what one channel has in flight (OpenSSH
advertises 2 MiB), so on a long link one channel moves at most a window per
round trip. Several channels each bring their own window.

Used for files of at least ``MIN_SIZE`` from a local managed folder (positioned
reads) to a remote tree, when the channel's round trip is ``LONG_RTT`` or more or
the connection goes through a proxy, with the channels the *Parallel transfers*
cap leaves spare, on servers that state their limits (limits@openssh.com:
OpenSSH; ProFTPD 1.3.8 was seen dropping the connection under writes on
several channels, so it and other servers keep one stream). Extra hands are channels on the worker's connection (a new
connection through a proxy, or when the server refuses channels); a server that
refuses both leaves the worker's own channel to write every range: one stream.

Resuming stays safe: a range is taken only while it lies fewer than ``ahead()``
ranges past the oldest range not yet acknowledged, so every byte below the
partial file's size minus ``RESUME_MARGIN`` is written and acknowledged, and that
is where a later attempt or run continues (``RemoteCommit.resume_offset``), one
stream or ranges alike. Twice as many ranges as hands may be out, so that a hand
takes its next range while its last one's acknowledgements are on the way.
"""
import logging
import os
import threading

from paramiko.sftp import CMD_STATUS, CMD_WRITE, int64

from sftp_client.entries import printable
from sftp_client.errors import SftpClientError, TransferError
from sftp_client.remote import commit
from sftp_client.remote.error_map import QUIET_ERRORS, remote_errors
from sftp_client.remote.flight import Flight
from sftp_client.remote.reader import supported
from sftp_client.remote.tree import RemoteTree
from sftp_client.sync import ranges
from sftp_client.sync.folder_local import LocalFolderTree

LOG = logging.getLogger(__name__)

#: Smallest file sent in ranges: below, the extra channels cost more than they bring.
MIN_SIZE = 64 * 1024 * 1024
#: Bytes per range: small, so that the unacknowledged tail stays within the resume
#: margin with several ranges per hand at once.
UNIT = 4 * 1024 * 1024
#: WRITE requests one channel keeps unanswered: the server's window holds them back
#: anyway; more would only wait in this process.
MAX_WRITES = 64
#: Seconds a hand waits for the oldest range when it may not take the next one.
WAIT = 0.05


def filler(worker, item, spare):
    """``fill`` for ``write_atomic`` when ``item`` should go up in ranges by
    ``worker`` with ``spare`` extra channels allowed, else None (one stream)."""
    if worker is None or spare < 1 or item.source.size < MIN_SIZE:
        return None
    source, target = worker.source, worker.target
    if not (isinstance(source, LocalFolderTree) and isinstance(target, RemoteTree)
            and supported(target.sftp) and target.limits().stated
            and ranges.long_or_proxied(worker, target)):
        return None
    hands = min(spare, ahead() // 2 - 1)

    def fill(reader, handle, temp, offset, progress):
        _fill(worker, item, hands, reader, handle, temp, offset, progress)
    return fill


def ahead():
    """Ranges at most between the oldest unacknowledged one and the newest taken."""
    return max(2, commit.RESUME_MARGIN // UNIT)


class _Job(object):
    """Ranges to give out in order, each with the bytes still unacknowledged; the
    oldest unfinished range bounds how far ahead a hand may take one."""

    def __init__(self, path, offset, size, progress):
        self.path, self.size, self.progress = path, size, progress
        first = offset // UNIT
        self.units = [(start, min(start + UNIT, size))
                      for start in range(first * UNIT, size, UNIT)]
        self.left = [end - start for start, end in self.units]
        self.next = self.oldest = 0
        self.ahead = ahead()
        self.hands = 1                   # the worker's own channel, then each extra
        self.error = None
        self.cond = threading.Condition()

    def take(self):
        """The next ``(index, start, end)``; "wait" while it would be too far ahead
        of the oldest unfinished range; None when none is left or one hand failed."""
        with self.cond:
            if self.error is not None or self.next >= len(self.units):
                return None
            if self.next >= self.oldest + self.ahead:
                return "wait"
            index, self.next = self.next, self.next + 1
            return (index,) + self.units[index]

    def wait(self):
        with self.cond:
            if self.error is None and self.next >= self.oldest + self.ahead:
                self.cond.wait(WAIT)

    def acked(self, index, nbytes):
        with self.cond:
            self.left[index] -= nbytes
            while self.oldest < len(self.left) and self.left[self.oldest] == 0:
                self.oldest += 1
            self.cond.notify_all()
        if self.progress is not None:
            self.progress.add_bytes(nbytes)

    def fail(self, exc):
        with self.cond:
            if self.error is None:
                self.error = exc
            self.cond.notify_all()

    def complete(self):
        return self.error is None and self.oldest == len(self.units)


def _fill(worker, item, hands, reader, handle, temp, offset, progress):
    size, path = item.source.size, item.path
    job = _Job(path, offset, size, progress)
    fd = reader.fileno()
    write_size = worker.target.limits().write_size
    threads = [threading.Thread(target=_extra, name="sftp-upload-range-%d" % n,
                                args=(worker, temp, job, fd, write_size))
               for n in range(min(hands, max(len(job.units) - 1, 0)))]
    for thread in threads:
        thread.start()
    try:
        _send(worker.target.sftp, handle.handle, job, fd, write_size)
    except BaseException as exc:
        job.fail(exc)
    for thread in threads:
        thread.join()
    if job.error is not None:
        raise job.error
    if not job.complete():
        raise TransferError("%s: not every range was written." % path, path, "write",
                            transient=True)
    now = os.fstat(fd).st_size
    if now != size:
        raise TransferError("%s changed while it was copied (listed with %d bytes, %d "
                            "now): it is copied again on the next run." % (
                                path, size, now), path, "verify")
    LOG.info("Sent %s in %d-byte ranges over %d channel(s)", printable(path), UNIT,
             job.hands)


def _extra(worker, temp, job, fd, write_size):
    """One more hand (opened here, in parallel with the others): its own handle
    on the partial file, ranges until none is left; a refused hand just ends,
    any other failure stops the whole job (the attempt then fails)."""
    hand = ranges.open_hand(worker, worker.target.sftp)
    if hand is None:
        return
    sftp, close = hand
    with job.cond:
        job.hands += 1
    try:
        with remote_errors("writing", temp):
            handle = sftp.open(temp, "r+b")
            try:
                _send(sftp, handle.handle, job, fd, write_size)
            finally:
                handle.close()
    except SftpClientError as exc:
        job.fail(exc)
    except QUIET_ERRORS as exc:
        job.fail(TransferError("Writing %s failed: %s" % (temp, exc), temp, "write",
                               transient=True))
    finally:
        try:
            sftp.close()
        finally:
            close()


def _send(sftp, handle, job, fd, write_size):
    """Take ranges and write them at their offsets, requests in flight; each
    acknowledgement counts toward its range. Returns once all are answered."""
    flight = Flight(sftp, cork=False)    # channels share the socket: never corked
    try:
        taken = job.take()
        while taken is not None:
            if taken == "wait":
                if len(flight):
                    flight.step()
                else:
                    job.wait()
            else:
                _send_range(sftp, flight, handle, job, fd, write_size, taken)
            taken = job.take()
    finally:
        while len(flight):
            flight.step()


def _send_range(sftp, flight, handle, job, fd, write_size, taken):
    index, offset, end = taken
    while offset < end:
        data = os.pread(fd, min(write_size, end - offset), offset)
        if not data:
            raise TransferError("%s changed while it was copied (nothing at byte %d): it "
                                "is copied again on the next run." % (job.path, offset),
                                job.path, "verify")
        flight.send(_ack(sftp, job, index, len(data)), CMD_WRITE, handle, int64(offset),
                    data)
        offset += len(data)
        while len(flight) >= MAX_WRITES or (len(flight) and _answered(sftp)):
            flight.step()


def _answered(sftp):
    """Whether an answer waits on the channel (acknowledgements counted early)."""
    try:
        return sftp.get_channel().recv_ready()
    except AttributeError:
        return False


def _ack(sftp, job, index, nbytes):
    def handler(t, msg):
        if t != CMD_STATUS:
            raise IOError("unexpected SFTP answer type %r to a write" % t)
        sftp._convert_status(msg)       # raises the server's refusal
        job.acked(index, nbytes)
    return handler
