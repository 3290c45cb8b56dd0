"""proxy.open_socket through REAL proxies: Dante (SOCKS5/SOCKS4) and tinyproxy (HTTP
CONNECT), to a real OpenSSH sshd on loopback.

Each success test reads the SSH banner through the tunnel and finds the relayed
connection in the proxy's log, so it cannot pass by connecting directly.
The servers are tests/conftest.py's session fixtures: ``dante`` and ``tinyproxy``
require credentials, ``dante_noauth`` and ``tinyproxy_noauth`` do not.
"""
import logging
import time

import paramiko
import pytest

from helpers.servers import free_port
from sftp_client.errors import (ProxyAuthError, ProxyProtocolError, ProxyRefusedError,
                                ProxyUnreachableError)
from sftp_client.connect.proxy import open_socket
from sftp_client.connect.settings import ProxySettings

TIMEOUT = 10
#: Daemons flush their logs asynchronously.
LOG_WAIT = 5.0


# --- helpers ----------------------------------------------------------------------------

def settings(kind, server, user=None, password=None, remote_dns=True):
    """ProxySettings for ``server``; its own credentials unless others are given."""
    user = server.username if user is None else user
    password = server.password if password is None else password
    return ProxySettings(kind=kind, hostname=server.host, port=server.port,
                         user=user or "", password=password or "", remote_dns=remote_dns)


def read_banner(sock):
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(256)
        if not chunk:
            break
        data += chunk
    return data


def assert_tunnel_works(host, sshd, proxy_settings, proxy_server):
    """Banner through the tunnel, and one more relayed connection in the proxy's log."""
    before = len(proxy_server.connections_to(sshd.port))
    with open_socket(host, sshd.port, proxy_settings, TIMEOUT) as sock:
        assert read_banner(sock).startswith(b"SSH-2.0-")
    deadline = time.monotonic() + LOG_WAIT
    while len(proxy_server.connections_to(sshd.port)) <= before:
        assert time.monotonic() < deadline, "no new connection to port %d in %s:\n%s" % (
            sshd.port, proxy_server.log_path, proxy_server.log_text())
        time.sleep(0.05)


def assert_secret_hidden(err, secret, caplog):
    assert secret not in str(err)
    assert secret not in repr(err)
    assert secret not in caplog.text


# --- SOCKS5 / SOCKS4 through Dante --------------------------------------------------------

def test_socks5_without_auth_reaches_sshd(sshd, dante_noauth):
    assert_tunnel_works("127.0.0.1", sshd, settings("socks5", dante_noauth), dante_noauth)


def test_socks5_with_auth_reaches_sshd(sshd, dante):
    assert_tunnel_works("127.0.0.1", sshd, settings("socks5", dante), dante)


def test_socks5_proxy_resolves_localhost(sshd, dante_noauth):
    proxy = settings("socks5", dante_noauth, remote_dns=True)
    assert_tunnel_works("localhost", sshd, proxy, dante_noauth)


def test_socks5_local_dns_sends_an_address(sshd, dante_noauth):
    proxy = settings("socks5", dante_noauth, remote_dns=False)
    assert_tunnel_works("localhost", sshd, proxy, dante_noauth)


def test_socks4_reaches_sshd(sshd, dante_noauth):
    assert_tunnel_works("127.0.0.1", sshd, settings("socks4", dante_noauth), dante_noauth)


def test_socks5_wrong_password(sshd, dante, caplog):
    caplog.set_level(logging.DEBUG)
    proxy = settings("socks5", dante, password="wrong-" + dante.password)
    with pytest.raises(ProxyAuthError) as info:
        open_socket("127.0.0.1", sshd.port, proxy, TIMEOUT)
    assert "SOCKS5 proxy 127.0.0.1:%d refused the credentials" % dante.port \
        in str(info.value)
    assert_secret_hidden(info.value, proxy.password, caplog)


@pytest.mark.parametrize("user", ["", "proxydss"])
def test_socks5_missing_credentials(sshd, dante, user):
    proxy = settings("socks5", dante, user=user, password="")
    with pytest.raises(ProxyAuthError) as info:
        open_socket("127.0.0.1", sshd.port, proxy, TIMEOUT)
    assert "requires authentication: fill Proxy user and Proxy password" in str(info.value)


