"""Deciding what to transfer: a pure function of two listings and the options.

Rules (the same in both directions):
- a source file missing from the target is copied (``new``);
- a file whose size differs, or whose modification time differs by at least
  ``MODIFY_WINDOW`` seconds, or whose target time is unknown, is copied again
  (``changed``);
- otherwise it is skipped (``unchanged``). Nothing is ever deleted.
Files modified less than ``min_age_seconds`` ago are left for a later run
(``deferred``). Include/exclude patterns (``patterns.py``) decide which files are
considered at all.
"""
from typing import NamedTuple, Optional

from sftp_client.entries import Entry
from sftp_client.patterns import matches, selected

#: SFTP v3 carries whole seconds: times closer than this are the same time.
MODIFY_WINDOW = 1

NEW, CHANGED, UNCHANGED, DEFERRED = "new", "changed", "unchanged", "deferred"


class PlanItem(NamedTuple):
    path: str
    status: str                # new / changed / unchanged / deferred
    reason: str
    source: Entry
    target: Optional[Entry]

    @property
    def copy(self):
        return self.status in (NEW, CHANGED)


class Plan(NamedTuple):
    items: list                # [PlanItem], sorted by path
    dirs: list                 # directories to create on the target, parents first
    excluded: int              # files left out by the include/exclude patterns

    def count(self, status):
        return sum(1 for item in self.items if item.status == status)

    def bytes_to_copy(self):
        return sum(item.source.size for item in self.items if item.copy)

    def summary(self):
        return ("%d new, %d changed, %d unchanged, %d deferred, %d excluded; "
                "%d bytes to transfer" % (
                    self.count(NEW), self.count(CHANGED), self.count(UNCHANGED),
                    self.count(DEFERRED), self.excluded, self.bytes_to_copy()))


def compare(source, target):
    """``(status, reason)`` for one source file against its target copy."""
    if target is None:
        return NEW, "new"
    if source.size != target.size:
        return CHANGED, "size differs (%d -> %d bytes)" % (target.size, source.size)
    if source.mtime is None or target.mtime is None:
        return CHANGED, "modification time unknown"
    delta = abs(int(source.mtime) - int(target.mtime))
    if delta >= MODIFY_WINDOW:
        return CHANGED, "modification time differs by %d s" % delta
    return UNCHANGED, "same size and modification time"


def plan(source_files, target_files, source_dirs=(), target_dirs=(), include=(),
         exclude=(), min_age_seconds=0, now=0):
    """Compare listings; returns a ``Plan``. Does no I/O."""
    targets = dict((entry.path, entry) for entry in target_files)
    items, excluded = [], 0
    for source in sorted(source_files, key=lambda e: e.path):
        if not selected(source.path, include, exclude):
            excluded += 1
            continue
        status, reason = compare(source, targets.get(source.path))
        age = now - source.mtime if source.mtime is not None else None
        if status != UNCHANGED and min_age_seconds and age is not None \
                and age < min_age_seconds:
            status, reason = DEFERRED, "modified %d s ago, younger than the minimum " \
                                       "age of %d s" % (max(age, 0), min_age_seconds)
        items.append(PlanItem(source.path, status, reason, source,
                              targets.get(source.path)))
    wanted = set(d for d in source_dirs if _dir_selected(d, include, exclude))
    dirs = sorted(wanted - set(target_dirs), key=lambda d: (d.count("/"), d))
    return Plan(items=items, dirs=dirs, excluded=excluded)


def _dir_selected(path, include, exclude):
    """Include patterns name files: with them, directories are only created as
    parents of selected files. Otherwise every directory not excluded is copied,
    empty ones included."""
    return not include and not any(matches(path, p) for p in exclude)
