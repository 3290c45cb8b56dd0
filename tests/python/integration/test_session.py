"""SftpSession against a real OpenSSH sshd: authentication, host keys, proxies."""
import logging
import os

import paramiko
import pytest

from conftest import PROXY_CASES, proxy_fields
from helpers import servers
from sftp_client.entries import resolve_under
from sftp_client.errors import (AuthenticationError, ConnectError, HostKeyMismatchError,
                                HostKeyUnknownError, ProxyAuthError, UnsafePathError)
from sftp_client.remote.tree import RemoteTree
from sftp_client.connect.session import SftpSession
from sftp_client.connect.settings import service_from_config

OTHER_FINGERPRINT = "SHA256:" + "Q" * 43
# These tests are about sessions: an administrator policy that allows key files from
# anywhere and 'None' host key checks (policy.py has its own tests).
PERMISSIVE = {"allow_no_host_key_check": True, "allowed_key_directories": ["/"]}


def listing(raw, remote_dir):
    """Connect with the preset dict ``raw`` and list the test directory."""
    settings = service_from_config(raw, plugin_config=PERMISSIVE)
    with SftpSession(settings) as session:
        sftp = session.open_sftp()
        return sorted(sftp.listdir(remote_dir.path))


def test_password_login_lists_the_directory(preset, remote_dir):
    remote_dir.write("hello.txt", b"hi")
    assert listing(preset(), remote_dir) == ["hello.txt"]


@pytest.mark.parametrize("key", ["ed25519", "ecdsa", "rsa", "rsa_encrypted",
                                 "ed25519_encrypted"])
@pytest.mark.parametrize("source", ["path", "text"])
def test_private_key_login(preset, remote_dir, client_keys, key, source):
    path = client_keys[key].path
    fields = {"auth_method": "private_key", "password": "",
              "private_key_passphrase": servers.KEY_PASSPHRASE if key in
              servers.ENCRYPTED_KEYS else ""}
    if source == "path":
        fields["private_key_path"] = path
    else:
        with open(path) as handle:
            fields["private_key"] = handle.read()
    remote_dir.write("k.txt", b"k")
    assert listing(preset(**fields), remote_dir) == ["k.txt"]


def test_wrong_password_is_an_authentication_error(preset, remote_dir):
    with pytest.raises(AuthenticationError) as info:
        listing(preset(password="Not-The-Pw-42"), remote_dir)
    message = str(info.value)
    assert "refused the login of user 'sftpdss'" in message and "Password" in message
    assert "Not-The-Pw-42" not in message


def test_key_not_authorized_is_an_authentication_error(preset, remote_dir, tmp_path):
    path = str(tmp_path / "stranger")
    servers._run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path])
    with pytest.raises(AuthenticationError) as info:
        listing(preset(auth_method="private_key", private_key_path=path), remote_dir)
    assert "authorized_keys" in str(info.value)


def test_public_key_line_as_host_key(preset, remote_dir, sshd):
    assert listing(preset(host_key=sshd.host_key_line), remote_dir) == []


def test_unknown_host_key_shows_the_presented_fingerprint(preset, remote_dir, sshd):
    with pytest.raises(HostKeyUnknownError) as info:
        listing(preset(host_key=""), remote_dir)
    message = str(info.value)
    assert sshd.host_key_fingerprint in message and "ssh-ed25519" in message
    assert "'Host key' field" in message


def test_mismatching_host_key_refuses_before_authentication(preset, remote_dir, sshd):
    with pytest.raises(HostKeyMismatchError) as info:
        listing(preset(host_key=OTHER_FINGERPRINT), remote_dir)
    message = str(info.value)
    assert sshd.host_key_fingerprint in message and OTHER_FINGERPRINT in message
    # The password was never sent: sshd logged no authentication attempt.
    assert "Accepted password" not in sshd.log_text().split("\n")[-3:]


