"""Partitioned folders: the recipes copy whole folders, so they stop before any
transfer, with a message naming the role, when a folder is partitioned or the job
builds a partition (never files scattered at the folder root)."""
import os

import pytest

from conftest import PROJECT_DIR
from sftp_client.dss import dss_io
from sftp_client.errors import ConfigError

DOWNLOAD = os.path.join(PROJECT_DIR, "custom-recipes",
                        "sftp-python-connector_download-from-sftp", "recipe.py")
UPLOAD = os.path.join(PROJECT_DIR, "custom-recipes",
                      "sftp-python-connector_export-to-sftp", "recipe.py")


def download(dss, tmp_path, preset, remote_dir, partitions=None, flow_variables=None,
             at_import=True):
    dss.register_folder("out", str(tmp_path / "out"), partitions=partitions)
    dss.register_dataset("report")
    dss.set_recipe({"sftp_service": preset(), "remote_path": remote_dir.name},
                   outputs={"output_folder": ["out"], "report": ["report"]},
                   flow_variables=flow_variables, flow_variables_at_import=at_import)
    dss.run_recipe(DOWNLOAD)


def test_download_into_a_partition_being_built_stops_first(dss, tmp_path, preset,
                                                            remote_dir):
    remote_dir.write("a.csv", b"1\n")
    with pytest.raises(ConfigError) as info:
        download(dss, tmp_path, preset, remote_dir,
                 flow_variables={"DKU_DST_day": "2024-05-31", "DKU_DST_DATE": "2024-05-31"})
    assert info.value.field == "Destination folder"
    assert "partitioned" in str(info.value) and "DKU_DST_DATE" in str(info.value)
    assert dss.folder_write_count("out") == 0 and os.listdir(str(tmp_path / "out")) == []
    assert dss.dataset_rows("report") is None


def test_download_into_a_folder_with_partitions_stops_first(dss, tmp_path, preset,
                                                             remote_dir):
    remote_dir.write("a.csv", b"1\n")
    with pytest.raises(ConfigError) as info:
        download(dss, tmp_path, preset, remote_dir, partitions=["2024-05-30"])
    assert "partitions 2024-05-30" in str(info.value)
    assert dss.folder_write_count("out") == 0


def test_download_into_an_unpartitioned_folder_runs(dss, tmp_path, preset, remote_dir):
    remote_dir.write("a.csv", b"1\n")
    download(dss, tmp_path, preset, remote_dir, flow_variables={"DKU_SRC_x": "y"})
    assert open(str(tmp_path / "out" / "a.csv"), "rb").read() == b"1\n"


def test_upload_from_a_partitioned_folder_stops_first(dss, tmp_path, preset, remote_dir):
    source = tmp_path / "in"
    (source / "2024-05-31").mkdir(parents=True)
    (source / "2024-05-31" / "a.csv").write_bytes(b"1\n")
    dss.register_folder("in", str(source), partitions=["2024-05-31"])
    dss.register_dataset("uploaded")
    dss.set_recipe({"sftp_service": preset(), "remote_path": remote_dir.name},
                   inputs={"input_folder": ["in"]}, outputs={"uploaded_files": ["uploaded"]},
                   flow_variables={"DKU_SRC_day": "2024-05-31"})
    with pytest.raises(ConfigError) as info:
        dss.run_recipe(UPLOAD)
    assert info.value.field == "Source folder" and "partitioned" in str(info.value)
    assert os.listdir(remote_dir.path) == []


class Unpartitioned(object):
    def __init__(self, partitions):
        self.partitions = partitions

    def list_partitions(self):
        return self.partitions


@pytest.mark.parametrize("folder", [Unpartitioned([]), Unpartitioned(["NP"]), object()],
                         ids=["empty", "NP", "no-list_partitions"])
def test_unpartitioned_shapes_pass(folder):
    dss_io.refuse_partitions(folder, "Source folder", {"DKU_DST_x": "1"},
                             dss_io.PARTITION_INPUT)


