"""Pipelined SFTP requests: a file reader driven by the reading thread itself,
and the end of a file upload in one round trip.

paramiko's own ``prefetch()`` runs a helper thread that sleeps between batches;
when the reader drains every answer during such a sleep, paramiko decides the
prefetch is over and reads the rest of the file one 32 KiB round trip at a time,
while the thread keeps buffering answers nobody reads (unbounded memory). This
reader keeps ``depth`` READ requests of ``request_size`` bytes in flight from the
thread that consumes them: no extra thread, no sleep, bounded memory.

It asks for one byte more than the listed size, so the end of the file is known
without a further round trip and a file that grew is noticed (the caller checks
the byte count). Servers that answer short reads (they cap the read length) get
the gap asked again and smaller requests from then on; a server that refuses
large reads altogether gets 32 KiB requests.

``finish_write`` ends an upload: FSTAT (the size the server holds), FSETSTAT (the
modification time) and CLOSE are sent together and answered in one round trip,
where paramiko would take three.

Both use SFTPClient's request plumbing (``_async_request`` / ``_read_response``,
the same calls paramiko's prefetch makes, stable since paramiko 1.x); on a
paramiko without them, ``supported()`` is False and callers use prefetch.
"""
import collections
import time

from sftp_client.remote.flight import depth_for

from paramiko import SFTPAttributes
from paramiko.sftp import (CMD_ATTRS, CMD_DATA, CMD_EXTENDED, CMD_EXTENDED_REPLY, CMD_FSETSTAT,
                           CMD_FSTAT, CMD_READ, CMD_STATUS)

try:
    from paramiko.sftp import int64
except ImportError:  # pragma: no cover - very old paramiko
    int64 = None

#: Bytes per READ request: OpenSSH answers up to 255 KiB per read; 128 KiB with
#: 16 in flight (2 MiB) measured ~1.6x the throughput of 32 KiB requests here.
REQUEST_SIZE = 128 * 1024
#: READ requests in flight per file at first, and at least: more when the
#: measured round trip and rate ask for it (flight.depth_for), up to the window.
DEPTH = 16
#: The channel's receive window when paramiko does not say (its default).
DEFAULT_WINDOW = 2 * 1024 * 1024
#: The size every SFTP server must accept (draft-ietf-secsh-filexfer: 32768 + headers).
MIN_REQUEST_SIZE = 32 * 1024


#: Bytes per WRITE request when the server states its limits (limits@openssh.com);
#: otherwise paramiko's 32 KiB, which every server accepts.
WRITE_SIZE = 128 * 1024


class Limits(object):
    """What the server accepts per request (limits@openssh.com), or the sizes
    every server must accept when it does not say."""

    def __init__(self, max_read=None, max_write=None):
        self.stated = max_read is not None
        self.read_size = min(REQUEST_SIZE, max_read) if max_read else REQUEST_SIZE
        self.write_size = min(WRITE_SIZE, max_write) if max_write else MIN_REQUEST_SIZE
        self.read_size = max(self.read_size, MIN_REQUEST_SIZE)
        self.write_size = max(self.write_size, MIN_REQUEST_SIZE)


def server_limits(sftp):
    """Ask the server its request limits (OpenSSH 8.6+ answers; others refuse,
    which costs one round trip per channel)."""
    if not supported(sftp):
        return Limits()
    try:
        t, msg = sftp._request(CMD_EXTENDED, "limits@openssh.com")
    except (IOError, OSError):       # SSH_FX_OP_UNSUPPORTED and the like
        return Limits()
    if t != CMD_EXTENDED_REPLY:
        return Limits()
    msg.get_int64()                  # max packet length
    max_read, max_write = msg.get_int64(), msg.get_int64()
    return Limits(max_read or None, max_write or None)


def supported(sftp):
    return int64 is not None and all(hasattr(sftp, name) for name in (
        "_async_request", "_read_response", "_convert_status"))


