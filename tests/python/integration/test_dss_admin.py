"""tools/dss_admin.py against a local server answering like DSS's public REST API
(tests/helpers/fake_dss.py), through the real dataikuapi client: what it sends
(plugin zip, preset JSON, permissions) and that no secret reaches the presets file
or the output. The macro it runs is the real one, against the real sshd."""
import json
import os
import sys
import zipfile

import pytest

from conftest import PROJECT_DIR
from helpers import servers
from helpers.fake_dss import FakeDss

sys.path.insert(0, os.path.join(PROJECT_DIR, "tools"))
import dss_admin  # noqa: E402

API_KEY = "test-api-key-0123456789"
PLUGIN = "sftp-python-connector"
SECRET_ENV = {"PARTNER_SFTP_PASSWORD": servers.SFTP_PASSWORD,
              "PARTNER_PROXY_PASSWORD": servers.SOCKS_PASSWORD}


@pytest.fixture
def dss_server():
    with FakeDss(API_KEY, runnable_dir=PROJECT_DIR) as server:
        yield server


@pytest.fixture
def plugin_zip(tmp_path):
    return dss_admin.build_zip(str(tmp_path))


def admin(server, *argv, **kwargs):
    lines = []
    code = dss_admin.main(["--url", server.url, "--api-key", kwargs.get("key", API_KEY)]
                          + list(argv), out=lines.append)
    text = "\n".join(lines)
    for secret in list(SECRET_ENV.values()) + [servers.HTTP_PROXY_PASSWORD]:
        assert secret not in text
    return code, text


def test_install_uploads_the_archive_without_tests_then_creates_the_code_env(
        dss_server, plugin_zip):
    code, text = admin(dss_server, "install", "--zip", plugin_zip)
    assert code == 0, text
    assert "Installed plugin %s" % PLUGIN in text and "Created code env" in text
    upload = dss_server.calls("POST", "installFromZip$")[0]
    names = zipfile.ZipFile(__import__("io").BytesIO(upload.upload())).namelist()
    assert "plugin.json" in names
    for expected in ("python-lib/sftp_client/dss/diagnose.py", "resource/remote_files.py",
                     "python-runnables/test-sftp-service/runnable.py",
                     "parameter-sets/sftp-services/parameter-set.json"):
        assert expected in names
    assert not [n for n in names if n.startswith(("tests/", "tools/", ".ci/"))]
    assert dss_server.calls("POST", "code-env/actions/create$")
    saved = dss_server.calls("POST", "/settings$")[-1].json()
    assert saved["codeEnvName"] == "plugin_%s_managed" % PLUGIN

    code, text = admin(dss_server, "install", "--zip", plugin_zip)
    assert code == 0 and "Updated plugin" in text and "Updated code env" in text
    assert dss_server.calls("POST", "updateFromZip$")
    assert dss_server.calls("POST", "code-env/actions/update$")


def test_install_refuses_an_archive_with_tests(dss_server, tmp_path):
    bad = str(tmp_path / "bad.zip")
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("plugin.json", "{}")
        archive.writestr("tests/conftest.py", "")
    code, text = admin(dss_server, "install", "--zip", bad)
    assert code == 2 and "development files" in text
    assert not dss_server.calls("POST")


def write_presets(tmp_path, sshd, socks, groups=("data-team",), **extra):
    presets = {"presets": [{
        "name": "partner", "owner": "admin", "groups": list(groups),
        "config": dict({"description": "Partner drop box", "hostname": sshd.host,
                        "port": sshd.port, "root_path": sshd.root,
                        "username": sshd.username, "auth_method": "password",
                        "host_key_check": "fingerprint",
                        "host_key": sshd.host_key_fingerprint, "proxy_type": "socks5",
                        "proxy_hostname": socks.host, "proxy_port": socks.port,
                        "proxy_user": socks.username, "timeout": 10}, **extra),
        "secrets_from_env": {"password": "PARTNER_SFTP_PASSWORD",
                             "proxy_password": "PARTNER_PROXY_PASSWORD"}}]}
    path = tmp_path / "presets.json"
    path.write_text(json.dumps(presets, indent=2))
    return str(path)


