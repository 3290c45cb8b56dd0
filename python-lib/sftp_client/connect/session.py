"""``SftpSession``: one verified, authenticated SSH connection and its SFTP channels.

The socket comes from ``proxy.open_socket`` (direct or through a proxy); the
session never knows which. With a jump host, that socket reaches the bastion
instead: its own SSH connection (host key verified, one authentication) opens a
``direct-tcpip`` channel to the server, and the server's SSH runs end to end
inside that channel, so neither the proxy nor the bastion sees its credentials.
No agent forwarding, no local port. The host key is checked before any credential is
sent; exactly one authentication method is tried; no SSH agent and no key from
``~/.ssh`` is ever used. Sessions are context managers and close on every path.
"""
import logging
import socket

import paramiko

from sftp_client.connect import hostkeys, proxy
from sftp_client.errors import (AuthenticationError, ConnectError, ConnectTimeoutError,
                                ConnectionLostError, SftpClientError, describe)
from sftp_client.redact import redact_text

LOG = logging.getLogger(__name__)

#: SSH flow-control window per channel. paramiko's 2 MiB default caps a single
#: stream's throughput on high-latency links; 16 MiB keeps pipelined reads busy.
WINDOW_SIZE = 16 * 1024 * 1024
#: Largest SSH packet we accept; OpenSSH sends at most 32 KiB of SFTP data anyway.
MAX_PACKET_SIZE = 32768
#: Seconds between SSH keepalives, so idle NAT/proxy connections stay open.
KEEPALIVE_INTERVAL = 30
#: Ciphers tried first when paramiko has them: AES-GCM authenticates as it
#: encrypts (no separate HMAC pass), ~20 % faster than paramiko's default
#: aes128-ctr + hmac-sha2-256 here. The others stay offered after them.
FAST_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
#: The jump host's host key field, as the preset's form labels it.
JUMP_HOST_KEY_FIELD = "Jump host key"


class ChannelRefusedError(ConnectError):
    """The server would not open one more SFTP channel (e.g. MaxSessions)."""