class PipelinedReader(object):
    """``read()`` returns the file's bytes in order, one answer at a time, then
    b"" at the end. One thread only: the SFTP channel must not be read by
    another thread while this reader waits (each worker has its own channel).

    The requests in flight start at ``depth`` and follow the bandwidth-delay
    product measured on the way (``flight.depth_for``): each round of ``depth``
    answers gives the rate, the quickest answer the round trip. Memory stays
    bounded by the channel window."""

    def __init__(self, sftp, handle, size, request_size=None, depth=None, offset=0):
        self.sftp = sftp
        self.handle = handle
        self.size = size
        self.limit = size + 1            # one byte past the end: EOF seen at once
        self.request_size = max(MIN_REQUEST_SIZE, request_size or REQUEST_SIZE)
        self.depth = self.floor = max(1, depth or DEPTH)
        self.window = _window(sftp)
        self._next = offset              # offset of the next request to issue
        self._pending = collections.deque()   # (num, offset, length) in file order
        self._answers = {}               # num -> bytes or exception
        self._dropped = set()            # nums whose answers are to be thrown away
        self._done = False
        self._sent = {}                  # num -> time sent
        self.rtt = None                  # quickest answer seen (s)
        self._round = (0, 0, None)       # answers, bytes, start of this round

    # --- paramiko calls this for every answer to one of our requests -----------

    def _async_response(self, t, msg, num):
        sent = self._sent.pop(num, None)
        if num in self._dropped:
            self._dropped.discard(num)
            return
        if sent is not None:
            spent = time.perf_counter() - sent
            self.rtt = spent if self.rtt is None or spent < self.rtt else self.rtt
        if t == CMD_DATA:
            self._answers[num] = msg.get_string()
        elif t == CMD_STATUS:
            try:
                self.sftp._convert_status(msg)
                self._answers[num] = b""
            except EOFError:             # SSH_FX_EOF: nothing at this offset
                self._answers[num] = b""
            except (IOError, OSError) as exc:
                self._answers[num] = exc
        else:
            self._answers[num] = IOError("unexpected SFTP answer type %r to a read" % t)

    # --- reading ----------------------------------------------------------------

    def _issue(self):
        while len(self._pending) < self.depth and self._next < self.limit:
            length = min(self.request_size, self.limit - self._next)
            self._pending.append((self._request(self._next, length), self._next, length))
            self._next += length

    def _request(self, offset, length):
        num = self.sftp._async_request(self, CMD_READ, self.handle.handle, int64(offset),
                                       int(length))
        self._sent[num] = time.perf_counter()
        return num

    def _measure(self, nbytes):
        """Count one answer; after a round of ``depth`` answers, size the depth
        to the rate and round trip measured."""
        answers, total, started = self._round
        now = time.perf_counter()
        if started is None:
            self._round = (0, 0, now)    # the first answer starts the clock
            return
        answers, total = answers + 1, total + nbytes
        if answers < self.depth or now <= started:
            self._round = (answers, total, started)
            return
        self.depth = depth_for(total / (now - started), self.rtt or 0.0,
                               self.request_size, self.window, self.floor)
        self._round = (0, 0, now)

    def _wait(self, num):
        while num not in self._answers:
            self.sftp._read_response()
        return self._answers.pop(num)

    def read(self, size=None):
        while not self._done:
            self._issue()
            if not self._pending:
                break
            num, offset, length = self._pending.popleft()
            data = self._wait(num)
            if isinstance(data, Exception):
                self._recover(data, offset)
                continue
            if len(data) > length:
                self._finish()
                raise IOError("the server answered %d bytes to a read of %d at offset %d"
                              % (len(data), length, offset))
            end = offset + len(data)
            if not data:
                break                    # end of file (earlier than listed: caller sees)
            self._measure(len(data))
            if len(data) < length and end < self.size:
                # The server capped the read: ask for the gap first, smaller from now on.
                self.request_size = max(len(data), 1024)
                self._pending.appendleft((self._request(end, offset + length - end), end,
                                          offset + length - end))
            elif len(data) < length:
                self._done = True        # the listed end reached: the file did not grow
            return data
        self._finish()
        return b""

    def _recover(self, exc, offset):
        """A failed READ: servers refusing large reads get 32 KiB ones; anything
        else (permission, lost file, ...) is the caller's error."""
        if self.request_size <= MIN_REQUEST_SIZE or getattr(exc, "errno", None) is not None:
            self._finish()
            raise exc
        self.request_size = MIN_REQUEST_SIZE
        self._drop_pending()
        self._next = offset

    def _drop_pending(self):
        self._sent.clear()
        for num, _, _ in self._pending:
            if num in self._answers:
                del self._answers[num]
            else:
                self._dropped.add(num)
        self._pending.clear()

    def _finish(self):
        self._done = True
        self._drop_pending()

    def close(self):
        """Forget outstanding answers and close the remote handle."""
        self._finish()
        self.handle.close()


