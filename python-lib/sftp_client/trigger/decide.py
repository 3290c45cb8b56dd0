"""Whether a check fires: a pure function of what the trigger remembered, what is
listed now, its settings and the time. No I/O.

A listed file (already filtered by the include/exclude patterns) *counts* once it
has settled: its modification time is at least ``settle_seconds`` old AND its size
is the one the previous check listed (remembered in ``Memory.waiting``); a file
whose time the server does not give is judged by its size alone. A check
fires, at most once, when at least one file counts that the trigger had not
counted before:

- ``new``: a path not counted before; a file that only changes never fires again.
- ``new_or_changed``: a (path, size, modification time) not counted before, so a
  rewritten file fires again once it settles.

Only files settled by their time (modified at least ``settle_seconds`` ago) enter
the comparison: files being written never fire, and a large upload in progress
does not crowd the table. The new files are found by subtracting the table of the
settled files' keys from the remembered one and peeling the difference
(``sketch.KnownFiles``): files that appeared are candidates whatever their times
(partners' tools often keep the original times), files that disappeared (taken by
a pick-up) are forgotten and never fire. A candidate counts when its size is the
one the previous check saw; one that does not yet is left out of the remembered
table, so that it is a candidate again at the next check, and its size goes into
``waiting`` with those of the files too recent to compare. With ``new``, a counted
file being written again (too recent now) stays counted.

At the first check (nothing remembered, or an unreadable memory) no size was seen
before: files whose time is old enough count, and they fire only when 'Fire at the
first check when files are already there' is on; otherwise they are remembered as
already there. Files still being written fire once they settle either way.

When more settled files appeared and disappeared since the last check than the
table can name (about 40), the check cannot tell which are new: it fires when a
listed file is settled by its time (a spare scenario run is cheaper than a missed
delivery; the download recipe then finds nothing new), and remembers the listing as
it is.
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
    oldest = now - settings.settle_seconds
    settled, unsettled = [], []
    for entry in files:
        keyed = (file_key(entry, settings.fire_on), entry)
        (settled if entry.mtime is None or entry.mtime <= oldest else unsettled).append(keyed)
    known = KnownFiles.of(key for key, _ in settled)
    if previous is None:
        ready = [entry for _, entry in settled]
        fire = bool(ready) and settings.fire_at_first_check
        reason = _first_check_reason(ready, unsettled, settings.fire_at_first_check)
        return _decision(fire, reason, known, len(settled), ready if fire else (),
                         unsettled, None, now, len(files))
    gone, appeared, complete = previous.known.minus(known).peel()
    if not complete:
        reason = ("too many settled files appeared or disappeared since the last check "
                  "to name them; %s" % ("%d listed file(s) have settled: firing"
                                        % len(settled) if settled
                                        else "none listed has settled: not firing"))
        return _decision(bool(settled), reason, known, len(settled), (), unsettled,
                         previous.fired_at, now, len(files))
    return _compared(previous, known, set(gone), set(appeared), settled, unsettled,
                     settings, now, len(files))


def _compared(previous, known, gone, appeared, settled, unsettled, settings, now, listed):
    """The decision when the difference with what was remembered is known."""
    candidates = [(key, entry) for key, entry in settled if key in appeared]
    ready = [entry for _, entry in candidates if (entry.path, entry.size) in previous.waiting]
    counted = set(entry.path for entry in ready)
    waiting = [(key, entry) for key, entry in candidates if entry.path not in counted]
    for key, _ in waiting:              # not counted yet: a candidate again next time
        known.remove(key)
    # A counted file being written again is not settled now: with 'new' files its
    # key (its path) stays counted, so that it never fires again.
    rewritten = gone & set(key for key, _ in unsettled)
    for key in rewritten:
        known.add(key)
    waiting += [(key, entry) for key, entry in unsettled if key not in rewritten]
    name = "new" if settings.fire_on == NEW else "new or changed"
    if ready:
        reason = "%d %s file(s) settled (%s): firing" % (len(ready), name, _names(ready))
    else:
        reason = "no %s settled file: not firing" % name
    return _decision(bool(ready), reason, known,
                     len(settled) - len(candidates) + len(ready) + len(rewritten), ready,
                     waiting, previous.fired_at, now, listed)


def _decision(fire, reason, known, counted, named, waiting, fired_at, now, listed):
    """``known``: the table of the ``counted`` files; ``waiting``: (key, entry) of
    the files not counted yet."""
    memory = Memory(known=known, waiting=WaitingSizes.of(entry for _, entry in waiting),
                    files=counted, fired_at=int(now) if fire else fired_at)
    line = "%s (%d listed, %d waiting to settle)" % (reason, listed, len(waiting))
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
