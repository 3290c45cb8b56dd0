"""A network where the SFTP server is reachable ONLY through an SSH bastion.

``HiddenNetwork`` creates a network namespace (a name unique to this process) with a
veth pair: the root namespace gets ``root_address``, the namespace ``address``
(link-local 169.254.x.y, /30, chosen from the process id so concurrent runs do not
clash). Inside it, ``NamespacedSshServer`` runs:
- the SFTP server on the namespace's own 127.0.0.1, which nothing outside the
  namespace can reach (the root namespace's 127.0.0.1 is another host);
- bastions on ``address``, which the tests and the proxies in the root namespace
  reach over the veth, and which can reach the hidden server's 127.0.0.1.
Everything is removed by ``close()`` (deleting the namespace removes the veth pair).
"""
import itertools
import os
import random
import subprocess
import time

from helpers import servers

_COUNTER = itertools.count()


def _ip(*args, netns=None):
    argv = ["ip"] + (["netns", "exec", netns, "ip"] if netns else []) + list(args)
    subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


class HiddenNetwork(object):
    """A network namespace joined to the root namespace by one veth pair."""

    def __init__(self):
        servers.require_binary("ip", "iproute2")
        pid, number = os.getpid(), next(_COUNTER)
        self.name = "sftpjump%d-%d" % (pid, number)
        self.root_link, self.ns_link = "sjr%d%d" % (pid, number), "sjn%d%d" % (pid, number)
        block = (pid * 8 + number) % (250 * 64)
        third, fourth = 1 + block // 64, (block % 64) * 4
        self.root_address = "169.254.%d.%d" % (third, fourth + 1)
        self.address = "169.254.%d.%d" % (third, fourth + 2)
        self.created = False

    def __enter__(self):
        try:
            _ip("netns", "add", self.name)
            self.created = True
            _ip("link", "add", self.root_link, "type", "veth", "peer", "name", self.ns_link)
            _ip("link", "set", self.ns_link, "netns", self.name)
            _ip("addr", "add", self.root_address + "/30", "dev", self.root_link)
            _ip("link", "set", self.root_link, "up")
            _ip("addr", "add", self.address + "/30", "dev", self.ns_link, netns=self.name)
            _ip("link", "set", self.ns_link, "up", netns=self.name)
            _ip("link", "set", "lo", "up", netns=self.name)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.created:
            subprocess.run(["ip", "netns", "del", self.name], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
            self.created = False
        subprocess.run(["ip", "link", "del", self.root_link], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)


class NamespacedSshServer(servers.SshServer):
    """``servers.SshServer`` run inside ``network``'s namespace, listening on
    ``address`` there (127.0.0.1: reachable from inside the namespace only)."""

    def __init__(self, network, address, **options):
        super(NamespacedSshServer, self).__init__(**options)
        self.network = network
        self.host = address

    def _pick_port(self):
        return random.randint(20000, 60000)   # a new namespace has nothing listening

    def _prepare(self):
        return ["ip", "netns", "exec", self.network.name] + \
            super(NamespacedSshServer, self)._prepare()

    def _ready(self):
        wanted = "Server listening on %s port %d" % (self.host, self.port)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if os.path.exists(self.log_path) and wanted in open(self.log_path).read():
                return True
            time.sleep(0.05)
        return False

    def log_text(self):
        with open(self.log_path) as handle:
            return handle.read()


def bastion(network, base_dir, keys, forwarding=True):
    """A bastion (no SFTP needed, port forwarding allowed or not) on the veth address,
    at LogLevel DEBUG1 so its log shows each direct-tcpip channel."""
    return NamespacedSshServer(
        network, network.address, base_dir=base_dir, keys=keys, log_level="DEBUG1",
        extra_config=["AllowTcpForwarding %s" % ("yes" if forwarding else "no"),
                      "PermitTTY no"])
