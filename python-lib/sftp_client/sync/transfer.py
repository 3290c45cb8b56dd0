"""Running a plan: a bounded pool of workers, each with its own connection, copies
files one by one through ``source.open_read`` and ``target.write_atomic``.

Transient failures (timeouts, lost connections) are retried on a fresh connection,
a bounded number of times, from where the target's partial copy ends; anything
else fails the file at once. Every planned
file gets exactly one ``Outcome``, whether the run stops early or not.
"""
import collections
import logging
import threading
import time
from typing import NamedTuple, Optional

from sftp_client.sync import batch, ranges, upload_ranges
from sftp_client.entries import printable
from sftp_client.errors import SftpClientError, TransferError

LOG = logging.getLogger(__name__)

#: Extra attempts for a file after a transient failure, on a fresh connection.
MAX_RETRIES = 2
#: Seconds to wait before retry N (N = 1, 2, ...): RETRY_DELAY * N.
RETRY_DELAY = 1.0
#: Seconds between two progress lines in the job log.
PROGRESS_INTERVAL = 5.0

FAILED, SKIPPED = "failed", "skipped"


class Outcome(NamedTuple):
    path: str
    status: str                    # plan status when done, or failed / skipped
    error: str = ""
    transferred_at: Optional[float] = None


class Resume(object):
    """What an interrupted attempt at one file leaves for the next attempt: the
    target's partial copy (a path, or a spool file), kept only after a transient
    failure. Each tree says how much of it can be trusted (``resume_offset``)."""

    def __init__(self, temp=None):
        self.temp = temp
        self.adopted = temp is not None   # left by an earlier run (partials.settle)
        self.counted = 0       # bytes of this file the progress counts so far


class _FileProgress(object):
    """The run's progress, as one file's attempts feed it: each attempt counts
    from where it starts, so bytes sent again after a resume are not counted twice."""

    def __init__(self, progress, resume, offset):
        self.progress, self.resume = progress, resume
        self._lock = threading.Lock()      # ranges.py feeds it from several threads
        progress.add_bytes(offset - resume.counted)
        resume.counted = offset

    def add_bytes(self, count):
        with self._lock:
            self.resume.counted += count
        self.progress.add_bytes(count)


def copy_file(source, target, item, progress=None, resume=None, fill=None):
    """Copy one planned file; after an interrupted attempt (``resume``), only
    what the partial copy lacks. ``fill``: the target's way to write it other
    than one stream (upload_ranges.filler)."""
    offset = 0
    if resume is not None and resume.temp is not None:
        offset = target.resume_offset(resume)
        if offset:
            LOG.info("Resuming %s at byte %d of %d", printable(item.path), offset,
                     item.source.size)
            if resume.adopted and progress is not None:
                progress.not_needed(offset)    # copied by an earlier run: never sent
                resume.counted = offset
        elif resume.temp is not None:
            target.discard_resume(resume)      # nothing worth keeping: start over
        resume.adopted = False
    if resume is not None and progress is not None:
        progress = _FileProgress(progress, resume, offset)
    with source.open_read(item.path, item.source.size, offset) as reader:
        target.write_atomic(item.path, reader, item.source.size, item.source.mtime,
                            progress, resume=resume, offset=offset,
                            **({"fill": fill} if fill is not None else {}))
    if resume is not None:
        resume.temp = None                     # renamed into place: nothing left


class Progress(object):
    """Thread-safe counters with a progress line at most every few seconds."""

    def __init__(self, files, total_bytes, label, interval=PROGRESS_INTERVAL):
        self.files, self.total_bytes, self.label = files, total_bytes, label
        self.done_files, self.done_bytes = 0, 0
        self.interval = interval
        self.started = self.last_log = time.time()
        self._lock = threading.Lock()

    def add_bytes(self, count):
        with self._lock:
            self.done_bytes += count
        self._maybe_log()

    def not_needed(self, count):
        """``count`` bytes of the total need no transfer after all (resumed)."""
        with self._lock:
            self.total_bytes = max(self.total_bytes - count, 0)

    def file_done(self):
        with self._lock:
            self.done_files += 1
        self._maybe_log()

    def _maybe_log(self):
        now = time.time()
        with self._lock:
            if now - self.last_log < self.interval:
                return
            self.last_log = now
        LOG.info("%s", self.line())

    def line(self):
        elapsed = max(time.time() - self.started, 1e-6)
        rate = self.done_bytes / elapsed
        total = max(self.total_bytes, self.done_bytes)   # files that grew meanwhile
        left = total - self.done_bytes
        eta = "%ds" % (left / rate) if rate > 0 else "unknown"
        return "%s: %d/%d files, %s/%s, %s/s, ETA %s" % (
            self.label, self.done_files, self.files, human_bytes(self.done_bytes),
            human_bytes(total), human_bytes(rate), eta)


