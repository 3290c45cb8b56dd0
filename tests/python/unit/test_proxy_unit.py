"""proxy.open_socket against in-process fake servers on 127.0.0.1.

Fake HTTP CONNECT and SOCKS5 proxies pin the handshake details a real proxy rarely
shows: bytes right after the headers, answers split across segments, oversized or
non-HTTP answers, and every status and reply code the module maps.
"""
import base64
import logging
import socket
import threading
import time

import pytest

from sftp_client.connect import proxy as proxy_module
from sftp_client.errors import (ConnectError, ConnectTimeoutError, ProxyAuthError,
                                ProxyProtocolError, ProxyRefusedError, ProxyTimeoutError,
                                ProxyUnreachableError)
from sftp_client.connect.proxy import open_socket
from sftp_client.connect.quickack import QuickAckSocket
from sftp_client.connect.settings import ProxySettings

PASSWORD = "Sup3r-s3cret-pw"
DEST_HOST = "sftp.example.test"
DEST_PORT = 2222
BANNER = b"SSH-2.0-FakeServer_1.0\r\n"


class FakeServer(object):
    """Accepts one connection on a free loopback port and runs ``script(conn, server)``
    in a thread; ``received`` collects what the script read."""

    def __init__(self, script):
        self.script = script
        self.received = b""
        self.done = threading.Event()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.script(conn, self)
            except OSError:
                pass

    def read_until(self, conn, marker):
        while marker not in self.received:
            chunk = conn.recv(4096)
            if not chunk:
                break
            self.received += chunk
        return self.received

    def close(self):
        self.done.set()
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def serve():
    servers = []

    def start(script):
        server = FakeServer(script)
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.close()


def http_answer(*chunks, pause=0.05, hold=False):
    """A CONNECT handler: read the request, send ``chunks`` one TCP segment each."""
    def script(conn, server):
        server.read_until(conn, b"\r\n\r\n")
        for chunk in chunks:
            conn.sendall(chunk)
            time.sleep(pause)
        if hold:
            server.done.wait(10)
    return script


def http_proxy(port, user="", password=""):
    return ProxySettings(kind="http", hostname="127.0.0.1", port=port, user=user,
                         password=password)


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data


def assert_no_secret(err, caplog, secret=PASSWORD):
    for text in (str(err), repr(err), caplog.text):
        assert secret not in text
    token = base64.b64encode(("user:%s" % secret).encode()).decode()
    assert token not in str(err) and token not in caplog.text


def sent_authorization(server):
    for line in server.received.split(b"\r\n"):
        if line.lower().startswith(b"proxy-authorization:"):
            scheme, token = line.split(b":", 1)[1].split()
            assert scheme == b"Basic"
            return base64.b64decode(token).decode()
    return None


# --- HTTP CONNECT: success ----------------------------------------------------------

def test_http_keeps_bytes_sent_right_after_the_headers(serve):
    server = serve(http_answer(b"HTTP/1.1 200 Connection established\r\n\r\n" + BANNER,
                               hold=True))
    with open_socket(DEST_HOST, DEST_PORT, http_proxy(server.port), 2) as sock:
        assert read_exactly(sock, len(BANNER)) == BANNER
    assert server.received.startswith(b"CONNECT sftp.example.test:2222 HTTP/1.1\r\n")
    assert b"\r\nHost: sftp.example.test:2222\r\n" in server.received
    assert sent_authorization(server) is None


def test_http_reads_an_answer_split_across_segments(serve):
    server = serve(http_answer(b"HTTP/1.0 200 OK\r", b"\nProxy-Agent: fake\r\n\r",
                               b"\n" + BANNER[:3], BANNER[3:], hold=True))
    with open_socket(DEST_HOST, DEST_PORT, http_proxy(server.port), 2) as sock:
        assert read_exactly(sock, len(BANNER)) == BANNER


