#!/usr/bin/env python3
"""A long link in user space: a loopback TCP relay that adds a fixed one-way delay
and one bottleneck rate shared by every connection (this kernel has no netem).

Each chunk read from one side is stamped on arrival and queued behind the chunks
already waiting for the bottleneck of its direction (one per direction, shared by
all connections): it leaves the bottleneck ``len / rate`` after the one before it,
then reaches the other side ``delay`` later. A connection's direction stops
reading while it holds about twice the bandwidth-delay product, so TCP's own
flow control pushes back on the sender, as a full router queue would.

Usage:
  relay.py --target HOST:PORT --rtt-ms 80 --rate-mbit 400 [--port N]
      prints ``listening PORT`` once ready, relays until killed;
  relay.py --selfcheck --rtt-ms 80 --rate-mbit 400
      an echo sees the RTT, one stream reaches the rate, two streams share it.
"""
import argparse
import asyncio
import collections
import socket
import sys
import threading
import time

#: Bytes read from a socket at once: a few SSH packets; small next to the queue.
CHUNK = 64 * 1024
#: Smallest queue per connection direction, for tiny bandwidth-delay products.
MIN_QUEUE = 256 * 1024


class Bottleneck(object):
    """One direction of the link: chunks leave it one after the other at ``rate``
    bytes per second, and arrive ``delay`` seconds later."""

    def __init__(self, rate, delay):
        self.rate, self.delay = float(rate), float(delay)
        self.free_at = 0.0

    def release_time(self, nbytes, now):
        start = max(now, self.free_at)
        self.free_at = start + nbytes / self.rate
        return self.free_at + self.delay


class _Direction(object):
    """One direction of one relayed connection: a reader filling a bounded
    queue, a writer releasing each chunk at its time."""

    def __init__(self, reader, writer, bottleneck, cap):
        self.reader, self.writer, self.link, self.cap = reader, writer, bottleneck, cap
        self.queue = collections.deque()
        self.held = 0
        self.ready, self.space = asyncio.Event(), asyncio.Event()

    async def receive(self):
        loop = asyncio.get_event_loop()
        while True:
            while self.held >= self.cap:
                self.space.clear()
                await self.space.wait()
            try:
                data = await self.reader.read(CHUNK)
            except (ConnectionError, OSError):
                data = b""
            if not data:
                self.queue.append((None, None))
                self.ready.set()
                return
            self.queue.append((self.link.release_time(len(data), loop.time()), data))
            self.held += len(data)
            self.ready.set()

    async def send(self):
        loop = asyncio.get_event_loop()
        try:
            while True:
                while not self.queue:
                    self.ready.clear()
                    await self.ready.wait()
                when, data = self.queue.popleft()
                if data is None:
                    if self.writer.can_write_eof():
                        self.writer.write_eof()
                    return
                wait = when - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self.writer.write(data)
                self.held -= len(data)
                self.space.set()
                await self.writer.drain()
        except (ConnectionError, OSError):
            return


class Relay(object):
    """Listen on 127.0.0.1:``port`` (0: a free one) and relay each connection to
    ``target`` through the two shared bottlenecks."""

    def __init__(self, target, rtt, rate_bits, port=0):
        self.target, self.port = target, port
        self.rtt, self.rate = float(rtt), rate_bits / 8.0
        self.up = Bottleneck(self.rate, self.rtt / 2)      # client -> server
        self.down = Bottleneck(self.rate, self.rtt / 2)    # server -> client
        self.cap = max(MIN_QUEUE, int(2 * self.rate * self.rtt))
        self.connections = 0
        self._loop = self._server = self._thread = None

    async def _handle(self, client_reader, client_writer):
        self.connections += 1
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        for writer in (client_writer, server_writer):
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ways = [_Direction(client_reader, server_writer, self.up, self.cap),
                _Direction(server_reader, client_writer, self.down, self.cap)]
        await asyncio.gather(*[coro for way in ways for coro in (way.receive(), way.send())])
        for writer in (client_writer, server_writer):
            writer.close()

    async def _start(self):
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def serve_forever(self):
        """Run in this thread until killed."""
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        print("listening %d" % self.port, flush=True)
        self._loop.run_forever()

    def start(self):
        """Run in a daemon thread (tests); returns once listening."""
        started = threading.Event()

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start())
            started.set()
            self._loop.run_forever()
            self._server.close()
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

        self._thread = threading.Thread(target=run, name="relay", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the relay did not start")
        return self

    def stop(self):
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# --- self-check ----------------------------------------------------------------------

def _serve(handler):
    """A loopback server running ``handler(conn)`` per connection; its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def accept():
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def _echo(conn):
    while True:
        data = conn.recv(65536)
        if not data:
            return
        conn.sendall(data)


def _sink(conn):
    """Counts what it receives, then answers the count."""
    total, tail = 0, b""
    while True:
        data = conn.recv(1 << 20)
        total += len(data)
        tail = (tail + data)[-4:]
        if not data or tail == b"END\n":
            conn.sendall(b"%d\n" % total)
            return


def _stream(port, seconds, result, index):
    """Send for ``seconds``; the rate the sink saw, end to end (bytes/s)."""
    sock = socket.create_connection(("127.0.0.1", port))
    block = b"x" * (1 << 16)
    started, sent = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        sock.sendall(block)
        sent += len(block)
    sock.sendall(b"END\n")
    sock.recv(64)
    result[index] = (sent + 4) / (time.perf_counter() - started)
    sock.close()


def selfcheck(rtt, rate_bits, relay_port=None, seconds=4.0):
    """Measure the relay: the echo's round trip, one stream, two streams at once.
    Returns a dict of the measures and whether each is within 15 % of its goal."""
    echo_port, sink_port = _serve(_echo), _serve(_sink)
    rate = rate_bits / 8.0
    with Relay(("127.0.0.1", echo_port), rtt, rate_bits) as echo_relay:
        sock = socket.create_connection(("127.0.0.1", echo_relay.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        trips = []
        for _ in range(5):
            started = time.perf_counter()
            sock.sendall(b"ping")
            sock.recv(16)
            trips.append(time.perf_counter() - started)
        sock.close()
    measures = {"rtt_ms": min(trips) * 1000}
    with Relay(("127.0.0.1", sink_port), rtt, rate_bits) as relay:
        one = [None]
        _stream(relay.port, seconds, one, 0)
        two = [None, None]
        threads = [threading.Thread(target=_stream, args=(relay.port, seconds, two, i))
                   for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    measures.update(one_stream_mbit=one[0] * 8 / 1e6,
                    two_streams_mbit=[r * 8 / 1e6 for r in two])
    total_two = sum(two)
    measures["ok"] = {
        "rtt": abs(measures["rtt_ms"] / 1000 - rtt) <= 0.15 * rtt + 0.002,
        "one stream": abs(one[0] - rate) <= 0.15 * rate,
        "two streams share": (abs(total_two - rate) <= 0.15 * rate
                              and min(two) >= 0.35 * rate)}
    return measures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", help="HOST:PORT to relay to")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rtt-ms", type=float, required=True)
    parser.add_argument("--rate-mbit", type=float, required=True)
    parser.add_argument("--selfcheck", action="store_true")
    args = parser.parse_args(argv)
    rtt, rate_bits = args.rtt_ms / 1000.0, args.rate_mbit * 1e6
    if args.selfcheck:
        result = selfcheck(rtt, rate_bits)
        print(result)
        return 0 if all(result["ok"].values()) else 1
    host, port = args.target.rsplit(":", 1)
    Relay((host, int(port)), rtt, rate_bits, args.port).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
