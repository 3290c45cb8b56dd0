"""The sync state file: what a tree cannot remember by itself.

Managed folders other than local ones cannot store modification times, and some
SFTP servers refuse to set them. For those targets, the run records, per file,
the size and the source modification time it copied (plus, on SFTP, the time the
server stamped), in ``.sftp-sync-state.json`` at the top of the target. The next
run trusts a record only while the file still has the recorded size (and
server time), so any outside change to the file makes it "unknown" again.
"""
import json
import threading

STATE_VERSION = 1


class SyncState(object):
    """Thread-safe ``{path: record}`` shared by every worker of one run."""

    def __init__(self, records=None):
        self._records = dict(records or {})
        self._lock = threading.Lock()
        self.dirty = False
        self.notes = set()      # one-time log notes already given

    @classmethod
    def from_bytes(cls, payload):
        """Parse a state file; anything unreadable starts an empty state."""
        try:
            data = json.loads(payload.decode("utf-8"))
        except (ValueError, UnicodeError):
            return cls()
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            return cls()
        files = data.get("files")
        if not isinstance(files, dict):
            return cls()
        return cls(dict((p, r) for p, r in files.items() if isinstance(r, dict)))

    def to_bytes(self):
        with self._lock:
            self.dirty = False
            return json.dumps({"version": STATE_VERSION, "files": self._records},
                              sort_keys=True, indent=0).encode("utf-8")

    def get(self, path):
        with self._lock:
            return self._records.get(path)

    def record(self, path, **fields):
        with self._lock:
            self._records[path] = fields
            self.dirty = True

    def known_mtime(self, path, size, **expected):
        """The recorded modification time, if the record still matches."""
        record = self.get(path)
        if not record or record.get("size") != size:
            return None
        if any(record.get(key) != value for key, value in expected.items()):
            return None
        return record.get("mtime")

    def note_once(self, key):
        """True the first time ``key`` is given (for one-time log lines)."""
        with self._lock:
            if key in self.notes:
                return False
            self.notes.add(key)
            return True
