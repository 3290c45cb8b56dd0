"""The staged connection test behind the "Test SFTP service" macro.

``diagnose(raw_service, ...)`` runs each stage of a connection in order (settings,
proxy, TCP, SSH banner, host key, authentication, SFTP, listings, optional write
test, latency) and returns one ``Stage`` per step: ``ok``, ``failed`` or
``skipped``, the seconds it took, what was seen, and on failure what to check.
Stages after a failure are skipped. It never raises: an unexpected error is a
failed stage. No text it returns holds a secret of the service.
"""
import logging
import time
from typing import NamedTuple

from sftp_client.dss import probes
from sftp_client.entries import resolve_under
from sftp_client.errors import ConnectError, ProxyRefusedError, SftpClientError
from sftp_client.connect.hostkeys import key_description
from sftp_client.redact import SECRET_KEYS, redact_text
from sftp_client.connect.session import SftpSession
from sftp_client.connect.settings import service_from_config

LOG = logging.getLogger(__name__)

OK, FAILED, SKIPPED = "ok", "failed", "skipped"

#: Stage names, in the order they run.
STAGES = ("Settings", "Proxy", "Jump host", "Channel to server", "TCP connection",
          "SSH banner", "Host key",
          "Authentication", "SFTP subsystem", "Root path", "Remote path",
          "Write test", "Latency")

#: What to check when a stage fails (the error message says more).
CHECKS = {
    "Settings": "Edit the SFTP service: the message names the field.",
    "Proxy": "Proxy type, Proxy hostname, Proxy port; Proxy user and Proxy password "
             "(HTTP 407: credentials required, 401: credentials refused).",
    "Jump host": "Jump host, Jump host port, its username and password or key, and "
                 "'Jump host key' (the fingerprint it presented is shown); for a proxy, "
                 "whether it may reach the jump host.",
    "Channel to server": "Hostname and Port as the jump host sees them, and whether the "
                         "jump host allows forwarding there (sshd AllowTcpForwarding, "
                         "PermitOpen, firewalls behind it).",
    "TCP connection": "Hostname and Port; firewalls; for a proxy, whether it may "
                      "reach this host and port (HTTP 403), and 'Proxy resolves "
                      "hostnames'.",
    "SSH banner": "Hostname and Port point to an SSH/SFTP server (not HTTP or FTP), "
                  "and Timeout.",
    "Host key": "Confirm the fingerprint shown with the server's administrator, then "
                "paste it into 'Host key'. A changed key may mean interception.",
    "Authentication": "Username, Authentication method, and the Password or key "
                      "(its public key must be in the user's authorized_keys).",
    "SFTP subsystem": "The server must enable the SFTP subsystem for this user.",
    "Root path": "Root path exists and the SFTP user may list it (chroot: paths are "
                 "seen from the chroot).",
    "Remote path": "Remote path, relative to the Root path.",
    "Write test": "The SFTP user's write permission and disk quota in this directory.",
    "Latency": "The connection dropped: check Timeout and the network.",
}


class Stage(NamedTuple):
    name: str
    status: str          # ok / failed / skipped
    seconds: float
    detail: str          # what was seen, or the error
    check: str = ""      # on failure: what to check


