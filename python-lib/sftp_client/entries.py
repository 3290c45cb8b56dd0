"""File entries and POSIX path rules shared by remote trees and managed folders.

Paths inside a tree are relative POSIX paths without a leading slash
(``"2024/data file.csv"``). Every name read from a server or typed by a user passes
through ``check_name`` / ``resolve_under`` before it is used to build a path, so
that no name can point outside the tree it belongs to.
"""
import posixpath
import re
import uuid
from typing import NamedTuple, Optional

from .errors import UnsafePathError

#: Suffix of files being written; never listed as data, removed when stale.
PARTIAL_SUFFIX = ".sftp-partial"
#: State file kept in folders that cannot store modification times.
STATE_FILE = ".sftp-sync-state.json"
_PARTIAL_RE = re.compile(r"^\..+\.[0-9a-f]{12}" + re.escape(PARTIAL_SUFFIX) + "$")


class Entry(NamedTuple):
    path: str                  # relative POSIX path
    size: int
    mtime: Optional[int]       # whole seconds since the epoch; None if unknown


class WalkResult(NamedTuple):
    files: list                # [Entry]
    dirs: list                 # [relative directory path], parents before children
    problems: list             # [(relative path, message)] listed but not usable


def check_name(name):
    """Refuse a single path component that could escape or confuse a tree."""
    if name in ("", ".", ".."):
        raise UnsafePathError("unsafe file name %r: refused." % (name,), name)
    for bad, what in (("/", "a slash"), ("\\", "a backslash"), ("\x00", "a NUL byte")):
        if bad in name:
            raise UnsafePathError("unsafe file name %r: it contains %s; refused."
                                  % (name, what), name)
    return name


def join(parent, name):
    """Relative path of ``name`` inside relative directory ``parent``."""
    check_name(name)
    return name if not parent else parent + "/" + name


def split_relative(path):
    """Components of a relative path, each checked; '' and '/' give []."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    for part in parts:
        check_name(part)
    return parts


def resolve_under(root, user_path, label):
    """Absolute path of ``user_path`` (relative to ``root``), refusing escapes.

    ``user_path`` may be empty (the root itself), relative, or absolute when it
    lies inside ``root``; any '..' component is refused outright.
    """
    if "\x00" in user_path:
        raise UnsafePathError('"%s" contains a NUL byte.' % label, user_path)
    if ".." in user_path.replace("\\", "/").split("/"):
        raise UnsafePathError('"%s" must not contain "..": paths are relative to the '
                              "service's root path %s." % (label, root), user_path)
    if user_path.startswith("/"):
        candidate = posixpath.normpath(user_path)
        if not is_within(root, candidate):
            raise UnsafePathError('"%s" (%s) is outside the service\'s root path %s: '
                                  "give a path relative to it." % (label, user_path, root),
                                  user_path)
        return candidate
    rel = user_path.strip().strip("/")
    return posixpath.normpath(posixpath.join(root, rel)) if rel else root


def is_within(root, path):
    """Whether absolute ``path`` is ``root`` or below it (lexically)."""
    root = root.rstrip("/") or "/"
    return path == root or root == "/" or path.startswith(root + "/")


def partial_path(path):
    """A unique temporary name beside ``path``: ``dir/.name.<token>.sftp-partial``."""
    parent, name = posixpath.split(path)
    temp = ".%s.%s%s" % (name, uuid.uuid4().hex[:12], PARTIAL_SUFFIX)
    return posixpath.join(parent, temp) if parent else temp


def is_stale_partial(name):
    """A partial file of this plugin (``.name.<12 hex>.sftp-partial``)."""
    return bool(_PARTIAL_RE.match(name))


def is_internal(name):
    """Names this plugin writes for itself, never synced as data."""
    return name.endswith(PARTIAL_SUFFIX) or name == STATE_FILE
