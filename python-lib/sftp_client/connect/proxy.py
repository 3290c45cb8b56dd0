"""Dial the SFTP server directly or through a SOCKS5, SOCKS4 or HTTP CONNECT proxy.

``open_socket()`` returns a plain connected socket before any SSH happens. Proxy
failures raise ``ProxyError`` subclasses in the proxy's terms, direct ones
``ConnectError``; no message or log line holds the proxy password. SOCKS goes through
PySocks; HTTP CONNECT is our own, as PySocks' drops the bytes after the answer,
needs a password to send a user and cannot tell 407 from 403.
"""
import base64
import logging
import re
import socket

import socks

from sftp_client.errors import (ConfigError, ConnectError, ConnectTimeoutError, ProxyAuthError,
                                ProxyProtocolError, ProxyRefusedError, ProxyTimeoutError,
                                ProxyUnreachableError)
from sftp_client.connect.quickack import quick_ack
from sftp_client.redact import redact_text

logger = logging.getLogger(__name__)

#: A CONNECT answer is a few hundred bytes; the cap stops a broken or hostile proxy
#: from making us buffer without end.
MAX_HEADER_BYTES = 16 * 1024
#: Bytes looked at (MSG_PEEK) per read while searching for the end of the headers.
PEEK_BYTES = 4096
#: Longest text quoted from a proxy's answer in a message.
MAX_QUOTED_CHARS = 100

_PROXY_NAMES = {"http": "HTTP proxy", "socks5": "SOCKS5 proxy", "socks4": "SOCKS4 proxy"}
_SOCKS_TYPES = {"socks5": socks.SOCKS5, "socks4": socks.SOCKS4}
_HEAD_END = re.compile(br"\r?\n\r?\n")
_STATUS_LINE = re.compile(br"HTTP/\d(?:\.\d)? +(\d{3})(?:[ \t]+([^\r\n]*))?\r?\n")
_SOCKS_CODE = re.compile(r"^0x([0-9a-fA-F]{2})\b")

#: SOCKS reply codes (RFC 1928 section 6; SOCKS4 0x5B) -> (meaning, what to check);
#: others are quoted as PySocks words them.
_UNREACHABLE = "the proxy cannot reach or resolve the SFTP server: check Hostname"
_SOCKS_REPLIES = {
    0x01: ("general SOCKS server failure", "check Hostname and Port"),
    0x02: ("connection not allowed by ruleset", "the proxy's rules forbid this destination"),
    0x03: ("network unreachable", _UNREACHABLE),
    0x04: ("host unreachable", _UNREACHABLE),
    0x05: ("connection refused by the destination", "the proxy reached the host but not "
           "the port: check Port and that the SFTP server runs"),
    0x08: ("address type not supported", "change 'Proxy resolves hostnames'"),
    0x5B: ("request rejected or failed", "the proxy's rules forbid this destination, or "
           "it cannot reach the SFTP server"),
}


def open_socket(hostname, port, proxy, timeout):
    """A connected, blocking socket to ``hostname:port`` with ``timeout`` for reads,
    TCP_NODELAY and SO_KEEPALIVE set, ready for ``paramiko.Transport(sock)``.
    ``proxy`` is a ``ProxySettings`` (or None for a direct connection)."""
    kind = proxy.kind if proxy is not None else "none"
    logger.debug("Connecting to %s %s", _hostport(hostname, port), _describe(proxy))
    if kind == "none":
        sock = _dial_direct(hostname, port, timeout)
    elif kind in _PROXY_NAMES:
        if not proxy.remote_dns:
            hostname = _resolve(hostname, port, socket.AF_INET if kind == "socks4" else 0)
        dial = _dial_http if kind == "http" else _dial_socks
        sock = dial(hostname, port, proxy, timeout)
    else:
        raise ConfigError("Proxy type", "unknown proxy type %r." % kind)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.settimeout(timeout)
    except OSError as exc:
        sock.close()
        raise ConnectError("cannot set up the connection to %s: %s"
                           % (_hostport(hostname, port), _reason(exc))) from exc
    return sock if kind == "none" else quick_ack(sock)


def _describe(proxy):
    if proxy is None or proxy.kind == "none":
        return "directly"
    return "through the %s%s (%s DNS)" % (
        _proxy_name(proxy), " as proxy user %r" % proxy.user if proxy.user else "",
        "proxy" if proxy.remote_dns else "local")


def _hostport(hostname, port):
    return ("[%s]:%d" if ":" in hostname else "%s:%d") % (hostname, port)


def _proxy_name(proxy):
    return "%s %s" % (_PROXY_NAMES[proxy.kind], _hostport(proxy.hostname, proxy.port))


def _reason(exc):
    return exc.strerror or str(exc) or type(exc).__name__


