"""Real servers on loopback for the tests and the demo script.

Starts an OpenSSH ``sshd`` (serving SFTP with ``internal-sftp``), ProFTPD with
``mod_sftp`` (a second SFTP implementation), a Dante SOCKS5 proxy (``danted``) and a
tinyproxy HTTP CONNECT proxy, each in the foreground on 127.0.0.1 and a free port,
with its own config, log and temp directory.

Plain Python (no pytest). Needs root (system users, ``/run/sshd``, danted's
``user.privileged: root``) and the Debian packages ``openssh-server``,
``proftpd-core`` + ``proftpd-mod-crypto``, ``dante-server`` and ``tinyproxy``. A
missing binary raises :class:`MissingBinary` so that tests fail loudly instead of
skipping.

Typical use::

    with SshServer(base_dir) as sshd, DanteProxy(auth=True, base_dir=base_dir) as socks:
        ...  # connect to socks.host:socks.port, then to sshd.host:sshd.port
        assert socks.connections_to(sshd.port)
"""

import errno
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections import namedtuple

__all__ = [
    "MissingBinary", "require_binary", "free_port", "ensure_system_user",
    "make_keys", "default_keys_dir", "ClientKey", "KEY_PASSPHRASE", "ENCRYPTED_KEYS",
    "SFTP_USER", "SFTP_PASSWORD", "SOCKS_USER", "SOCKS_PASSWORD",
    "HTTP_PROXY_USER", "HTTP_PROXY_PASSWORD",
    "SshServer", "ProftpdServer", "DanteProxy", "TinyProxy", "wait_for_log", "wait_for_port",
]

SFTP_USER = "sftpdss"
SFTP_PASSWORD = "S3cret-sftp-pw!"
SOCKS_USER = "proxydss"
SOCKS_PASSWORD = "Pr0xy-pw!"
HTTP_PROXY_USER = "httpdss"
# tinyproxy's config parser accepts only [-A-Za-z0-9._] in BasicAuth credentials
HTTP_PROXY_PASSWORD = "Http-pw.1"
KEY_PASSPHRASE = "k3y-passphrase"

START_TIMEOUT = 10.0
LOOPBACK = "127.0.0.1"


# --------------------------------------------------------------------------- basics

class MissingBinary(RuntimeError):
    """A daemon or tool the tests need is not installed."""


_PACKAGES = {
    "sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "danted": "dante-server",
    "tinyproxy": "tinyproxy",
    "proftpd": "proftpd-core",
    "useradd": "passwd",
    "chpasswd": "passwd",
}


def require_binary(name, package=None):
    """Absolute path of ``name`` (also searched in the sbin dirs), or MissingBinary."""
    package = package or _PACKAGES.get(name, name)
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    path = shutil.which(name, path=search)
    if not path:
        raise MissingBinary(
            "%s not found: install it with `apt-get install -y %s`" % (name, package))
    return path


