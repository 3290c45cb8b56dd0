#!/usr/bin/env python3
"""Measures of the "SFTP (through proxies)" FS provider against the real sshd (not a
test: nothing here passes or fails on speed; a wrong answer exits 1).

- ``enumerate`` of a nested tree of 5,000 files, against the download recipe's listing
  of the same tree (``RemoteTree.walk``), each on an open session, alternated, medians;
- a ``read`` with DSS's preview limit (64 KiB) of a 1 GiB file: it must stop early.

Whole reads and writes of the big file are rows of run_bench.py's table (whole
processes, against the recipes of the same run).

Usage (as root, like the integration tests)::

    python tests/bench/bench_fs_provider.py [--files 5000] [--size-mb 1024] [--runs 3]
"""
import argparse
import os
import pwd
import shutil
import statistics
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
TESTS_DIR = os.path.dirname(BENCH_DIR)
PROJECT_DIR = os.path.dirname(TESTS_DIR)
for _path in (os.path.join(PROJECT_DIR, "python-lib"), os.path.join(TESTS_DIR, "stubs"),
              TESTS_DIR):
    sys.path.insert(0, _path)

from helpers import servers  # noqa: E402
from sftp_client import service_from_config  # noqa: E402
from sftp_client.fs.provider import SftpFsProvider  # noqa: E402
from sftp_client.remote.tree import RemoteTree  # noqa: E402
from sftp_client.connect.session import SftpSession  # noqa: E402

MIB = 1024 * 1024


class Sink(object):
    def __init__(self):
        self.count = 0

    def write(self, data):
        self.count += len(data)


def make_tree(base, count, user):
    """``count`` files in a 3-level tree (10 x 10 directories)."""
    for n in range(count):
        rel = os.path.join("a%02d" % (n % 10), "b%02d" % (n // 10 % 10), "f%05d.csv" % n)
        full = os.path.join(base, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as handle:
            handle.write(b"id,value\n%d,%d\n" % (n, n * 7))
    for top, dirs, files in os.walk(base):
        for name in [top] + [os.path.join(top, f) for f in files]:
            os.chown(name, user.pw_uid, user.pw_gid)


def timed(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="sftp-fs-bench-")
    try:
        keys = servers.make_keys(os.path.join(work, "keys"))
        with servers.SshServer(work, keys=keys) as sshd:
            run(sshd, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(sshd, args):
    user = pwd.getpwnam(sshd.username)
    make_tree(os.path.join(sshd.root, "tree"), args.files, user)
    big = os.path.join(sshd.root, "big", "huge.bin")
    os.makedirs(os.path.dirname(big))
    with open(big, "wb") as handle:         # sparse: only a limited read is timed here
        handle.write(os.urandom(MIB))
        handle.truncate(args.size_mb * MIB)
    os.chown(big, user.pw_uid, user.pw_gid)
    os.chown(os.path.dirname(big), user.pw_uid, user.pw_gid)
    settings = service_from_config({
        "hostname": sshd.host, "port": sshd.port, "root_path": sshd.root,
        "username": sshd.username, "auth_method": "password", "password": sshd.password,
        "host_key_check": "fingerprint", "host_key": sshd.host_key_fingerprint})

    walk_times, enum_times = [], []
    with SftpSession(settings) as session:
        tree = RemoteTree(session.open_sftp(), sshd.root + "/tree", sshd.root)
        provider = SftpFsProvider(settings, "/tree")
        provider.stat("/")                          # the session is open
        for _ in range(args.runs):
            seconds, walked = timed(tree.walk)
            walk_times.append(seconds)
            seconds, listed = timed(lambda: provider.enumerate("/", False))
            enum_times.append(seconds)
            if len(walked.files) != args.files or len(listed) != args.files:
                raise SystemExit("wrong listing: %d / %d files" % (len(walked.files),
                                                                   len(listed)))
        provider.close()
    print("Listing %d files in a 3-level tree (median of %d, open session):"
          % (args.files, args.runs))
    print("  download recipe's listing (RemoteTree.walk): %.3f s" % statistics.median(walk_times))
    print("  FS provider enumerate('/', False):           %.3f s  (%.2fx)" % (
        statistics.median(enum_times), statistics.median(enum_times) /
        statistics.median(walk_times)))

    provider = SftpFsProvider(settings, "/big")
    provider.stat("/")
    limited = []
    for _ in range(args.runs):
        sink = Sink()
        seconds, _ = timed(lambda: provider.read("/huge.bin", sink, 65536))
        if sink.count != 65536:
            raise SystemExit("limited read gave %d bytes" % sink.count)
        limited.append(seconds)
    provider.close()
    print("Reading a %d MiB file with a 64 KiB limit (a DSS preview): median %.3f s, "
          "max %.3f s (whole reads and writes: run_bench.py's FS provider rows)" % (
              args.size_mb, statistics.median(limited), max(limited)))


if __name__ == "__main__":
    main()
