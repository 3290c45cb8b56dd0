#!/usr/bin/env python3
"""Throughput benchmark of the plugin's ``download()`` / ``upload()`` against baselines.

Starts a real OpenSSH sshd (and a Dante SOCKS5 proxy) on loopback with the test
helpers, creates one big file (1 GiB by default) and many small files (5,000 of
about 4 KiB), then times:

- OpenSSH ``sftp -b`` (one process, and several processes in parallel for the
  small files): the baseline to aim at;
- plain paramiko (``SFTPClient.get`` / ``put`` on one connection, default settings);
- the plugin's ``download()`` / ``upload()`` with a local managed folder (the
  stand-in ``dataiku`` package), with 1 worker and with N workers (default 4);
- the plugin's ``download()`` through the SOCKS5 proxy (``--no-proxy`` skips it).

Every transfer is checked (file list, sizes, SHA-256); the script exits 1 when a
transfer is wrong or fails, never because of speed: targets are only printed.
MB/s means 10^6 bytes per second; times include connecting and listing.

Usage (as root, like the integration tests; see ``make bench``)::

    python tests/bench/run_bench.py            # 1 GiB + 5,000 files, ~3 minutes
    python tests/bench/run_bench.py --quick    # 64 MiB + 500 files, ~20 seconds
    python tests/bench/run_bench.py --size-mb 256 --files 2000 --workers 8
"""
import argparse
import hashlib
import logging
import os
import pwd
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import NamedTuple

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
TESTS_DIR = os.path.dirname(BENCH_DIR)
PROJECT_DIR = os.path.dirname(TESTS_DIR)
for _path in (os.path.join(PROJECT_DIR, "python-lib"), os.path.join(TESTS_DIR, "stubs"),
              TESTS_DIR):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import paramiko  # noqa: E402

import dataiku  # noqa: E402  (the stand-in package from tests/stubs)
from dataiku import _harness  # noqa: E402
from helpers import servers  # noqa: E402
from sftp_client.entries import STATE_FILE  # noqa: E402
from sftp_client import service_from_config, sync_options_from_config  # noqa: E402
from sftp_client.sync import download, upload  # noqa: E402

MB = 1000 * 1000
MIB = 1024 * 1024
SMALL_FILE_SIZE = 4096
FILES_PER_DIR = 100
OPENSSH_TIMEOUT = 600
#: Plain paramiko is slow on many small files: it times the first files only
#: (rates are compared, not times).
PARAMIKO_SMALL_SAMPLE = 1000
#: The downloads through the SOCKS5 proxy use at most this much data.
SOCKS_SAMPLE_MIB = 256
SOCKS_SAMPLE_FILES = 1000

# Targets, printed beside each of our results (never enforced). Each is either an
# absolute rate ("abs", MB/s) or a ratio to another case of the same table.
#   download big: the plugin should stay in the ~150 MB/s class of OpenSSH on a
#   single stream; small files through N connections should match OpenSSH's
#   files/s through N parallel sftp processes.
TARGETS = {
    "dl-big-ours": ("abs", 150.0, None),
    "dl-big-socks": ("ratio", 0.8, "dl-big-ours"),
    "dl-small-ours-1": ("ratio", 1.0, "dl-small-paramiko"),
    "dl-small-ours-n": ("ratio", 1.0, "dl-small-openssh-n"),
    "dl-small-socks": ("ratio", 0.8, "dl-small-ours-n"),
    "ul-big-ours": ("ratio", 0.9, "ul-big-paramiko"),
    "ul-small-ours-1": ("ratio", 1.0, "ul-small-paramiko"),
    "ul-small-ours-n": ("ratio", 1.0, "ul-small-openssh-n"),
}


class Result(NamedTuple):
    key: str
    group: str           # "download big", ...
    label: str
    nbytes: int
    files: int
    seconds: float
    ok: bool
    sync_reads: int      # synchronous SFTP READs paramiko sent (see ReadCounter)

    @property
    def mb_s(self):
        return self.nbytes / MB / self.seconds if self.seconds > 0 else 0.0

    @property
    def files_s(self):
        return self.files / self.seconds if self.seconds > 0 else 0.0

    def rate(self, big):
        return self.mb_s if big else self.files_s


