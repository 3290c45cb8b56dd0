"""Which native name stands behind a text path, for names that are not UTF-8.

Trees speak text paths ('sub/caf%E9.txt', see ``entries.safe_name``). Where a
listed name is not UTF-8, the tree remembers the native path it came from (bytes
on an SFTP server, a surrogate-escaped ``str`` from ``os.listdir``), so that the
file is opened, replaced or removed under the name it really has. Paths never
listed this way are used as their text (what a new file is created under).
"""
import posixpath
import threading


def utf8(text):
    return text.encode("utf-8")


def same(text):
    return text


class NameMap(object):
    """Thread-safe ``{text path: native path}`` for the paths whose native form is
    not ``encode(text)``; shared by every tree of one run on the same side."""

    def __init__(self, encode=utf8):
        self._encode = encode
        self._native = {}
        self._lock = threading.Lock()

    def remember(self, text, native):
        if self._encode(text) != native:
            with self._lock:
                self._native[text] = native

    def known(self, text):
        """Whether ``text`` is the text of a remembered (escaped) native path."""
        with self._lock:
            return text in self._native

    def native(self, path):
        """The native form of text ``path`` when it or a parent was remembered,
        else None (use the text itself)."""
        if not self._native:
            return None
        head, tail = path, []
        with self._lock:
            while head not in ("", "/"):
                found = self._native.get(head)
                if found is not None:
                    sep = b"/" if isinstance(found, bytes) else "/"
                    return sep.join([found] + [self._encode(n) for n in reversed(tail)])
                parent, name = posixpath.split(head)
                if parent == head:
                    break
                head = parent
                tail.append(name)
        return None