def test_presets_apply_list_and_test(dss_server, plugin_zip, tmp_path, monkeypatch,
                                     sshd, dante, dss):
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    assert admin(dss_server, "install", "--zip", plugin_zip)[0] == 0
    path = write_presets(tmp_path, sshd, dante)
    with open(path) as handle:
        assert not [s for s in SECRET_ENV.values() if s in handle.read()]

    code, text = admin(dss_server, "presets", "apply", path)
    assert code == 0 and "Created preset partner" in text, text
    saved = dss_server.calls("POST", "/settings$")[-1].json()
    (preset,) = saved["presets"]
    assert preset["type"] == "%s_sftp-services" % PLUGIN
    assert preset["owner"] == "admin"
    assert preset["permissions"] == [{"group": "data-team", "use": True}]
    assert preset["defaultPermission"] == {"use": False}
    config = preset["config"]
    assert config["password"] == servers.SFTP_PASSWORD
    assert config["proxy_password"] == servers.SOCKS_PASSWORD
    assert config["proxy_remote_dns"] is True and config["private_key"] == ""
    fields = json.load(open(os.path.join(PROJECT_DIR, "parameter-sets", "sftp-services",
                                         "parameter-set.json")))["params"]
    assert set(config) == set(p["name"] for p in fields if "name" in p)

    # Applied again with other groups: updated in place, the old group removed.
    path = write_presets(tmp_path, sshd, dante, groups=("ops",))
    code, text = admin(dss_server, "presets", "apply", path)
    assert code == 0 and "Updated preset partner" in text
    (preset,) = dss_server.calls("POST", "/settings$")[-1].json()["presets"]
    assert preset["permissions"] == [{"group": "ops", "use": True}]

    code, text = admin(dss_server, "presets", "list")
    assert code == 0
    assert "partner: %s@%s:%d through socks5 proxy" % (sshd.username, sshd.host,
                                                       sshd.port) in text
    assert "usable by ops" in text and "secrets set: password, proxy_password" in text

    code, text = admin(dss_server, "test", "partner", "--project", "PROJ")
    assert code == 0, text
    assert "Authentication  OK" in text and "SOCKS5 proxy" in text
    assert "All stages passed." in text
    run = dss_server.calls("POST", "/projects/PROJ/runnables/pyrunnable_%s_test-sftp-service$"
                           % PLUGIN)[0]
    assert run.json()["params"]["sftp_service"] == {"mode": "PRESET", "name": "partner"}


def test_test_command_fails_when_a_stage_fails(dss_server, plugin_zip, tmp_path,
                                               monkeypatch, sshd, dante, dss):
    monkeypatch.setenv("PARTNER_SFTP_PASSWORD", "wrong-password-7")
    monkeypatch.setenv("PARTNER_PROXY_PASSWORD", servers.SOCKS_PASSWORD)
    admin(dss_server, "install", "--zip", plugin_zip)
    admin(dss_server, "presets", "apply", write_presets(tmp_path, sshd, dante))
    code, text = admin(dss_server, "test", "partner", "--project", "PROJ")
    assert code == 1 and "Authentication  FAILED" in text
    assert "wrong-password-7" not in text


@pytest.mark.parametrize("change,expected", [
    ({"password": "in-the-file"}, "must not be written in the file"),
    ({"colour": "blue"}, "unknown field(s) colour"),
    ({"proxy_type": "ftp"}, "proxy_type must be one of"),
    ({"port": "22"}, "port must be a whole number"),
])
def test_presets_file_errors_send_nothing(dss_server, plugin_zip, tmp_path, monkeypatch,
                                          sshd, dante, change, expected):
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    admin(dss_server, "install", "--zip", plugin_zip)
    before = len(dss_server.calls("POST"))
    code, text = admin(dss_server, "presets", "apply",
                       write_presets(tmp_path, sshd, dante, **change))
    assert code == 2 and expected in text
    assert "in-the-file" not in text
    assert len(dss_server.calls("POST")) == before


def test_missing_secret_variable_is_named(dss_server, plugin_zip, tmp_path, monkeypatch,
                                          sshd, dante):
    monkeypatch.delenv("PARTNER_SFTP_PASSWORD", raising=False)
    admin(dss_server, "install", "--zip", plugin_zip)
    code, text = admin(dss_server, "presets", "apply", write_presets(tmp_path, sshd, dante))
    assert code == 2 and "PARTNER_SFTP_PASSWORD" in text and "not set" in text


def test_wrong_api_key_is_one_error_line(dss_server):
    code, text = admin(dss_server, "presets", "list", key="not-the-key")
    assert code == 2 and text.startswith("error:") and "\n" not in text


def test_url_and_key_from_the_environment_and_tls_verified_by_default(monkeypatch):
    monkeypatch.setenv("DSS_URL", "https://dss.example.com/")
    monkeypatch.setenv("DSS_API_KEY", API_KEY)
    args = dss_admin.parser().parse_args(["presets", "list"])
    client = dss_admin.connect(args)
    assert client.host == "https://dss.example.com" and client._session.verify is True
    args = dss_admin.parser().parse_args(["--insecure", "presets", "list"])
    assert dss_admin.connect(args)._session.verify is False
    monkeypatch.delenv("DSS_URL")
    with pytest.raises(dss_admin.AdminError):
        dss_admin.connect(dss_admin.parser().parse_args(["presets", "list"]))