class Manifest(NamedTuple):
    files: dict          # relative path -> (size, sha256 hex)

    @property
    def total_bytes(self):
        return sum(size for size, _ in self.files.values())

    @property
    def dirs(self):
        return sorted({os.path.dirname(p) for p in self.files} - {""})


# --------------------------------------------------------------------------- data

def make_big_file(path, size):
    """``size`` bytes of incompressible data, each 4 KiB block stamped with its
    offset (so a misplaced block changes the checksum). Returns the manifest entry."""
    rng = random.Random(20240501)
    pool = rng.randbytes(16 * MIB + MIB)
    digest = hashlib.sha256()
    chunk = MIB
    with open(path, "wb") as handle:
        for start in range(0, size, chunk):
            length = min(chunk, size - start)
            off = (start // chunk * 4099 * 8) % (16 * MIB)
            buf = bytearray(pool[off:off + length])
            for k in range(0, length - 7, 4096):
                buf[k:k + 8] = (start + k).to_bytes(8, "little")
            handle.write(buf)
            digest.update(buf)
    return size, digest.hexdigest()


def make_small_files(base, count):
    rng = random.Random(42)
    files = {}
    for n in range(count):
        rel = "d%03d/f%05d.bin" % (n // FILES_PER_DIR, n)
        size = SMALL_FILE_SIZE + rng.randint(-1024, 1024)
        data = rng.randbytes(size)
        full = os.path.join(base, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as handle:
            handle.write(data)
        files[rel] = (size, hashlib.sha256(data).hexdigest())
    return Manifest(files)


def chown_tree(top, user):
    for parent, dirs, files in os.walk(top):
        os.chown(parent, user.pw_uid, user.pw_gid)
        for name in files:
            os.chown(os.path.join(parent, name), user.pw_uid, user.pw_gid)


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            block = handle.read(8 * MIB)
            if not block:
                return digest.hexdigest()
            digest.update(block)


def verify_tree(directory, manifest):
    """'' when ``directory`` holds exactly the manifest's files, else a message."""
    found = {}
    for parent, _, files in os.walk(directory):
        for name in files:
            full = os.path.join(parent, name)
            rel = os.path.relpath(full, directory).replace(os.sep, "/")
            if rel != STATE_FILE:
                found[rel] = full
    missing = sorted(set(manifest.files) - set(found))
    extra = sorted(set(found) - set(manifest.files))
    problems = []
    if missing:
        problems.append("%d missing (e.g. %s)" % (len(missing), missing[0]))
    if extra:
        problems.append("%d unexpected (e.g. %s)" % (len(extra), extra[0]))
    for rel in sorted(set(found) & set(manifest.files)):
        size, sha = manifest.files[rel]
        actual = os.path.getsize(found[rel])
        if actual != size:
            problems.append("%s has %d bytes, expected %d" % (rel, actual, size))
        elif file_sha256(found[rel]) != sha:
            problems.append("%s has the wrong content (SHA-256 differs)" % rel)
        if len(problems) > 5:
            break
    return "; ".join(problems)


# --------------------------------------------------------------------------- bench

class ReadCounter(object):
    """Counts the *synchronous* SFTP READ requests paramiko sends (diagnostic only).

    Prefetched reads are sent asynchronously; a synchronous READ happens at end
    of file, or for every 32 KiB block once paramiko's prefetch has given up
    early (the race of paramiko PR #2519 with ``max_concurrent_requests``). A
    count far above the number of files shows that slow path.
    """

    def __init__(self):
        self.count = 0
        self._lock = threading.Lock()
        original = paramiko.SFTPClient._request
        counter = self

        def _request(client, kind, *args):
            if kind == paramiko.sftp.CMD_READ:
                with counter._lock:
                    counter.count += 1
            return original(client, kind, *args)

        paramiko.SFTPClient._request = _request

    def take(self):
        with self._lock:
            count, self.count = self.count, 0
        return count



class Bench(object):
    def __init__(self, args, work, sshd, key, socks):
        self.args = args
        self.work = work
        self.sshd = sshd
        self.key = key
        self.socks = socks
        self.user = pwd.getpwnam(sshd.username)
        self.results = []
        self.failures = []
        self.ciphers = {}
        self._count = 0
        self.sftp_binary = servers.require_binary("sftp", "openssh-client")
        self.reads = ReadCounter()

    # --- helpers -------------------------------------------------------------

    def fresh_local(self, name):
        self._count += 1
        path = os.path.join(self.work, "out", "%02d-%s" % (self._count, name))
        os.makedirs(path)
        return path

    def fresh_remote(self, name):
        """An empty directory under the sshd root, owned by the SFTP user."""
        self._count += 1
        rel = "up-%02d-%s" % (self._count, name)
        path = os.path.join(self.sshd.root, rel)
        os.makedirs(path)
        os.chown(path, self.user.pw_uid, self.user.pw_gid)
        return rel, path

    def record(self, key, group, label, manifest, seconds, check_dir, error=""):
        sync_reads = self.reads.take()
        problem = error or verify_tree(check_dir, manifest)
        result = Result(key, group, label, manifest.total_bytes, len(manifest.files),
                        seconds, not problem, sync_reads)
        self.results.append(result)
        status = "ok" if not problem else "WRONG: " + problem
        print("  %-44s %7.2f s %7.1f MB/s %7.0f files/s %6s sync READs  %s" % (
            label, seconds, result.mb_s, result.files_s,
            "-" if "OpenSSH" in label else sync_reads, status), flush=True)
        if problem:
            self.failures.append("%s: %s" % (label, problem))
        if not self.args.keep and not problem:
            shutil.rmtree(check_dir, ignore_errors=True)
        return result

    def preset(self, proxy=False):
        raw = {"hostname": self.sshd.host, "port": self.sshd.port,
               "root_path": self.sshd.root, "username": self.sshd.username,
               "auth_method": "private_key", "private_key_path": self.key.path,
               "host_key_check": "fingerprint", "host_key": self.sshd.host_key_fingerprint,
               "proxy_type": "none", "timeout": 30}
        if proxy:
            raw.update(proxy_type="socks5", proxy_hostname=self.socks.host,
                       proxy_port=self.socks.port, proxy_user=self.socks.username,
                       proxy_password=self.socks.password)
        # The administrators' policy must list the key's directory (policy.py).
        return service_from_config(raw, plugin_config={
            "allowed_key_directories": [os.path.dirname(self.key.path)]})

    def folder(self, path):
        self._count += 1
        name = _harness.register_folder("bench%03d" % self._count, path, local=True)
        return dataiku.Folder(name)

    # --- OpenSSH -------------------------------------------------------------

    def sftp_cmd(self, batch, verbose=False):
        return [self.sftp_binary, "-b", batch, "-P", str(self.sshd.port), "-i", self.key.path,
                "-F", "/dev/null", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=%s" % ("DEBUG" if verbose else "ERROR"),
                "%s@%s" % (self.sshd.username, self.sshd.host)]

    def openssh(self, batches):
        """Run one ``sftp -b`` per batch (list of lines), in parallel; returns
        (seconds, error text)."""
        paths = []
        for n, lines in enumerate(batches):
            path = os.path.join(self.work, "batch-%d-%d.txt" % (self._count, n))
            with open(path, "w") as handle:
                handle.write("".join(line + "\n" for line in lines))
            paths.append(path)
        want_cipher = "openssh" not in self.ciphers
        start = time.perf_counter()
        procs = [subprocess.Popen(self.sftp_cmd(p, verbose=want_cipher and n == 0),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
                 for n, p in enumerate(paths)]
        errors = []
        for proc in procs:
            try:
                _, err = proc.communicate(timeout=OPENSSH_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            text = err.decode("utf-8", "replace")
            if want_cipher:
                for line in text.splitlines():
                    if "kex: server->client cipher:" in line:
                        self.ciphers["openssh"] = line.split("cipher:", 1)[1].strip()
                        break
            if proc.returncode != 0:
                errors.append("sftp exited with %s: %s" % (
                    proc.returncode, text.strip().splitlines()[-3:]))
        return time.perf_counter() - start, "; ".join(errors)

    # --- plain paramiko --------------------------------------------------------

    def paramiko_client(self):
        transport = paramiko.Transport((self.sshd.host, self.sshd.port))
        transport.start_client(timeout=30)
        transport.auth_publickey(self.sshd.username,
                                 paramiko.Ed25519Key.from_private_key_file(self.key.path))
        self.ciphers.setdefault("paramiko", "%s %s" % (transport.remote_cipher,
                                                      transport.remote_mac))
        return transport, paramiko.SFTPClient.from_transport(transport)

    def paramiko_sample(self, manifest, label):
        if len(manifest.files) <= PARAMIKO_SMALL_SAMPLE:
            return manifest, label
        first = sorted(manifest.files)[:PARAMIKO_SMALL_SAMPLE]
        return (Manifest({p: manifest.files[p] for p in first}),
                "%s (first %d files)" % (label, len(first)))

    def paramiko_run(self, action):
        start = time.perf_counter()
        try:
            transport, sftp = self.paramiko_client()
            try:
                action(sftp)
            finally:
                sftp.close()
                transport.close()
        except Exception as exc:  # reported as a wrong transfer
            return time.perf_counter() - start, "%s: %s" % (type(exc).__name__, exc)
        return time.perf_counter() - start, ""

    # --- our code --------------------------------------------------------------

    def ours(self, func, *call_args, expect_files):
        start = time.perf_counter()
        try:
            result = func(*call_args)
        except Exception as exc:
            return time.perf_counter() - start, "%s: %s" % (type(exc).__name__, exc)
        seconds = time.perf_counter() - start
        word = "downloaded" if func is download else "uploaded"
        done = sum(1 for r in result.rows if r.get(result.direction.status_column) == word)
        if result.failed or done != expect_files:
            return seconds, "%d failed, %d of %d %s (%s)" % (
                result.failed, done, expect_files, word, result.summary())
        return seconds, ""

    def options(self, workers):
        return sync_options_from_config({"workers": workers, "on_error": "stop"})

    # --- cases -----------------------------------------------------------------

    def download_cases(self, group, remote_rel, manifest, small, socks_sample=None):
        """``socks_sample``: (remote path, manifest) of the data to fetch through
        the SOCKS5 proxy."""
        remote_abs = os.path.join(self.sshd.root, remote_rel)
        n = self.args.workers
        print("%s (%d file(s), %.1f MB)" % (group, len(manifest.files),
                                            manifest.total_bytes / MB), flush=True)
        tag = "small" if small else "big"

        # (a) OpenSSH sftp -b
        out = self.fresh_local("openssh")
        if small:
            seconds, err = self.openssh([["get -r %s %s/tree" % (remote_abs, out)]])
            self.record("dl-%s-openssh" % tag, group, "OpenSSH sftp -b (get -r)", manifest,
                        seconds, os.path.join(out, "tree"), err)
            out = self.fresh_local("openssh-n")
            for d in manifest.dirs:
                os.makedirs(os.path.join(out, d), exist_ok=True)
            paths = sorted(manifest.files)
            share = -(-len(paths) // n)
            batches = [["get %s/%s %s/%s" % (remote_abs, p, out, p)
                        for p in paths[i:i + share]] for i in range(0, len(paths), share)]
            seconds, err = self.openssh(batches)
            self.record("dl-small-openssh-n", group, "OpenSSH sftp -b x%d processes" % n,
                        manifest, seconds, out, err)
        else:
            lines = ["get %s/%s %s/%s" % (remote_abs, p, out, p) for p in manifest.files]
            seconds, err = self.openssh([lines])
            self.record("dl-big-openssh", group, "OpenSSH sftp -b", manifest, seconds,
                        out, err)

        # (b) plain paramiko SFTPClient.get, one connection
        out = self.fresh_local("paramiko")
        sample, label = self.paramiko_sample(manifest, "paramiko SFTPClient.get")

        def get_all(sftp):
            for d in sample.dirs:
                os.makedirs(os.path.join(out, d), exist_ok=True)
            if small:  # list like a real client would
                for d in sample.dirs:
                    sftp.listdir_attr(posixpath_join(remote_abs, d))
            for p in sorted(sample.files):
                sftp.get(posixpath_join(remote_abs, p), os.path.join(out, p))

        seconds, err = self.paramiko_run(get_all)
        self.record("dl-%s-paramiko" % tag, group, label, sample, seconds, out, err)

        # (c) our download()
        settings = self.preset()
        for workers, suffix in ((1, "1"), (n, "n")) if small else ((n, ""),):
            out = self.fresh_local("ours-w%d" % workers)
            seconds, err = self.ours(download, settings, remote_rel, self.folder(out),
                                     self.options(workers), expect_files=len(manifest.files))
            key = "dl-%s-ours%s" % (tag, "-" + suffix if suffix else "")
            label = "download() workers=%d%s" % (
                workers, "" if small else " (1 file: 1 connection)")
            self.record(key, group, label, manifest, seconds, out, err)

        # (e) our download() through Dante SOCKS5
        if self.socks is not None and socks_sample is not None:
            sample_rel, sample = socks_sample
            out = self.fresh_local("ours-socks")
            seconds, err = self.ours(download, self.preset(proxy=True), sample_rel,
                                     self.folder(out), self.options(n),
                                     expect_files=len(sample.files))
            what = ("%d files" % len(sample.files) if small
                    else "%.0f MiB" % (sample.total_bytes / MIB))
            self.record("dl-%s-socks" % tag, group,
                        "download() workers=%d SOCKS5 (%s)" % (n, what), sample,
                        seconds, out, err)

    def upload_cases(self, group, local_dir, manifest, small):
        n = self.args.workers
        tag = "small" if small else "big"
        print("%s (%d file(s), %.1f MB)" % (group, len(manifest.files),
                                            manifest.total_bytes / MB), flush=True)

        # OpenSSH sftp -b
        rel, remote = self.fresh_remote("openssh")
        if small:
            seconds, err = self.openssh([["put -r %s %s/tree" % (local_dir, remote)]])
            self.record("ul-small-openssh", group, "OpenSSH sftp -b (put -r)", manifest,
                        seconds, os.path.join(remote, "tree"), err)
            rel, remote = self.fresh_remote("openssh-n")
            for d in manifest.dirs:
                os.makedirs(os.path.join(remote, d), exist_ok=True)
            chown_tree(remote, self.user)
            paths = sorted(manifest.files)
            share = -(-len(paths) // n)
            batches = [["put %s/%s %s/%s" % (local_dir, p, remote, p)
                        for p in paths[i:i + share]] for i in range(0, len(paths), share)]
            seconds, err = self.openssh(batches)
            self.record("ul-small-openssh-n", group, "OpenSSH sftp -b x%d processes" % n,
                        manifest, seconds, remote, err)
        else:
            lines = ["put %s/%s %s/%s" % (local_dir, p, remote, p) for p in manifest.files]
            seconds, err = self.openssh([lines])
            self.record("ul-big-openssh", group, "OpenSSH sftp -b", manifest, seconds,
                        remote, err)

        # plain paramiko SFTPClient.put, one connection
        rel, remote = self.fresh_remote("paramiko")
        sample, label = self.paramiko_sample(manifest, "paramiko SFTPClient.put")

        def put_all(sftp):
            remote_abs = posixpath_join(self.sshd.root, rel)
            for d in sample.dirs:
                sftp.mkdir(posixpath_join(remote_abs, d))
            for p in sorted(sample.files):
                sftp.put(os.path.join(local_dir, p), posixpath_join(remote_abs, p))

        seconds, err = self.paramiko_run(put_all)
        self.record("ul-%s-paramiko" % tag, group, label, sample, seconds, remote, err)

        # our upload()
        settings = self.preset()
        source = self.folder(local_dir)
        for workers, suffix in ((1, "1"), (n, "n")) if small else ((n, ""),):
            rel, remote = self.fresh_remote("ours-w%d" % workers)
            seconds, err = self.ours(upload, settings, source, rel, self.options(workers),
                                     expect_files=len(manifest.files))
            key = "ul-%s-ours%s" % (tag, "-" + suffix if suffix else "")
            label = "upload() workers=%d%s" % (
                workers, "" if small else " (1 file: 1 connection)")
            self.record(key, group, label, manifest, seconds, remote, err)

    # --- report ----------------------------------------------------------------

    def table(self):
        by_key = {r.key: r for r in self.results}
        print()
        print("Results (MB/s = 10^6 bytes/s; times include connect + listing)")
        header = "%-15s %-44s %8s %9s %9s %7s  %-8s %-8s %s" % (
            "case", "", "time s", "MB/s", "files/s", "syncRD", "xOpenSSH", "xparamiko",
            "target")
        print(header)
        print("-" * len(header))
        for r in self.results:
            big = "big" in r.group
            ratios = ["", ""]
            if "-ours" in r.key or r.key.endswith("-socks"):
                tag = r.key[:r.key.index("-", 3)]                # dl-big, ul-small, ...
                multi = r.key.endswith("-n") or r.key.endswith("-socks")
                bases = (tag + ("-openssh-n" if multi and not big else "-openssh"),
                         tag + "-paramiko")
                for i, base in enumerate(bases):
                    other = by_key.get(base)
                    if other is not None and other.rate(big):
                        ratios[i] = "%.2fx" % (r.rate(big) / other.rate(big))
            print("%-15s %-44s %8.2f %9.1f %9s %7s  %-8s %-9s %s" % (
                r.group if r is self._first_of(r.group) else "", r.label, r.seconds,
                r.mb_s, "-" if big else "%.0f" % r.files_s,
                r.sync_reads if "OpenSSH" not in r.label else "-", ratios[0], ratios[1],
                self.target_text(r, by_key)))
        print("syncRD: synchronous SFTP READ round trips (paramiko-based cases)")
        fallback = [r for r in self.results if "download" in r.group
                    and r.sync_reads > 2 * r.files + 8]
        for r in fallback:
            print("NOTE %s / %s: %d synchronous READs for %d file(s): paramiko's prefetch "
                  "gave up early and the file was read 32 KiB per round trip." % (
                      r.group, r.label, r.sync_reads, r.files))
        print()
        for name, text in sorted(self.ciphers.items()):
            print("cipher %-9s %s" % (name + ":", text))

    def _first_of(self, group):
        return next(r for r in self.results if r.group == group)

    def target_text(self, r, by_key):
        if not r.ok:
            return "WRONG TRANSFER"
        spec = TARGETS.get(r.key)
        if spec is None:
            return ""
        kind, goal, other_key = spec
        big = "big" in r.group
        unit = "MB/s" if big else "files/s"
        if kind == "abs":
            met = r.mb_s >= goal
            return "%s >= %.0f MB/s" % ("ok   " if met else "below", goal)
        other = by_key.get(other_key)
        if other is None or not other.rate(big):
            return ""
        ratio = r.rate(big) / other.rate(big)
        return "%s %.2fx >= %.2fx %s (%s)" % ("ok   " if ratio >= goal else "below", ratio,
                                              goal, other.label.split(" (")[0], unit)


def socks_samples(data, args, big, small):
    """(remote path, manifest) of the big file and of the small files to fetch
    through the SOCKS5 proxy: the data itself, or a smaller copy of it."""
    if args.size_mb <= SOCKS_SAMPLE_MIB:
        socks_big = ("data/big", big)
    else:
        os.makedirs(os.path.join(data, "socks-big"))
        entry = make_big_file(os.path.join(data, "socks-big", "big.bin"),
                              SOCKS_SAMPLE_MIB * MIB)
        socks_big = ("data/socks-big", Manifest({"big.bin": entry}))
    if args.files <= SOCKS_SAMPLE_FILES:
        socks_small = ("data/small", small)
    else:
        first = sorted(small.files)[:SOCKS_SAMPLE_FILES]
        for rel in first:
            target = os.path.join(data, "socks-small", rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.link(os.path.join(data, "small", rel), target)
        socks_small = ("data/socks-small", Manifest({p: small.files[p] for p in first}))
    return socks_big, socks_small


def posixpath_join(*parts):
    return "/".join(p.strip("/") if i else p.rstrip("/") for i, p in enumerate(parts) if p)


def make_client_key(directory):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "id_ed25519")
    subprocess.run([servers.require_binary("ssh-keygen"), "-q", "-t", "ed25519", "-N", "",
                    "-C", "bench", "-f", path], check=True)
    with open(path + ".pub") as handle:
        line = " ".join(handle.read().split()[:2])
    return servers.ClientKey(path, line)


def versions():
    ssh = subprocess.run([servers.require_binary("ssh", "openssh-client"), "-V"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True).stdout.strip()
    return "Python %s, paramiko %s, %s, %d CPU(s)" % (
        sys.version.split()[0], paramiko.__version__, ssh.split(",")[0],
        len(os.sched_getaffinity(0)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=None,
                        help="size of the big file in MiB (default 1024, --quick 64)")
    parser.add_argument("--files", type=int, default=None,
                        help="number of ~4 KiB files (default 5000, --quick 500)")
    parser.add_argument("--quick", action="store_true", help="small data set, ~20 s")
    parser.add_argument("--workers", type=int, default=4,
                        help="parallel connections for the multi-connection cases "
                             "(ours and OpenSSH; default 4)")
    parser.add_argument("--no-proxy", action="store_true",
                        help="skip the download through the Dante SOCKS5 proxy")
    parser.add_argument("--no-upload", action="store_true", help="skip the upload cases")
    parser.add_argument("--tmp-dir", default=None,
                        help="where to create the data (default: the system temp dir)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the data and transferred copies afterwards")
    parser.add_argument("--log-level", default="WARNING",
                        help="log level of the plugin's loggers (default WARNING; INFO "
                             "logs one line per file, as in a DSS job)")
    args = parser.parse_args(argv)
    if args.size_mb is None:
        args.size_mb = 64 if args.quick else 1024
    if args.files is None:
        args.files = 500 if args.quick else 5000
    if args.size_mb < 1 or args.files < 1 or not 1 <= args.workers <= 16:
        parser.error("--size-mb and --files must be >= 1, --workers between 1 and 16")
    return args


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("paramiko").setLevel(logging.WARNING)
    if os.geteuid() != 0:
        print("run_bench.py needs root (it starts sshd and Dante like the integration "
              "tests)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    work = tempfile.mkdtemp(prefix="sftp-bench-", dir=args.tmp_dir)
    os.chmod(work, 0o755)
    socks = None
    ok = False
    try:
        key = make_client_key(os.path.join(work, "client-key"))
        with servers.SshServer(os.path.join(work, "servers"), keys={"ed25519": key},
                               log_level="ERROR") as sshd:
            if not args.no_proxy:
                socks = servers.DanteProxy(auth=True, base_dir=os.path.join(work, "servers"))
                socks.start()
            user = pwd.getpwnam(sshd.username)
            data = os.path.join(sshd.root, "data")
            t0 = time.perf_counter()
            os.makedirs(os.path.join(data, "big"))
            big = Manifest({"big.bin": make_big_file(os.path.join(data, "big", "big.bin"),
                                                     args.size_mb * MIB)})
            small = make_small_files(os.path.join(data, "small"), args.files)
            socks_big, socks_small = (socks_samples(data, args, big, small)
                                      if socks is not None else (None, None))
            chown_tree(data, user)
            print("sshd %s:%d, data in %s: %d MiB file + %d small files (%.1f MB), "
                  "made in %.1f s; workers=%d%s" % (
                      sshd.host, sshd.port, data, args.size_mb, args.files,
                      small.total_bytes / MB, time.perf_counter() - t0, args.workers,
                      "" if socks is None else "; SOCKS5 %s:%d" % (socks.host, socks.port)),
                  flush=True)
            print(versions(), flush=True)
            _harness.reset()
            bench = Bench(args, work, sshd, key, socks)
            try:
                bench.download_cases("download big", "data/big", big, small=False,
                                     socks_sample=socks_big)
                bench.download_cases("download small", "data/small", small, small=True,
                                     socks_sample=socks_small)
                if not args.no_upload:
                    bench.upload_cases("upload big", os.path.join(data, "big"), big,
                                       small=False)
                    bench.upload_cases("upload small", os.path.join(data, "small"), small,
                                       small=True)
            finally:
                bench.table()
            print("\nTotal %.0f s." % (time.perf_counter() - started))
            if bench.failures:
                print("\nWRONG TRANSFERS:\n  " + "\n  ".join(bench.failures))
                return 1
            ok = True
            return 0
    finally:
        if socks is not None:
            socks.stop()
        if args.keep or not ok:
            print("Data and logs kept in %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
