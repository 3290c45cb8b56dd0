"""Test SFTP service: connect step by step and show each stage's result.

DSS builds the one Runnable subclass below with (project_key, config,
plugin_config) and calls run(progress_callback); the HTML page it returns is the
macro's result. The library never raises here: a failed stage is shown, not thrown.
"""
from dataiku.runnables import Runnable

from sftp_client.dss import dss_io
from sftp_client.dss.diagnose import STAGES, diagnose
from sftp_client.dss.diagnose_report import render_html


class TestSftpService(Runnable):

    def __init__(self, project_key, config, plugin_config):
        # --- Setup: keep the params; the settings are validated as the first stage --
        dss_io.setup_logging()
        self.config = config
        self.plugin_config = plugin_config

    def get_progress_target(self):
        return len(STAGES), "NONE"

    # --- Run: every stage in order, then the report ---------------------------------
    def run(self, progress_callback):
        stages = diagnose(self.config.get("sftp_service"),
                          remote_path=self.config.get("remote_path") or "",
                          write_test=str(self.config.get("write_test")).lower() == "true",
                          progress=progress_callback, plugin_config=self.plugin_config)
        return render_html(stages)
