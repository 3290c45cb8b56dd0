"""Walking a remote tree: one listing per directory, entries classified (file,
directory, link, special, internal), problems kept apart. A mixin of ``RemoteTree``.
"""
import logging
import stat

from . import entries, partials
from .entries import Entry, WalkResult
from .errors import RemoteNotFoundError, RemotePathError, RemotePermissionError, UnsafePathError
from .remote_errors import mtime_of, remote_errors

LOG = logging.getLogger(__name__)


def listdir(sftp, full):
    """The entries of remote directory ``full`` with their attributes
    (``filename`` set; '.' and '..' left out)."""
    return sftp.listdir_attr(full)


class RemoteWalk(object):
    """``walk`` for ``RemoteTree`` (needs ``sftp``, ``abs``, ``root``, ``base``,
    ``state``)."""

    def walk(self, symlinks="skip", as_target=False):
        """Every file and directory below the base, with problems listed apart.
        As a target, partial files are listed apart (``partials``)."""
        result = WalkResult(files=[], dirs=[], problems=[], partials=[])
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
            for attrs in sorted(listing, key=lambda a: a.filename):
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
            result.problems.append(((rel + "/" if rel else "") + repr(name)[1:-1],
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
                result.problems.append((path, "symbolic link skipped (the 'Symbolic "
                                              "links' option is 'skip')"))
                return None
            return self._follow(path, visited, result)
        if stat.S_ISDIR(mode):
            return path
        if stat.S_ISREG(mode):
            result.files.append(self._entry(path, attrs))
        else:
            result.problems.append((path, "not a regular file or directory: skipped"))
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
            result.problems.append((path, "broken symbolic link skipped (%s)" % exc))
            return None
        if not entries.is_within(self.sftp.normalize(self.root), target):
            result.problems.append((path, "symbolic link to %s, outside the service's "
                                          "root path: skipped" % target))
            return None
        if stat.S_ISREG(attrs.st_mode or 0):
            result.files.append(Entry(path, attrs.st_size or 0, mtime_of(attrs)))
            return None
        if not stat.S_ISDIR(attrs.st_mode or 0) or target in visited:
            result.problems.append((path, "symbolic link loop or special file: skipped"))
            return None
        visited.add(target)
        return path


def touched(attrs):
    """When a writer last touched a listed file: the later of its times."""
    times = [t for t in (attrs.st_mtime, attrs.st_atime) if t is not None]
    return max(times) if times else None