def _window(sftp):
    """The channel's receive window (bytes): what the server may send unasked."""
    try:
        return int(sftp.get_channel().in_window_size)
    except (AttributeError, TypeError, ValueError):
        return DEFAULT_WINDOW


def open_pipelined(sftp, path, size=None, offset=0, request_size=None):
    """An object with ``read()`` and ``close()`` for the remote file ``path`` of
    ``size`` bytes (asked when None), from byte ``offset`` on: a PipelinedReader
    when ``sftp`` allows it, else the paramiko handle itself with its prefetch."""
    handle = sftp.open(path, "rb")
    try:
        if size is None:
            size = handle.stat().st_size
        if supported(sftp):
            return PipelinedReader(sftp, handle, size, request_size=request_size,
                                   offset=offset)
        handle.seek(offset)
        if size > offset:
            handle.prefetch(size)
        return handle
    except BaseException:
        handle.close()
        raise


class _Answers(object):
    """Requests sent without waiting; their answers collected by request number."""

    def __init__(self, sftp):
        self.sftp = sftp
        self._answers = {}

    def send(self, t, *args):
        return self.sftp._async_request(self, t, *args)

    def _async_response(self, t, msg, num):
        if t == CMD_ATTRS:
            self._answers[num] = SFTPAttributes._from_msg(msg)
        elif t == CMD_STATUS:
            try:
                self.sftp._convert_status(msg)
                self._answers[num] = None
            except EOFError:
                self._answers[num] = IOError("unexpected end-of-file status")
            except (IOError, OSError) as exc:
                self._answers[num] = exc
        else:
            self._answers[num] = IOError("unexpected SFTP answer type %r" % t)

    def result(self, num):
        """The answer (attributes or None); raises the server's error."""
        while num not in self._answers:
            self.sftp._read_response()
        answer = self._answers.pop(num)
        if isinstance(answer, Exception):
            raise answer
        return answer


def finish_write(sftp, handle, mtime=None):
    """Flush and close the pipelined write ``handle``, asking on the way for the
    size the server holds and, when ``mtime`` is given, setting the file's time.
    Returns ``(size, setstat_error)``: ``setstat_error`` is the server's refusal
    (an IOError) or None. Without the request plumbing: three round trips, same
    result."""
    if not supported(sftp):
        handle.close()
        return None, None
    handle.flush()                 # every write sent before the FSTAT
    answers = _Answers(sftp)
    fstat = answers.send(CMD_FSTAT, handle.handle)
    fsetstat = None
    if mtime is not None:
        attrs = SFTPAttributes()
        attrs.st_mtime = int(mtime)
        attrs.st_atime = int(time.time())    # the partial's lease (partials.py)
        fsetstat = answers.send(CMD_FSETSTAT, handle.handle, attrs)
    handle.close()                 # waits for the writes' answers, then CLOSE's
    size = answers.result(fstat).st_size
    refusal = None
    if fsetstat is not None:
        try:
            answers.result(fsetstat)
        except (IOError, OSError) as exc:
            refusal = exc
    return size, refusal
