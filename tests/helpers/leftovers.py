"""Partial files as other runs leave them, for tests of what a run does with them."""
import os
import subprocess

from sftp_client import partials
from sftp_client.entries import PARTIAL_SUFFIX

#: Long enough ago that any partial file last touched then is stale.
LONG_AGO = 1600000000


def dead_pid():
    """The id of a process of this host that has ended."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def partial_name(name, pid=None, size=None, mtime=None, host=None):
    """The partial name a writer ``pid`` of ``host`` (this one by default) gives
    to final name ``name``; with the source's ``size`` and ``mtime`` recorded."""
    sig = "-" + partials.signature(size, mtime) if size is not None else ""
    return ".%s.%s-%x-c0ffee%s%s" % (name, host or partials.host_id(),
                                     os.getpid() if pid is None else pid, sig,
                                     PARTIAL_SUFFIX)
