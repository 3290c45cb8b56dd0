"""File entries and POSIX path rules shared by remote trees and managed folders.

Paths inside a tree are relative POSIX paths without a leading slash
(``"2024/data file.csv"``). Every name read from a server or typed by a user passes
through ``check_name`` / ``resolve_under`` before it is used to build a path, so
that no name can point outside the tree it belongs to.
"""
import posixpath
import re
from typing import NamedTuple, Optional

from sftp_client.errors import UnsafePathError

#: Suffix of files being written; never listed as data, removed when stale.
PARTIAL_SUFFIX = ".sftp-partial"
#: State file kept in folders that cannot store modification times.
STATE_FILE = ".sftp-sync-state.json"


class Entry(NamedTuple):
    path: str                  # relative POSIX path
    size: int
    mtime: Optional[int]       # whole seconds since the epoch; None if unknown


class WalkResult(NamedTuple):
    files: list                # [Entry]
    dirs: list                 # [relative directory path], parents before children
    problems: list             # [(relative path, message)] not copied because of an
                               # error (unlistable, refused name, broken link): failures
    skipped: list              # [(relative path, message)] left out on purpose
                               # (links with 'Symbolic links' = Skip, special files)
    partials: Optional[list] = None   # [partials.Leftover] found listing a target

    @classmethod
    def empty(cls):
        return cls(files=[], dirs=[], problems=[], skipped=[], partials=[])


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


def is_internal(name):
    """Names this plugin writes for itself, never synced as data."""
    return name.endswith(PARTIAL_SUFFIX) or name == STATE_FILE


# --- names that are not UTF-8 -----------------------------------------------------
#
# SFTP v3 names are bytes. A name that is valid UTF-8 is used as it is; any other
# name (e.g. Latin-1 'caf\xe9.txt' on an older server) gets a deterministic, reversible
# safe name: each byte of it outside printable ASCII, and '%', becomes %XX
# ('caf%E9.txt'). Only names that are not UTF-8 are escaped, and ``raw_name``
# reverses them. An ASCII name that happens to spell such an escape ('100%E9.csv')
# is ambiguous: code that opens a name by its text tries its UTF-8 bytes first.

_ESCAPE_RE = re.compile(r"%[0-9A-F]{2}")


def safe_name(raw):
    """The text name of the listed ``raw`` bytes name (see above)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(chr(b) if 0x20 < b < 0x7f and b != 0x25 else "%%%02X" % b
                       for b in bytearray(raw))


def raw_name(name):
    """The bytes the server knows for text ``name``: the inverse of ``safe_name``."""
    # safe_name escapes every byte outside printable ASCII: any other character
    # means ``name`` is a real UTF-8 name, whatever '%XX' it holds.
    if _ESCAPE_RE.search(name) and all(0x20 < ord(ch) < 0x7f for ch in name):
        raw = bytes(bytearray(int(part[1:], 16) if len(part) == 3 else ord(part)
                              for part in _name_parts(name)))
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    return name.encode("utf-8")


def _name_parts(name):
    """'caf%E9.txt' -> ['c', 'a', 'f', '%E9', '.', 't', 'x', 't']."""
    parts, i = [], 0
    while i < len(name):
        if _ESCAPE_RE.match(name, i):
            parts.append(name[i:i + 3])
            i += 3
        else:
            parts.append(name[i])
            i += 1
    return parts


def raw_path(path):
    """A remote path as the bytes to send: each component through ``raw_name``."""
    return b"/".join(raw_name(part) if part else b"" for part in path.split("/"))


def printable(text):
    """``text`` for a log line or report: control characters (a newline could forge
    a log line) shown as escapes."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)
