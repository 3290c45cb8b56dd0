"""Long-link rows of ``make bench`` (issue 20): the same whole processes through
``relay.py`` (a one-way delay and one rate shared by every connection), printed
as a share of the link bound (bytes / rate), and the loopback row of 20,000
files of 200 bytes. Every case's copy is checked like the other rows'."""
import os
import subprocess
import sys

from bench_data import make_big_file, make_small_files
from bench_report import MIB, Case, Group, Target
from bench_tools import BENCH_DIR, Tools

#: (key, RTT ms, rate Mbit/s) of the emulated links.
PROFILES = [("ll80", 80, 400), ("ll20", 20, 200)]
LONG_BIG_MIB = 256
LONG_SMALL_FILES = 1000
TINY_FILES, TINY_SIZE = 20000, 200


class Via(object):
    """The sshd as seen through a relay: same server, the relay's port."""

    def __init__(self, sshd, port):
        self._sshd, self.port = sshd, port

    def __getattr__(self, name):
        return getattr(self._sshd, name)


def start_relay(sshd, rtt_ms, mbit):
    """``relay.py`` as its own process in front of ``sshd``: (process, port)."""
    proc = subprocess.Popen([sys.executable, os.path.join(BENCH_DIR, "relay.py"),
                             "--target", "%s:%d" % (sshd.host, sshd.port),
                             "--rtt-ms", str(rtt_ms), "--rate-mbit", str(mbit)],
                            stdout=subprocess.PIPE, universal_newlines=True)
    return proc, int(proc.stdout.readline().split()[1])


def make_data(data_dir, quick):
    """The 256 MiB file, 1,000 files of ~4 KiB and 20,000 of 200 bytes."""
    big_dir = os.path.join(data_dir, "ll-big")
    os.makedirs(big_dir)
    big = make_big_file(os.path.join(big_dir, "big.bin"),
                        (32 if quick else LONG_BIG_MIB) * MIB)
    small = make_small_files(os.path.join(data_dir, "ll-small"),
                             100 if quick else LONG_SMALL_FILES)
    tiny = make_small_files(os.path.join(data_dir, "tiny"),
                            2000 if quick else TINY_FILES, size=TINY_SIZE)
    return big, small, tiny


def groups(plan, relays, big, small, tiny):
    """The long-link groups for each relay port ``relays[key]``, then the tiny files."""
    out = []
    base = os.path.join(plan.data.root, "data")
    for key, rtt, mbit in PROFILES:
        tools = Tools(Via(plan.tools.sshd, relays[key]), plan.tools.key, plan.work)
        link = mbit * 1e6 / 8
        name = "RTT %d ms %d Mbit/s" % (rtt, mbit)
        out += [_big_download(plan, tools, key, name, big, base, link),
                _big_upload(plan, tools, key, name, big, base, link),
                _small_download(plan, tools, key, name, small, base)]
    out.append(_tiny_download(plan, tiny, base))
    return out


def targets():
    found = []
    for key, rtt, _ in PROFILES:
        # 2x OpenSSH on the 80 ms link (its window caps it there); at 20 ms it
        # fills the link already: the share of the link is the target.
        if rtt >= 80:
            found += [Target("%s-dl-ours" % key, "%s-dl-openssh" % key, 2.0, "vs OpenSSH get"),
                      Target("%s-ul-ours" % key, "%s-ul-openssh" % key, 2.0, "vs OpenSSH put")]
        found += [Target("%s-dl-ours" % key, "%s-dl-rclone" % key, 1.0, "vs rclone 4 streams"),
                  Target("%s-ul-ours" % key, "%s-ul-rclone" % key, 1.0, "vs rclone"),
                  Target("%s-small-ours" % key, "%s-small-lftp" % key, 3.0, "vs lftp mirror"),
                  Target("%s-small-ours" % key, "%s-small-rclone" % key, 3.0, "vs rclone")]
    return found + [Target("tiny-ours", "tiny-lftp", 1.0, "vs lftp mirror -P 8"),
                    Target("tiny-ours", "tiny-openssh", 1.0, "vs OpenSSH get -R")]


