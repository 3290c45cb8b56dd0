"""Walking a remote tree: one listing per directory, entries classified (file,
directory, link, special, internal); what cannot be copied because of an error
(``problems``: failures) kept apart from what is left out on purpose (``skipped``).
A mixin of ``RemoteTree``.

Names are listed as bytes (``remote_names.list_raw``): a name that is not UTF-8
gets its safe text name (``entries.safe_name``) and is copied under it.
"""
import logging
import stat

from sftp_client import entries, partials
from sftp_client.entries import Entry, WalkResult
from sftp_client.errors import RemoteNotFoundError, RemotePathError, RemotePermissionError, UnsafePathError
from sftp_client.remote.error_map import mtime_of, remote_errors
from sftp_client.remote.raw_names import RawNameSftp, is_escaped

LOG = logging.getLogger(__name__)


def listdir(sftp, full):
    """The entries of remote directory ``full`` with their attributes: ``filename``
    is text (a name that is not UTF-8 escaped, see ``entries.safe_name``),
    ``raw_filename`` the bytes the server sent; '.' and '..' left out. ``sftp`` is
    a paramiko ``SFTPClient`` or a ``RawNameSftp`` (which then remembers the
    escaped names, so that its later calls on them send their bytes). A text
    ``full`` is sent as listed through that ``RawNameSftp``, else as UTF-8, and
    when that is not found, with its escapes turned back into bytes
    (``entries.raw_path``: 'caf%E9' lists b'caf\\xe9')."""
    if not isinstance(sftp, RawNameSftp):
        sftp = RawNameSftp(sftp)
    return sftp.listdir_attr(full)


class RemoteWalk(object):
    """``walk`` for ``RemoteTree`` (needs ``sftp``, ``abs``, ``root``, ``base``,
    ``state``)."""

    def walk(self, symlinks="skip", as_target=False):
        """Every file and directory below the base, with problems listed apart.
        As a target, partial files are listed apart (``partials``)."""
        result = WalkResult.empty()
        self._as_target = as_target
        visited = set()
        if symlinks == "follow":
            with remote_errors("resolving", self.base):
                visited.add(self.sftp.normalize(self.base))
        pending = [""]
        while pending:
            rel = pending.pop(0)
            try:
                with remote_errors("listing", self.abs(rel) + "/"):
                    listing = listdir(self.sftp, self.abs(rel))
            except (RemotePermissionError, RemoteNotFoundError, RemotePathError) as exc:
                if not rel:
                    raise
                result.problems.append((rel, "cannot list this directory: %s" % exc))
                continue
            plain = set(a.filename for a in listing if not is_escaped(a))
            for attrs in sorted(listing, key=lambda a: a.filename):
                if is_escaped(attrs) and attrs.filename in plain:
                    result.problems.append(((rel + "/" if rel else "") + attrs.filename, (
                        "a name that is not UTF-8 (%r) has the same safe name as "
                        "another file here: not copied" % attrs.raw_filename)))
                    continue
                child = self._classify(rel, attrs, symlinks, visited, result)
                if child is not None:
                    result.dirs.append(child)
                    pending.append(child)
        return result

    def _classify(self, rel, attrs, symlinks, visited, result):
        """Record a listed entry; return its path when it is a directory to walk."""
        name = attrs.filename
        try:
            path = entries.join(rel, name)
        except UnsafePathError as exc:
            result.problems.append(((rel + "/" if rel else "") + entries.printable(name),
                                    str(exc)))
            return None
        if entries.is_internal(name):
            if self._as_target:
                found = partials.leftover(rel, name, attrs.st_size or 0, touched(attrs))
                if found is not None:
                    result.partials.append(found)
            return None
        mode = attrs.st_mode or 0
        if stat.S_ISLNK(mode):
            if symlinks != "follow":
                result.skipped.append((path, "symbolic link skipped ('Symbolic links' "
                                             "is 'Skip')"))
                return None
            return self._follow(path, visited, result)
        if stat.S_ISDIR(mode):
            return path
        if stat.S_ISREG(mode):
            result.files.append(self._entry(path, attrs))
        else:
            result.skipped.append((path, "not a regular file or directory: skipped"))
        return None

    def _entry(self, path, attrs):
        """The file's entry; where the server could not keep our times, the time
        recorded at upload stands in while the file is as we left it."""
        size, mtime = attrs.st_size or 0, mtime_of(attrs)
        if self.state is not None:
            known = self.state.known_mtime(path, size, remote_mtime=mtime)
            if known is not None:
                mtime = known
        return Entry(path, size, mtime)

    def _follow(self, path, visited, result):
        full = self.abs(path)
        try:
            with remote_errors("following link", full):
                attrs = self.sftp.stat(full)
                target = self.sftp.normalize(full)
        except RemotePathError as exc:
            result.problems.append((path, "symbolic link that cannot be followed (%s)"
                                    % exc))
            return None
        if not entries.is_within(self.sftp.normalize(self.root), target):
            result.problems.append((path, "symbolic link to %s, outside the service's "
                                          "root path: not followed" % target))
            return None
        if stat.S_ISREG(attrs.st_mode or 0):
            result.files.append(Entry(path, attrs.st_size or 0, mtime_of(attrs)))
            return None
        if not stat.S_ISDIR(attrs.st_mode or 0):
            result.skipped.append((path, "symbolic link to a special file: skipped"))
            return None
        if target in visited:
            result.skipped.append((path, "symbolic link loop: %s is already copied "
                                         "under another path" % target))
            return None
        visited.add(target)
        return path


def touched(attrs):
    """When a writer last touched a listed file: the later of its times."""
    times = [t for t in (attrs.st_mtime, attrs.st_atime) if t is not None]
    return max(times) if times else None