class SftpSession(object):
    """A connection to the server described by ``ServiceSettings``."""

    def __init__(self, settings):
        self.settings = settings
        self.transport = None
        self.jump_transport = None   # the bastion's connection, when there is one

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()

    def connect(self):
        """Every step below, in order; closes everything on any failure."""
        sock = self.dial()
        try:
            self.handshake(sock)
            self.check_host_key()
            self.authenticate()
        except BaseException:
            self.close()
            sock.close()
            raise
        self.transport.set_keepalive(KEEPALIVE_INTERVAL)
        LOG.info("Connected to %s", self.describe())
        return self

    # --- the steps of connect(), also run one by one by the connection test -------

    def dial(self):
        """A connected socket to the server: direct, through the proxy, or a channel
        through the jump host (reached directly or through the proxy)."""
        settings = self.settings
        if settings.jump is None:
            return proxy.open_socket(settings.hostname, settings.port, settings.proxy,
                                     settings.timeout)
        self.open_jump(self.dial_jump())
        return self.jump_channel()

    # --- the jump host's steps (run by dial(); one by one by the connection test) --

    def dial_jump(self):
        """A connected socket to the jump host, direct or through the proxy."""
        jump, settings = self.settings.jump, self.settings
        try:
            return proxy.open_socket(jump.hostname, jump.port, settings.proxy,
                                     settings.timeout)
        except SftpClientError as exc:
            raise _at_jump_host(exc, jump)

    def open_jump(self, sock):
        """SSH to the jump host on ``sock``: handshake, its host key, its login."""
        jump = self.settings.jump
        try:
            transport = self._handshake(sock, jump)
            self.jump_transport = transport
            hostkeys.verify(transport.get_remote_server_key(), jump.host_key,
                            jump.hostname, jump.port, field=JUMP_HOST_KEY_FIELD)
            self._authenticate(transport, jump.auth, jump.display_name())
        except SftpClientError as exc:
            self._close_jump()
            sock.close()
            raise _at_jump_host(exc, jump)
        except BaseException:
            self._close_jump()
            sock.close()
            raise
        transport.set_keepalive(KEEPALIVE_INTERVAL)
        return transport

    def jump_channel(self):
        """A ``direct-tcpip`` channel from the jump host to the server's host and port,
        used as the server connection's socket."""
        settings, jump = self.settings, self.settings.jump
        where = "%s:%d" % (settings.hostname, settings.port)
        try:
            channel = self.jump_transport.open_channel(
                "direct-tcpip", (settings.hostname, settings.port), ("127.0.0.1", 0),
                timeout=settings.timeout)
        except paramiko.ChannelException as exc:
            self._close_jump()
            raise ConnectError(
                "Jump host %s refused the channel to %s (%s): it does not forward to "
                "this host and port (sshd 'AllowTcpForwarding no' or 'PermitOpen', or a "
                "firewall behind it). Check Hostname and Port, and ask the jump host's "
                "administrator." % (jump.display_name(), where,
                                    exc.text or "code %s" % exc.code)) from exc
        except (paramiko.SSHException, EOFError, socket.error) as exc:
            lost = not self.jump_transport.is_active()
            self._close_jump()
            raise ConnectionLostError(
                "Jump host %s: the connection %s while opening the channel to %s (%s)." % (
                    jump.display_name(), "was lost" if lost else "failed", where,
                    _safe(exc, settings))) from exc
        channel.settimeout(None)
        return channel

    def handshake(self, sock):
        """SSH banner exchange and key exchange on ``sock``."""
        self.transport = self._handshake(sock, self.settings)
        return self.transport

    def server_key(self):
        """The host key the server presented during the handshake."""
        return self.transport.get_remote_server_key()

    def check_host_key(self):
        """Refuse the server unless the host key policy trusts its key."""
        settings = self.settings
        hostkeys.verify(self.server_key(), settings.host_key, settings.hostname,
                        settings.port)

    def authenticate(self):
        """Log in with the one configured method."""
        self._authenticate(self.transport, self.settings.auth,
                           self.settings.display_name())

    def describe(self):
        via, jump = self.settings.proxy, self.settings.jump
        words = [self.settings.display_name()]
        if jump is not None:
            words.append("through jump host %s" % jump.display_name())
        if via.kind != "none":
            words.append("%sthrough %s proxy %s:%d" % ("reached " if jump else "", via.kind,
                                                      via.hostname, via.port))
        return " ".join(words)

    def _handshake(self, sock, hop):
        """``hop``: the server's settings or the jump host's (hostname, port,
        host_key); the timeout is the service's."""
        settings = self.settings
        transport = paramiko.Transport(sock, default_window_size=WINDOW_SIZE,
                                       default_max_packet_size=MAX_PACKET_SIZE)
        transport.banner_timeout = settings.timeout
        transport.handshake_timeout = settings.timeout
        transport.auth_timeout = settings.timeout
        wanted = hostkeys.preferred_algorithms(hop.host_key, hop.hostname, hop.port)
        options = transport.get_security_options()
        usable = [name for name in wanted if name in options.key_types]
        if usable:
            options.key_types = usable
        fast = [name for name in FAST_CIPHERS if name in options.ciphers]
        options.ciphers = fast + [name for name in options.ciphers if name not in fast]
        where = "%s:%d" % (hop.hostname, hop.port)
        try:
            transport.start_client(timeout=settings.timeout)
        except socket.timeout as exc:
            transport.close()
            raise ConnectTimeoutError("SSH handshake with %s timed out after %d s: check "
                                      "Port and Timeout." % (where, settings.timeout)) from exc
        except (paramiko.SSHException, EOFError, socket.error) as exc:
            transport.close()
            raise ConnectError("SSH handshake with %s failed (%s): check that Hostname "
                               "and Port point to an SFTP server." % (
                                   where, _safe(exc, settings))) from exc
        # start_client() returns quietly when its own timeout expires first.
        if not transport.is_active() or not getattr(transport, "initial_kex_done", True):
            transport.close()
            raise ConnectTimeoutError("SSH handshake with %s timed out after %d s: the "
                                      "server did not answer as an SSH server; check "
                                      "Hostname, Port and Timeout." % (
                                          where, settings.timeout))
        return transport

    def _authenticate(self, transport, auth, name):
        how = "password" if auth.method == "password" else "private key (%s)" % auth.key_source
        try:
            if auth.method == "password":
                transport.auth_password(auth.username, auth.password)
            else:
                transport.auth_publickey(auth.username, auth.private_key)
        except paramiko.BadAuthenticationType as exc:
            raise AuthenticationError(
                "The server does not accept %s authentication for user '%s'; it accepts: "
                "%s. Change 'Authentication method'." % (
                    auth.method.replace("_", " "), auth.username,
                    ", ".join(exc.allowed_types) or "nothing")) from exc
        except paramiko.AuthenticationException as exc:
            raise AuthenticationError(
                "The server refused the login of user '%s' with %s: check Username and "
                "the %s." % (auth.username, how, "Password" if auth.method == "password"
                             else "key (its public key must be in the user's "
                                  "authorized_keys on the server)")) from exc
        except (paramiko.SSHException, EOFError, socket.error) as exc:
            raise ConnectError("The connection to %s broke during authentication (%s)."
                               % (name, _safe(exc, self.settings))) from exc
        if not transport.is_authenticated():
            raise AuthenticationError("The server asked for more authentication steps "
                                      "(e.g. a second factor) than this plugin supports.")

    def open_sftp(self):
        """A new SFTP channel on this connection (one per worker thread)."""
        if self.transport is None or not self.transport.is_active():
            raise ConnectionLostError("The connection to %s is closed." %
                                      self.settings.display_name())
        try:
            client = paramiko.SFTPClient.from_transport(
                self.transport, window_size=WINDOW_SIZE, max_packet_size=MAX_PACKET_SIZE)
        except paramiko.ChannelException as exc:
            raise ChannelRefusedError("The server refused to open an SFTP channel (%s)."
                                      % exc) from exc
        except (paramiko.SSHException, EOFError, socket.error) as exc:
            if not self.transport.is_active():
                raise ConnectionLostError("The connection to %s was lost while opening "
                                          "the SFTP channel (%s)." % (
                                              self.settings.display_name(),
                                              _safe(exc, self.settings))) from exc
            raise ConnectError("Cannot start SFTP on %s: the server refused the SFTP "
                               "subsystem (%s); is the SFTP subsystem enabled on the "
                               "server?" % (self.settings.display_name(),
                                            _safe(exc, self.settings))) from exc
        if client is None:
            raise ChannelRefusedError("The server refused to open an SFTP channel.")
        client.get_channel().settimeout(self.settings.timeout)
        return client

    def close(self):
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        self._close_jump()

    def _close_jump(self):
        if self.jump_transport is not None:
            self.jump_transport.close()
            self.jump_transport = None


def _at_jump_host(exc, jump):
    """``exc`` (raised at the jump host hop) with its message naming that hop; same
    class, so retries and the connection test treat it as before."""
    exc.args = ("Jump host %s: %s" % (jump.display_name(), exc),) + tuple(exc.args[1:])
    return exc


def _safe(exc, settings):
    """Text of a library exception, with any secret of ``settings`` masked."""
    return redact_text(describe(exc), settings.secrets)

