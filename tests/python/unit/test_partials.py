"""Partial-file names, ownership and staleness (partials.py), and what a run does
with the partial files it finds in its target (settle)."""
import os
import subprocess

from sftp_client import entries, partials
from sftp_client.entries import Entry
from sftp_client.sync.planner import NEW, PlanItem

NOW = 1700000000.0


def dead_pid():
    """The id of a process that has ended."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def named(path, pid=None, host=None, sig=None):
    host = host or partials.host_id()
    parent, name = os.path.split(path)
    temp = ".%s.%s-%x-abcdef%s%s" % (name, host, pid or os.getpid(),
                                     "-" + sig if sig else "", entries.PARTIAL_SUFFIX)
    return os.path.join(parent, temp) if parent else temp


def test_partial_names_are_recognised_unique_and_carry_their_owner_and_source():
    first = partials.partial_path("dir/report.csv", 10, 1600000000)
    second = partials.partial_path("dir/report.csv", 10, 1600000000)
    assert first != second and first.startswith("dir/.report.csv.")
    name = first.split("/")[-1]
    assert partials.is_partial(name) and entries.is_internal(name)
    found = partials.leftover("dir", name, 7, NOW)
    assert found.target == "dir/report.csv" and found.path == first
    assert found.pid == os.getpid() and found.host == partials.host_id()
    assert partials.resumable(found, Entry("report.csv", 10, 1600000000))
    assert not partials.resumable(found, Entry("report.csv", 11, 1600000000))
    assert not partials.resumable(found, Entry("report.csv", 10, 1600000001))
    unsigned = partials.leftover("", partials.partial_name("a.b.c"), 1, NOW)
    assert unsigned.target == "a.b.c" and unsigned.signature is None
    # names of older versions are still ours; look-alikes are not
    legacy = partials.leftover("", ".x.bin.0123456789ab.sftp-partial", 1, NOW)
    assert legacy.target == "x.bin" and legacy.host is None
    for other in ("notes.sftp-partial.txt", "report.csv", ".x.sftp-partial"):
        assert partials.leftover("", other, 1, NOW) is None
    assert entries.is_internal(entries.STATE_FILE)


def test_only_certainly_abandoned_partials_are_stale():
    fresh, old = NOW - 60, NOW - partials.STALE_AFTER - 1

    def stale(name, touched):
        return partials.abandoned(partials.leftover("", name, 1, touched), NOW)

    # a live writer on this host: never, unless silent for a whole STALE_AFTER
    assert not stale(named("a"), fresh)
    assert stale(named("a"), old)
    # a dead writer on this host: at once
    assert stale(named("a", pid=dead_pid()), fresh)
    # another host (cannot be checked) or an older version: by age only
    assert not stale(named("a", pid=dead_pid(), host="0a0b0c"), fresh)
    assert stale(named("a", pid=dead_pid(), host="0a0b0c"), old)
    assert not stale(".a.0123456789ab.sftp-partial", fresh)
    assert stale(".a.0123456789ab.sftp-partial", old)


class Tree(object):
    can_resume_runs = True

    def __init__(self):
        self.claimed, self.removed = [], []

    def claim_partial(self, leftover, source):
        self.claimed.append(leftover.path)
        return "claimed:" + leftover.path

    def remove_partial(self, leftover):
        self.removed.append(leftover.path)


def test_settle_resumes_what_matches_removes_the_abandoned_and_keeps_the_live():
    source = Entry("big.bin", 100, 1600000000)
    items = [PlanItem("big.bin", NEW, "new", source, None),
             PlanItem("other.bin", NEW, "new", Entry("other.bin", 5, 1), None)]
    gone = dead_pid()
    sig = partials.signature(100, 1600000000)
    found = [partials.leftover("", name, 50, NOW - 5) for name in (
        named("big.bin", pid=gone, sig=sig),              # resumable
        named("big.bin", pid=gone, sig=sig),              # a second one: removed
        named("other.bin", pid=gone, sig="00000000"),     # source changed: removed
        named("gone.bin", pid=gone),                      # not planned: removed
        named("live.bin", sig=sig))]                      # live writer: kept
    tree = Tree()
    claimed = partials.settle(tree, found, items, NOW)
    assert claimed == {"big.bin": "claimed:" + found[0].path}
    assert tree.claimed == [found[0].path]
    assert tree.removed == [f.path for f in found[1:4]]
    # A tree that cannot resume (stream folders) removes them all.
    tree = Tree()
    tree.can_resume_runs = False
    assert partials.settle(tree, found, items, NOW) == {}
    assert tree.removed == [f.path for f in found[:4]]