def test_socks5_destination_port_closed(dante_noauth):
    port = free_port()
    with pytest.raises(ProxyRefusedError) as info:
        open_socket("127.0.0.1", port, settings("socks5", dante_noauth), TIMEOUT)
    assert "could not open a connection to 127.0.0.1:%d (connection refused by the " \
           "destination)" % port in str(info.value)


def test_socks5_proxy_cannot_resolve_destination(dante_noauth):
    with pytest.raises(ProxyRefusedError) as info:
        open_socket("no-such-host.invalid", 22, settings("socks5", dante_noauth), TIMEOUT)
    assert "(host unreachable)" in str(info.value)


def test_socks5_proxy_port_closed(sshd):
    port = free_port()
    proxy = ProxySettings(kind="socks5", hostname="127.0.0.1", port=port)
    with pytest.raises(ProxyUnreachableError) as info:
        open_socket("127.0.0.1", sshd.port, proxy, TIMEOUT)
    assert "cannot reach the SOCKS5 proxy 127.0.0.1:%d (connection refused)" % port \
        in str(info.value)


# --- HTTP CONNECT through tinyproxy ----------------------------------------------------------

def test_http_without_auth_reaches_sshd(sshd, tinyproxy_noauth):
    proxy = settings("http", tinyproxy_noauth)
    assert_tunnel_works("127.0.0.1", sshd, proxy, tinyproxy_noauth)


def test_http_with_auth_reaches_sshd(sshd, tinyproxy):
    assert_tunnel_works("127.0.0.1", sshd, settings("http", tinyproxy), tinyproxy)


def test_http_missing_credentials(sshd, tinyproxy):
    proxy = settings("http", tinyproxy, user="", password="")
    with pytest.raises(ProxyAuthError) as info:
        open_socket("127.0.0.1", sshd.port, proxy, TIMEOUT)
    assert "HTTP proxy 127.0.0.1:%d requires authentication (407" % tinyproxy.port \
        in str(info.value)


def test_http_wrong_password(sshd, tinyproxy, caplog):
    caplog.set_level(logging.DEBUG)
    proxy = settings("http", tinyproxy, password="wrong-" + tinyproxy.password)
    with pytest.raises(ProxyAuthError) as info:
        open_socket("127.0.0.1", sshd.port, proxy, TIMEOUT)
    assert "refused the credentials of Proxy user 'httpdss' (401" in str(info.value)
    assert_secret_hidden(info.value, proxy.password, caplog)


def test_http_port_not_allowed_by_connect_port(tinyproxy_noauth):
    port = free_port()
    with pytest.raises(ProxyRefusedError) as info:
        open_socket("127.0.0.1", port, settings("http", tinyproxy_noauth), TIMEOUT)
    assert "refused CONNECT to 127.0.0.1:%d (403" % port in str(info.value)


def test_http_proxy_port_closed(sshd):
    port = free_port()
    proxy = ProxySettings(kind="http", hostname="127.0.0.1", port=port)
    with pytest.raises(ProxyUnreachableError) as info:
        open_socket("127.0.0.1", sshd.port, proxy, TIMEOUT)
    assert "cannot reach the HTTP proxy 127.0.0.1:%d (connection refused)" % port \
        in str(info.value)


# --- wrong proxy type -----------------------------------------------------------------------

def test_http_settings_pointed_at_a_socks_proxy(sshd, dante_noauth):
    with pytest.raises(ProxyProtocolError) as info:
        open_socket("127.0.0.1", sshd.port, settings("http", dante_noauth), TIMEOUT)
    assert "check Proxy type and Proxy port" in str(info.value)


# --- the socket is fit for paramiko -------------------------------------------------------

@pytest.mark.parametrize("kind", ["none", "http", "socks5"])
def test_paramiko_handshake_over_the_socket(sshd, tinyproxy, dante, kind):
    server = {"http": tinyproxy, "socks5": dante}.get(kind)
    proxy = settings(kind, server) if server else ProxySettings(kind="none")
    transport = paramiko.Transport(open_socket("127.0.0.1", sshd.port, proxy, TIMEOUT))
    try:
        transport.start_client(timeout=TIMEOUT)
        assert transport.get_remote_server_key().get_base64() == \
            sshd.host_key_line.split()[1]
    finally:
        transport.close()