def _big_download(plan, t, key, name, big, base, link):
    src = os.path.join(base, "ll-big", "big.bin")
    rel = "data/ll-big"
    cases = [
        plan.download_case(key + "-dl-openssh", "OpenSSH sftp -b get", "anchor", big, rel,
                           lambda out: t.openssh([["get %s %s/big.bin" % (src, out)]])),
        plan.download_case(key + "-dl-ours", "download recipe", "ours", big, rel,
                           lambda out: t.download(rel, out, plan.args.workers)),
        plan.download_case(key + "-dl-lftp", "lftp pget -n 4", "peer", big, rel,
                           lambda out: t.lftp(["pget -n 4 %s -o %s/big.bin" % (src, out)])),
        plan.download_case(key + "-dl-rclone", "rclone copy (4 streams)", "peer", big, rel,
                           lambda out: t.rclone(["copy", ":sftp:" + os.path.dirname(src),
                                                 out, "--multi-thread-streams", "4",
                                                 "--multi-thread-cutoff", "16M"]))]
    return Group(key + "-dl", "%s: download %d MiB" % (name, big.total_bytes // MIB),
                 "MB/s", big.total_bytes, cases, big=True, link=link)


def _big_upload(plan, t, key, name, big, base, link):
    src_dir = os.path.join(base, "ll-big")
    cases = [
        plan.upload_case(key + "-ul-openssh", "OpenSSH sftp -b put", "anchor", big,
                         lambda rel, remote: t.openssh(
                             [["put %s/big.bin %s/big.bin" % (src_dir, remote)]])),
        plan.upload_case(key + "-ul-ours", "upload recipe", "ours", big,
                         lambda rel, remote: t.upload(src_dir, rel, plan.args.workers)),
        plan.upload_case(key + "-ul-lftp", "lftp mirror -R --parallel=4", "peer", big,
                         lambda rel, remote: t.lftp(["mirror -R --parallel=4 %s %s" % (
                             src_dir, remote)])),
        plan.upload_case(key + "-ul-rclone", "rclone copy", "peer", big,
                         lambda rel, remote: t.rclone(["copy", src_dir, ":sftp:" + remote,
                                                       "--transfers", "8"]))]
    return Group(key + "-ul", "%s: upload %d MiB" % (name, big.total_bytes // MIB),
                 "MB/s", big.total_bytes, cases, big=True, link=link)


def _small_download(plan, t, key, name, small, base):
    src, rel = os.path.join(base, "ll-small"), "data/ll-small"
    cases = [
        plan.download_case(key + "-small-ours", "download recipe", "ours", small, rel,
                           lambda out: t.download(rel, out, plan.args.workers)),
        plan.download_case(key + "-small-lftp", "lftp mirror --parallel=8", "peer", small,
                           rel, lambda out: t.lftp(["mirror --parallel=8 %s %s" % (src, out)])),
        plan.download_case(key + "-small-rclone", "rclone copy --transfers 8", "peer",
                           small, rel, lambda out: t.rclone(
                               ["copy", ":sftp:" + src, out, "--transfers", "8"]))]
    return Group(key + "-small", "%s: download %d files" % (name, len(small.files)),
                 "files/s", len(small.files), cases)


def _tiny_download(plan, tiny, base):
    t, src, rel = plan.tools, os.path.join(base, "tiny"), "data/tiny"
    cases = [
        plan.download_case("tiny-openssh", "OpenSSH sftp -b get -R", "anchor", tiny, rel,
                           lambda out: t.openssh([["get -R %s %s" % (src, out)]]),
                           sub="tiny"),
        plan.download_case("tiny-ours", "download recipe", "ours", tiny, rel,
                           lambda out: t.download(rel, out, plan.args.workers)),
        plan.download_case("tiny-lftp", "lftp mirror --parallel=8", "peer", tiny, rel,
                           lambda out: t.lftp(["mirror --parallel=8 %s %s" % (src, out)]))]
    return Group("tiny", "loopback: download %d files of %d B" % (len(tiny.files), TINY_SIZE),
                 "files/s", len(tiny.files), cases, big=True)
