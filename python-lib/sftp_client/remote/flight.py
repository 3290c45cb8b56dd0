"""Requests in flight on one SFTP channel: sent without waiting, answers handled
in request order, bursts of requests corked into few TCP segments. Uses
SFTPClient's request plumbing (``_async_request`` / ``_read_response``), like
``reader.py``.
"""
import collections
import socket


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


class Flight(object):
    """Requests sent without waiting; answers handled in request order."""

    def __init__(self, sftp):
        self.sftp = sftp
        self.cork = Cork(sftp)
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