def test_known_hosts_with_bracketed_port(preset, remote_dir, sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("[%s]:%d %s\n" % (sshd.host, sshd.port, sshd.host_key_line))
    raw = preset(host_key_check="known_hosts", known_hosts_path=str(known), host_key="")
    assert listing(raw, remote_dir) == []


def test_known_hosts_hashed_entries(preset, remote_dir, sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("[%s]:%d %s\n" % (sshd.host, sshd.port, sshd.host_key_line))
    servers._run(["ssh-keygen", "-H", "-f", str(known)])
    assert "|1|" in known.read_text()
    raw = preset(host_key_check="known_hosts", known_hosts_path=str(known))
    assert listing(raw, remote_dir) == []


def test_known_hosts_without_the_host(preset, remote_dir, sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("%s %s\n" % (sshd.host, sshd.host_key_line))  # port 22 entry only
    with pytest.raises(HostKeyUnknownError) as info:
        listing(preset(host_key_check="known_hosts", known_hosts_path=str(known)),
                remote_dir)
    assert "[%s]:%d" % (sshd.host, sshd.port) in str(info.value)
    assert sshd.host_key_fingerprint in str(info.value)


def test_known_hosts_with_another_key(preset, remote_dir, sshd, tmp_path, client_keys):
    known = tmp_path / "known_hosts"
    known.write_text("[%s]:%d %s\n" % (sshd.host, sshd.port,
                                       client_keys["ed25519"].public_line))
    with pytest.raises(HostKeyMismatchError) as info:
        listing(preset(host_key_check="known_hosts", known_hosts_path=str(known)),
                remote_dir)
    assert "HOST KEY MISMATCH" in str(info.value)


def test_no_host_key_check_logs_a_warning(preset, remote_dir, sshd, caplog):
    caplog.set_level(logging.WARNING)
    assert listing(preset(host_key_check="none", host_key=""), remote_dir) == []
    assert any("NOT verified" in r.getMessage() and sshd.host_key_fingerprint in
               r.getMessage() for r in caplog.records)


def test_wrong_port_is_a_connect_error(preset, remote_dir):
    with pytest.raises(ConnectError) as info:
        listing(preset(port=servers.free_port()), remote_dir)
    assert "refused" in str(info.value)


def test_not_an_ssh_server_is_reported_as_such(preset, remote_dir, tinyproxy_noauth):
    with pytest.raises(ConnectError) as info:
        listing(preset(port=tinyproxy_noauth.port, timeout=3), remote_dir)
    assert "SSH handshake" in str(info.value)


@pytest.mark.parametrize("kind, proxy_fixture", PROXY_CASES)
def test_session_through_each_proxy(request, preset, remote_dir, sshd, kind,
                                    proxy_fixture, caplog):
    caplog.set_level(logging.DEBUG)
    proxy = request.getfixturevalue(proxy_fixture)
    before = len(proxy.connections_to(sshd.port))
    remote_dir.write("via-proxy.txt", b"p")
    assert listing(preset(**proxy_fields(kind, proxy)), remote_dir) == ["via-proxy.txt"]
    proxy.wait_for_connection_to(sshd.port)
    assert len(proxy.connections_to(sshd.port)) > before
    secrets = [sshd.password, getattr(proxy, "password", None)]
    for record in caplog.records:
        for secret in filter(None, secrets):
            assert secret not in record.getMessage()


def test_socks5_remote_dns_resolves_at_the_proxy(preset, remote_dir, dante, sshd):
    raw = preset(hostname="localhost", **proxy_fields("socks5", dante))
    assert listing(raw, remote_dir) == []


@pytest.mark.parametrize("kind, proxy_fixture", [("socks5", "dante"),
                                                 ("http", "tinyproxy")])
def test_wrong_proxy_password_is_a_proxy_auth_error(request, preset, remote_dir, kind,
                                                    proxy_fixture):
    proxy = request.getfixturevalue(proxy_fixture)
    fields = proxy_fields(kind, proxy)
    fields["proxy_password"] = "Bad-proxy-pw-1"
    with pytest.raises(ProxyAuthError) as info:
        listing(preset(**fields), remote_dir)
    assert "Bad-proxy-pw-1" not in str(info.value)
    assert "proxy" in str(info.value).lower()


def test_paths_outside_the_root_are_refused(sshd):
    for bad in ("../etc", "/etc", "a/../../etc"):
        with pytest.raises(UnsafePathError):
            resolve_under(sshd.root, bad, "Remote path")
    assert resolve_under(sshd.root, "", "Remote path") == sshd.root
    assert resolve_under(sshd.root, sshd.root + "/x", "Remote path") == sshd.root + "/x"


def test_symlinked_remote_path_escaping_the_root_is_refused(preset, remote_dir, sshd):
    os.symlink("/etc", os.path.join(remote_dir.path, "escape"))
    settings = service_from_config(preset())
    with SftpSession(settings) as session:
        tree = RemoteTree(session.open_sftp(), remote_dir.path + "/escape", sshd.root)
        with pytest.raises(UnsafePathError) as info:
            tree.check_directory()
    assert "outside the service's root path" in str(info.value)


def test_aes_gcm_is_preferred_when_paramiko_has_it(preset):
    from sftp_client.connect.session import FAST_CIPHERS
    with SftpSession(service_from_config(preset())) as session:
        cipher = session.transport.remote_cipher
    if any(name in paramiko.Transport._preferred_ciphers for name in FAST_CIPHERS):
        assert cipher in FAST_CIPHERS
    else:   # an older paramiko without AES-GCM: its default stands
        assert cipher == paramiko.Transport._preferred_ciphers[0]
