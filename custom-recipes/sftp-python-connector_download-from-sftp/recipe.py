"""Download from SFTP: copy a remote directory into a managed folder, incrementally."""
import dataiku
from dataiku.customrecipe import (get_output_names_for_role, get_plugin_config,
                                  get_recipe_config)

from sftp_client import service_from_config, sync_options_from_config
from sftp_client.dss import choices, dss_io
from sftp_client.sync.run import DOWNLOAD, download, report_columns

# --- Setup: read the DSS config once into validated settings ---------------------
dss_io.setup_logging()
config = get_recipe_config()
settings = service_from_config(config.get("sftp_service"),
                               plugin_config=get_plugin_config())
options = sync_options_from_config(config)
folder = dataiku.Folder(dss_io.single_name(
    get_output_names_for_role("output_folder"), "Destination folder"))
dss_io.refuse_partitions(folder, "Destination folder", dss_io.flow_variables(dataiku),
                        dss_io.PARTITION_OUTPUT)
report_name = dss_io.single_name(get_output_names_for_role("report"),
                                 "Transfer report", required=False)

# --- Run: list, plan, transfer ---------------------------------------------------
result = download(settings=settings, remote_path=choices.effective_remote_path(config),
                  folder=folder, options=options)

# --- Report: one row per remote file, then fail if files failed ------------------
if report_name:
    dss_io.write_report(dataiku.Dataset(report_name), report_columns(DOWNLOAD),
                        result.rows)
result.raise_for_failures()
