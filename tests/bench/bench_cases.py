"""The rows of issue 12's table as bench cases: each prepares fresh
directories (untimed), runs one contender as whole processes (timed), checks
the copy and cleans up."""
import os
import shutil
from typing import NamedTuple

from bench_data import Manifest, chown_tree, make_big_file, make_small_files, verify_tree
from bench_report import MIB, Case, Group, Measure, Target

STATE_FILE = ".sftp-sync-state.json"
NOT_MEASURED = []


class Data(NamedTuple):
    root: str            # the sshd's root (absolute remote paths are the same)
    big: Manifest
    small: Manifest


def make_data(root, args):
    data = os.path.join(root, "data")
    os.makedirs(os.path.join(data, "big"))
    big = make_big_file(os.path.join(data, "big", "big.bin"), args.size_mb * MIB)
    small = make_small_files(os.path.join(data, "small"), args.files)
    return Data(root, big, small)


class Plan(object):
    """Cases of every group, bound to the tools, the data and the options."""

    def __init__(self, tools, data, user, work, args):
        self.tools, self.data, self.user, self.args = tools, data, user, args
        self.work = work
        self.big_dir = os.path.join(data.root, "data", "big")
        self.small_dir = os.path.join(data.root, "data", "small")
        self.wrong = []
        self._n = 0

    # --- directories -------------------------------------------------------------

    def local(self, name):
        self._n += 1
        path = os.path.join(self.work, "out", "%03d-%s" % (self._n, name))
        os.makedirs(path)
        return path

    def remote(self, name):
        """(path relative to the root, absolute path) of a new directory the SFTP
        user owns."""
        self._n += 1
        rel = "up/%03d-%s" % (self._n, name)
        path = os.path.join(self.data.root, rel)
        os.makedirs(path)
        chown_tree(os.path.join(self.data.root, "up"), self.user)
        return rel, path

    def checked(self, measure, directory, manifest, rnd, keep=False, full=False):
        """The measure, failed when the copy in ``directory`` is wrong (big files:
        checksum in full when ``full``, else sampled blocks)."""
        problem = measure.error
        if not problem:
            original = None if full or manifest is not self.data.big else self.big_dir
            problem = verify_tree(directory, manifest, ignore=(STATE_FILE,),
                                  original_dir=original)
            if problem:
                self.wrong.append(problem)
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)
        return measure._replace(error=problem)

    # --- cases ---------------------------------------------------------------------

    def download_case(self, key, label, role, manifest, remote_rel, run, sub=""):
        """A case copying ``remote_rel`` into a fresh local directory with ``run``
        (the copy lands in its ``sub`` directory)."""
        def case(rnd):
            out = self.local(key)
            measure = self.checked(Measure(*run(out)), os.path.join(out, sub), manifest,
                                   rnd, full=(role == "ours" and rnd == 0))
            shutil.rmtree(out, ignore_errors=True)
            return measure
        return Case(key, label, role, case)

    def upload_case(self, key, label, role, manifest, run, sub=""):
        def case(rnd):
            rel, remote = self.remote(key)
            measure = self.checked(Measure(*run(rel, remote)), os.path.join(remote, sub),
                                   manifest, rnd, full=(role == "ours" and rnd == 0))
            shutil.rmtree(remote, ignore_errors=True)
            return measure
        return Case(key, label, role, case)

    def groups(self):
        groups = [self.big_download(), self.big_upload(), self.small_download(),
                  self.small_upload(), self.rerun_download(), self.rerun_upload(),
                  self.export()]
        if self.args.no_peers:
            groups = [g._replace(cases=[c for c in g.cases if c.role != "peer"])
                      for g in groups]
        return groups

    def targets(self):
        return [
            Target("dl-big-ours", "dl-big-openssh", 1.3, "vs OpenSSH get"),
            Target("ul-big-ours", "ul-big-openssh", 1.3, "vs OpenSSH put"),
            Target("dl-small-ours", "dl-small-openssh", 1.0, "vs OpenSSH get -R"),
            Target("dl-small-ours", "dl-small-openssh-4", 1.0, "vs 4 OpenSSH (report)"),
            Target("ul-small-ours", "ul-small-openssh", 1.0, "vs OpenSSH put -R"),
            Target("ul-small-ours", "ul-small-openssh-4", 1.0, "vs 4 OpenSSH (report)"),
            Target("rerun-dl-ours", "rerun-dl-lftp", 1.0, "time vs lftp mirror"),
            Target("rerun-ul-ours", "rerun-ul-lftp", 1.0, "time vs lftp mirror -R"),
            Target("dl-big-fs", "dl-big-ours", 0.95, "vs download recipe"),
            Target("ul-big-fs", "ul-big-ours", 0.95, "vs upload recipe"),
            Target("dl-big-socks", "dl-big-ours", 0.95, "vs direct"),
            Target("dl-big-http", "dl-big-ours", 0.95, "vs direct"),
            Target("dl-small-socks", "dl-small-ours", 0.95, "vs direct"),
            Target("dl-small-http", "dl-small-ours", 0.95, "vs direct"),
            Target("export-ours", "export-csv-put", 1.0, "vs csv + sftp put"),
        ]

    def _ours_download(self, remote_rel, proxy=None):
        workers = self.args.workers
        return lambda out: self.tools.download(remote_rel, out, workers, proxy=proxy)

    def _proxied(self, prefix, manifest, remote_rel):
        return [self.download_case("%s-%s" % (prefix, kind), "download recipe via %s" % name,
                                   "ours", manifest, remote_rel,
                                   self._ours_download(remote_rel, kind))
                for kind, name in (("socks5", "SOCKS5"), ("http", "HTTP CONNECT"))]

    def big_download(self):
        d, t = self.data, self.tools
        src = os.path.join(self.big_dir, "big.bin")
        cases = [
            self.download_case("dl-big-openssh", "OpenSSH sftp -b get", "anchor", d.big,
                               "data/big", lambda out: t.openssh(
                                   [["get %s %s/big.bin" % (src, out)]])),
            self.download_case("dl-big-ours", "download recipe", "ours", d.big, "data/big",
                               self._ours_download("data/big"))]
        cases.append(self.download_case(
            "dl-big-fs", "FS provider read(path, stream, -1)", "ours", d.big, "data/big",
            lambda out: t.fs_provider("read", "/data/big", "/big.bin", out + "/big.bin")))
        cases += self._proxied("dl-big", d.big, "data/big")
        cases = [c._replace(key=c.key.replace("socks5", "socks")) for c in cases]
        cases += [
            self.download_case("dl-big-lftp", "lftp pget -n 4", "peer", d.big, "data/big",
                               lambda out: t.lftp(["pget -n 4 %s -o %s/big.bin" % (
                                   src, out)])),
            self.download_case("dl-big-rclone", "rclone copy (4 streams)", "peer", d.big,
                               "data/big", lambda out: t.rclone(
                                   ["copy", ":sftp:" + self.big_dir, out,
                                    "--multi-thread-streams", "4",
                                    "--multi-thread-cutoff", "16M"]))]
        return Group("dl-big", "download %d MiB" % (d.big.total_bytes // MIB), "MB/s",
                     d.big.total_bytes, cases, big=True)

    def big_upload(self):
        d, t = self.data, self.tools
        src = os.path.join(self.big_dir, "big.bin")
        cases = [
            self.upload_case("ul-big-openssh", "OpenSSH sftp -b put", "anchor", d.big,
                             lambda rel, remote: t.openssh(
                                 [["put %s %s/big.bin" % (src, remote)]])),
            self.upload_case("ul-big-ours", "upload recipe", "ours", d.big,
                             lambda rel, remote: t.upload(self.big_dir, rel,
                                                          self.args.workers)),
            self.upload_case("ul-big-fs", "FS provider write(path, stream)", "ours", d.big,
                             lambda rel, remote: t.fs_provider("write", "/" + rel, "/big.bin",
                                                               src)),
            self.upload_case("ul-big-rclone", "rclone copy", "peer", d.big,
                             lambda rel, remote: t.rclone(
                                 ["copy", self.big_dir, ":sftp:" + remote]))]
        return Group("ul-big", "upload %d MiB" % (d.big.total_bytes // MIB), "MB/s",
                     d.big.total_bytes, cases, big=True)

    def _openssh_split(self, lines_for):
        """Batches for 4 OpenSSH processes, files shared out in order."""
        paths = sorted(self.data.small.files)
        share = -(-len(paths) // 4)
        return [[lines_for(p) for p in paths[i:i + share]]
                for i in range(0, len(paths), share)]

    def small_download(self):
        d, t, n = self.data, self.tools, self.args.workers
        src = self.small_dir

        def four(out):
            for rel in d.small.dirs:
                os.makedirs(os.path.join(out, rel), exist_ok=True)
            return t.openssh(self._openssh_split(
                lambda p: "get %s/%s %s/%s" % (src, p, out, p)))

        cases = [
            self.download_case("dl-small-openssh", "OpenSSH sftp -b get -R", "anchor",
                               d.small, "data/small",
                               lambda out: t.openssh([["get -R %s %s" % (src, out)]]),
                               sub="small"),
            self.download_case("dl-small-ours", "download recipe", "ours", d.small,
                               "data/small", self._ours_download("data/small")),
            self.download_case("dl-small-openssh-4", "4 x OpenSSH sftp -b get", "ref",
                               d.small, "data/small", four)]
        cases += [c._replace(key=c.key.replace("socks5", "socks"))
                  for c in self._proxied("dl-small", d.small, "data/small")]
        cases += [
            self.download_case("dl-small-lftp", "lftp mirror -P %d" % n, "peer", d.small,
                               "data/small", lambda out: t.lftp(
                                   ["mirror -P %d %s %s" % (n, src, out)])),
            self.download_case("dl-small-rclone", "rclone copy --transfers %d" % n,
                               "peer", d.small, "data/small", lambda out: t.rclone(
                                   ["copy", ":sftp:" + src, out, "--transfers", str(n)]))]
        return Group("dl-small", "download %d small files" % len(d.small.files), "files/s",
                     len(d.small.files), cases)

    def small_upload(self):
        d, t, n = self.data, self.tools, self.args.workers
        src = self.small_dir

        def four(rel, remote):
            for sub in d.small.dirs:
                os.makedirs(os.path.join(remote, sub), exist_ok=True)
            chown_tree(remote, self.user)
            return t.openssh(self._openssh_split(
                lambda p: "put %s/%s %s/%s" % (src, p, remote, p)))

        cases = [
            self.upload_case("ul-small-openssh", "OpenSSH sftp -b put -R", "anchor",
                             d.small, lambda rel, remote: t.openssh(
                                 [["put -R %s %s" % (src, remote)]]), sub="small"),
            self.upload_case("ul-small-ours", "upload recipe", "ours", d.small,
                             lambda rel, remote: t.upload(src, rel, n)),
            self.upload_case("ul-small-openssh-4", "4 x OpenSSH sftp -b put", "ref",
                             d.small, four),
            self.upload_case("ul-small-lftp", "lftp mirror -R -P %d" % n, "peer", d.small,
                             lambda rel, remote: t.lftp(
                                 ["mirror -R -P %d %s %s" % (n, src, remote)])),
            self.upload_case("ul-small-rclone", "rclone copy --transfers %d" % n, "peer",
                             d.small, lambda rel, remote: t.rclone(
                                 ["copy", src, ":sftp:" + remote, "--transfers", str(n)]))]
        return Group("ul-small", "upload %d small files" % len(d.small.files), "files/s",
                     len(d.small.files), cases)

    # --- nothing changed ---------------------------------------------------------------

    def _rerun_group(self, key, title, synced, runners):
        """Cases re-running a sync whose target ``synced[name]`` is already up to
        date; ``setup`` makes the first copies (untimed)."""
        def setup():
            for name, run in runners:
                measure = Measure(*run(synced[name]))
                if measure.error:
                    raise RuntimeError("%s: first copy failed: %s" % (title, measure.error))

        def case_for(name, role, label, run):
            def case(rnd):
                measure = Measure(*run(synced[name]))
                return self.checked(measure, synced[name], self.data.small, rnd, keep=True)
            return Case("%s-%s" % (key, name), label, role, case)

        return setup, case_for

    def rerun_download(self):
        t, n, src = self.tools, self.args.workers, self.small_dir
        synced = {name: self.local("rerun-" + name) for name in ("lftp", "ours", "rclone")}
        runs = {
            "lftp": lambda out: t.lftp(["mirror --only-newer -P %d %s %s" % (n, src, out)]),
            "ours": lambda out: t.download("data/small", out, n),
            "rclone": lambda out: t.rclone(["copy", ":sftp:" + src, out,
                                            "--transfers", str(n)])}
        setup, case_for = self._rerun_group("rerun-dl", "re-run download", synced,
                                            list(runs.items()))
        cases = [case_for("lftp", "anchor", "lftp mirror --only-newer", runs["lftp"]),
                 case_for("ours", "ours", "download recipe, nothing changed", runs["ours"]),
                 case_for("rclone", "peer", "rclone copy, nothing changed", runs["rclone"])]
        return Group("rerun-dl", "re-run download, %d files unchanged"
                     % len(self.data.small.files), "s", 0, cases, setup=setup)

    def rerun_upload(self):
        t, n, src = self.tools, self.args.workers, self.small_dir
        synced = {name: self.remote("rerun-" + name) for name in ("lftp", "ours", "rclone")}
        runs = {
            "lftp": lambda d: t.lftp(["mirror -R --only-newer -P %d %s %s" % (n, src, d[1])]),
            "ours": lambda d: t.upload(src, d[0], n),
            "rclone": lambda d: t.rclone(["copy", src, ":sftp:" + d[1],
                                          "--transfers", str(n)])}
        setup, _ = self._rerun_group("rerun-ul", "re-run upload", synced, list(runs.items()))

        def case_for(name, role, label):
            def case(rnd):
                measure = Measure(*runs[name](synced[name]))
                return self.checked(measure, synced[name][1], self.data.small, rnd,
                                    keep=True)
            return Case("rerun-ul-%s" % name, label, role, case)

        cases = [case_for("lftp", "anchor", "lftp mirror -R --only-newer"),
                 case_for("ours", "ours", "upload recipe, nothing changed"),
                 case_for("rclone", "peer", "rclone copy, nothing changed")]
        return Group("rerun-ul", "re-run upload, %d files unchanged"
                     % len(self.data.small.files), "s", 0, cases, setup=setup)

    # --- exporter ------------------------------------------------------------------------

    def export(self):
        t, rows = self.tools, self.args.rows

        def anchor(rnd):
            rel, remote = self.remote("export-anchor")
            measure = Measure(*t.csv_then_put(rows, os.path.join(self.work, "rows.csv"),
                                              remote + "/out.csv"))
            return self._export_checked(measure, remote)

        def ours(rnd):
            rel, remote = self.remote("export-ours")
            return self._export_checked(Measure(*t.export(rel + "/out.csv", rows)), remote)

        cases = [Case("export-csv-put", "Python csv + OpenSSH sftp put", "anchor", anchor),
                 Case("export-ours", "exporter", "ours", ours)]
        return Group("export", "export %d rows x 10 columns" % rows, "rows/s", rows, cases)

    def _export_checked(self, measure, remote):
        """The file holds a header and one line per row (rows have no newlines)."""
        problem = measure.error
        if not problem:
            path = os.path.join(remote, "out.csv")
            with open(path, "rb") as handle:
                lines = sum(block.count(b"\n") for block in iter(
                    lambda: handle.read(1 << 20), b""))
            if lines != self.args.rows + 1:
                problem = "out.csv has %d lines, expected %d" % (lines, self.args.rows + 1)
                self.wrong.append(problem)
        shutil.rmtree(remote, ignore_errors=True)
        return measure._replace(error=problem)
