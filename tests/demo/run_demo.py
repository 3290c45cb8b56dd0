"""The plugin's main job, end to end, against real local servers.

Starts OpenSSH sshd (SFTP), two Dante SOCKS proxies (with and without
authentication) and a tinyproxy HTTP CONNECT proxy (Basic auth) on loopback,
then, as DSS would run them:

1. connects directly, through SOCKS5, SOCKS4a and HTTP CONNECT, printing the host key fingerprint
   and a listing of the remote directory;
2. runs the "Download from SFTP" recipe twice through the SOCKS5 proxy, the
   second time after a remote change, printing its report;
3. runs the "Upload folder to SFTP" recipe twice through the HTTP proxy, printing its
   output dataset;
4. exports a small dataset with the "Export to SFTP" exporter and prints the
   start of the remote file;
5. creates a managed folder stored on the "SFTP (through proxies)" FS provider
   (through the HTTP proxy), writes, lists, previews and deletes a file in it.
6. runs the "Test SFTP service" macro through the HTTP proxy (with a write test),
   then with a host key that does not match, printing each stage.
7. runs the "New files on SFTP" scenario trigger through SOCKS5: it fires once;
8. downloads from an SFTP server that only an SSH bastion can reach (a network
   namespace), through tinyproxy and then the bastion (jump host).

Recipes, the exporter and the FS provider are the real recipe.py / exporter.py /
fs-provider.py, run through the
stand-in ``dataiku`` package under tests/stubs (DSS itself is not needed).
Run as root on Debian: ``make demo``.
"""
import datetime
import html
import io
import os
import re
import shutil
import sys
import tempfile

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT_DIR = os.path.dirname(TESTS_DIR)
for _path in (os.path.join(PROJECT_DIR, "python-lib"), os.path.join(TESTS_DIR, "stubs"),
              TESTS_DIR):
    sys.path.insert(0, _path)

from dataiku import _harness  # noqa: E402
from helpers import servers  # noqa: E402
from sftp_client import service_from_config  # noqa: E402
from sftp_client.connect.keys import key_fingerprint  # noqa: E402
from sftp_client.connect.session import SftpSession  # noqa: E402
from demo.demo_jump_host import download_through_a_jump_host  # noqa: E402
from demo.demo_trigger import trigger_fires_once  # noqa: E402

DOWNLOAD = os.path.join(PROJECT_DIR, "custom-recipes", "sftp-python-connector_download-from-sftp", "recipe.py")
EXPORT = os.path.join(PROJECT_DIR, "custom-recipes", "sftp-python-connector_export-to-sftp", "recipe.py")
MACRO = os.path.join(PROJECT_DIR, "python-runnables", "test-sftp-service", "runnable.py")
EXPORTER = os.path.join(PROJECT_DIR, "python-exporters", "sftp-python-connector_export-to-sftp", "exporter.py")
FS_PROVIDER = os.path.join(PROJECT_DIR, "python-fs-providers", "sftp", "fs-provider.py")
T0 = 1700000000


def title(text):
    print("\n" + "=" * 78 + "\n" + text + "\n" + "=" * 78)


def table(rows, columns):
    """Print dict rows as an aligned text table."""
    if not rows:
        print("  (no rows)")
        return
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for row in cells:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths)))


class RemoteFiles(object):
    """Writes files into the sshd's data directory as the SFTP user would own them."""

    def __init__(self, sshd):
        import pwd
        self.root = sshd.root
        self.user = pwd.getpwnam(sshd.username)

    def write(self, rel, data, mtime):
        full = os.path.join(self.root, rel)
        parent = os.path.dirname(full)
        if not os.path.isdir(parent):
            os.makedirs(parent)
        with open(full, "wb") as handle:
            handle.write(data)
        os.utime(full, (mtime, mtime))
        for top, dirs, files in os.walk(self.root):
            for name in dirs + files:
                os.chown(os.path.join(top, name), self.user.pw_uid, self.user.pw_gid)


def preset(sshd, proxy=None, kind="none"):
    """The "SFTP Services" preset an admin would fill in for this server."""
    raw = {"description": "Demo exchange server", "hostname": sshd.host,
           "port": sshd.port, "root_path": sshd.root, "username": sshd.username,
           "auth_method": "password", "password": sshd.password,
           "host_key_check": "fingerprint", "host_key": sshd.host_key_fingerprint,
           "proxy_type": kind, "timeout": 10}
    if proxy is not None:
        raw.update(proxy_hostname=proxy.host, proxy_port=proxy.port)
        if proxy.username:
            raw.update(proxy_user=proxy.username, proxy_password=proxy.password)
    return raw