def test_http_reads_an_answer_sent_byte_by_byte(serve):
    answer = b"HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n" + BANNER[:1]
    chunks = [answer[i:i + 1] for i in range(len(answer))]
    server = serve(http_answer(*chunks, pause=0.002, hold=True))
    with open_socket(DEST_HOST, DEST_PORT, http_proxy(server.port), 2) as sock:
        assert read_exactly(sock, 1) == b"S"


def test_http_accepts_bare_lf_line_ends(serve):
    server = serve(http_answer(b"HTTP/1.1 200 OK\n\n" + BANNER, hold=True))
    with open_socket(DEST_HOST, DEST_PORT, http_proxy(server.port), 2) as sock:
        assert read_exactly(sock, len(BANNER)) == BANNER


def test_http_sends_basic_credentials(serve):
    server = serve(http_answer(b"HTTP/1.1 200 OK\r\n\r\n", hold=True))
    with open_socket(DEST_HOST, DEST_PORT, http_proxy(server.port, "user", PASSWORD), 2):
        pass
    assert sent_authorization(server) == "user:" + PASSWORD


def test_http_sends_credentials_with_an_empty_password(serve):
    server = serve(http_answer(b"HTTP/1.1 200 OK\r\n\r\n", hold=True))
    with open_socket(DEST_HOST, DEST_PORT, http_proxy(server.port, "user"), 2):
        pass
    assert sent_authorization(server) == "user:"


def test_http_brackets_ipv6_destinations(serve):
    server = serve(http_answer(b"HTTP/1.1 200 OK\r\n\r\n", hold=True))
    with open_socket("::1", 22, http_proxy(server.port), 2):
        pass
    assert server.received.startswith(b"CONNECT [::1]:22 HTTP/1.1\r\nHost: [::1]:22\r\n")


def test_http_socket_is_tuned_for_ssh(serve):
    server = serve(http_answer(b"HTTP/1.1 200 OK\r\n\r\n", hold=True))
    with open_socket(DEST_HOST, DEST_PORT, http_proxy(server.port), 3) as sock:
        assert type(sock) is QuickAckSocket    # a plain socket asking for quick ACKs
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        assert sock.gettimeout() == 3


# --- HTTP CONNECT: failures ----------------------------------------------------------

def open_failing(server, caplog, user="", password=PASSWORD, timeout=2):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(Exception) as info:
        open_socket(DEST_HOST, DEST_PORT, http_proxy(server.port, user, password), timeout)
    err = info.value
    assert "HTTP proxy 127.0.0.1:%d" % server.port in str(err)
    assert_no_secret(err, caplog)
    return err


@pytest.mark.parametrize("code", [407, 401])
def test_http_auth_required_without_user(serve, caplog, code):
    server = serve(http_answer(b"HTTP/1.1 %d Proxy Authentication Required\r\n"
                               b"Proxy-Authenticate: Basic realm=\"x\"\r\n\r\n" % code))
    err = open_failing(server, caplog, user="")
    assert isinstance(err, ProxyAuthError)
    assert "requires authentication (%d" % code in str(err)
    assert "fill Proxy user and Proxy password" in str(err)


@pytest.mark.parametrize("code", [407, 401])
def test_http_wrong_credentials(serve, caplog, code):
    server = serve(http_answer(b"HTTP/1.1 %d Unauthorized\r\n\r\n" % code))
    err = open_failing(server, caplog, user="user")
    assert isinstance(err, ProxyAuthError)
    assert "refused the credentials of Proxy user 'user' (%d" % code in str(err)
    assert sent_authorization(server) == "user:" + PASSWORD


def test_http_forbidden_destination(serve, caplog):
    server = serve(http_answer(b"HTTP/1.1 403 Access violation\r\n\r\n"))
    err = open_failing(server, caplog)
    assert isinstance(err, ProxyRefusedError)
    assert "refused CONNECT to sftp.example.test:2222 (403 Access violation)" in str(err)
    assert "rules do not allow" in str(err)


