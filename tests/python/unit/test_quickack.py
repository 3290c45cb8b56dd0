"""quickack.py: a proxied connection's socket asks for quick ACKs and still
behaves as the same socket (data, timeout); anything else is left alone."""
import socket

from sftp_client.connect.quickack import QuickAckSocket, quick_ack


def test_quick_ack_keeps_the_connection_and_its_timeout():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname())
    client.settimeout(7)
    peer, _ = server.accept()
    try:
        adopted = quick_ack(client)
        assert isinstance(adopted, QuickAckSocket) and adopted.gettimeout() == 7
        peer.sendall(b"hello")
        assert adopted.recv(5) == b"hello"
        adopted.sendall(b"back")
        assert peer.recv(4) == b"back"
        adopted.close()
    finally:
        peer.close()
        server.close()


def test_quick_ack_leaves_other_sockets_alone():
    one, two = socket.socketpair()
    try:
        wrapped = quick_ack(one)
        assert isinstance(wrapped, QuickAckSocket)      # a plain socket: adopted
        two.sendall(b"x")
        assert wrapped.recv(1) == b"x"                  # the option fails quietly
        wrapped.close()
    finally:
        two.close()

    class Special(socket.socket):
        pass

    special = Special()
    try:
        assert quick_ack(special) is special
    finally:
        special.close()