def _resolve(hostname, port, family):
    """The first address of ``hostname``, for proxies told not to resolve names."""
    try:
        return socket.getaddrinfo(hostname, port, family, socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as exc:
        raise ConnectError("cannot resolve host name %r on the DSS host: check Hostname, "
                           "or let the proxy resolve it ('Proxy resolves hostnames')"
                           % hostname) from exc


def _dial_direct(hostname, port, timeout):
    dest = _hostport(hostname, port)
    try:
        return socket.create_connection((hostname, port), timeout)
    except socket.gaierror as exc:
        raise ConnectError("cannot resolve host name %r: check Hostname (or use a proxy "
                           "that resolves it)" % hostname) from exc
    except socket.timeout as exc:
        raise ConnectTimeoutError("no answer from %s within %s s: check Hostname, Port "
                                  "and firewalls, or whether a proxy is needed"
                                  % (dest, timeout)) from exc
    except ConnectionRefusedError as exc:
        raise ConnectError("connection refused by %s: check Hostname and Port, and that "
                           "the SFTP server runs" % dest) from exc
    except OSError as exc:
        raise ConnectError("cannot connect to %s: %s" % (dest, _reason(exc))) from exc


def _proxy_dial_error(proxy, exc, timeout):
    """The error for a failed TCP connection to the proxy itself."""
    name = _proxy_name(proxy)
    if isinstance(exc, socket.timeout):
        return ProxyTimeoutError("no answer from the %s within %s s: check Proxy hostname "
                                 "and Proxy port" % (name, timeout))
    what = "reach" if not isinstance(exc, socket.gaierror) else "resolve"
    why = "connection refused" if isinstance(exc, ConnectionRefusedError) else _reason(exc)
    return ProxyUnreachableError("cannot %s the %s (%s): check Proxy hostname and Proxy "
                                 "port" % (what, name, why))


# --- SOCKS (PySocks) ------------------------------------------------------------

def _dial_socks(hostname, port, proxy, timeout):
    sock = socks.socksocket()
    try:
        # SOCKS4 knows only a user id; PySocks offers SOCKS5 login only with both.
        password = proxy.password if proxy.kind == "socks5" else ""
        sock.set_proxy(_SOCKS_TYPES[proxy.kind], proxy.hostname, proxy.port,
                       rdns=proxy.remote_dns, username=proxy.user or None,
                       password=password or None)
        sock.settimeout(timeout)
        sock.connect((hostname, port))
        # PySocks' class reroutes send/recv for UDP: hand over a plain socket.
        family, proto = sock.family, sock.proto
        return socket.socket(family, socket.SOCK_STREAM, proto, sock.detach())
    except socks.ProxyError as exc:
        sock.close()
        raise _socks_error(exc, proxy, _hostport(hostname, port), timeout) from exc
    except OSError as exc:
        sock.close()
        raise _proxy_dial_error(proxy, exc, timeout) from exc


def _socks_error(exc, proxy, dest, timeout):
    # PySocks' connect() wraps its own negotiation errors (they are OSErrors) as
    # GeneralProxyError("Socket error", socket_err=<the real error>): unwrap them.
    while isinstance(exc.socket_err, socks.ProxyError):
        exc = exc.socket_err
    name = _proxy_name(proxy)
    if isinstance(exc, socks.ProxyConnectionError):
        return _proxy_dial_error(proxy, exc.socket_err or exc, timeout)
    if isinstance(exc, socks.SOCKS5AuthError):
        return _socks_auth_error(exc, proxy)
    if isinstance(exc, (socks.SOCKS5Error, socks.SOCKS4Error)):
        # PySocks keeps the reply code only in its text: "0x05: Connection refused".
        match = _SOCKS_CODE.match(exc.msg)
        code = int(match.group(1), 16) if match else -1
        meaning, hint = _SOCKS_REPLIES.get(code, (exc.msg[:MAX_QUOTED_CHARS], "see its logs"))
        return ProxyRefusedError("the %s could not open a connection to %s (%s): %s"
                                 % (name, dest, meaning, hint))
    if isinstance(exc.socket_err, socket.timeout):
        return ProxyTimeoutError("the %s did not complete the connection to %s within %s "
                                 "s: the SFTP server may not answer the proxy, or check "
                                 "Proxy type and Proxy port" % (name, dest, timeout))
    why = (_reason(exc.socket_err) if exc.socket_err is not None else "it closed the "
           "connection or answered something that is not %s" % proxy.kind.upper())
    return ProxyProtocolError("the handshake with the %s failed (%s): check Proxy type "
                              "and Proxy port" % (name, why))


def _socks_auth_error(exc, proxy):
    """PySocks has one class for three cases; only its text tells them apart."""
    name = _proxy_name(proxy)
    if "authentication failed" in exc.msg:
        return ProxyAuthError("the %s refused the credentials of Proxy user %r: check "
                              "Proxy user and Proxy password" % (name, proxy.user))
    if proxy.user and proxy.password:
        return ProxyAuthError("the %s accepts none of the offered authentication methods "
                              "(none, user name and password)" % name)
    return ProxyAuthError("the %s requires authentication: fill Proxy user and Proxy "
                          "password" % name)


# --- HTTP CONNECT -----------------------------------------------------------------

def _dial_http(hostname, port, proxy, timeout):
    dest = _hostport(hostname, port)
    if re.search(r"[\s\x00-\x1f\x7f]", dest):
        raise ConnectError("invalid host name %r: check Hostname" % hostname)
    try:
        sock = socket.create_connection((proxy.hostname, proxy.port), timeout)
    except OSError as exc:
        raise _proxy_dial_error(proxy, exc, timeout) from exc
    try:
        sock.sendall(_connect_request(dest, proxy))
        _check_status(_read_head(sock, proxy, dest), proxy, dest)
        return sock
    except BaseException as exc:
        sock.close()
        if isinstance(exc, socket.timeout):
            raise ProxyTimeoutError("the %s did not answer CONNECT to %s within %s s"
                                    % (_proxy_name(proxy), dest, timeout)) from exc
        if isinstance(exc, OSError):
            raise ProxyProtocolError("the connection to the %s broke during CONNECT to %s "
                                     "(%s)" % (_proxy_name(proxy), dest, _reason(exc))) from exc
        raise


def _credentials(proxy):
    """The Basic token: sent whenever a user is set, even with an empty password."""
    pair = ("%s:%s" % (proxy.user, proxy.password)).encode("utf-8")
    return base64.b64encode(pair).decode("ascii")


def _connect_request(dest, proxy):
    lines = ["CONNECT %s HTTP/1.1" % dest, "Host: %s" % dest]
    if proxy.user:
        lines.append("Proxy-Authorization: Basic %s" % _credentials(proxy))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _read_head(sock, proxy, dest):
    """The answer's headers, consumed exactly: the SSH banner may follow in the same
    segment, and paramiko reads it from the socket, so no byte after them is taken."""
    head = b""
    while True:
        peeked = sock.recv(PEEK_BYTES, socket.MSG_PEEK)
        if not peeked:
            raise ProxyProtocolError("the %s closed the connection before answering "
                                     "CONNECT to %s: check Proxy type and Proxy port"
                                     % (_proxy_name(proxy), dest))
        tail = head[-3:]  # an end marker may straddle two reads
        match = _HEAD_END.search(tail + peeked)
        wanted = match.end() - len(tail) if match else len(peeked)
        chunk = sock.recv(wanted)
        head += chunk
        if match and len(chunk) == wanted:
            return head
        if len(head) > MAX_HEADER_BYTES:
            raise ProxyProtocolError("the %s sent more than %d bytes of headers in answer "
                                     "to CONNECT to %s" % (_proxy_name(proxy),
                                                           MAX_HEADER_BYTES, dest))


def _quote(raw, proxy):
    """Text from the proxy, made printable, short, and free of our credentials."""
    text = "".join(c for c in raw.decode("latin-1") if " " <= c <= "~")[:MAX_QUOTED_CHARS]
    secrets = [proxy.password, _credentials(proxy)] if proxy.user else []
    return redact_text(text, secrets)


def _check_status(head, proxy, dest):
    name = _proxy_name(proxy)
    match = _STATUS_LINE.match(head)
    if not match:
        raise ProxyProtocolError("the %s answered CONNECT with something that is not HTTP "
                                 "(%r): check Proxy type and Proxy port"
                                 % (name, _quote(head.split(b"\n", 1)[0], proxy)))
    code = int(match.group(1))
    status = ("%d %s" % (code, _quote(match.group(2) or b"", proxy))).strip()
    if 200 <= code < 300:
        return
    if code in (401, 407):  # tinyproxy answers 401 to wrong credentials
        what = ("refused the credentials of Proxy user %r" % proxy.user if proxy.user
                else "requires authentication")
        raise ProxyAuthError("the %s %s (%s): %s Proxy user and Proxy password"
                             % (name, what, status, "check" if proxy.user else "fill"))
    if code == 403:
        raise ProxyRefusedError("the %s refused CONNECT to %s (%s): the proxy's rules do "
                                "not allow this destination or port" % (name, dest, status))
    if code in (502, 503, 504):
        raise ProxyRefusedError("the %s could not reach %s (%s): check Hostname and Port, "
                                "and that the SFTP server runs" % (name, dest, status))
    raise ProxyRefusedError("the %s refused CONNECT to %s (%s)" % (name, dest, status))
