"""A check of "New files on SFTP" that fails never fires, changes nothing in what
the trigger remembers and writes one log line in the recipes' words, without any
secret: unreachable server, changed host key, refused login, refused proxy, the
admin policy (from the plugin settings only, never from the trigger's params), a
directory that cannot be listed."""
import logging
import os
import time

import pytest

from conftest import proxy_fields
from helpers import servers, triggers

OLD = int(time.time()) - 7200
#: A valid fingerprint that is not the test server's.
OTHER_FINGERPRINT = "SHA256:" + "A" * 43


@pytest.fixture
def seeded(dss, preset, remote_dir):
    """A trigger that has checked once and has a new file waiting, so that a failed
    check would have something to change."""
    remote_dir.write("a.csv", b"1", mtime=OLD)
    assert triggers.check(dss, preset(), remote_dir.name, settle_seconds=0) == 0
    remote_dir.write("b.csv", b"2", mtime=OLD)
    assert triggers.check(dss, preset(), remote_dir.name, settle_seconds=0) == 0
    return dss.project_variables()


def _failed_check(dss, caplog, service, remote_path, seeded, plugin_config=None, **params):
    caplog.clear()
    with caplog.at_level(logging.INFO):
        fires = triggers.check(dss, service, remote_path, plugin_config=plugin_config,
                               settle_seconds=0, **params)
    assert fires == 0
    assert dss.project_variables() == seeded
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in caplog.records]
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (service.get("password"), service.get("proxy_password")):
        if secret:
            assert secret not in text
    message = errors[0].getMessage()
    assert message.startswith("New files on SFTP: check failed, not firing: ")
    assert "\n" not in message
    return message


@pytest.mark.parametrize("route", triggers.ROUTES)
def test_unreachable_server(request, dss, caplog, preset, remote_dir, seeded, route):
    service, proxy = triggers.routed(request, preset, route, port=servers.free_port(),
                                     timeout=3)
    message = _failed_check(dss, caplog, service, remote_dir.name, seeded)
    assert "127.0.0.1" in message
    if proxy is not None:
        assert "proxy" in message.lower()


@pytest.mark.parametrize("route", triggers.ROUTES)
def test_changed_host_key(request, dss, caplog, preset, remote_dir, seeded, sshd, route):
    service, proxy = triggers.routed(request, preset, route, host_key=OTHER_FINGERPRINT)
    message = _failed_check(dss, caplog, service, remote_dir.name, seeded)
    assert "host key" in message.lower() and sshd.host_key_fingerprint in message
    if proxy is not None:
        assert proxy.connections_to(sshd.port)


def test_refused_login(dss, caplog, preset, remote_dir, seeded):
    message = _failed_check(dss, caplog, preset(password="not-the-password-42"),
                            remote_dir.name, seeded)
    assert "refused the login" in message
    assert "not-the-password-42" not in caplog.text


def test_refused_proxy_credentials(dss, caplog, preset, remote_dir, seeded, tinyproxy):
    fields = proxy_fields("http", tinyproxy)
    fields["proxy_password"] = "wrong-proxy-secret"
    message = _failed_check(dss, caplog, preset(**fields), remote_dir.name, seeded)
    assert "proxy" in message.lower()
    assert "wrong-proxy-secret" not in caplog.text


def test_admin_policy_comes_from_the_plugin_settings_only(dss, caplog, preset, remote_dir,
                                                          seeded):
    message = _failed_check(dss, caplog, preset(), remote_dir.name, seeded,
                            plugin_config={"allowed_hosts": ["sftp.example.com"]},
                            allowed_hosts=["127.0.0.1"])
    assert "Allowed SFTP hosts" in message
    # Params cannot switch host key checks off either.
    message = _failed_check(dss, caplog, preset(host_key_check="none"), remote_dir.name,
                            seeded, allow_no_host_key_check=True)
    assert "Host key verification" in message


def test_missing_directory_and_escaping_path(dss, caplog, preset, remote_dir, seeded):
    message = _failed_check(dss, caplog, preset(), remote_dir.name + "/missing", seeded)
    assert "does not exist" in message and "'Remote path'" in message
    message = _failed_check(dss, caplog, preset(), "../elsewhere", seeded)
    assert '"Remote path"' in message


def test_directory_that_cannot_be_listed(dss, caplog, preset, remote_dir, seeded):
    locked = remote_dir.mkdir("locked")
    os.chmod(locked, 0)
    try:
        message = _failed_check(dss, caplog, preset(), remote_dir.name, seeded)
    finally:
        os.chmod(locked, 0o755)
    assert "locked" in message and "permission" in message.lower()
    # Once it can be listed again, the waiting file counts.
    assert triggers.check(dss, preset(), remote_dir.name, settle_seconds=0) == 1