def free_port(host=LOOPBACK):
    """A TCP port that is free right now on ``host`` (small race until it is bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _require_root(what):
    if os.geteuid() != 0:
        raise PermissionError(
            "%s needs root (system users, /run/sshd, privileged daemons); "
            "run the tests as root, e.g. in the CI container" % what)


def _run(cmd, input_text=None, check=True):
    proc = subprocess.run(cmd, input=input_text, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)
    if check and proc.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (proc.returncode, " ".join(cmd), proc.stdout))
    return proc


_users_done = {}
_users_lock = threading.Lock()


def ensure_system_user(name, password, home=None):
    """Create (idempotently) a login user ``name`` with ``password`` and shell /bin/sh.

    ``home`` defaults to /home/<name>; it is created (owned by the user) if missing.
    Returns the ``pwd`` entry.
    """
    _require_root("ensure_system_user(%r)" % name)
    home = home or os.path.join("/home", name)
    with _users_lock:
        if _users_done.get(name) == (password, home):
            return pwd.getpwnam(name)
        useradd = require_binary("useradd", "passwd")
        chpasswd = require_binary("chpasswd", "passwd")
        for attempt in range(50):
            try:
                entry = pwd.getpwnam(name)
                break
            except KeyError:
                pass
            proc = _run([useradd, "-M", "-d", home, "-s", "/bin/sh", name], check=False)
            if proc.returncode in (0, 9):  # 9: created concurrently by someone else
                continue
            if proc.returncode == 10 and attempt < 49:  # cannot lock /etc/passwd
                time.sleep(0.1)
                continue
            raise RuntimeError("useradd %s failed (%d): %s" % (name, proc.returncode, proc.stdout))
        else:
            raise RuntimeError("could not create user %s" % name)
        if entry.pw_dir != home:
            _run([require_binary("usermod", "passwd"), "-d", home, name])
        if entry.pw_shell != "/bin/sh":
            _run([require_binary("usermod", "passwd"), "-s", "/bin/sh", name])
        for attempt in range(50):
            proc = _run([chpasswd], input_text="%s:%s\n" % (name, password), check=False)
            if proc.returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("chpasswd for %s failed: %s" % (name, proc.stdout))
        entry = pwd.getpwnam(name)
        if not os.path.isdir(home):
            os.makedirs(home, 0o755)
            os.chown(home, entry.pw_uid, entry.pw_gid)
        _users_done[name] = (password, home)
        return entry


def _make_traversable(path):
    """Give 'others' search permission on ``path`` and all its ancestors (root-owned
    temp dirs are 0700), so that unprivileged users of the daemons can reach it."""
    path = os.path.abspath(path)
    while True:
        st = os.stat(path)
        if not st.st_mode & stat.S_IXOTH:
            os.chmod(path, stat.S_IMODE(st.st_mode) | stat.S_IXOTH | stat.S_IXGRP)
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


# --------------------------------------------------------------------------- keys

ClientKey = namedtuple("ClientKey", "path public_line")

# name -> (ssh-keygen args, passphrase or None)
_KEY_SPECS = {
    "ed25519": (["-t", "ed25519"], None),                           # OpenSSH format
    "ecdsa": (["-t", "ecdsa", "-b", "256", "-m", "PEM"], None),     # nistp256, PEM
    "rsa": (["-t", "rsa", "-b", "3072", "-m", "PEM"], None),        # PEM
    "rsa_encrypted": (["-t", "rsa", "-b", "3072"], KEY_PASSPHRASE),  # OpenSSH, passphrase
    "ed25519_encrypted": (["-t", "ed25519"], KEY_PASSPHRASE),        # OpenSSH, passphrase
}
ENCRYPTED_KEYS = frozenset(k for k, (_, pw) in _KEY_SPECS.items() if pw)

_keys_cache = {}
_keys_lock = threading.Lock()


def _public_line(pub_path):
    with open(pub_path) as f:
        return " ".join(f.read().split()[:2])


def make_keys(directory):
    """Client key pairs for the tests, generated once per directory.

    Returns {name: ClientKey(private_path, public_line)} with the names
    ``ed25519`` (OpenSSH format), ``ecdsa`` (nistp256, PEM), ``rsa`` (3072, PEM),
    ``rsa_encrypted`` (OpenSSH format) and ``ed25519_encrypted``; the encrypted ones
    (see ENCRYPTED_KEYS) use KEY_PASSPHRASE. Existing key files are reused.
    """
    directory = os.path.realpath(directory)
    with _keys_lock:
        if directory in _keys_cache:
            return dict(_keys_cache[directory])
        keygen = require_binary("ssh-keygen", "openssh-client")
        os.makedirs(directory, exist_ok=True)
        keys = {}
        for name, (args, passphrase) in _KEY_SPECS.items():
            path = os.path.join(directory, "id_" + name)
            if not (os.path.exists(path) and os.path.exists(path + ".pub")):
                for p in (path, path + ".pub"):
                    if os.path.exists(p):
                        os.unlink(p)
                _run([keygen, "-q"] + args + ["-N", passphrase or "", "-C", "test-" + name, "-f", path])
            keys[name] = ClientKey(path, _public_line(path + ".pub"))
        _keys_cache[directory] = keys
        return dict(keys)


_default_keys_dir = None


def default_keys_dir():
    """A per-process temp directory for make_keys() when the caller gives none."""
    global _default_keys_dir
    with _keys_lock:
        if _default_keys_dir is None:
            _default_keys_dir = tempfile.mkdtemp(prefix="sftp-test-keys-")
        return _default_keys_dir


# --------------------------------------------------------------------------- processes

def _children_of(pid):
    """PIDs of all descendants of ``pid`` (from /proc), deepest last."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                data = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ..." -- comm may contain spaces/parens
        try:
            ppid = int(data.rsplit(")", 1)[1].split()[1])
        except (IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError as e:
        if e.errno != errno.ESRCH:
            raise


def _alive(pid):
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def wait_for_port(host, port, timeout=START_TIMEOUT, proc=None, banner=None):
    """Wait until ``host:port`` accepts TCP connections (and, if ``banner`` is given,
    sends data starting with it). Returns True, or False on timeout / process death."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=1.0) as s:
                if banner is None:
                    return True
                s.settimeout(max(0.2, min(2.0, deadline - time.monotonic())))
                data = b""
                while len(data) < len(banner):
                    chunk = s.recv(256)
                    if not chunk:
                        break
                    data += chunk
                if data.startswith(banner):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def wait_for_log(server, needle, timeout=5.0):
    """Poll ``server.log_text()`` until it contains ``needle`` (a str, or a compiled
    regex) and return the text; daemons flush their logs asynchronously.
    Raises TimeoutError with the log content otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        text = server.log_text()
        if (needle.search(text) if hasattr(needle, "search") else needle in text):
            return text
        if time.monotonic() >= deadline:
            raise TimeoutError("%r not found in %s after %.1fs; log:\n%s"
                               % (getattr(needle, "pattern", needle), server.log_path, timeout, text))
        time.sleep(0.05)


class _Daemon(object):
    """Common start/stop/log logic: one foreground process in its own temp dir."""

    name = "daemon"
    banner = None          # bytes the daemon sends on connect, to check readiness
    start_attempts = 3     # retried with a new port if the port got taken meanwhile

    def __init__(self, base_dir=None, start_timeout=START_TIMEOUT):
        self.base_dir = base_dir
        self.start_timeout = start_timeout
        self.host = LOOPBACK
        self.port = None
        self.dir = None
        self.log_path = None
        self.output_path = None  # stdout/stderr of the process
        self.proc = None

    # subclasses: write config into self.dir for self.port, return argv
    def _prepare(self):
        raise NotImplementedError

    def _before_start(self):
        pass

    # subclasses running elsewhere (a network namespace) pick and probe differently
    def _pick_port(self):
        return free_port(self.host)

    def _ready(self):
        return wait_for_port(self.host, self.port, self.start_timeout, self.proc, self.banner)

    def start(self):
        if self.proc is not None:
            return self
        if self.base_dir is not None:
            os.makedirs(self.base_dir, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=self.name + "-", dir=self.base_dir)
        os.chmod(self.dir, 0o755)
        _make_traversable(self.dir)
        self.output_path = os.path.join(self.dir, "output.log")
        try:
            self._before_start()
            failure = None
            for attempt in range(self.start_attempts):
                self.port = self._pick_port()
                argv = self._prepare()
                with open(self.output_path, "ab") as out:
                    self.proc = subprocess.Popen(
                        argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                        cwd=self.dir, start_new_session=True)
                if self._ready():
                    return self
                failure = self._diagnostics(
                    ("exited at startup (%s:%d)" if self.proc.poll() is not None
                     else "did not become ready on %s:%d within %.0fs")
                    % ((self.host, self.port) if self.proc.poll() is not None
                       else (self.host, self.port, self.start_timeout)))
                self._terminate()
                if not re.search(r"in use|listening socket", failure):
                    break  # only a port race (free_port() -> bind) is worth a retry
            raise RuntimeError(failure)
        except BaseException:
            self.stop()
            raise

    def _diagnostics(self, what):
        rc = self.proc.poll() if self.proc else None
        return "%s %s (exit status %s)\n--- %s\n%s\n--- %s\n%s" % (
            self.name, what, rc, self.output_path, _read(self.output_path),
            self.log_path, _read(self.log_path) if self.log_path != self.output_path else "")

    def _terminate(self):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        children = _children_of(proc.pid)
        if proc.poll() is None:
            _kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                _kill(proc.pid, signal.SIGKILL)
                proc.wait(5)
        # per-connection children (sshd's call setsid(), so no process-group kill)
        children = set(children + _children_of(proc.pid))
        for pid in children:
            _kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while children and time.monotonic() < deadline:
            children = set(p for p in children if _alive(p))
            time.sleep(0.01)

    def stop(self):
        """Kill the daemon and its children (idempotent). The temp dir (logs) is kept;
        ``with`` removes it afterwards if base_dir was None and no exception occurred."""
        self._terminate()

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        if self.base_dir is None and exc_type is None and self.dir:
            # our own mkdtemp under /tmp: clean up unless something failed
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    @property
    def address(self):
        return (self.host, self.port)

    def log_text(self):
        return _read(self.log_path)

    def wait_for_log(self, needle, timeout=5.0):
        return wait_for_log(self, needle, timeout)

    def __repr__(self):
        return "<%s %s:%s dir=%s>" % (type(self).__name__, self.host, self.port, self.dir)


def _read(path):
    if not path:
        return ""
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


# --------------------------------------------------------------------------- sshd

class SshServer(_Daemon):
    """OpenSSH sshd serving SFTP (internal-sftp) on 127.0.0.1:<free port>.

    Password and public-key login for ``username``; all keys of ``keys`` (default:
    make_keys(default_keys_dir())) are authorized. ``root`` is an empty directory
    owned by the user, for tests to use as the plugin's root path.

    Attributes: host, port, username, password, keys, root, log_path, dir,
    host_key_path, host_key_line ("ssh-ed25519 AAAA..."), host_key_fingerprint
    ("SHA256:..." as ssh-keygen -lf prints it), host_keys {type: (line, fingerprint)}.
    """

    name = "sshd"
    banner = b"SSH-"

    def __init__(self, base_dir=None, username=SFTP_USER, password=SFTP_PASSWORD,
                 keys=None, extra_config=(), authorized_keys=(), host_key_types=("ed25519",),
                 log_level="VERBOSE", start_timeout=START_TIMEOUT):
        super(SshServer, self).__init__(base_dir, start_timeout)
        self.username = username
        self.password = password
        self.keys = keys
        self.extra_config = list(extra_config)
        self.extra_authorized_keys = list(authorized_keys)
        self.host_key_types = list(host_key_types)
        self.log_level = log_level
        self.root = None
        self.host_keys = {}
        self.host_key_path = self.host_key_line = self.host_key_fingerprint = None
        self.authorized_keys_path = None

    def _before_start(self):
        _require_root("SshServer")
        self.sshd = require_binary("sshd", "openssh-server")
        keygen = require_binary("ssh-keygen", "openssh-client")
        user = ensure_system_user(self.username, self.password)
        os.makedirs("/run/sshd", 0o755, exist_ok=True)
        if self.keys is None:
            self.keys = make_keys(default_keys_dir())
        # host keys
        for key_type in self.host_key_types:
            path = os.path.join(self.dir, "ssh_host_%s_key" % key_type)
            _run([keygen, "-q", "-t", key_type, "-N", "", "-C", "", "-f", path])
            fp = _run([keygen, "-l", "-f", path + ".pub"]).stdout.split()[1]
            self.host_keys[key_type] = (_public_line(path + ".pub"), fp)
            if self.host_key_path is None:
                self.host_key_path = path
                self.host_key_line, self.host_key_fingerprint = self.host_keys[key_type]
        # authorized keys (sshd reads them as the user: world-readable)
        self.authorized_keys_path = os.path.join(self.dir, "authorized_keys")
        lines = [k.public_line for k in self.keys.values()] + self.extra_authorized_keys
        _write(self.authorized_keys_path, "".join(l + "\n" for l in lines))
        # data directory for the tests
        self.root = os.path.join(self.dir, "root")
        os.mkdir(self.root, 0o755)
        os.chown(self.root, user.pw_uid, user.pw_gid)
        self.log_path = os.path.join(self.dir, "sshd.log")
        self.config_path = os.path.join(self.dir, "sshd_config")

    def _prepare(self):
        lines = [
            "ListenAddress %s" % self.host,
            "Port %d" % self.port,
        ] + ["HostKey %s" % os.path.join(self.dir, "ssh_host_%s_key" % t) for t in self.host_key_types] + [
            "PidFile %s" % os.path.join(self.dir, "sshd.pid"),
            "LogLevel %s" % self.log_level,
            "PasswordAuthentication yes",
            "PubkeyAuthentication yes",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin no",
            "PermitEmptyPasswords no",
            "UsePAM no",
            "StrictModes no",
            "UseDNS no",
            "PrintMotd no",
            "MaxStartups 100:30:200",
            "MaxAuthTries 10",
            "AllowUsers %s" % self.username,
            "AuthorizedKeysFile %s" % self.authorized_keys_path,
            "Subsystem sftp internal-sftp",
        ]
        # for most sshd keywords the FIRST value wins: the caller's lines go first
        text = "".join(l + "\n" for l in self.extra_config + lines)
        _write(self.config_path, text, 0o600)
        return [self.sshd, "-D", "-E", self.log_path, "-f", self.config_path]


# --------------------------------------------------------------------------- proftpd

class ProftpdServer(_Daemon):
    """ProFTPD with mod_sftp on 127.0.0.1:<free port>: a second, independent SFTP
    implementation (no limits@openssh.com, lsetstat or copy-data).

    Password login for the same system user as SshServer; ``root`` is an empty
    directory owned by that user. ``posix_rename=False`` switches the
    posix-rename@openssh.com extension off (SFTPExtensions), so clients must fall
    back to plain renames. Attributes as SshServer: host, port, username, password,
    root, log_path, host_key_line, host_key_fingerprint.
    """

    name = "proftpd"
    banner = b"SSH-"

    def __init__(self, base_dir=None, username=SFTP_USER, password=SFTP_PASSWORD,
                 posix_rename=True, start_timeout=START_TIMEOUT):
        super(ProftpdServer, self).__init__(base_dir, start_timeout)
        self.username = username
        self.password = password
        self.posix_rename = posix_rename
        self.root = None
        self.host_key_line = self.host_key_fingerprint = None

    def _before_start(self):
        _require_root("ProftpdServer")
        self.proftpd = require_binary("proftpd", "proftpd-core")
        if not os.path.exists("/usr/lib/proftpd/mod_sftp.so"):
            raise MissingBinary("mod_sftp for ProFTPD not found: install it with "
                                "`apt-get install -y proftpd-mod-crypto`")
        keygen = require_binary("ssh-keygen", "openssh-client")
        user = ensure_system_user(self.username, self.password)
        # mod_sftp reads PEM host keys
        self.host_key_path = os.path.join(self.dir, "ssh_host_rsa_key")
        _run([keygen, "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-C", "",
              "-f", self.host_key_path])
        os.chmod(self.host_key_path, 0o600)
        self.host_key_line = _public_line(self.host_key_path + ".pub")
        self.host_key_fingerprint = _run(
            [keygen, "-l", "-f", self.host_key_path + ".pub"]).stdout.split()[1]
        self.root = os.path.join(self.dir, "root")
        os.mkdir(self.root, 0o755)
        os.chown(self.root, user.pw_uid, user.pw_gid)
        self.log_path = os.path.join(self.dir, "sftp.log")
        self.config_path = os.path.join(self.dir, "proftpd.conf")

    def _prepare(self):
        extensions = [] if self.posix_rename else ["SFTPExtensions -posixRename"]
        lines = [
            "ServerName \"sftp tests\"",
            "ServerType standalone",
            "DefaultServer on",
            "DefaultAddress %s" % self.host,
            "SocketBindTight on",
            "UseIPv6 off",
            "Port %d" % self.port,
            "User nobody",
            "Group nogroup",
            "PidFile %s" % os.path.join(self.dir, "proftpd.pid"),
            "ScoreboardFile %s" % os.path.join(self.dir, "proftpd.scoreboard"),
            "DelayTable none",
            "WtmpLog off",
            "UseReverseDNS off",
            "RequireValidShell off",
            "AuthOrder mod_auth_unix.c",
            "MaxInstances 100",
            "SystemLog %s" % os.path.join(self.dir, "proftpd.log"),
            "TransferLog none",
            "AllowOverwrite on",
            "ModulePath /usr/lib/proftpd",
            "LoadModule mod_sftp.c",
            "SFTPEngine on",
            "SFTPLog %s" % self.log_path,
            "SFTPHostKey %s" % self.host_key_path,
            "SFTPAuthMethods password",
            "<Limit LOGIN>",
            "  AllowUser %s" % self.username,
            "  DenyAll",
            "</Limit>",
        ] + extensions
        _write(self.config_path, "".join(l + "\n" for l in lines), 0o600)
        return [self.proftpd, "--nodaemon", "--config", self.config_path]


# --------------------------------------------------------------------------- dante

_DANTE_CONNECT_RE = re.compile(
    r"\b(?:pass|block)\(\d+\): tcp/connect \[: (?P<client>\S+) (?P<proxy>\S+) -> (?P<out>\S+) (?P<dest>\S+)")


_DANTE_PASS = """socks pass {{
    from: 127.0.0.0/8 to: {to}
    command: connect
    log: connect disconnect error
}}
"""


class DanteProxy(_Daemon):
    """Dante SOCKS5 proxy on 127.0.0.1:<free port>; relays to 127.0.0.0/8 only.

    ``auth=True``: ``socksmethod: username`` against the SYSTEM user ``username``
    (created with ``password``); otherwise ``socksmethod: none``.
    Attributes: host, port, auth, username, password (None without auth), log_path.
    """

    name = "danted"

    def __init__(self, auth=False, base_dir=None, username=SOCKS_USER, password=SOCKS_PASSWORD,
                 start_timeout=START_TIMEOUT, external=None, destinations=("127.0.0.0/8",)):
        super(DanteProxy, self).__init__(base_dir, start_timeout)
        self.external = external            # address it connects from (default: host)
        self.destinations = list(destinations)
        self.auth = auth
        self.username = username if auth else None
        self.password = password if auth else None

    def _before_start(self):
        _require_root("DanteProxy")
        self.danted = require_binary("danted", "dante-server")
        if self.auth:
            ensure_system_user(self.username, self.password)
        self.log_path = os.path.join(self.dir, "danted.log")
        self.config_path = os.path.join(self.dir, "danted.conf")

    def _prepare(self):
        # the log is opened as root at startup, but be generous anyway
        _write(self.log_path, "", 0o666)
        text = """\
logoutput: {log}
internal: {host} port = {port}
external: {external}
clientmethod: none
socksmethod: {method}
user.privileged: root
user.unprivileged: nobody
timeout.negotiate: 10
timeout.io: 0

client pass {{
    from: 127.0.0.0/8 to: 0.0.0.0/0
    log: connect disconnect error
}}
{passes}socks block {{
    from: 0.0.0.0/0 to: 0.0.0.0/0
    log: connect error
}}
""".format(log=self.log_path, host=self.host, port=self.port,
           external=self.external or self.host,
           passes="".join(_DANTE_PASS.format(to=to) for to in self.destinations),
           method="username" if self.auth else "none")
        _write(self.config_path, text)
        return [self.danted, "-f", self.config_path, "-p", os.path.join(self.dir, "danted.pid"), "-N", "1"]

    def connections(self):
        """[(client, destination)] of the relayed TCP connections seen in the log,
        addresses as Dante writes them ("127.0.0.1.2222")."""
        return [(m.group("client"), m.group("dest")) for m in _DANTE_CONNECT_RE.finditer(self.log_text())
                if m.group(0).startswith("pass")]

    def connections_to(self, port, host=None):
        """Log lines of connections relayed to ``port`` (and ``host`` if given)."""
        suffix = ".%d" % port
        return [line for line in self.log_text().splitlines()
                for m in [_DANTE_CONNECT_RE.search(line)]
                if m and m.group(0).startswith("pass") and m.group("dest").endswith(suffix)
                and (host is None or m.group("dest") == "%s%s" % (host, suffix))]

    def wait_for_connection_to(self, port, timeout=5.0):
        return _wait_lines(self, lambda: self.connections_to(port), timeout,
                           "connection to port %d" % port)


# --------------------------------------------------------------------------- tinyproxy

# "Request (file descriptor 5): CONNECT 127.0.0.1:2222 HTTP/1.1" is logged even when
# the request is then refused (401/407/403); this line comes only after all checks:
_TINY_CONNECT_RE = re.compile(r"opensock: opening connection to (?P<dest>\S+)$")


class TinyProxy(_Daemon):
    """tinyproxy HTTP CONNECT proxy on 127.0.0.1:<free port>.

    CONNECT is allowed only to ``connect_ports`` (403 otherwise). ``auth=True`` adds
    ``BasicAuth username password`` (no credentials: 407, wrong ones: 401).
    Attributes: host, port, auth, username, password (None without auth),
    connect_ports, log_path.
    """

    name = "tinyproxy"

    def __init__(self, auth=False, connect_ports=(), base_dir=None, username=HTTP_PROXY_USER,
                 password=HTTP_PROXY_PASSWORD, start_timeout=START_TIMEOUT):
        super(TinyProxy, self).__init__(base_dir, start_timeout)
        self.auth = auth
        self.connect_ports = [int(p) for p in connect_ports]
        self.username = username if auth else None
        self.password = password if auth else None
        if auth:
            for value in (username, password):
                if not re.match(r"^[-A-Za-z0-9._]+$", value):
                    raise ValueError("tinyproxy BasicAuth accepts only [-A-Za-z0-9._]: %r" % value)

    def _before_start(self):
        self.tinyproxy = require_binary("tinyproxy", "tinyproxy")
        self.log_path = os.path.join(self.dir, "tinyproxy.log")
        self.config_path = os.path.join(self.dir, "tinyproxy.conf")

    def _prepare(self):
        _write(self.log_path, "", 0o666)
        lines = [
            "Port %d" % self.port,
            "Listen %s" % self.host,
            "Timeout 600",
            "Allow 127.0.0.1",
            "MaxClients 100",
            "LogFile \"%s\"" % self.log_path,
            "LogLevel Info",
            "PidFile \"%s\"" % os.path.join(self.dir, "tinyproxy.pid"),
            "DisableViaHeader Yes",
        ]
        if os.geteuid() == 0:
            lines += ["User nobody", "Group nogroup"]
        lines += ["ConnectPort %d" % p for p in self.connect_ports]
        if self.auth:
            lines.append("BasicAuth %s %s" % (self.username, self.password))
        _write(self.config_path, "".join(l + "\n" for l in lines))
        return [self.tinyproxy, "-d", "-c", self.config_path]

    def connections_to(self, port, host=None):
        """Log lines of CONNECT tunnels tinyproxy opened to ``port`` (and ``host`` as
        the client wrote it, e.g. "localhost"), after auth and ConnectPort checks."""
        out = []
        for line in self.log_text().splitlines():
            m = _TINY_CONNECT_RE.search(line)
            if m:
                dest_host, _, dest_port = m.group("dest").rpartition(":")
                if dest_port == str(port) and (host is None or dest_host == host):
                    out.append(line)
        return out

    def wait_for_connection_to(self, port, timeout=5.0):
        return _wait_lines(self, lambda: self.connections_to(port), timeout,
                           "CONNECT to port %d" % port)


def _wait_lines(server, get, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        lines = get()
        if lines:
            return lines
        if time.monotonic() >= deadline:
            raise TimeoutError("no %s in %s after %.1fs; log:\n%s"
                               % (what, server.log_path, timeout, server.log_text()))
        time.sleep(0.05)
