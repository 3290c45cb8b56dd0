"""Whether a check fires: a pure function of what the trigger remembered, what is
listed now, its settings and the time. No I/O.

A listed file (already filtered by the include/exclude patterns) *counts* once it
has settled: its modification time is at least ``settle_seconds`` old AND its size
is the one the previous check listed (remembered in ``Memory.waiting``). A check
fires, at most once, when at least one file counts that the trigger had not
counted before:

- ``new``: a path not counted before; a file that only changes never fires again.
- ``new_or_changed``: a (path, size, modification time) not counted before, so a
  rewritten file fires again once it settles.

The new files are found by subtracting the current listing's table of keys from
the remembered one and peeling the difference (``sketch.KnownFiles``): files that
appeared are candidates whatever their times (partners' tools often keep the
original times), files that disappeared (taken by a pick-up) are forgotten and
never fire. Candidates that have not settled are left out of the remembered
table, so they are candidates again at the next check, and their sizes go into
``waiting``.

At the first check (nothing remembered, or an unreadable memory) no size was seen
before: files whose time is old enough count, and they fire only when 'Fire at the
first check when files are already there' is on; otherwise they are remembered as
already there. Files still being written fire once they settle either way.

When more files appeared and disappeared since the last check than the table can
name (about 40), the check cannot tell which are new: it fires when a listed file
is settled by its time (a spare scenario run is cheaper than a missed delivery;
the download recipe then finds nothing new), and remembers the listing as it is.
"""
from typing import NamedTuple

from sftp_client.entries import printable
from sftp_client.trigger.memory import Memory
from sftp_client.trigger.settings import NEW
from sftp_client.trigger.sketch import KnownFiles, WaitingSizes, path_key, version_key

#: New files named in the log line.
NAMED = 3


class Decision(NamedTuple):
    fire: bool
    reason: str                # one line for the log
    memory: Memory             # what to remember from now on
    new_files: tuple           # paths that made it fire (empty when not named)
    waiting: int               # files listed but not counted yet


def file_key(entry, fire_on):
    if fire_on == NEW:
        return path_key(entry.path)
    return version_key(entry.path, entry.size, entry.mtime)


def decide(previous, files, settings, now):
    """The ``Decision`` for ``files`` (``entries.Entry``, selected by the patterns)
    listed at ``now`` (epoch seconds), ``previous`` being the ``Memory`` or None."""
    keyed = [(file_key(entry, settings.fire_on), entry) for entry in files]
    current = KnownFiles.of(key for key, _ in keyed)
    oldest = now - settings.settle_seconds

    def settled(entry):
        return entry.mtime is None or entry.mtime <= oldest

    if previous is None:
        ready = [entry for _, entry in keyed if settled(entry)]
        waiting = [entry for _, entry in keyed if not settled(entry)]
        fire = bool(ready) and settings.fire_at_first_check
        reason = _first_check_reason(ready, waiting, settings.fire_at_first_check)
        return _decision(fire, reason, current, keyed, ready if fire else (), waiting,
                         None, now, settings)
    _, appeared, complete = previous.known.minus(current).peel()
    if not complete:
        ready = [entry for _, entry in keyed if settled(entry)]
        waiting = [entry for _, entry in keyed if not settled(entry)]
        reason = ("too many files appeared or disappeared since the last check to name "
                  "them; %s" % ("%d listed file(s) have settled: firing" % len(ready)
                                if ready else "none listed has settled: not firing"))
        return _decision(bool(ready), reason, current, keyed, (), waiting,
                         previous.fired_at, now, settings)
    appeared = set(appeared)
    candidates = [entry for key, entry in keyed if key in appeared]
    ready = [entry for entry in candidates
             if settled(entry) and (entry.path, entry.size) in previous.waiting]
    counted = set(entry.path for entry in ready)
    waiting = [entry for entry in candidates if entry.path not in counted]
    if ready:
        reason = "%d %s file(s) settled (%s): firing" % (
            len(ready), "new" if settings.fire_on == NEW else "new or changed",
            _names(ready))
    else:
        reason = "no %s settled file: not firing" % (
            "new" if settings.fire_on == NEW else "new or changed")
    return _decision(bool(ready), reason, current, keyed, ready, waiting,
                     previous.fired_at, now, settings)


def _decision(fire, reason, current, keyed, named, waiting, fired_at, now, settings):
    """Remember every listed file but those waiting to settle."""
    known = KnownFiles(current.counts, current.keys, current.checks)
    for entry in waiting:
        known.remove(file_key(entry, settings.fire_on))
    memory = Memory(known=known, waiting=WaitingSizes.of(waiting),
                    files=len(keyed) - len(waiting),
                    fired_at=int(now) if fire else fired_at)
    line = "%s (%d listed, %d waiting to settle)" % (reason, len(keyed), len(waiting))
    return Decision(fire=fire, reason=line, memory=memory,
                    new_files=tuple(entry.path for entry in named), waiting=len(waiting))


def _first_check_reason(ready, waiting, fire_at_first_check):
    if not ready:
        return "first check: no file has settled yet: not firing"
    if fire_at_first_check:
        return "first check: %d file(s) already there have settled (%s): firing" % (
            len(ready), _names(ready))
    return ("first check: %d file(s) already there are remembered as seen ('Fire at the "
            "first check when files are already there' is off): not firing" % len(ready))


def _names(entries):
    names = ", ".join(printable(entry.path) for entry in entries[:NAMED])
    more = len(entries) - NAMED
    return names + (" and %d more" % more if more > 0 else "")