# --- flow variables: the job may have none, or the package may offer them only through
# get_flow_variables() (environment loaded after import, as containerized runs do) --------

#: (flow_variables, flow_variables_at_import) as set_recipe takes them; the variable
#: speaks of the recipe's other side (a partitioned input of a download, a partitioned
#: output dataset of an upload), which the recipe may ignore.
FLOW_MODES = {
    "no-DKUFLOW_VARIABLES": (None, True),
    "attribute-and-function": ({"DKU_SRC_x": "y", "DKU_DST_x": "y"}, True),
    "function-only": ({"DKU_SRC_x": "y", "DKU_DST_x": "y"}, False),
}


def other_side(variables, prefix):
    """The variables without those of the recipe's own folder side."""
    return None if variables is None else {
        k: v for k, v in variables.items() if not k.startswith(prefix)}


def upload(dss, tmp_path, preset, remote_dir, flow_variables, at_import):
    source = tmp_path / "in"
    source.mkdir()
    (source / "a.csv").write_bytes(b"1\n")
    dss.register_folder("in", str(source))
    dss.register_dataset("uploaded")
    dss.set_recipe({"sftp_service": preset(), "remote_path": remote_dir.name},
                   inputs={"input_folder": ["in"]}, outputs={"uploaded_files": ["uploaded"]},
                   flow_variables=flow_variables, flow_variables_at_import=at_import)
    dss.run_recipe(UPLOAD)


@pytest.mark.parametrize("mode", sorted(FLOW_MODES))
def test_download_runs_whatever_flow_variables_the_job_has(dss, tmp_path, preset,
                                                           remote_dir, mode):
    import dataiku
    variables, at_import = FLOW_MODES[mode]
    variables = other_side(variables, dss_io.PARTITION_OUTPUT)
    remote_dir.write("a.csv", b"1\n")
    download(dss, tmp_path, preset, remote_dir, flow_variables=variables,
             at_import=at_import)
    assert hasattr(dataiku, "dku_flow_variables") == (variables is not None and at_import)
    assert open(str(tmp_path / "out" / "a.csv"), "rb").read() == b"1\n"
    assert [row["action"] for row in dss.dataset_rows("report")] == ["downloaded"]


@pytest.mark.parametrize("mode", sorted(FLOW_MODES))
def test_upload_runs_whatever_flow_variables_the_job_has(dss, tmp_path, preset, remote_dir,
                                                         mode):
    variables, at_import = FLOW_MODES[mode]
    variables = other_side(variables, dss_io.PARTITION_INPUT)
    upload(dss, tmp_path, preset, remote_dir, variables, at_import)
    assert open(os.path.join(remote_dir.path, "a.csv"), "rb").read() == b"1\n"
    assert [row["status"] for row in dss.dataset_rows("uploaded")] == ["uploaded"]


@pytest.mark.parametrize("at_import", [True, False], ids=["attribute", "function-only"])
def test_partition_refused_however_the_package_offers_the_variables(dss, tmp_path, preset,
                                                                    remote_dir, at_import):
    remote_dir.write("a.csv", b"1\n")
    with pytest.raises(ConfigError) as info:
        download(dss, tmp_path, preset, remote_dir,
                 flow_variables={"DKU_DST_day": "2024-05-31"}, at_import=at_import)
    assert info.value.field == "Destination folder" and "DKU_DST_day" in str(info.value)
    assert os.listdir(str(tmp_path / "out")) == []


@pytest.mark.parametrize("at_import", [True, False], ids=["attribute", "function-only"])
def test_upload_partition_refused_however_the_package_offers_the_variables(
        dss, tmp_path, preset, remote_dir, at_import):
    with pytest.raises(ConfigError) as info:
        upload(dss, tmp_path, preset, remote_dir, {"DKU_SRC_day": "2024-05-31"}, at_import)
    assert info.value.field == "Source folder" and "DKU_SRC_day" in str(info.value)
    assert os.listdir(remote_dir.path) == []
