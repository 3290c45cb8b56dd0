"""The "New files on SFTP" trigger: the real trigger.py against the real sshd,
directly and through SOCKS5 (Dante) and HTTP CONNECT (tinyproxy): it fires once for
a new settled file and not again, never for a file still being written, for a
changed file only with 'New or changed files', honours the patterns and the
first-check option, and does not fire when files are taken away by a pick-up."""
import os
import shutil
import time

import pytest

from helpers import triggers

OLD = int(time.time()) - 7200      # a modification time long settled


@pytest.fixture(params=triggers.ROUTES)
def route(request, preset):
    """The preset, direct or through a proxy, and the proxy to check (or None)."""
    return triggers.routed(request, preset, request.param)


def test_fires_once_for_a_new_settled_file_and_not_again(dss, route, remote_dir, sshd):
    service, proxy = route
    before = len(proxy.connections_to(sshd.port)) if proxy is not None else 0
    remote_dir.write("old.csv", b"already there\n", mtime=OLD)
    check = lambda: triggers.check(dss, service, remote_dir.name, settle_seconds=60)
    assert check() == 0                       # first check: old.csv is taken as seen
    remote_dir.write("in/new.csv", b"a,b\n1,2\n", mtime=OLD)   # times kept by the partner
    assert check() == 0                       # seen once: its size is not known to hold
    assert check() == 1                       # same size at two checks: it counts
    assert check() == 0
    assert check() == 0
    if proxy is not None:       # one connection per check, through the proxy
        deadline = time.monotonic() + 5
        while len(proxy.connections_to(sshd.port)) - before < 5 \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(proxy.connections_to(sshd.port)) - before == 5


def test_never_fires_for_a_file_still_being_written(dss, preset, remote_dir):
    check = lambda: triggers.check(dss, preset(), remote_dir.name, settle_seconds=3600)
    assert check() == 0
    remote_dir.write("upload.csv", b"x" * 100)            # written now: time too recent
    assert check() == 0
    assert check() == 0
    # A writer that keeps an old time: the size must hold between two checks.
    remote_dir.write("stalled.csv", b"x" * 100, mtime=OLD)
    assert check() == 0
    remote_dir.write("stalled.csv", b"x" * 200, mtime=OLD)
    assert check() == 0
    assert check() == 1                                   # 200 bytes at two checks


@pytest.mark.parametrize("fire_on,fires", [("new", 0), ("new_or_changed", 1)])
def test_a_changed_file_fires_only_with_new_or_changed(dss, preset, remote_dir, fire_on,
                                                       fires):
    remote_dir.write("data.csv", b"v1\n", mtime=OLD)
    check = lambda: triggers.check(dss, preset(), remote_dir.name, settle_seconds=60,
                                   fire_on=fire_on, fire_at_first_check=True)
    assert check() == 1
    assert check() == 0
    remote_dir.write("data.csv", b"version 2\n", mtime=OLD + 60)
    assert check() == 0
    assert check() == fires
    assert check() == 0


def test_patterns_decide_which_files_count(dss, preset, remote_dir):
    check = lambda: triggers.check(dss, preset(), remote_dir.name, settle_seconds=0,
                                   include_patterns=["*.csv"], exclude_patterns=["tmp/**"])
    assert check() == 0
    remote_dir.write("notes.txt", b"x", mtime=OLD)
    remote_dir.write("tmp/part.csv", b"x", mtime=OLD)
    assert check() == 0
    assert check() == 0
    remote_dir.write("2024/sales.csv", b"x", mtime=OLD)
    assert check() == 0
    assert check() == 1


@pytest.mark.parametrize("first,fires", [(True, 1), (False, 0)])
def test_first_check_option(dss, preset, remote_dir, first, fires):
    remote_dir.write("a.csv", b"1", mtime=OLD)
    remote_dir.write("b/c.csv", b"2", mtime=OLD)
    check = lambda: triggers.check(dss, preset(), remote_dir.name,
                                   fire_at_first_check=first)
    assert check() == fires
    assert check() == 0
    remote_dir.write("d.csv", b"3", mtime=OLD)
    assert check() == 0
    assert check() == 1


def test_first_check_remembers_uploads_in_progress_as_new(dss, preset, remote_dir):
    """A file still being written when the trigger is created is a delivery: it
    fires once it settles, even with the first-check option off."""
    remote_dir.write("done.csv", b"1", mtime=OLD)
    remote_dir.write("arriving.csv", b"22")              # written now
    check = lambda: triggers.check(dss, preset(), remote_dir.name, settle_seconds=2)
    assert check() == 0
    time.sleep(2.5)
    assert check() == 1
    assert check() == 0


def test_files_taken_by_a_pick_up_do_not_fire(dss, preset, remote_dir, tmp_path):
    for number in range(12):
        remote_dir.write("in/file-%02d.csv" % number, b"%d" % number, mtime=OLD)
    check = lambda: triggers.check(dss, preset(), remote_dir.name, settle_seconds=0,
                                   fire_at_first_check=True)
    assert check() == 1
    taken = os.path.join(remote_dir.path, "..", remote_dir.name + "-done")
    os.makedirs(taken)
    for number in range(12):              # the recipe moves some files and deletes others
        source = os.path.join(remote_dir.path, "in", "file-%02d.csv" % number)
        if number % 2:
            shutil.move(source, taken)
        else:
            os.remove(source)
    assert check() == 0
    assert check() == 0
    remote_dir.write("in/file-00.csv", b"the same name, delivered again", mtime=OLD)
    assert check() == 0
    assert check() == 1


def test_what_it_remembers_is_a_local_project_variable(dss, preset, remote_dir):
    remote_dir.write("a.csv", b"1", mtime=OLD)
    dss.set_project_variables({"standard": {"kept": 1}, "local": {"mine": "x"}})
    triggers.check(dss, preset(), remote_dir.name)
    variables = dss.project_variables()
    assert variables["standard"] == {"kept": 1}
    assert variables["local"]["mine"] == "x"
    (name,) = triggers.memories(dss)
    assert name.startswith("sftp_new_files_") and len(name) == len("sftp_new_files_") + 12
    # Another directory, or other patterns, is another trigger: another variable.
    remote_dir.mkdir("sub")
    triggers.check(dss, preset(), remote_dir.name + "/sub")
    triggers.check(dss, preset(), remote_dir.name, include_patterns=["*.csv"])
    assert len(triggers.memories(dss)) == 3


def test_a_large_pick_up(dss, preset, remote_dir):
    """More files taken at once than the memory can name: nothing left, no fire;
    a new settled file left among them, a fire (docs/trigger.md, Limits)."""
    for number in range(80):
        remote_dir.write("in/file-%02d.csv" % number, b"%d" % number, mtime=OLD)
    check = lambda: triggers.check(dss, preset(), remote_dir.name, settle_seconds=0,
                                   fire_at_first_check=True)
    assert check() == 1
    for number in range(80):
        os.remove(os.path.join(remote_dir.path, "in", "file-%02d.csv" % number))
    assert check() == 0
    for number in range(80):
        remote_dir.write("in/file-%02d.csv" % number, b"%d" % number, mtime=OLD)
    assert check() == 1                   # 80 appeared at once: cannot wait to name them
    for number in range(80):
        os.remove(os.path.join(remote_dir.path, "in", "file-%02d.csv" % number))
    remote_dir.write("in/late.csv", b"arrived during the pick-up", mtime=OLD)
    assert check() == 1
    assert check() == 0
