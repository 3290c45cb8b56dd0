"""The entry points pass DSS's real plugin config to service_from_config: the
administrators' policy stops a run before anything is transferred."""
import os

import pytest

from conftest import PROJECT_DIR
from sftp_client.errors import ConfigError

DOWNLOAD = os.path.join(PROJECT_DIR, "custom-recipes",
                        "sftp-python-connector_download-from-sftp", "recipe.py")
UPLOAD = os.path.join(PROJECT_DIR, "custom-recipes",
                      "sftp-python-connector_export-to-sftp", "recipe.py")
EXPORTER = os.path.join(PROJECT_DIR, "python-exporters",
                        "sftp-python-connector_export-to-sftp", "exporter.py")
NO_CHECK = {"host_key_check": "none", "host_key": ""}
SCHEMA = {"columns": [{"name": "a", "type": "string"}]}


def run_download(dss, tmp_path, service, plugin_config):
    dss.register_folder("out", str(tmp_path / "out"))
    dss.set_recipe({"sftp_service": service, "remote_path": ""},
                   plugin_config=plugin_config, outputs={"output_folder": ["out"]})
    dss.run_recipe(DOWNLOAD)


def test_download_refuses_no_host_key_check_by_default(dss, tmp_path, preset, remote_dir):
    remote_dir.write("a.txt", b"a")
    with pytest.raises(ConfigError) as info:
        run_download(dss, tmp_path, preset(**NO_CHECK), plugin_config={})
    assert "allow_no_host_key_check" in str(info.value)
    assert dss.folder_write_count("out") == 0


def test_download_honours_the_admin_setting(dss, tmp_path, preset, remote_dir):
    remote_dir.write("a.txt", b"a")
    service = preset(root_path=remote_dir.path, **NO_CHECK)
    run_download(dss, tmp_path, service, plugin_config={"allow_no_host_key_check": True})
    assert os.path.isfile(str(tmp_path / "out" / "a.txt"))


def test_upload_refuses_hosts_outside_the_allowed_list(dss, tmp_path, preset, remote_dir):
    source = tmp_path / "in"
    source.mkdir()
    (source / "a.txt").write_bytes(b"a")
    dss.register_folder("in", str(source))
    dss.register_dataset("uploaded")
    dss.set_recipe({"sftp_service": preset(), "remote_path": remote_dir.name},
                   plugin_config={"allowed_hosts": ["sftp.example.com"]},
                   inputs={"input_folder": ["in"]}, outputs={"uploaded_files": ["uploaded"]})
    with pytest.raises(ConfigError) as info:
        dss.run_recipe(UPLOAD)
    assert "Allowed SFTP hosts" in str(info.value)
    assert os.listdir(remote_dir.path) == []


def test_exporter_reads_key_files_only_from_allowed_directories(dss, preset, remote_dir,
                                                                 client_keys):
    service = preset(auth_method="private_key", password="",
                     private_key_path=client_keys["ed25519"].path)
    config = {"sftp_service": service, "remote_path": remote_dir.name + "/out.csv"}
    with pytest.raises(ConfigError) as info:
        dss.run_exporter(EXPORTER, config, {}, SCHEMA, [("x",)])
    assert "Allowed key directories" in str(info.value)
    allowed = {"allowed_key_directories": [os.path.dirname(client_keys["ed25519"].path)]}
    dss.run_exporter(EXPORTER, config, allowed, SCHEMA, [("x",)])
    with open(os.path.join(remote_dir.path, "out.csv"), "rb") as f:
        assert f.read() == b"a\r\nx\r\n"


FS_PROVIDER = os.path.join(PROJECT_DIR, "python-fs-providers", "sftp", "fs-provider.py")


def test_fs_provider_applies_the_policy_from_its_plugin_config(dss, preset, remote_dir,
                                                               client_keys):
    service = preset(auth_method="private_key", password="",
                     private_key_path=client_keys["ed25519"].path)
    root = "/" + remote_dir.name
    with pytest.raises(ConfigError) as info:
        dss.load_fs_provider(FS_PROVIDER, root, {"sftp_service": service}, {})
    assert "Allowed key directories" in str(info.value)
    with pytest.raises(ConfigError) as info:
        dss.load_fs_provider(FS_PROVIDER, root, {"sftp_service": preset(**NO_CHECK)},
                             {"allowed_hosts": ["sftp.example.com"]})
    assert "Allowed SFTP hosts" in str(info.value)
    allowed = {"allowed_key_directories": [os.path.dirname(client_keys["ed25519"].path)]}
    provider = dss.load_fs_provider(FS_PROVIDER, root, {"sftp_service": service}, allowed)
    try:
        assert provider.stat("/") is not None
    finally:
        provider.close()