class Diagnosis(object):
    """One run of the connection test (see module doc)."""

    def __init__(self, raw_service, remote_path="", write_test=False, progress=None,
                 plugin_config=None):
        self.raw = raw_service
        self.plugin_config = plugin_config or {}  # admin policy, for service_from_config
        self.remote_path = (remote_path or "").strip()
        self.want_write = bool(write_test)
        self.progress = progress
        self.secrets = _raw_secrets(raw_service)
        self.settings = None
        self.session = None
        self.sock = None
        self.jump_sock = None    # to the jump host, before its channel is the sock
        self.sftp = None
        self.stages = []

    def run(self):
        steps = [("Settings", self._settings), ("Proxy", self._proxy),
                 ("Jump host", self._jump), ("Channel to server", self._channel),
                 ("TCP connection", self._tcp), ("SSH banner", self._banner),
                 ("Host key", self._host_key), ("Authentication", self._auth),
                 ("SFTP subsystem", self._sftp), ("Root path", self._root),
                 ("Remote path", self._remote_path), ("Write test", self._write),
                 ("Latency", self._latency)]
        try:
            for name, step in steps:
                if any(s.name == name for s in self.stages):
                    pass                 # recorded by the stage before it
                elif any(s.status == FAILED for s in self.stages):
                    self._add(name, SKIPPED, 0.0, "not run: an earlier stage failed")
                else:
                    self._timed(name, step)
                if self.progress is not None:
                    self.progress(len(self.stages))
        finally:
            self._close()
        return list(self.stages)

    # --- bookkeeping ------------------------------------------------------------

    def _add(self, name, status, seconds, detail, check=""):
        detail = redact_text(detail, self.secrets)
        self.stages.append(Stage(name, status, round(seconds, 3), detail, check))
        LOG.info("Connection test: %s %s (%.3f s): %s", name, status, seconds, detail)

    def _timed(self, name, step):
        start = time.time()
        try:
            outcome = step()
        except SftpClientError as exc:
            self._fail(name, time.time() - start, str(exc))
            return
        except Exception as exc:  # the macro reports, never crashes; logged by _add,
            # redacted (no traceback: its text is not redacted)
            self._fail(name, time.time() - start, "unexpected error %s: %s"
                       % (exc.__class__.__name__, exc))
            return
        if outcome is None:
            return                       # the step recorded its own stage(s)
        status, detail = outcome if isinstance(outcome, tuple) else (OK, outcome)
        self._add(name, status, time.time() - start, detail)

    def _fail(self, name, seconds, message):
        self._add(name, FAILED, seconds, message, CHECKS.get(name, ""))

    def _close(self):
        for closer in (self.sftp, self.session):
            if closer is not None:
                try:
                    closer.close()
                except Exception:  # best effort: the test is over
                    LOG.debug("Closing after the connection test failed", exc_info=True)
        if self.sock is not None and (self.session is None or
                                      self.session.transport is None):
            self.sock.close()
        if self.jump_sock is not None and (self.session is None or
                                           self.session.jump_transport is None):
            self.jump_sock.close()

    # --- the stages ---------------------------------------------------------------

    def _settings(self):
        self.settings = service_from_config(self.raw, plugin_config=self.plugin_config)
        self.secrets = tuple(set(self.secrets) | set(self.settings.secrets))
        self.session = SftpSession(self.settings)
        return "%s, root path %s, %s authentication, host key check '%s', timeout %d s" % (
            self.settings.display_name(), self.settings.root_path,
            self.settings.auth.method.replace("_", " "), self.settings.host_key.mode,
            self.settings.timeout)

    def _proxy(self):
        proxy = self.settings.proxy
        if proxy.kind == "none":
            return SKIPPED, "no proxy: the connection is direct"
        start = time.time()
        # with a jump host, the proxy's tunnel leads to the jump host
        failing = "Jump host" if self.settings.jump else "TCP connection"
        try:
            if self.settings.jump:
                self.jump_sock = self.session.dial_jump()
            else:
                self.sock = self.session.dial()
        except ProxyRefusedError as exc:
            spent = time.time() - start
            self._add("Proxy", OK, spent, "%s reached%s; it refused the destination "
                      "(see next stage)" % (_proxy_name(proxy), _proxy_auth(proxy)))
            self._fail(failing, 0.0, str(exc))
            return None
        except ConnectError as exc:
            self._add("Proxy", SKIPPED, time.time() - start, "not reached: the "
                      "destination host name could not be used (see next stage)")
            self._fail(failing, 0.0, str(exc))
            return None
        return "%s reached%s; tunnel opened" % (_proxy_name(proxy), _proxy_auth(proxy))

    def _jump(self):
        jump = self.settings.jump
        if jump is None:
            return SKIPPED, "no jump host: the SFTP server is reached directly"
        if self.jump_sock is None:
            self.jump_sock = self.session.dial_jump()
        transport = self.session.open_jump(self.jump_sock)
        version = getattr(transport, "remote_version", "") or "(no banner text)"
        key = key_description(transport.get_remote_server_key())
        checked = "NOT verified" if jump.host_key.mode == "none" else "verified"
        return "%s: server software %s; host key %s, %s; user '%s' logged in" % (
            jump.display_name(), version, key, checked, jump.auth.username)

    def _channel(self):
        if self.settings.jump is None:
            return SKIPPED, "no jump host"
        self.sock = self.session.jump_channel()
        return "the jump host opened a direct-tcpip channel to %s:%d" % (
            self.settings.hostname, self.settings.port)

    def _tcp(self):
        where = "%s:%d" % (self.settings.hostname, self.settings.port)
        if self.sock is not None:
            return "connected to %s through the %s" % (
                where, "jump host's channel" if self.settings.jump else "proxy tunnel")
        self.sock = self.session.dial()
        return "connected to %s" % where

    def _banner(self):
        transport = self.session.handshake(self.sock)
        version = getattr(transport, "remote_version", "") or "(no banner text)"
        cipher = getattr(transport, "remote_cipher", "") or "?"
        return "server software: %s; cipher %s" % (version, cipher)

    def _host_key(self):
        key = self.session.server_key()
        offered = key_description(key)
        policy = self.settings.host_key
        self.session.check_host_key()
        if policy.mode == "none":
            return ("%s, NOT verified (Host key verification is 'none'). To pin it, "
                    "choose 'fingerprint' and paste %s into 'Host key'."
                    % (offered, offered.split()[-1]))
        if policy.mode == "known_hosts":
            return "%s, matches %s" % (offered, policy.known_hosts_path)
        return "%s, matches the pinned fingerprint" % offered

    def _auth(self):
        self.session.authenticate()
        auth = self.settings.auth
        how = "password" if auth.method == "password" else "private key (%s)" % (
            auth.key_source)
        return "user '%s' logged in with %s" % (auth.username, how)

    def _sftp(self):
        self.sftp = self.session.open_sftp()
        found = probes.extensions(self.sftp, self.settings.root_path)
        return "SFTP started; extensions: %s" % probes.describe_extensions(found)

    def _root(self):
        root = self.settings.root_path
        return probes.describe_listing(root, *probes.first_entries(self.sftp, root))

    def _remote_path(self):
        if not self.remote_path:
            return SKIPPED, "no remote path given"
        full = resolve_under(self.settings.root_path, self.remote_path, "Remote path")
        return probes.describe_listing(full, *probes.first_entries(self.sftp, full))

    def _write(self):
        if not self.want_write:
            return SKIPPED, "not asked (tick 'Try a write' to run it)"
        base = self.settings.root_path
        if self.remote_path:
            base = resolve_under(base, self.remote_path, "Remote path")
        return probes.write_test(self.sftp, base, self.settings.root_path)

    def _latency(self):
        median, fastest = probes.latency(self.sftp, self.settings.root_path)
        return "%d SFTP round trips: median %.1f ms, fastest %.1f ms" % (
            probes.LATENCY_SAMPLES, median * 1000, fastest * 1000)


def diagnose(raw_service, remote_path="", write_test=False, progress=None,
             plugin_config=None):
    """Run the connection test; a list of ``Stage``, never an exception."""
    return Diagnosis(raw_service, remote_path, write_test, progress, plugin_config).run()


def passed(stages):
    return not any(stage.status == FAILED for stage in stages)


def _raw_secrets(raw):
    if not isinstance(raw, dict):
        return ()
    return tuple(str(raw[key]) for key in SECRET_KEYS if raw.get(key))


def _proxy_name(proxy):
    return "%s proxy %s:%d" % (proxy.kind.upper(), proxy.hostname, proxy.port)


def _proxy_auth(proxy):
    if proxy.user:
        return " and authenticated as proxy user '%s'" % proxy.user
    return " (no proxy authentication)"
