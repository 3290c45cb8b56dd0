#!/usr/bin/env python3
"""Measures of the "SFTP (through proxies)" FS provider against the real sshd (not a
test: nothing here passes or fails on speed; a wrong answer exits 1).

- ``enumerate`` of a nested tree of 5,000 files, against the download recipe's listing
  of the same tree (``RemoteTree.walk``), each on an open session, alternated, medians;
- a ``read`` with DSS's preview limit (64 KiB) of a 1 GiB file, against a full read of it;
- a full ``write`` of 256 MiB through the provider.

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
from sftp_client.fs_provider import SftpFsProvider  # noqa: E402
from sftp_client.remote import RemoteTree  # noqa: E402
from sftp_client.session import SftpSession  # noqa: E402

MIB = 1024 * 1024


class Sink(object):
    def __init__(self):
        self.count = 0

    def write(self, data):
        self.count += len(data)


class Zeros(object):
    """A source stream of ``size`` bytes."""

    def __init__(self, size):
        self.left = size
        self.block = b"\x5a" * MIB

    def read(self, size=-1):
        n = min(self.left, MIB if size is None or size < 0 else size)
        self.left -= n
        return self.block[:n]


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
    with open(big, "wb") as handle:
        block = os.urandom(MIB)
        for _ in range(args.size_mb):
            handle.write(block)
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
    sink = Sink()
    full_seconds, _ = timed(lambda: provider.read("/huge.bin", sink, -1))
    if sink.count != args.size_mb * MIB:
        raise SystemExit("full read gave %d bytes" % sink.count)
    write_size = min(256, args.size_mb) * MIB
    write_seconds, _ = timed(lambda: provider.write("/written.bin", Zeros(write_size)))
    provider.close()
    print("Reading a %d MiB file:" % args.size_mb)
    print("  64 KiB limit (a DSS preview): median %.3f s, max %.3f s" % (
        statistics.median(limited), max(limited)))
    print("  whole file: %.2f s (%.0f MB/s)" % (full_seconds,
                                                args.size_mb * MIB / full_seconds / 1e6))
    print("Writing %d MiB: %.2f s (%.0f MB/s)" % (write_size // MIB, write_seconds,
                                                 write_size / write_seconds / 1e6))
    if os.path.getsize(os.path.join(sshd.root, "big", "written.bin")) != write_size:
        raise SystemExit("the written file has the wrong size")


if __name__ == "__main__":
    main()