@pytest.mark.parametrize("code", [502, 503, 504])
def test_http_proxy_cannot_reach_destination(serve, caplog, code):
    server = serve(http_answer(b"HTTP/1.1 %d Bad Gateway\r\nContent-Length: 0\r\n\r\n" % code))
    err = open_failing(server, caplog)
    assert isinstance(err, ProxyRefusedError)
    assert "could not reach sftp.example.test:2222 (%d Bad Gateway)" % code in str(err)


def test_http_other_status_quotes_a_sanitised_reason(serve, caplog):
    reason = b"Teapot \x1b[31m" + b"x" * 300 + b" " + PASSWORD.encode()
    server = serve(http_answer(b"HTTP/1.1 418 " + reason + b"\r\n\r\n"))
    err = open_failing(server, caplog, user="user")
    assert isinstance(err, ProxyRefusedError)
    assert "(418 Teapot [31mxxx" in str(err)
    assert "\x1b" not in str(err) and "x" * 101 not in str(err)


def test_http_reason_echoing_the_password_is_masked(serve, caplog):
    server = serve(http_answer(b"HTTP/1.1 418 " + PASSWORD.encode() + b"\r\n\r\n"))
    err = open_failing(server, caplog, user="user")
    assert "(418 ******)" in str(err)


def test_http_garbage_answer(serve, caplog):
    server = serve(http_answer(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"))
    err = open_failing(server, caplog)
    assert isinstance(err, ProxyProtocolError)
    assert "not HTTP ('SSH-2.0-OpenSSH_9.2')" in str(err)
    assert "check Proxy type and Proxy port" in str(err)


def test_http_oversized_headers(serve, caplog):
    pad = b"X-Pad: " + b"a" * 1000 + b"\r\n"
    server = serve(http_answer(b"HTTP/1.1 200 OK\r\n" + pad * 40, hold=True))
    err = open_failing(server, caplog)
    assert isinstance(err, ProxyProtocolError)
    assert "more than %d bytes of headers" % proxy_module.MAX_HEADER_BYTES in str(err)


@pytest.mark.parametrize("partial", [b"", b"HTTP/1.1 200 Connection est"])
def test_http_proxy_closes_before_the_end_of_headers(serve, caplog, partial):
    server = serve(http_answer(partial))
    err = open_failing(server, caplog)
    assert isinstance(err, ProxyProtocolError)
    assert "closed the connection before answering CONNECT to sftp.example.test:2222" \
        in str(err)


def test_http_proxy_never_answers(serve, caplog):
    server = serve(http_answer(hold=True))
    started = time.monotonic()
    err = open_failing(server, caplog, timeout=0.5)
    assert time.monotonic() - started < 3
    assert isinstance(err, ProxyTimeoutError) and err.transient
    assert "did not answer CONNECT to sftp.example.test:2222 within 0.5 s" in str(err)


def test_http_proxy_port_closed():
    port = closed_port()
    with pytest.raises(ProxyUnreachableError) as info:
        open_socket(DEST_HOST, DEST_PORT, http_proxy(port), 2)
    assert str(info.value) == ("cannot reach the HTTP proxy 127.0.0.1:%d (connection "
                               "refused): check Proxy hostname and Proxy port" % port)
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


def test_http_proxy_name_unresolvable():
    proxy = ProxySettings(kind="http", hostname="no-such-proxy.invalid", port=3128)
    with pytest.raises(ProxyUnreachableError) as info:
        open_socket(DEST_HOST, DEST_PORT, proxy, 2)
    assert "cannot resolve the HTTP proxy no-such-proxy.invalid:3128" in str(info.value)


def test_http_local_dns_failure_is_a_connect_error():
    proxy = ProxySettings(kind="http", hostname="127.0.0.1", port=closed_port(),
                          remote_dns=False)
    with pytest.raises(ConnectError) as info:
        open_socket("no-such-host.invalid", 22, proxy, 2)
    assert "cannot resolve host name 'no-such-host.invalid' on the DSS host" in str(info.value)


def test_debug_log_names_the_route_but_not_the_password(serve, caplog):
    caplog.set_level(logging.DEBUG, logger="sftp_client.connect.proxy")
    server = serve(http_answer(b"HTTP/1.1 200 OK\r\n\r\n", hold=True))
    with open_socket(DEST_HOST, DEST_PORT, http_proxy(server.port, "user", PASSWORD), 2):
        pass
    assert ("Connecting to sftp.example.test:2222 through the HTTP proxy 127.0.0.1:%d "
            "as proxy user 'user'" % server.port) in caplog.text
    assert PASSWORD not in caplog.text


# --- SOCKS5 reply mapping (fake server) ------------------------------------------------

def socks5_answer(method=b"\x00", reply=None, auth_status=None):
    """A SOCKS5 handler choosing ``method``, then answering auth and/or CONNECT."""
    def script(conn, server):
        server.received = conn.recv(64)
        conn.sendall(b"\x05" + method)
        if auth_status is not None:
            server.received += conn.recv(600)
            conn.sendall(b"\x01" + auth_status)
        if reply is not None:
            conn.recv(600)
            conn.sendall(b"\x05" + reply + b"\x00\x01\x7f\x00\x00\x01\x08\xae")
            server.done.wait(10)
    return script


def socks5_proxy(port, user="", password=""):
    return ProxySettings(kind="socks5", hostname="127.0.0.1", port=port, user=user,
                         password=password)


@pytest.mark.parametrize("code,text,cls", [
    (b"\x02", "connection not allowed by ruleset", ProxyRefusedError),
    (b"\x04", "host unreachable", ProxyRefusedError),
    (b"\x05", "connection refused by the destination", ProxyRefusedError),
])
def test_socks5_reply_codes(serve, code, text, cls):
    server = serve(socks5_answer(reply=code))
    with pytest.raises(cls) as info:
        open_socket(DEST_HOST, DEST_PORT, socks5_proxy(server.port), 2)
    assert ("the SOCKS5 proxy 127.0.0.1:%d could not open a connection to "
            "sftp.example.test:2222 (%s)" % (server.port, text)) in str(info.value)


def test_socks5_success_returns_a_plain_tuned_socket(serve):
    server = serve(socks5_answer(reply=b"\x00"))
    with open_socket(DEST_HOST, DEST_PORT, socks5_proxy(server.port), 2) as sock:
        assert type(sock) is QuickAckSocket    # a plain socket asking for quick ACKs
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert sock.gettimeout() == 2


def test_socks5_credentials_required(serve):
    server = serve(socks5_answer(method=b"\xff"))
    with pytest.raises(ProxyAuthError) as info:
        open_socket(DEST_HOST, DEST_PORT, socks5_proxy(server.port), 2)
    assert "requires authentication: fill Proxy user and Proxy password" in str(info.value)


def test_socks5_no_acceptable_method_despite_credentials(serve):
    server = serve(socks5_answer(method=b"\xff"))
    with pytest.raises(ProxyAuthError) as info:
        open_socket(DEST_HOST, DEST_PORT, socks5_proxy(server.port, "user", PASSWORD), 2)
    assert "accepts none of the offered authentication methods" in str(info.value)
    assert server.received == b"\x05\x02\x00\x02"


def test_socks4_sends_the_user_id_but_never_the_password(serve):
    def socks4_server(conn, server):
        server.received = conn.recv(600)
        conn.sendall(b"\x00\x5a\x08\xae\x7f\x00\x00\x01")
        server.done.wait(10)
    server = serve(socks4_server)
    proxy = ProxySettings(kind="socks4", hostname="127.0.0.1", port=server.port,
                          user="user", password=PASSWORD)
    with open_socket("127.0.0.1", DEST_PORT, proxy, 2) as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert server.received == b"\x04\x01\x08\xae\x7f\x00\x00\x01user\x00"


def test_socks4_rejection(serve):
    def socks4_server(conn, server):
        conn.recv(600)
        conn.sendall(b"\x00\x5b\x00\x00\x00\x00\x00\x00")
    server = serve(socks4_server)
    proxy = ProxySettings(kind="socks4", hostname="127.0.0.1", port=server.port)
    with pytest.raises(ProxyRefusedError) as info:
        open_socket("127.0.0.1", DEST_PORT, proxy, 2)
    assert ("the SOCKS4 proxy 127.0.0.1:%d could not open a connection to 127.0.0.1:2222 "
            "(request rejected or failed)" % server.port) in str(info.value)


def test_socks5_wrong_credentials(serve, caplog):
    caplog.set_level(logging.DEBUG)
    server = serve(socks5_answer(method=b"\x02", auth_status=b"\x01"))
    with pytest.raises(ProxyAuthError) as info:
        open_socket(DEST_HOST, DEST_PORT, socks5_proxy(server.port, "user", PASSWORD), 2)
    assert "refused the credentials of Proxy user 'user'" in str(info.value)
    assert_no_secret(info.value, caplog)


def test_socks5_answer_that_is_not_socks(serve):
    def http_server(conn, server):
        conn.recv(64)
        conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
    server = serve(http_server)
    with pytest.raises(ProxyProtocolError) as info:
        open_socket(DEST_HOST, DEST_PORT, socks5_proxy(server.port), 2)
    assert "is not SOCKS5): check Proxy type" in str(info.value)


def test_socks5_proxy_never_answers(serve):
    server = serve(lambda conn, srv: srv.done.wait(10))
    with pytest.raises(ProxyTimeoutError) as info:
        open_socket(DEST_HOST, DEST_PORT, socks5_proxy(server.port), 0.5)
    assert "did not complete the connection to sftp.example.test:2222 within 0.5 s" \
        in str(info.value)


def test_socks_proxy_port_closed():
    port = closed_port()
    with pytest.raises(ProxyUnreachableError) as info:
        open_socket(DEST_HOST, DEST_PORT, socks5_proxy(port), 2)
    assert "cannot reach the SOCKS5 proxy 127.0.0.1:%d (connection refused)" % port \
        in str(info.value)


# --- direct -----------------------------------------------------------------------------

def test_direct_socket_is_tuned_for_ssh(serve):
    server = serve(lambda conn, srv: srv.done.wait(10))
    with open_socket("127.0.0.1", server.port, ProxySettings(kind="none"), 4) as sock:
        assert sock.getpeername() == ("127.0.0.1", server.port)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        assert sock.gettimeout() == 4


def test_direct_without_proxy_settings(serve):
    server = serve(lambda conn, srv: srv.done.wait(10))
    with open_socket("127.0.0.1", server.port, None, 4) as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_direct_refused_port():
    port = closed_port()
    with pytest.raises(ConnectError) as info:
        open_socket("127.0.0.1", port, ProxySettings(kind="none"), 2)
    assert str(info.value) == ("connection refused by 127.0.0.1:%d: check Hostname and "
                               "Port, and that the SFTP server runs" % port)


def test_direct_unresolvable_host():
    with pytest.raises(ConnectError) as info:
        open_socket("no-such-host.invalid", 22, ProxySettings(kind="none"), 2)
    assert "cannot resolve host name 'no-such-host.invalid': check Hostname" \
        in str(info.value)
    assert isinstance(info.value.__cause__, socket.gaierror)


def test_direct_timeout(monkeypatch):
    def no_answer(address, timeout):
        raise socket.timeout("timed out")
    monkeypatch.setattr(proxy_module.socket, "create_connection", no_answer)
    with pytest.raises(ConnectTimeoutError) as info:
        open_socket("192.0.2.1", 22, ProxySettings(kind="none"), 1)
    assert "no answer from 192.0.2.1:22 within 1 s" in str(info.value)
    assert info.value.transient
