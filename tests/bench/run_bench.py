#!/usr/bin/env python3
"""``make bench``: our recipes and exporter as DSS runs them (a whole process
through the stand-in ``dataiku`` package) against OpenSSH ``sftp -b``, with
``lftp`` and ``rclone`` as peers, on loopback servers started here.

Each group's cases run in alternation, round after round (the order reversed
every other round, so a drift of the machine hits everyone alike); the table
shows medians and the ratios the targets of issue 12 are stated in. Every copy
is checked (names, sizes, content); the exit code is 1 for a wrong or failed
transfer, never for speed. ``BENCH_QUICK=1`` (or ``--quick``) runs a small data
set for development. The JSON twin of the table goes to ``dist/``.
"""
import argparse
import logging
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import bench_cases
import bench_longlink
import bench_data
import bench_report
from bench_tools import PROJECT_DIR, TESTS_DIR, Tools

sys.path[:0] = [os.path.join(PROJECT_DIR, "python-lib"), TESTS_DIR]
from helpers import servers  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    parser.add_argument("--quick", action="store_true", default=quick,
                        help="small data (64 MiB, 500 files, 100,000 rows); also "
                             "BENCH_QUICK=1")
    parser.add_argument("--size-mb", type=int, help="big file in MiB (default 1024)")
    parser.add_argument("--files", type=int, help="small files (default 5000)")
    parser.add_argument("--rows", type=int, help="exported rows (default 2,000,000)")
    parser.add_argument("--runs", type=int, default=3,
                        help="rounds of the anchors and ours per group (>= 3)")
    parser.add_argument("--peer-runs", type=int, default=1,
                        help="rounds that also run the lftp/rclone peers (default 1)")
    parser.add_argument("--workers", type=int, default=4,
                        help="'Parallel transfers' of our recipes (default 4)")
    parser.add_argument("--only", default="", help="comma-separated group keys")
    parser.add_argument("--no-peers", action="store_true", help="leave lftp/rclone out")
    parser.add_argument("--tmp-dir", default=None)
    args = parser.parse_args(argv)
    args.size_mb = args.size_mb or (64 if args.quick else 1024)
    args.files = args.files or (500 if args.quick else 5000)
    args.rows = args.rows or (100000 if args.quick else 2000000)
    return args


def make_key(directory):
    os.makedirs(directory)
    path = os.path.join(directory, "id_ed25519")
    subprocess.run([servers.require_binary("ssh-keygen"), "-q", "-t", "ed25519", "-N", "",
                    "-C", "bench", "-f", path], check=True)
    with open(path + ".pub") as handle:
        return servers.ClientKey(path, " ".join(handle.read().split()[:2]))


def versions():
    def first_line(cmd):
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True).stdout.strip()
        return out.splitlines()[0] if out else "?"
    import paramiko
    return {"python": sys.version.split()[0], "paramiko": paramiko.__version__,
            "openssh": first_line(["ssh", "-V"]), "lftp": first_line(["lftp", "--version"]),
            "rclone": first_line(["rclone", "version"]), "cpus": os.cpu_count(),
            "load_at_start": os.getloadavg()}


def run_groups(groups, runs, peer_runs):
    """Every case of each group once per round, in alternating order (peers
    only in the first ``peer_runs`` rounds)."""
    results = {}
    for group in groups:
        print("%s" % group.title, flush=True)
        if group.setup is not None:
            group.setup()
        for rnd in range(runs):
            order = group.cases if rnd % 2 == 0 else list(reversed(group.cases))
            for case in order:
                if case.role == "peer" and rnd >= peer_runs:
                    continue
                measure = case.run(rnd)
                results.setdefault(case.key, []).append(measure)
                print("  round %d  %-40s %7.2f s %s" % (
                    rnd + 1, case.label[:40], measure.seconds,
                    "ok" if not measure.error else "FAILED: " + measure.error[:300]),
                    flush=True)
    return results


class _Process(object):
    """A helper process (a relay) stopped with the servers."""

    def __init__(self, proc):
        self.proc = proc

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def _stop(signum, frame):
    raise SystemExit("interrupted by signal %d" % signum)


def main(argv=None):
    args = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _stop)       # servers stopped, data removed on the way out
    if os.geteuid() != 0:
        print("run_bench.py needs root (it starts sshd, Dante and tinyproxy)",
              file=sys.stderr)
        return 2
    args.runs = max(3, args.runs)
    logging.basicConfig(level="WARNING")
    started = time.perf_counter()
    work = tempfile.mkdtemp(prefix="sftp-bench-", dir=args.tmp_dir)
    os.chmod(work, 0o755)
    daemons = []
    try:
        key = make_key(os.path.join(work, "client-key"))
        base = os.path.join(work, "servers")
        sshd = servers.SshServer(base, keys={"ed25519": key}, log_level="ERROR")
        sshd.start()
        daemons.append(sshd)
        socks = servers.DanteProxy(auth=True, base_dir=base)
        socks.start()
        daemons.append(socks)
        http = servers.TinyProxy(auth=True, connect_ports=(sshd.port,), base_dir=base)
        http.start()
        daemons.append(http)
        user = pwd.getpwnam(sshd.username)
        tools = Tools(sshd, key, work, socks=socks, http=http)
        t0 = time.perf_counter()
        data = bench_cases.make_data(sshd.root, args)
        long_data = bench_longlink.make_data(os.path.join(sshd.root, "data"), args.quick)
        bench_data.chown_tree(os.path.join(sshd.root, "data"), user)
        relays = {}
        for key, rtt, mbit in bench_longlink.PROFILES:
            proc, relays[key] = bench_longlink.start_relay(sshd, rtt, mbit)
            daemons.append(_Process(proc))
        meta = dict(versions(), quick=args.quick, size_mib=args.size_mb, files=args.files,
                    rows=args.rows, runs=args.runs, peer_runs=args.peer_runs,
                    workers=args.workers)
        print("data made in %.0f s: %s" % (time.perf_counter() - t0, meta), flush=True)
        plan = bench_cases.Plan(tools, data, user, work, args)
        groups = plan.groups() + bench_longlink.groups(plan, relays, *long_data)
        if args.no_peers:
            groups = [g._replace(cases=[c for c in g.cases if c.role != "peer"])
                      for g in groups]
        if args.only:
            groups = [g for g in groups if g.key in args.only.split(",")]
        results = run_groups(groups, args.runs, args.peer_runs)
        rows = bench_report.build(groups, results,
                                  plan.targets() + bench_longlink.targets())
        rss = bench_report.rss_verdict(groups, rows)
        missing = bench_cases.NOT_MEASURED
        bench_report.print_table(rows, rss, missing)
        meta["seconds"] = round(time.perf_counter() - started, 1)
        path = bench_report.write_json(os.path.join(PROJECT_DIR, "dist"), meta, rows, rss,
                                       missing)
        print("\nTotal %.0f s; JSON in %s" % (meta["seconds"], path))
        failed = [r for r in rows if r["failed_runs"]]
        return 1 if failed or plan.wrong else 0
    finally:
        for daemon in reversed(daemons):
            daemon.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