def human_bytes(count):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return "%.1f %s" % (count, unit) if unit != "B" else "%d B" % count
        count /= 1024.0


def execute(items, open_worker, workers=1, on_error="stop", progress=None,
            resumes=None):
    """Copy every item; ``open_worker()`` gives an object with ``source``,
    ``target`` and ``close()`` (one per thread); ``resumes``: ``{path: partial
    copy}`` an earlier run left to continue. Returns ``{path: Outcome}``."""
    resumes = resumes or {}
    queue = collections.deque(items)
    if not queue:
        return {}          # nothing to copy: no connection to open
    outcomes, failures = {}, []
    stop = threading.Event()
    lock = threading.Lock()
    live = []                   # one entry per worker thread not finished yet

    def spare():                # connections the cap leaves for ranges.py
        return workers - len(live)

    def next_item(accept=None):
        with lock:
            if queue and not stop.is_set() and (accept is None or accept(queue[0])):
                return queue.popleft()
            return None

    def run():
        try:
            worker = open_worker()
        except SftpClientError as exc:
            failures.append(exc)
            LOG.warning("One transfer connection could not be opened: %s", exc)
            live.pop()
            return
        try:
            item = next_item()
            while item is not None:
                for item, done in batch.copy_many(worker, item, next_item, progress,
                                                  alone=resumes):
                    if done:    # several small files in flight (batch.py)
                        outcome = Outcome(item.path, item.status, "", time.time())
                    elif stop.is_set():
                        continue    # reported as not attempted
                    else:
                        outcome, worker = _attempt(item, worker, open_worker, progress,
                                                   Resume(resumes.get(item.path)), spare)
                    outcomes[item.path] = outcome
                    if outcome.status == FAILED and on_error == "stop":
                        stop.set()
                item = next_item()
        finally:
            live.pop()
            if worker is not None:
                worker.close()

    threads = [threading.Thread(target=run, name="sftp-transfer-%d" % n)
               for n in range(max(1, min(workers, len(queue))))]
    live.extend(threads)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for item in items:
        if item.path not in outcomes:
            outcomes[item.path] = _not_done(stop.is_set(), failures)
            outcomes[item.path] = outcomes[item.path]._replace(path=item.path)
    return outcomes


def _not_done(stopped, failures):
    if stopped:
        return Outcome("", SKIPPED, "not attempted: the run stopped at an earlier "
                                    "failure ('On error' is 'Stop at the first "
                                    "failed file').")
    return Outcome("", FAILED, "no transfer connection: %s" % (
        failures[-1] if failures else "unknown error"))


def _attempt(item, worker, open_worker, progress, resume, spare=lambda: 0):
    """Copy one item, retrying transient failures (resuming where the target kept
    a partial copy); returns (Outcome, worker)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            if worker is None:
                worker = open_worker()
            if resume.temp is None and ranges.applies(worker, item, spare()):
                # A big file over several connections; each attempt counts its
                # bytes from zero again.
                ranges.copy(worker, item, spare(),
                            progress and _FileProgress(progress, resume, 0))
            else:
                copy_file(worker.source, worker.target, item, progress, resume,
                          upload_ranges.filler(worker, item, spare()))
            if progress is not None:
                progress.file_done()
            LOG.info("Copied %s (%d bytes, %s)", printable(item.path), item.source.size,
                     item.reason)
            return Outcome(item.path, item.status, "", time.time()), worker
        except SftpClientError as exc:
            if not exc.transient or attempt > MAX_RETRIES:
                error = str(exc) + (" (after %d attempts)" % attempt if attempt > 1 else "")
                LOG.error("Failed to copy %s: %s", printable(item.path), printable(error))
                if worker is not None and resume.temp is not None:
                    worker.target.discard_resume(resume)
                return Outcome(item.path, FAILED, error), worker
            LOG.warning("Transient failure on %s (attempt %d of %d), reconnecting: %s",
                        printable(item.path), attempt, MAX_RETRIES + 1,
                        printable(str(exc)))
            if worker is not None:
                worker.close()
                worker = None
            time.sleep(RETRY_DELAY * attempt)
