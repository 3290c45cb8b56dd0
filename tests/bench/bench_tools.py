"""How the bench runs each contender as whole processes: OpenSSH ``sftp -b``,
``lftp``, ``rclone``, and our recipes and exporter through ``dss_process.py``.

Every runner returns ``(seconds, error text or "", peak RSS in KiB or None)``;
the clock covers the whole process (start, connect, list, copy, exit)."""
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
TESTS_DIR = os.path.dirname(BENCH_DIR)
PROJECT_DIR = os.path.dirname(TESTS_DIR)
STUB_PATHS = [os.path.join(PROJECT_DIR, "python-lib"), os.path.join(TESTS_DIR, "stubs"),
              TESTS_DIR, BENCH_DIR]
DOWNLOAD_RECIPE = os.path.join(PROJECT_DIR, "custom-recipes",
                               "sftp-python-connector_download-from-sftp", "recipe.py")
UPLOAD_RECIPE = os.path.join(PROJECT_DIR, "custom-recipes",
                             "sftp-python-connector_export-to-sftp", "recipe.py")
EXPORTER = os.path.join(PROJECT_DIR, "python-exporters",
                        "sftp-python-connector_export-to-sftp", "exporter.py")
FS_PROVIDER = os.path.join(PROJECT_DIR, "python-fs-providers", "sftp", "fs-provider.py")
#: Seconds any one process may take before the bench calls it a failure.
PROCESS_TIMEOUT = 600
SSH_OPTIONS = ["-F", "/dev/null", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR"]


class Tools(object):
    """Runners bound to one sshd, its client key and the proxies."""

    def __init__(self, sshd, key, work, socks=None, http=None):
        self.sshd, self.key, self.work = sshd, key, work
        self.socks, self.http = socks, http
        self._n = 0

    def _temp(self, suffix):
        self._n += 1
        return os.path.join(self.work, "spec-%04d%s" % (self._n, suffix))

    # --- processes -------------------------------------------------------------

    @staticmethod
    def timed(commands, env=None):
        """Run ``commands`` (argv lists) at once; seconds until the last exits."""
        started = time.perf_counter()
        procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  env=env) for c in commands]
        errors = []
        for proc in procs:
            try:
                _, err = proc.communicate(timeout=PROCESS_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            except BaseException:        # interrupted: leave nothing running
                for other in procs:
                    other.kill()
                    other.wait()
                raise
            if proc.returncode:
                errors.append("%s exited %s: %s" % (os.path.basename(proc.args[0]),
                                                    proc.returncode,
                                                    err.decode("utf-8", "replace")[-800:]))
        return time.perf_counter() - started, "; ".join(errors), None

    # --- OpenSSH sftp -b -----------------------------------------------------------

    def openssh(self, batches):
        """One ``sftp -b`` process per list of batch lines, all at once."""
        commands = []
        for lines in batches:
            path = self._temp(".sftp")
            with open(path, "w") as handle:
                handle.write("\n".join(lines) + "\n")
            commands.append(["sftp", "-b", path, "-P", str(self.sshd.port),
                             "-i", self.key.path] + SSH_OPTIONS +
                            ["%s@%s" % (self.sshd.username, self.sshd.host)])
        return self.timed(commands)

    # --- lftp --------------------------------------------------------------------

    def lftp(self, commands):
        """``lftp -c`` with ``commands`` after opening the server over ssh."""
        ssh = " ".join(["ssh", "-a", "-x", "-i", self.key.path] + SSH_OPTIONS)
        script = "; ".join(["set sftp:connect-program %s" % shlex.quote(ssh),
                            "set net:max-retries 1", "set cmd:fail-exit yes",
                            "open -u %s, sftp://%s:%d" % (self.sshd.username,
                                                          self.sshd.host, self.sshd.port)]
                           + list(commands))
        return self.timed([["lftp", "-c", script]])

    # --- rclone ------------------------------------------------------------------

    def rclone(self, args):
        """``rclone`` with an on-the-fly SFTP remote named ``:sftp:``."""
        config = self._temp(".rclone.conf")
        open(config, "w").close()
        base = ["rclone", "--config", config, "--sftp-host", self.sshd.host,
                "--sftp-port", str(self.sshd.port), "--sftp-user", self.sshd.username,
                "--sftp-key-file", self.key.path, "--sftp-disable-hashcheck",
                "--sftp-shell-type", "none", "--retries", "1", "-q"]
        return self.timed([base + list(args)])

    # --- ours ------------------------------------------------------------------------

    def preset(self, proxy=None):
        raw = {"hostname": self.sshd.host, "port": self.sshd.port,
               "root_path": self.sshd.root, "username": self.sshd.username,
               "auth_method": "private_key", "private_key_path": self.key.path,
               "host_key_check": "fingerprint", "host_key": self.sshd.host_key_fingerprint,
               "proxy_type": "none", "timeout": 30}
        server = {"socks5": self.socks, "http": self.http}.get(proxy)
        if server is not None:
            raw.update(proxy_type=proxy, proxy_hostname=server.host,
                       proxy_port=float(server.port))
            if getattr(server, "username", None):
                raw.update(proxy_user=server.username, proxy_password=server.password)
        return raw

    def dss(self, spec):
        """Run one DSS job (see dss_process.py) as its own process."""
        # The key is read from disk: the administrators' policy must allow its directory.
        plugin_config = {"allowed_key_directories": [os.path.dirname(self.key.path)]}
        spec = dict(spec, paths=STUB_PATHS, result=self._temp(".result.json"),
                    plugin_config=plugin_config)
        path = self._temp(".json")
        with open(path, "w") as handle:
            json.dump(spec, handle)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="")
        seconds, error, _ = self.timed(
            [[sys.executable, os.path.join(BENCH_DIR, "dss_process.py"), path]], env=env)
        rss = None
        if not error:
            with open(spec["result"]) as handle:
                rss = json.load(handle)["max_rss_kib"]
        return seconds, error, rss

    def download(self, remote_rel, out_dir, workers, proxy=None, local=True):
        return self.dss({
            "recipe": DOWNLOAD_RECIPE, "folders": {"out": [out_dir, local]},
            "outputs": {"output_folder": ["out"]},
            "config": {"sftp_service": self.preset(proxy), "remote_path": remote_rel,
                       "workers": workers}})

    def upload(self, in_dir, remote_rel, workers, proxy=None):
        return self.dss({
            "recipe": UPLOAD_RECIPE, "folders": {"in": [in_dir, True]},
            "datasets": ["uploaded"], "inputs": {"input_folder": ["in"]},
            "outputs": {"uploaded_files": ["uploaded"]},
            "config": {"sftp_service": self.preset(proxy), "remote_path": remote_rel,
                       "workers": workers}})

    def export(self, remote_file, rows):
        return self.dss({
            "exporter": EXPORTER, "rows": rows,
            "config": {"sftp_service": self.preset(), "remote_path": remote_file,
                       "format": "csv", "header": True, "compression": "none",
                       "if_exists": "overwrite"}})

    def fs_provider(self, op, root, path, local):
        """The FS provider (built as DSS does, for the directory ``root`` below the
        preset's root path): one whole ``read`` of ``path`` into the local file
        ``local``, or one ``write`` of it from there."""
        return self.dss({"fs_provider": FS_PROVIDER, "root": root, "op": op, "path": path,
                         "local": local, "config": {"sftp_service": self.preset()}})

    def csv_then_put(self, rows, local_file, remote_abs):
        """The exporter's anchor: Python ``csv`` to a local file, then ``sftp put``."""
        first = self.timed([[sys.executable, os.path.join(BENCH_DIR, "bench_rows.py"),
                             str(rows), local_file]])
        if first[1]:
            return first
        second = self.openssh([["put %s %s" % (local_file, remote_abs)]])
        os.remove(local_file)
        return first[0] + second[0], second[1], None


def temp_dir(parent, prefix):
    return tempfile.mkdtemp(prefix=prefix, dir=parent)
