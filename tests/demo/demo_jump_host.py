"""Demo step: a jump host. The SFTP server listens on the 127.0.0.1 of a network
namespace that only an SSH bastion (in that namespace, on its veth address) can
reach; the real "Download from SFTP" recipe copies from it through the bastion,
reached through tinyproxy (HTTP CONNECT), and the bastion's log shows the channel."""
import os
import pwd

from dataiku import _harness
from helpers import bastion, servers

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOWNLOAD = os.path.join(PROJECT_DIR, "custom-recipes",
                        "sftp-python-connector_download-from-sftp", "recipe.py")


def download_through_a_jump_host(workdir, keys):
    with bastion.HiddenNetwork() as network, \
            bastion.NamespacedSshServer(network, servers.LOOPBACK, base_dir=workdir,
                                        keys=keys) as hidden, \
            bastion.bastion(network, workdir, keys) as jump, \
            servers.TinyProxy(auth=True, connect_ports=[jump.port],
                              base_dir=workdir) as http:
        user = pwd.getpwnam(hidden.username)
        incoming = os.path.join(hidden.root, "partner", "incoming")
        os.makedirs(incoming)
        for path in (os.path.dirname(incoming), incoming):
            os.chown(path, user.pw_uid, user.pw_gid)
        with open(os.path.join(incoming, "orders.csv"), "wb") as handle:
            handle.write(b"id,qty\n1,3\n")
        print("  SFTP server %s:%d inside namespace %s (unreachable from here); bastion "
              "%s:%d; tinyproxy %s:%d" % (hidden.host, hidden.port, network.name,
                                          jump.host, jump.port, http.host, http.port))
        service = {"hostname": hidden.host, "port": hidden.port, "root_path": hidden.root,
                   "username": hidden.username, "password": hidden.password,
                   "host_key": hidden.host_key_fingerprint, "proxy_type": "http",
                   "proxy_hostname": http.host, "proxy_port": http.port,
                   "proxy_user": http.username, "proxy_password": http.password,
                   "jump_hostname": jump.host, "jump_port": jump.port,
                   "jump_username": jump.username, "jump_password": jump.password,
                   "jump_host_key": jump.host_key_fingerprint, "timeout": 10}
        landing = os.path.join(workdir, "landing-jump")
        _harness.register_folder("landing_jump", landing)
        _harness.register_dataset("jump_report")
        _harness.set_recipe({"sftp_service": service, "remote_path": "partner/incoming"},
                            outputs={"output_folder": ["landing_jump"],
                                     "report": ["jump_report"]})
        _harness.run_recipe(DOWNLOAD)
        for row in _harness.dataset_rows("jump_report"):
            print("  %-12s %-10s %s bytes" % (row["path"], row["action"], row["size"]))
        print("  landed: %s" % sorted(os.listdir(landing)))
        channels = [line.split("debug1: ")[-1] for line in jump.log_text().splitlines()
                    if "server_request_direct_tcpip" in line]
        print("  bastion log: %s" % (channels[-1] if channels else "(no channel logged yet)"))
