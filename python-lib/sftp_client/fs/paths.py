"""Where a DSS FS-provider path lives on the server, and the checks that keep it
inside the folder.

DSS gives every path relative to the provider's root (``/a/b.csv``; ``""`` or
``/`` is the root itself); the root is relative to the service's root path. A path
with a ``..`` component is refused outright; a leading ``/`` means the folder's
root, never the server's. Symbolic links are resolved by the server
(REALPATH): whatever resolves outside the folder is refused.

Names listed with escapes (``entries.safe_name``, for names that are not UTF-8)
are sent back to the server as their raw bytes (``entries.raw_path``); a name
that only looks escaped is tried in its UTF-8 form first.
"""
import posixpath
import stat

from paramiko.sftp import CMD_NAME, CMD_REALPATH

from sftp_client import entries
from sftp_client.errors import RemoteNotFoundError, UnsafePathError
from sftp_client.remote.tree import RemoteTree
from sftp_client.remote.error_map import remote_errors

#: The label of the folder's or dataset's path in messages.
PATH_LABEL = "Path"


def folder_relative(path, allow_root=True):
    """``"a/b.csv"`` for DSS's ``"/a/b.csv"``; '' for the root. Refuses '..'."""
    try:
        parts = entries.split_relative(path or "")
    except UnsafePathError as exc:
        raise UnsafePathError("%r is refused: paths stay inside the folder (%s)"
                              % (path, exc), path) from exc
    if not parts and not allow_root:
        raise UnsafePathError("This operation needs a file path, not the folder's root.",
                              path)
    return "/".join(parts)


def base_of(root_path, root):
    """Absolute remote directory of a provider whose root is ``root`` (relative to
    the service's ``root_path``, even with a leading '/')."""
    try:
        parts = entries.split_relative(root or "")
    except UnsafePathError as exc:
        raise UnsafePathError("The folder's %s %r leaves the service's root path %s: "
                              "'..' is refused (%s)." % (PATH_LABEL, root, root_path, exc),
                              root) from exc
    return posixpath.join(root_path, *parts) if parts else root_path


def forms(full):
    """The ways to send ``full`` to the server: its UTF-8 text, then, when it holds
    escaped names, their raw bytes."""
    raw = entries.raw_path(full)
    return [full] if raw == full.encode("utf-8") else [full, raw]


def first_form(full, action, call):
    """``(form, call(form))`` for the first form of ``full`` the server finds."""
    candidates = forms(full)
    for form in candidates:
        try:
            with remote_errors(action, full):
                return form, call(form)
        except RemoteNotFoundError:
            if form is candidates[-1]:
                raise
    raise AssertionError("unreachable")


def realpath(sftp, form):
    """The server's real path of ``form`` (symbolic links resolved), its names that
    are not UTF-8 escaped as listings show them (paramiko's ``normalize`` fails on
    those)."""
    if not hasattr(sftp, "_request"):
        return sftp.normalize(form)
    kind, msg = sftp._request(CMD_REALPATH, form)
    if kind != CMD_NAME or msg.get_int() != 1:
        raise IOError("unexpected answer to REALPATH")
    return "/".join(entries.safe_name(part) for part in msg.get_string().split(b"/"))


class FolderPaths(object):
    """Locating paths of one folder over one SFTP channel; what it learns (the real
    path of directories) is kept until ``forget``."""

    def __init__(self, sftp, base, root_path):
        self.sftp = sftp
        self.base = base
        self.tree = RemoteTree(sftp, base, root_path, label=PATH_LABEL)
        self._real_base = None
        self._real_dirs = {}         # full directory path -> real path
        self._ready_dirs = set()     # relative directories checked and created

    def forget(self):
        """After a delete or a move: directories may have gone or moved."""
        self._real_dirs.clear()
        self._ready_dirs.clear()
        self.tree = RemoteTree(self.sftp, self.base, self.tree.root, label=PATH_LABEL)

    def real_base(self):
        """Real path of the folder's directory, checked inside the root path; None
        while it does not exist."""
        if self._real_base is None:
            try:
                self.tree.check_directory()
            except RemoteNotFoundError:
                return None
            with remote_errors("resolving", self.base):
                self._real_base = self.sftp.normalize(self.base)
        return self._real_base

    def inside(self, real):
        return entries.is_within(self._real_base, real)

    def locate(self, rel, follow=True):
        """``(form, attrs)`` of the entry at ``rel``; attrs None when nothing is there.
        With ``follow``, a final symbolic link is resolved (and must stay inside);
        without, the link itself is described. Parent directories always resolve
        inside the folder, or the path is refused."""
        full = self.tree.abs(rel)
        if self.real_base() is None:
            return full, None
        if not rel:
            with remote_errors("checking", full):
                return full, self.sftp.stat(full)
        if self.real_dir(posixpath.dirname(full), rel) is None:
            return full, None
        try:
            form, attrs = first_form(full, "checking", self.sftp.lstat)
        except RemoteNotFoundError:
            return full, None
        if follow and stat.S_ISLNK(attrs.st_mode or 0):
            form, attrs, _ = self.follow(rel)
        return form, attrs

    def follow(self, rel):
        """``(form, attrs, real path)`` of the target of the link at ``rel``; attrs
        None when it dangles. Refuses a link that resolves outside the folder."""
        full = self.tree.abs(rel)
        try:
            form, real = first_form(full, "resolving", self._realpath)
            with remote_errors("resolving", full):
                attrs = self.sftp.stat(form)
        except RemoteNotFoundError:
            return full, None, None
        if not self.inside(real):
            raise UnsafePathError("/%s is a symbolic link to %s, outside the folder: "
                                  "refused." % (rel, real), "/" + rel)
        return form, attrs, real

    def real_dir(self, full, rel):
        """Real path of existing directory ``full`` (None when missing); refuses one
        resolving outside the folder. ``rel``: the path asked for, for messages."""
        real = self._real_dirs.get(full)
        if real is None:
            try:
                _, real = first_form(full, "resolving", self._realpath)
            except RemoteNotFoundError:
                return None
            self._real_dirs[full] = real
        if not self.inside(real):
            raise UnsafePathError("/%s goes through a symbolic link to %s, outside the "
                                  "folder: refused." % (rel, real), "/" + rel)
        return real

    def _realpath(self, form):
        return realpath(self.sftp, form)

    def prepare_parent(self, rel):
        """Create the folder's directory and the parents of ``rel``, each existing
        one checked to resolve inside first (nothing is created through a link)."""
        parent = posixpath.dirname(rel)
        if parent in self._ready_dirs:
            return
        if self.real_base() is None:
            self.tree.check_directory(create=True)
            self.real_base()
        if parent:
            try:
                RemoteTree(self.sftp, self.tree.abs(parent), self.base,
                           label=PATH_LABEL).check_directory(create=True)
            except UnsafePathError as exc:
                raise UnsafePathError("/%s would be written through a symbolic link "
                                      "outside the folder: refused (%s)" % (rel, exc),
                                      "/" + rel) from exc
        self._ready_dirs.add(parent)
