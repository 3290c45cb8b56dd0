"""50,000 listed files: what "New files on SFTP" remembers stays under 1 KiB, and it
still tells a few new files from files taken away."""
import os
import time

from helpers import triggers

FILES = 50000
PER_DIRECTORY = 1000


def _many_empty_files(directory):
    """Empty files created in the served directory itself (not uploaded one by one)."""
    paths = []
    for number in range(FILES):
        sub = os.path.join(directory, "d%02d" % (number // PER_DIRECTORY))
        if number % PER_DIRECTORY == 0:
            os.mkdir(sub)
        path = os.path.join(sub, "f%05d.csv" % number)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
        paths.append(path)
    return paths


def test_fifty_thousand_files_keep_the_memory_under_one_kib(dss, preset, remote_dir):
    paths = _many_empty_files(remote_dir.path)
    check = lambda: triggers.check(dss, preset(timeout=60), remote_dir.name,
                                   settle_seconds=0, fire_at_first_check=True)
    started = time.monotonic()
    assert check() == 1
    print("one check of %d files: %.1f s" % (FILES, time.monotonic() - started))
    assert triggers.memory_chars(dss) < 1024
    (value,) = triggers.memories(dss).values()
    assert value["files"] == FILES
    for path in paths[:25] + paths[-5:]:          # a pick-up takes 30 files
        os.remove(path)
    assert check() == 0
    remote_dir.write("d07/late.csv", b"late delivery")
    assert check() == 0                           # size seen once
    assert check() == 1
    assert check() == 0
    assert triggers.memory_chars(dss) < 1024
