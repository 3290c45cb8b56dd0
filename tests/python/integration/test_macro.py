"""The "Test SFTP service" macro, run as DSS runs it (runnable.py through the
stand-in dataiku.runnables), against the real sshd directly and through each proxy,
and with the failures an admin meets: wrong host key, wrong password, proxy down."""
import os
import re

import pytest

from conftest import PROJECT_DIR, PROXY_CASES, proxy_fields
from helpers import servers
from helpers.servers import free_port
from sftp_client.dss.diagnose import STAGES, diagnose
from sftp_client.dss.diagnose_report import render_text

RUNNABLE = os.path.join(PROJECT_DIR, "python-runnables", "test-sftp-service", "runnable.py")
SECRETS = (servers.SFTP_PASSWORD, servers.SOCKS_PASSWORD, servers.HTTP_PROXY_PASSWORD)
#: Stages of the jump host hop: skipped for a service without one.
JUMP_STAGES = ("Jump host", "Channel to server")
ROW = re.compile(r'<tr data-stage="([^"]+)" data-status="(\w+)"')


def run_macro(dss, service, plugin_config=None, **params):
    config = dict(params, sftp_service=service)
    html, progress = dss.run_macro(RUNNABLE, config, plugin_config or {})
    assert progress and progress[-1] == len(STAGES)
    return html, dict(ROW.findall(html))


def assert_no_secret(text):
    for secret in SECRETS:
        assert secret not in text


def test_macro_passes_every_stage_directly(dss, preset, remote_dir):
    remote_dir.write("a.csv", b"x")
    html, status = run_macro(dss, preset(), remote_path=remote_dir.name, write_test=True)
    assert list(status) == list(STAGES)
    assert status["Proxy"] == "skipped"
    assert status["Jump host"] == status["Channel to server"] == "skipped"
    for name in STAGES:
        if name not in ("Proxy",) + JUMP_STAGES:
            assert status[name] == "ok", html
    assert "SSH-2.0-OpenSSH" in html and "matches the pinned fingerprint" in html
    assert "posix-rename yes" in html and "statvfs yes" in html
    assert "a.csv" in html and "removed a 1024-byte temporary file" in html
    assert os.listdir(remote_dir.path) == ["a.csv"]       # write test left nothing
    assert "All stages passed." in html
    assert_no_secret(html)


@pytest.mark.parametrize("kind,fixture", PROXY_CASES)
def test_macro_through_each_proxy(dss, request, preset, remote_dir, kind, fixture):
    proxy = request.getfixturevalue(fixture)
    html, status = run_macro(dss, preset(**proxy_fields(kind, proxy)),
                             remote_path=remote_dir.name)
    assert all(status[name] == "ok" for name in STAGES
               if name not in ("Write test",) + JUMP_STAGES), html
    assert all(status[name] == "skipped" for name in JUMP_STAGES)
    assert "%s proxy %s:%d reached" % (kind.upper(), proxy.host, proxy.port) in html
    if getattr(proxy, "username", None):
        assert "authenticated as proxy user" in html
    assert "through the proxy tunnel" in html
    assert_no_secret(html)


def test_macro_shows_the_fingerprint_to_pin_when_none_is_pinned(dss, preset, sshd):
    html, status = run_macro(dss, preset(host_key=""))
    assert status["Host key"] == "failed"
    assert sshd.host_key_fingerprint in html and "Host key" in html
    assert all(status[name] == "skipped" for name in STAGES[STAGES.index("Host key") + 1:])


def test_macro_with_no_host_key_check_shows_the_fingerprint(dss, preset, sshd):
    html, status = run_macro(dss, preset(host_key_check="none", host_key=""),
                             plugin_config={"allow_no_host_key_check": True})
    assert status["Host key"] == "ok" and "NOT verified" in html
    assert sshd.host_key_fingerprint in html
    assert status["Latency"] == "ok"


def test_macro_applies_the_admin_policy_to_no_host_key_check(dss, preset):
    html, status = run_macro(dss, preset(host_key_check="none", host_key=""))
    assert status["Settings"] == "failed"
    assert "Allow services without host key verification" in html
    assert status["TCP connection"] == "skipped"


def test_macro_with_a_wrong_host_key_stops_before_authentication(dss, preset, sshd):
    wrong = "SHA256:" + "A" * 43
    html, status = run_macro(dss, preset(host_key=wrong))
    assert status["Host key"] == "failed" and "HOST KEY MISMATCH" in html
    assert sshd.host_key_fingerprint in html and wrong in html
    assert status["Authentication"] == "skipped"
    assert "Failed at stage &#x27;Host key&#x27;" in html or "Failed at stage 'Host key'" in html


def test_macro_with_a_wrong_password(dss, preset):
    html, status = run_macro(dss, preset(password="not-the-password-123"))
    assert status["Host key"] == "ok" and status["Authentication"] == "failed"
    assert "refused the login" in html and "Check:" in html
    assert "not-the-password-123" not in html
    assert status["SFTP subsystem"] == "skipped"


def test_macro_with_an_unreachable_proxy(dss, preset):
    port = free_port()
    html, status = run_macro(dss, preset(proxy_type="socks5", proxy_hostname="127.0.0.1",
                                         proxy_port=port, proxy_user="u",
                                         proxy_password="Pr0xy-secret-x"))
    assert status["Settings"] == "ok" and status["Proxy"] == "failed"
    assert "connection refused" in html and str(port) in html
    assert all(status[name] == "skipped" for name in STAGES[2:])
    assert "Pr0xy-secret-x" not in html


def test_macro_with_proxy_credentials_refused(dss, preset, tinyproxy):
    fields = proxy_fields("http", tinyproxy)
    fields["proxy_password"] = "wrong-http-pw"
    html, status = run_macro(dss, preset(**fields))
    assert status["Proxy"] == "failed" and "401" in html
    assert "wrong-http-pw" not in html


def test_macro_with_invalid_settings_names_the_field(dss, preset):
    html, status = run_macro(dss, preset(port="twenty-two"))
    assert status["Settings"] == "failed" and "Port" in html
    assert all(status[name] == "skipped" for name in STAGES[1:])


def test_macro_without_a_service_does_not_crash(dss):
    html, status = run_macro(dss, None)
    assert status["Settings"] == "failed" and "no SFTP service selected" in html


def test_missing_remote_path_fails_its_stage(preset, remote_dir):
    stages = diagnose(preset(), remote_path=remote_dir.name + "/nope")
    by_name = dict((s.name, s) for s in stages)
    assert by_name["Root path"].status == "ok"
    assert by_name["Remote path"].status == "failed"
    assert "nope" in by_name["Remote path"].detail
    text = render_text(stages)
    assert "Failed at stage 'Remote path'" in text


def test_macro_with_an_unreadable_key_file_names_the_account_that_must_read_it(
        dss, preset, tmp_path):
    """With user isolation the macro runs as the end user: the failure says that
    account, not the DSS service account, must be able to read the key file."""
    keys_dir = tmp_path / "keys"
    (keys_dir / "not-a-file").mkdir(parents=True)
    html, status = run_macro(dss, preset(auth_method="private_key", password="",
                                         private_key_path=str(keys_dir / "not-a-file")),
                             plugin_config={"allowed_key_directories": [str(keys_dir)]})
    assert status["Settings"] == "failed" and "Private key path" in html
    assert "cannot read" in html
    assert "readable by the UNIX account running DSS jobs (with user isolation, the " \
           "end user&#x27;s own account, not the DSS service account)" in html
    assert all(status[name] == "skipped" for name in STAGES[1:])