def show_connections(sshd, socks, socks_open, http):
    title("1. Connect directly and through each proxy")
    for label, raw in (("direct", preset(sshd)),
                       ("SOCKS5 (Dante, user/password)", preset(sshd, socks, "socks5")),
                       ("SOCKS4a (Dante, no authentication)",
                        preset(sshd, socks_open, "socks4")),
                       ("HTTP CONNECT (tinyproxy, Basic auth)", preset(sshd, http, "http"))):
        settings = service_from_config(raw)
        with SftpSession(settings) as session:
            key = session.transport.get_remote_server_key()
            sftp = session.open_sftp()
            names = sorted(sftp.listdir(sshd.root + "/incoming"))
            sftp.close()
            print("- %s: %s" % (label, session.describe()))
            print("    host key %s %s" % (key.get_name(), key_fingerprint(key)))
            print("    incoming/: %s" % ", ".join(names))
    print("Proxy logs: the Dante instances relayed %d and %d connection(s), tinyproxy "
          "%d, to port %d." % (len(socks.connections_to(sshd.port)),
                               len(socks_open.connections_to(sshd.port)),
                               len(http.connections_to(sshd.port)), sshd.port))


def download_twice(sshd, socks, remote, workdir):
    title("2. Download from SFTP (through SOCKS5), first run then an incremental one")
    folder_dir = os.path.join(workdir, "dss-managed-folder-in")
    _harness.register_folder("landing", folder_dir, local=True)
    _harness.register_dataset("download_report")
    _harness.set_recipe({"sftp_service": preset(sshd, socks, "socks5"),
                         "remote_path": "incoming", "workers": 4},
                        outputs={"output_folder": ["landing"],
                                 "report": ["download_report"]})
    columns = ["path", "size", "modified", "action", "reason"]
    _harness.run_recipe(DOWNLOAD)
    table(_harness.dataset_rows("download_report"), columns)
    print("\nA remote file changes and a new one arrives; run again:")
    remote.write("incoming/sales/2024-01.csv", b"region,amount\nnorth,11\nsouth,20\n",
                 T0 + 3600)
    remote.write("incoming/sales/2024-03.csv", b"region,amount\nnorth,7\n", T0 + 7200)
    _harness.run_recipe(DOWNLOAD)
    table(_harness.dataset_rows("download_report"), columns)
    return folder_dir


def export_twice(sshd, http, folder_dir):
    title("3. Upload folder to SFTP recipe (through HTTP CONNECT), first run then an "
          "incremental one")
    _harness.register_folder("to_send", folder_dir, local=False)   # stream API path
    _harness.register_dataset("uploaded_files")
    _harness.set_recipe({"sftp_service": preset(sshd, http, "http"),
                         "remote_path": "outgoing/copy", "workers": 2},
                        inputs={"input_folder": ["to_send"]},
                        outputs={"uploaded_files": ["uploaded_files"]})
    columns = ["path", "remote_path", "size", "status", "reason"]
    _harness.run_recipe(EXPORT)
    table(_harness.dataset_rows("uploaded_files"), columns)
    print("\nNothing changed locally; run again:")
    _harness.run_recipe(EXPORT)
    table(_harness.dataset_rows("uploaded_files"), columns)


def export_dataset(sshd, socks):
    title("4. Export a dataset with the exporter (through SOCKS5)")
    schema = {"columns": [{"name": "id", "type": "bigint"},
                          {"name": "customer", "type": "string"},
                          {"name": "amount", "type": "double"},
                          {"name": "active", "type": "boolean"},
                          {"name": "signed_up", "type": "date"}]}
    rows = [(1.0, "Dupont, Marie", 12.5, True, datetime.datetime(2024, 1, 5)),
            (2.0, 'The "Quoted" Co', None, False, datetime.datetime(2024, 2, 1, 9, 30)),
            (3.0, "Zo\u00eb\nsecond line", 0.25, True, None)]
    config = {"sftp_service": preset(sshd, socks, "socks5"),
              "remote_path": "outgoing/customers_{date}.csv", "format": "csv",
              "header": True, "compression": "none", "if_exists": "overwrite"}
    _harness.run_exporter(EXPORTER, config, {}, schema, rows)
    out_dir = os.path.join(sshd.root, "outgoing")
    name = next(n for n in sorted(os.listdir(out_dir)) if n.startswith("customers_"))
    print("Remote file %s/%s:" % (out_dir, name))
    with open(os.path.join(out_dir, name), "rb") as handle:
        print(handle.read(2000).decode("utf-8"))


