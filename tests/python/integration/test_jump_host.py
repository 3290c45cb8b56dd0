"""Jump hosts (SSH bastions): the SFTP server listens on the 127.0.0.1 of a network
namespace, which only the bastion (in that namespace, on its veth address) can reach.
Every component runs there through the bastion, directly and after SOCKS5 (Dante) and
HTTP CONNECT (tinyproxy), and each failure names the hop that failed."""
import os
import re
import threading
import time

import pytest

from conftest import PROJECT_DIR, RemoteDir, proxy_fields, tree_of
from helpers import bastion, servers
from sftp_client import service_from_config
from sftp_client.api import Sftp
from sftp_client.connect.session import SftpSession
from sftp_client.dss.diagnose import STAGES
from sftp_client.errors import (AuthenticationError, ConnectError, HostKeyMismatchError,
                                SftpClientError)

DOWNLOAD = os.path.join(PROJECT_DIR, "custom-recipes",
                        "sftp-python-connector_download-from-sftp", "recipe.py")
UPLOAD = os.path.join(PROJECT_DIR, "custom-recipes", "sftp-python-connector_export-to-sftp",
                      "recipe.py")
EXPORTER = os.path.join(PROJECT_DIR, "python-exporters",
                        "sftp-python-connector_export-to-sftp", "exporter.py")
FS_PROVIDER = os.path.join(PROJECT_DIR, "python-fs-providers", "sftp", "fs-provider.py")
RUNNABLE = os.path.join(PROJECT_DIR, "python-runnables", "test-sftp-service", "runnable.py")
ROW = re.compile(r'<tr data-stage="([^"]+)" data-status="(\w+)"')
JUMP_SECRET = "Jump-pw-not-in-logs-1"
SECRETS = (servers.SFTP_PASSWORD, servers.SOCKS_PASSWORD, servers.HTTP_PROXY_PASSWORD,
           JUMP_SECRET)
ROUTES = ["direct", "socks5", "http"]


@pytest.fixture(scope="module")
def network():
    with bastion.HiddenNetwork() as net:
        yield net


@pytest.fixture(scope="module")
def hidden(network, servers_dir, client_keys):
    """The SFTP server: 127.0.0.1 inside the namespace, unreachable from here."""
    with bastion.NamespacedSshServer(network, servers.LOOPBACK, base_dir=servers_dir,
                                     keys=client_keys) as server:
        yield server


@pytest.fixture(scope="module")
def jump(network, servers_dir, client_keys, hidden):
    with bastion.bastion(network, servers_dir, client_keys) as server:
        yield server


@pytest.fixture(scope="module")
def closed_jump(network, servers_dir, client_keys, hidden):
    with bastion.bastion(network, servers_dir, client_keys, forwarding=False) as server:
        yield server


@pytest.fixture(scope="module")
def proxies(network, servers_dir, jump, closed_jump):
    """A SOCKS5 and an HTTP proxy in the root namespace that can reach the bastions."""
    with servers.DanteProxy(auth=True, base_dir=servers_dir, external=network.root_address,
                            destinations=[network.address + "/32"]) as socks, \
            servers.TinyProxy(auth=True, connect_ports=[jump.port, closed_jump.port],
                              base_dir=servers_dir) as http:
        yield {"socks5": socks, "http": http}


@pytest.fixture
def remote(hidden):
    import pwd
    return RemoteDir(hidden.root, pwd.getpwnam(hidden.username))


@pytest.fixture
def service(hidden, jump, proxies):
    """The preset: the hidden server through ``jump``, on the route asked for."""
    def build(route="direct", **overrides):
        raw = {"hostname": hidden.host, "port": hidden.port, "root_path": hidden.root,
               "username": hidden.username, "auth_method": "password",
               "password": hidden.password, "host_key_check": "fingerprint",
               "host_key": hidden.host_key_fingerprint, "proxy_type": "none",
               "timeout": 10,
               "jump_hostname": jump.host, "jump_port": float(jump.port),
               "jump_username": jump.username, "jump_auth_method": "password",
               "jump_password": jump.password, "jump_host_key_check": "fingerprint",
               "jump_host_key": jump.host_key_fingerprint}
        if route != "direct":
            raw.update(proxy_fields(route, proxies[route]))
        raw.update(overrides)
        return raw
    return build


