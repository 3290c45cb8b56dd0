"""Read-only questions the connection test asks an SFTP server: which extensions
it offers, how it answers one directory listing, a write test that cleans up
after itself, and the round-trip time. Used by ``diagnose``; no ``dataiku``.
"""
import errno
import posixpath
import stat
import time
import uuid

from paramiko.sftp import CMD_EXTENDED, CMD_EXTENDED_REPLY

from sftp_client.remote.tree import RemoteTree
from sftp_client.remote.error_map import remote_errors
from sftp_client.remote.walk import listdir

#: Entries of a listed directory shown by the connection test.
FIRST_ENTRIES = 8
#: Round trips timed for the latency figure (the median is reported).
LATENCY_SAMPLES = 5
#: Size of the write test's temporary file.
WRITE_TEST_BYTES = 1024
#: Name the write test's temporary file is derived from (an internal partial
#: name is built from it, so no sync ever lists it and a stale one is removed).
WRITE_TEST_NAME = "sftp-connection-test"


def extension_answers(sftp, name, *args):
    """True when the server knows the extended request ``name`` (it answers or
    fails on the arguments), False when it says the operation is unsupported."""
    try:
        sftp._request(CMD_EXTENDED, name, *args)
    except EOFError:
        return True
    except (IOError, OSError) as exc:
        # paramiko gives NO_SUCH_FILE / PERMISSION_DENIED an errno; OP_UNSUPPORTED
        # (and a generic FAILURE) come without one.
        return exc.errno is not None
    return True


def statvfs_free(sftp, path):
    """Free bytes for unprivileged users on ``path`` (statvfs@openssh.com), or
    None when the server does not say."""
    try:
        kind, msg = sftp._request(CMD_EXTENDED, "statvfs@openssh.com", path)
    except (IOError, OSError, EOFError):
        return None
    if kind != CMD_EXTENDED_REPLY:
        return None
    _block_size, fragment_size = msg.get_int64(), msg.get_int64()
    _blocks, _free, available = msg.get_int64(), msg.get_int64(), msg.get_int64()
    return available * fragment_size


def extensions(sftp, root):
    """``{extension: answer}``, asked without changing anything on the server:
    posix-rename of a name that does not exist, statvfs of the root path, limits."""
    missing = posixpath.join(root, ".sftp-probe-%s-missing" % uuid.uuid4().hex[:8])
    found = {"posix-rename": extension_answers(sftp, "posix-rename@openssh.com",
                                               missing, missing + "-to")}
    free = statvfs_free(sftp, root)
    found["statvfs"] = free is not None
    found["free_bytes"] = free
    found["limits"] = extension_answers(sftp, "limits@openssh.com")
    return found


def describe_extensions(found):
    words = []
    for name in ("posix-rename", "statvfs", "limits"):
        words.append("%s %s" % (name, "yes" if found.get(name) else "no"))
    if found.get("free_bytes") is not None:
        words.append("%s free on the root path" % human_bytes(found["free_bytes"]))
    return ", ".join(words)


def first_entries(sftp, full):
    """``(count, [first names])`` of remote directory ``full``; directories end
    with '/'. Raises the library's RemotePathError subclasses."""
    with remote_errors("listing", full + "/"):
        listing = listdir(sftp, full)
    names = []
    for attrs in listing:
        names.append(attrs.filename + ("/" if stat.S_ISDIR(attrs.st_mode or 0) else ""))
    names.sort()
    return len(names), names[:FIRST_ENTRIES]


def describe_listing(full, count, names):
    if not count:
        return "%s listed: empty" % full
    more = ", ..." if count > len(names) else ""
    return "%s listed: %d entries (%s%s)" % (full, count, ", ".join(names), more)


def write_test(sftp, base, root):
    """Write a small temporary file in ``base``, check its size, remove it."""
    tree = RemoteTree(sftp, base, root)
    temp, handle = tree.open_partial(WRITE_TEST_NAME)
    try:
        with remote_errors("writing", temp):
            with handle:
                handle.write(b"\0" * WRITE_TEST_BYTES)
        tree.verify_partial(temp, WRITE_TEST_NAME, WRITE_TEST_BYTES)
    finally:
        tree.discard(temp)
    with remote_errors("checking", temp):
        try:
            sftp.stat(temp)
            left = True
        except IOError as exc:
            left = exc.errno != errno.ENOENT
    if left:
        return "wrote %d bytes to %s but could not remove it: remove it by hand" % (
            WRITE_TEST_BYTES, temp)
    return "wrote, checked and removed a %d-byte temporary file in %s" % (
        WRITE_TEST_BYTES, base)


def latency(sftp, path, samples=LATENCY_SAMPLES):
    """Median and fastest time (seconds) of ``samples`` stat round trips."""
    times = []
    for _ in range(samples):
        start = time.time()
        with remote_errors("checking", path):
            sftp.stat(path)
        times.append(time.time() - start)
    times.sort()
    return times[len(times) // 2], times[0]


def human_bytes(count):
    size = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return ("%d %s" % (size, unit)) if unit == "bytes" else "%.1f %s" % (size, unit)
        size /= 1024.0
    return "%d bytes" % count