def folder_on_provider(sshd, http):
    title("5. A managed folder stored on the SFTP FS provider (through HTTP CONNECT)")
    import dataiku
    _harness.reset()          # outside any recipe, as from a notebook or the UI
    _harness.register_provider_folder(
        "DEMO.sftp_store", FS_PROVIDER, {"sftp_service": preset(sshd, http, "http")},
        root="/dss/DEMO/sftp_store", folder_type="fsprovider_sftp-python-connector_sftp")
    folder = dataiku.Folder("DEMO.sftp_store")
    provider = _harness.folder_provider("DEMO.sftp_store")
    print("Folder type %s, stored at %s/dss/DEMO/sftp_store" % (
        folder.get_info()["type"], sshd.root))
    folder.upload_stream("/reports/summary.csv",
                         b"region,amount\nnorth,21\nsouth,25\nwest,7\n")
    print("Wrote /reports/summary.csv")
    print("Listed: %s" % ", ".join(folder.list_paths_in_partition()))
    for child in folder.get_path_details("/reports")["children"]:
        print("Browsed: %s  %d bytes" % (child["fullPath"], child["size"]))
    preview = io.BytesIO()
    provider.read("/reports/summary.csv", preview, 24)
    print("Preview (first 24 bytes): %r" % preview.getvalue())
    folder.delete_path("/reports/summary.csv")
    print("Deleted; listed now: %s" % (folder.list_paths_in_partition() or "(empty)"))
    print("SSH sessions opened by the provider: %d" % provider.provider.session.connections)
def macro_rows(page):
    """The macro's HTML page as text lines: number, stage, result, time, details."""
    lines = []
    for row in re.findall(r"<tr data-stage=.*?</tr>", page):
        cells = [html.unescape(re.sub(r"<br/>", " | ", re.sub(r"<(?!br/)[^>]+>", "", c)))
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        lines.append("  %2s. %-15s %-7s %8s  %s" % tuple(cells))
    verdict = re.search(r"<p data-verdict=[^>]*>(.*?)</p>", page)
    lines.append("  " + html.unescape(verdict.group(1)))
    return "\n".join(lines)


def test_service(sshd, http):
    title("6. Test SFTP service macro (through HTTP CONNECT, with a write test)")
    page, _ = _harness.run_macro(MACRO, {"sftp_service": preset(sshd, http, "http"),
                                         "remote_path": "incoming", "write_test": True})
    print(macro_rows(page))
    print("\nThe same service with a host key that does not match:")
    wrong = dict(preset(sshd), host_key="SHA256:" + "A" * 43)
    page, _ = _harness.run_macro(MACRO, {"sftp_service": wrong})
    print(macro_rows(page))


def main():
    workdir = tempfile.mkdtemp(prefix="sftp-demo-")
    try:
        keys = servers.make_keys(os.path.join(workdir, "keys"))
        with servers.SshServer(workdir, keys=keys) as sshd, \
                servers.DanteProxy(auth=True, base_dir=workdir) as socks, \
                servers.DanteProxy(auth=False, base_dir=workdir) as socks_open, \
                servers.TinyProxy(auth=True, connect_ports=[sshd.port],
                                  base_dir=workdir) as http:
            print("sshd on %s:%d (host key %s), Dante SOCKS5 on %s:%d, tinyproxy on %s:%d"
                  % (sshd.host, sshd.port, sshd.host_key_fingerprint, socks.host,
                     socks.port, http.host, http.port))
            remote = RemoteFiles(sshd)
            remote.write("incoming/readme.txt", b"Files for DSS\n", T0)
            remote.write("incoming/sales/2024-01.csv", b"region,amount\nnorth,10\n", T0)
            remote.write("incoming/sales/2024-02.csv", b"region,amount\nsouth,5\n", T0)
            remote.write("incoming/images/logo.bin", os.urandom(256 * 1024), T0)
            _harness.reset()
            show_connections(sshd, socks, socks_open, http)
            folder_dir = download_twice(sshd, socks, remote, workdir)
            export_twice(sshd, http, folder_dir)
            export_dataset(sshd, socks)
            folder_on_provider(sshd, http)
            _harness.reset()
            test_service(sshd, http)
            _harness.reset()
            title("7. Scenario trigger \"New files on SFTP\" (through SOCKS5)")
            trigger_fires_once(preset(sshd, socks, "socks5"), remote.write, sshd.root, T0)
            _harness.reset()
            title("8. Download through a jump host (HTTP proxy, then an SSH bastion)")
            download_through_a_jump_host(workdir, keys)
            _harness.reset()
        title("Demo finished: every step ran against real sshd, Dante and tinyproxy.")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
