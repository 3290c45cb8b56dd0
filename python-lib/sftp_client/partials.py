"""Partial files: their names, who owns them, and when one is certainly abandoned.

A file is written under ``.<name>.<owner>-<nonce>[-<source>].sftp-partial`` beside
its final name, then renamed into place. The name carries:

- the owner: a short hash of the host (hostname and boot id) and the writing
  process id, so that another run on the same host can tell a dead writer from a
  live one;
- a nonce, so that two partials of one process never collide;
- optionally a signature of the source (its size and modification time), so
  that a later run can resume the partial of a killed run when the source has
  not changed.

Several runs may write into one directory at once (two recipes, a recipe and the
exporter, overlapping scenario runs). A run removes, or resumes, another writer's
partial file only when it is certainly abandoned: its owner is a process of this
host that no longer exists, or nobody wrote to it (nor stamped it) for
``STALE_AFTER`` seconds, which covers writers on other hosts and names of older
plugin versions. A writer renews its lease simply by writing: every write moves
the file's modification time, and the final time stamp before the rename sets
the access time to now.
"""
import hashlib
import logging
import os
import posixpath
import re
import socket
import uuid
from typing import NamedTuple, Optional

from sftp_client.entries import PARTIAL_SUFFIX

LOG = logging.getLogger(__name__)

#: Seconds without a write after which a partial file of a writer that cannot be
#: checked (another host, an older plugin version, a reused process id) is taken
#: as abandoned. Generous: a live writer touches its file far more often, and
#: clocks of the DSS host and the server may differ by minutes.
STALE_AFTER = 24 * 3600

_NAME_RE = re.compile(
    r"^\.(?P<name>.+)\.(?:(?P<host>[0-9a-f]{6})-(?P<pid>[0-9a-f]{1,8})-[0-9a-f]{6}"
    r"(?:-(?P<sig>[0-9a-f]{8}))?|[0-9a-f]{12})" + re.escape(PARTIAL_SUFFIX) + "$")


class Leftover(NamedTuple):
    """A partial file found while listing a target."""
    path: str                  # relative path of the partial file
    target: str                # relative path of the file it was meant to become
    host: Optional[str]        # owner's host hash; None for names of older versions
    pid: Optional[int]
    signature: Optional[str]   # of the source it was started from, if recorded
    size: int
    touched: Optional[float]   # latest of its modification and access times


def host_id():
    """6 hex digits naming this host (hostname and, on Linux, the boot id)."""
    boot = ""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            boot = handle.read().strip()
    except (IOError, OSError):
        pass
    text = "%s|%s" % (socket.gethostname(), boot)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:6]


_HOST = host_id()
#: Names of partial files this process gave up (see give_up).
_GIVEN_UP = set()


def owner():
    """This process, as partial names carry it (asked each time: forks differ)."""
    return "%s-%x" % (_HOST, os.getpid())


def signature(size, mtime):
    """8 hex digits of the source's size and modification time."""
    text = "%d:%s" % (size, "" if mtime is None else int(mtime))
    return hashlib.sha1(text.encode("ascii")).hexdigest()[:8]


def partial_name(name, size=None, mtime=None):
    """A new partial name for final name ``name``; with the source's ``size`` and
    ``mtime``, recorded so that a later run may resume the partial."""
    sig = "-" + signature(size, mtime) if size is not None else ""
    return ".%s.%s-%s%s%s" % (name, owner(), uuid.uuid4().hex[:6], sig, PARTIAL_SUFFIX)


def partial_path(path, size=None, mtime=None):
    """``partial_name`` beside ``path`` (a POSIX path)."""
    parent, name = posixpath.split(path)
    temp = partial_name(name, size, mtime)
    return posixpath.join(parent, temp) if parent else temp


def is_partial(name):
    """A partial file of this plugin, of any version."""
    return bool(_NAME_RE.match(name))


def leftover(parent, name, size, touched):
    """The ``Leftover`` for listed partial file ``name`` in relative directory
    ``parent``, or None when ``name`` is not one of ours."""
    match = _NAME_RE.match(name)
    if not match:
        return None
    join = (lambda n: parent + "/" + n) if parent else (lambda n: n)
    pid = match.group("pid")
    return Leftover(join(name), join(match.group("name")), match.group("host"),
                    int(pid, 16) if pid else None, match.group("sig"), size, touched)


def give_up(path):
    """Note that this process gave up the partial file ``path`` without being able
    to remove it (its connection was lost): a later run in this process may then
    remove or resume it although its owner is alive."""
    _GIVEN_UP.add(posixpath.basename(path))


def abandoned(item, now):
    """Whether nobody can still be writing ``item`` (see the module docstring)."""
    if item.host == _HOST and item.pid == os.getpid():
        if posixpath.basename(item.path) in _GIVEN_UP:
            return True
    elif item.host == _HOST and item.pid is not None and not _alive(item.pid):
        return True
    return item.touched is not None and now - item.touched > STALE_AFTER


def resumable(item, source):
    """Whether abandoned ``item`` was started from this very ``source`` entry."""
    return item.signature is not None and item.signature == signature(source.size,
                                                                      source.mtime)


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True      # exists under another user, or cannot tell: alive
    return True


def settle(target, found, items, now):
    """Deal with the partial files ``found`` while listing ``target``, once the
    plan is known: an abandoned one started from the unchanged source of a file
    to copy is claimed for resuming; any other abandoned one is removed; those
    of live writers are left alone. Returns ``{path: claimed partial}``."""
    wanted = dict((item.path, item) for item in items if item.copy)
    claimed = {}
    for item in found or ():
        if not abandoned(item, now):
            LOG.info("Leaving %s alone: another run is writing it", item.path)
            continue
        planned = wanted.get(item.target)
        if planned is not None and item.target not in claimed and resumable(
                item, planned.source) and getattr(target, "can_resume_runs", False):
            temp = target.claim_partial(item, planned.source)
            if temp is not None:
                claimed[item.target] = temp
                continue
        LOG.info("Removing %s, left by an interrupted run", item.path)
        target.remove_partial(item)
    return claimed
