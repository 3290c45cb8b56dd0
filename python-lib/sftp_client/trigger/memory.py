"""What one trigger remembers between checks, as the JSON value of one project
variable, and the name of that variable.

The value, always under 1 KiB (``MAX_CHARS``), whatever the number of files::

    {"v": 1, "files": 50000, "fired_at": 1764892800,
     "known": "<base64: IBLT of the counted files' keys, 504 bytes>",
     "waiting": "<base64: Bloom filter of (path, size) of files waiting, 128 bytes; '' if none>"}

``files`` (how many files were counted) and ``fired_at`` (the last fire, epoch
seconds) are for people reading the variable. A value that is missing, of
another version or unreadable means "no memory": the next check is a first check.
"""
import hashlib
import json
from typing import NamedTuple, Optional

from sftp_client.trigger.sketch import KnownFiles, WaitingSizes

VERSION = 1
#: What the stored value never exceeds (json.dumps length).
MAX_CHARS = 1024
#: Prefix of the variable names; the rest is a hash of what the trigger watches.
VARIABLE_PREFIX = "sftp_new_files_"


class Memory(NamedTuple):
    known: KnownFiles          # keys of the files already counted
    waiting: WaitingSizes      # (path, size) of files not counted yet
    files: int = 0             # how many files ``known`` holds
    fired_at: Optional[int] = None

    def to_value(self):
        return {"v": VERSION, "files": self.files, "fired_at": self.fired_at,
                "known": self.known.encode(), "waiting": self.waiting.encode()}


def from_value(value):
    """The ``Memory`` stored as ``value``, or None when there is none usable."""
    if not isinstance(value, dict) or value.get("v") != VERSION:
        return None
    try:
        fired_at = value.get("fired_at")
        return Memory(known=KnownFiles.decode(value["known"]),
                      waiting=WaitingSizes.decode(value.get("waiting") or ""),
                      files=int(value.get("files") or 0),
                      fired_at=int(fired_at) if fired_at is not None else None)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def variable_name(service, base, settings):
    """``sftp_new_files_`` + 12 hex digits of SHA-256 over what the trigger watches:
    the service's hostname, port, username and root path, the remote directory,
    and what counts (Fire on, include and exclude patterns). Two triggers watching
    the same files the same way share it; changing any of these starts afresh."""
    watched = [service.hostname, service.port, service.auth.username, service.root_path,
               base, settings.fire_on, list(settings.include), list(settings.exclude)]
    digest = hashlib.sha256(json.dumps(watched, sort_keys=True).encode("utf-8"))
    return VARIABLE_PREFIX + digest.hexdigest()[:12]