def channels_to(jump, hidden, at_least=0, timeout=5.0):
    """The bastion's log lines of direct-tcpip channels opened to the hidden server
    (waiting up to ``timeout`` for ``at_least`` of them: sshd's children log late)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in jump.log_text().splitlines()
                 if "server_request_direct_tcpip" in line
                 and "target %s port %d" % (hidden.host, hidden.port) in line]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def assert_no_secret(text):
    for secret in SECRETS:
        assert secret not in text


# --- the route ------------------------------------------------------------------

def test_the_server_is_reachable_only_through_the_jump_host(service, hidden, jump):
    alone = service_from_config(service(jump_hostname=""))
    with pytest.raises(ConnectError):
        SftpSession(alone).connect()
    before = len(channels_to(jump, hidden))
    with SftpSession(service_from_config(service())) as session:
        assert session.open_sftp().listdir(hidden.root) is not None
        assert "through jump host" in session.describe()
    assert len(channels_to(jump, hidden, at_least=before + 1)) == before + 1


@pytest.mark.parametrize("route", ["socks5", "http"])
def test_jump_host_after_a_proxy(service, proxies, jump, route):
    with Sftp(service(route)) as sftp:
        sftp.listdir("")
    assert proxies[route].connections_to(jump.port)


def test_closing_a_session_closes_the_channel_and_the_jump_transport(service):
    before = {t.name for t in threading.enumerate()}
    session = SftpSession(service_from_config(service())).connect()
    server, bastion_transport = session.transport, session.jump_transport
    assert server.is_active() and bastion_transport.is_active()
    session.close()
    assert not server.is_active() and not bastion_transport.is_active()
    assert session.jump_transport is None
    server.join(5)
    bastion_transport.join(5)
    assert {t.name for t in threading.enumerate()} <= before


# --- every component through the jump host ------------------------------------------

@pytest.mark.parametrize("route", ROUTES)
def test_download_through_the_jump_host(dss, tmp_path, service, remote, route):
    remote.write("in/a.csv", b"1\n")
    remote.write("in/sub/b.csv", b"2\n")
    dss.register_folder("out", str(tmp_path / "out"))
    dss.register_dataset("report")
    dss.set_recipe({"sftp_service": service(route), "remote_path": remote.name + "/in"},
                   outputs={"output_folder": ["out"], "report": ["report"]})
    dss.run_recipe(DOWNLOAD)
    assert tree_of(str(tmp_path / "out")) == {"a.csv": b"1\n", "sub/b.csv": b"2\n"}
    assert_no_secret(repr(dss.dataset_rows("report")))


@pytest.mark.parametrize("route", ROUTES)
def test_upload_through_the_jump_host(dss, tmp_path, service, remote, route):
    source = tmp_path / "in"
    (source / "d").mkdir(parents=True)
    (source / "d" / "x.bin").write_bytes(os.urandom(300 * 1024))
    dss.register_folder("in", str(source))
    dss.register_dataset("uploaded")
    dss.set_recipe({"sftp_service": service(route), "remote_path": remote.name,
                    "workers": 2},
                   inputs={"input_folder": ["in"]}, outputs={"uploaded_files": ["uploaded"]})
    dss.run_recipe(UPLOAD)
    assert remote.read("d/x.bin") == (source / "d" / "x.bin").read_bytes()
    assert [row["status"] for row in dss.dataset_rows("uploaded")] == ["uploaded"]


@pytest.mark.parametrize("route", ROUTES)
def test_exporter_through_the_jump_host(dss, service, remote, route):
    schema = {"columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "string"}]}
    dss.run_exporter(EXPORTER, {"sftp_service": service(route),
                                "remote_path": remote.name + "/out.csv"}, {}, schema,
                     [(1, "a"), (2, "b")])
    assert remote.read("out.csv") == b"id,name\r\n1,a\r\n2,b\r\n"


@pytest.mark.parametrize("route", ROUTES)
def test_fs_provider_through_the_jump_host(dss, service, remote, route):
    import io
    provider = dss.load_fs_provider(FS_PROVIDER, "/" + remote.name,
                                    {"sftp_service": service(route)}, {})
    try:
        provider.write("/dir/f.txt", io.BytesIO(b"hello"))
        out = io.BytesIO()
        provider.read("/dir/f.txt", out, -1)
        assert out.getvalue() == b"hello"
        assert [e["path"] for e in provider.enumerate("/", False)] == ["/dir/f.txt"]
    finally:
        provider.close()
    assert remote.read("dir/f.txt") == b"hello"


@pytest.mark.parametrize("route", ROUTES)
def test_macro_shows_the_jump_host_hop(dss, service, remote, route):
    html, _progress = dss.run_macro(RUNNABLE, {"sftp_service": service(route),
                                               "remote_path": remote.name}, {})
    status = dict(ROW.findall(html))
    assert set(status) == set(STAGES)
    assert status["Jump host"] == "ok" and status["Channel to server"] == "ok"
    assert status["Authentication"] == "ok" and status["Remote path"] == "ok"
    assert "direct-tcpip" in html or "channel" in html
    assert_no_secret(html)


def test_path_picker_through_the_jump_host(dss, service, remote):
    remote.mkdir("picked")
    script = os.path.join(PROJECT_DIR, "resource", "remote_directories.py")
    answer = dss.run_choices(script, {"parameterName": "remote_path_picker"},
                             {"sftp_service": service("http"), "browse_remote": True,
                              "remote_path_picker": remote.name + "/"}, {}, [])
    assert remote.name + "/picked/" in [c["value"] for c in answer["choices"]]


# --- each failure names its hop -----------------------------------------------------

def test_wrong_jump_password(service):
    with pytest.raises(AuthenticationError) as info:
        SftpSession(service_from_config(service(jump_password=JUMP_SECRET))).connect()
    assert str(info.value).startswith("Jump host ")
    assert "refused the login" in str(info.value)
    assert_no_secret(str(info.value))


def test_wrong_jump_host_key_shows_what_the_jump_host_presented(service, jump):
    wrong = "SHA256:" + "B" * 43
    with pytest.raises(HostKeyMismatchError) as info:
        SftpSession(service_from_config(service("socks5", jump_host_key=wrong))).connect()
    text = str(info.value)
    assert text.startswith("Jump host ") and jump.host_key_fingerprint in text
    assert wrong in text


def test_unknown_jump_host_key_says_where_to_pin_it(service, jump):
    with pytest.raises(SftpClientError) as info:
        SftpSession(service_from_config(service(jump_host_key=""))).connect()
    assert jump.host_key_fingerprint in str(info.value)
    assert "'Jump host key'" in str(info.value)


@pytest.mark.parametrize("route", ["direct", "http"])
def test_bastion_refusing_forwarding_is_named_as_such(service, closed_jump, route):
    raw = service(route, jump_port=closed_jump.port,
                  jump_host_key=closed_jump.host_key_fingerprint)
    with pytest.raises(ConnectError) as info:
        SftpSession(service_from_config(raw)).connect()
    text = str(info.value)
    assert "refused the channel" in text and "AllowTcpForwarding" in text
    assert_no_secret(text)


def test_wrong_server_key_behind_a_good_bastion(service, hidden):
    wrong = "SHA256:" + "C" * 43
    with pytest.raises(HostKeyMismatchError) as info:
        SftpSession(service_from_config(service(host_key=wrong))).connect()
    text = str(info.value)
    assert not text.startswith("Jump host") and hidden.host_key_fingerprint in text


def test_macro_names_the_failing_hop(dss, service, closed_jump):
    raw = service(jump_port=closed_jump.port,
                  jump_host_key=closed_jump.host_key_fingerprint)
    html, _ = dss.run_macro(RUNNABLE, {"sftp_service": raw}, {})
    status = dict(ROW.findall(html))
    assert status["Jump host"] == "ok" and status["Channel to server"] == "failed"
    assert status["SSH banner"] == "skipped"
    html, _ = dss.run_macro(RUNNABLE, {"sftp_service": service(jump_password=JUMP_SECRET)},
                            {})
    status = dict(ROW.findall(html))
    assert status["Jump host"] == "failed" and "refused the login" in html
    assert_no_secret(html)


def test_admin_policy_applies_to_the_jump_host(service):
    with pytest.raises(SftpClientError) as info:
        service_from_config(service(), plugin_config={"allowed_hosts": ["127.0.0.1"]})
    assert "Jump host" in str(info.value)
    with pytest.raises(SftpClientError) as info:
        service_from_config(service(jump_host_key_check="none"))
    assert "Jump host key verification" in str(info.value)
