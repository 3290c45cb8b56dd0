"""The bench's long-link relay (tests/bench/relay.py), functionally: bytes pass
through intact in both directions and each way adds its delay. Its rates are
checked by the bench's own self-check, never here (no timings in the suite)."""
import os
import socket
import threading
import time

from bench.relay import Relay


def _echo_server():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        conn, _ = listener.accept()
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
        conn.close()
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def test_bytes_pass_intact_and_a_round_trip_takes_the_delay():
    payload = os.urandom(3 * 1024 * 1024 + 17)
    with Relay(("127.0.0.1", _echo_server()), rtt=0.05, rate_bits=400e6) as relay:
        sock = socket.create_connection(("127.0.0.1", relay.port))
        started = time.perf_counter()
        sock.sendall(b"ping")
        assert sock.recv(4) == b"ping"
        round_trip = time.perf_counter() - started
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        received = bytearray()
        while len(received) < len(payload):
            received += sock.recv(1 << 20)
        sender.join()
        sock.close()
    assert bytes(received) == payload
    assert round_trip >= 0.05
