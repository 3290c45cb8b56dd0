"""Requests in flight on one SFTP channel: sent without waiting, answers handled
in request order, bursts of requests corked into few TCP segments. Uses
SFTPClient's request plumbing (``_async_request`` / ``_read_response``), like
``reader.py``.
"""
import collections
import math
import socket
import time

#: Bytes kept in flight per measured bandwidth-delay product: twice, so that a
#: rate held down by the current depth lets the depth double each round trip
#: (like TCP's slow start), and a link filled keeps a round trip of headroom.
BDP_FACTOR = 2
#: Share of the channel window in flight at most: the server cannot send more
#: than the window, and requests beyond it would only queue at the server.
WINDOW_SHARE = 0.75
#: Round trip (s) under which the depth stays at its floor: the floor (2 MiB)
#: already fills 1 GB/s there, and with nothing but a depth-bound rate to go
#: by, growing would only put more at risk of a cut (and in memory).
GROW_RTT = 0.002
#: Round trips timed to find a channel's round-trip time (the smallest counts).
RTT_SAMPLES = 1


def depth_for(rate, rtt, request_size, window, floor):
    """Requests of ``request_size`` bytes to keep in flight on a channel that
    moved ``rate`` bytes/s over a round trip of ``rtt`` s: BDP_FACTOR times the
    bandwidth-delay product, at least ``floor``, at most what WINDOW_SHARE of the
    channel's ``window`` (bytes) holds; the floor on round trips under
    GROW_RTT. Pure: no I/O."""
    if rtt < GROW_RTT:
        return floor
    ceiling = max(floor, int(window * WINDOW_SHARE) // request_size)
    wanted = int(math.ceil(BDP_FACTOR * max(rate, 0.0) * max(rtt, 0.0) / request_size))
    return max(floor, min(ceiling, wanted))


def round_trip(sftp, path="."):
    """The channel's round-trip time in seconds: the quickest of RTT_SAMPLES
    ``stat`` requests of ``path`` (a loaded machine only ever adds to one)."""
    best = None
    for _ in range(RTT_SAMPLES):
        started = time.perf_counter()
        sftp.stat(path)
        spent = time.perf_counter() - started
        best = spent if best is None else min(best, spent)
    return best


class Cork(object):
    """Requests sent inside ``with cork:`` leave in as few TCP segments as the
    kernel can make (Linux TCP_CORK): a relay (SOCKS, HTTP CONNECT) then forwards
    one segment rather than one per request. A no-op where unavailable."""

    def __init__(self, sftp):
        try:
            self.sock = sftp.get_channel().get_transport().sock
        except AttributeError:
            self.sock = None
        if not hasattr(socket, "TCP_CORK") or not hasattr(self.sock, "setsockopt"):
            self.sock = None

    def _set(self, value):
        if self.sock is not None:
            try:
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, value)
            except (OSError, socket.error):
                self.sock = None           # not a TCP socket: never again

    def __enter__(self):
        self._set(1)
        return self

    def __exit__(self, *exc_info):
        self._set(0)                       # always uncorked before waiting


class _NoCork(object):
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass


_NO_CORK = _NoCork()


class Flight(object):
    """Requests sent without waiting; answers handled in request order."""

    def __init__(self, sftp, cork=True):
        self.sftp = sftp
        self.cork = Cork(sftp) if cork else _NO_CORK
        self._answers = {}
        self._queue = collections.deque()      # (num, handler)

    def send(self, handler, t, *args):
        self._queue.append((self.sftp._async_request(self, t, *args), handler))

    def _async_response(self, t, msg, num):
        self._answers[num] = (t, msg)

    def __len__(self):
        return len(self._queue)

    def step(self):
        """Wait for the oldest request's answer, then run the handlers of every
        answer already in, in request order; what they send leaves together."""
        num = self._queue[0][0]
        while num not in self._answers:
            self.sftp._read_response()
        with self.cork:
            while self._queue and self._queue[0][0] in self._answers:
                num, handler = self._queue.popleft()
                t, msg = self._answers.pop(num)
                handler(t, msg)
