"""Export to SFTP: upload a managed folder to a remote directory, incrementally."""
import dataiku
from dataiku.customrecipe import (get_input_names_for_role, get_output_names_for_role,
                                  get_plugin_config, get_recipe_config)

from sftp_client import service_from_config, sync_options_from_config
from sftp_client.dss import choices, dss_io
from sftp_client.sync.run import UPLOAD, report_columns, upload

# --- Setup: read the DSS config once into validated settings ---------------------
dss_io.setup_logging()
config = get_recipe_config()
settings = service_from_config(config.get("sftp_service"),
                               plugin_config=get_plugin_config())
options = sync_options_from_config(config)
folder = dataiku.Folder(dss_io.single_name(
    get_input_names_for_role("input_folder"), "Source folder"))
dss_io.refuse_partitions(folder, "Source folder", dss_io.flow_variables(dataiku),
                        dss_io.PARTITION_INPUT)
uploaded_files = dataiku.Dataset(dss_io.single_name(
    get_output_names_for_role("uploaded_files"), "Uploaded files"))

# --- Run: list, plan, transfer ---------------------------------------------------
result = upload(settings=settings, folder=folder,
                remote_path=choices.effective_remote_path(config), options=options)

# --- Report: one row per file of the folder (schema even when empty), then fail
# --- if files failed --------------------------------------------------------------
dss_io.write_report(uploaded_files, report_columns(UPLOAD), result.rows)
result.raise_for_failures()
