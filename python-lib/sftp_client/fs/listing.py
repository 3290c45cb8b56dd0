"""Listing and removing below a folder path, for the FS provider: one ``listdir``
per directory (``remote_walk``'s seam, the recipes' listing), lazily so that
``enumerate`` can stop at the first non-empty file.

Symbolic links are followed only when they resolve inside the folder, and a link
to a directory that contains it (a loop) is not entered. Partial files of writes
in progress are never listed. Removal never follows a link: it removes the link.
"""
import collections
import logging
import stat
from typing import NamedTuple

from sftp_client import entries
from sftp_client.errors import UnsafePathError
from sftp_client.fs.paths import first_form
from sftp_client.remote.error_map import remote_errors
from sftp_client.remote.walk import listdir

LOG = logging.getLogger(__name__)


class Listed(NamedTuple):
    rel: str                   # path relative to the folder's root, no leading '/'
    attrs: object              # SFTPAttributes (of a link's target for links)
    directory: bool


def children(paths, rel):
    """The files and directories directly in directory ``rel``, sorted by name."""
    full = paths.tree.abs(rel)
    with remote_errors("listing", full + "/"):
        listing = listdir(paths.sftp, full)
    found = []
    for attrs in sorted(listing, key=lambda a: a.filename):
        item = _classify(paths, rel, attrs)
        if item is not None:
            found.append(item)
    return found


def files_below(paths, rel):
    """Every file below directory ``rel``, breadth first, as ``Listed``, lazily."""
    pending = collections.deque([rel])
    while pending:
        for item in children(paths, pending.popleft()):
            if item.directory:
                pending.append(item.rel)
            else:
                yield item


def _classify(paths, rel, attrs):
    name = attrs.filename
    try:
        path = entries.join(rel, name)
    except UnsafePathError as exc:
        LOG.warning("Left out of the listing of /%s: %s", entries.printable(rel), exc)
        return None
    if name.endswith(entries.PARTIAL_SUFFIX):
        return None              # a write in progress
    mode = attrs.st_mode or 0
    if stat.S_ISLNK(mode):
        return _through_link(paths, rel, path)
    if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
        return Listed(path, attrs, stat.S_ISDIR(mode))
    return None                  # sockets, devices, FIFOs


def _through_link(paths, rel, path):
    try:
        _, attrs, real = paths.follow(path)
    except UnsafePathError as exc:
        LOG.warning("Left out of the listing: %s", exc)
        return None
    if attrs is None:
        return None              # dangling link
    mode = attrs.st_mode or 0
    if stat.S_ISDIR(mode):
        here = paths.real_dir(paths.tree.abs(rel), path)
        if entries.is_within(real, here):
            LOG.warning("Left out of the listing: /%s links to a directory that contains "
                        "it (a loop).", entries.printable(path))
            return None
        return Listed(path, attrs, True)
    return Listed(path, attrs, False) if stat.S_ISREG(mode) else None


def remove(paths, rel, attrs):
    """Remove what is at ``rel`` (``attrs``: its own, a link not followed); a
    directory with everything in it. Returns the number of files (and links)
    removed."""
    full = paths.tree.abs(rel)
    if not stat.S_ISDIR(attrs.st_mode or 0):
        first_form(full, "removing", paths.sftp.remove)
        return 1
    count = remove_children(paths, rel)
    if rel:
        first_form(full, "removing directory", paths.sftp.rmdir)
    return count


def remove_children(paths, rel):
    """Remove everything inside directory ``rel``, links not followed."""
    full = paths.tree.abs(rel)
    with remote_errors("listing", full + "/"):
        listing = listdir(paths.sftp, full)
    return sum(remove(paths, entries.join(rel, attrs.filename), attrs)
               for attrs in listing)
