"""New files on SFTP: start the scenario when new files have settled on the server."""
import dataiku
from dataiku.customtrigger import get_plugin_config
from dataiku.scenario import Trigger

from sftp_client.dss import dss_io
from sftp_client.trigger.check import check
from sftp_client.trigger.variables import ProjectVariables

# --- Setup: the trigger's params under "config", the admin settings under "pluginConfig"
dss_io.setup_logging()
plugin_config = get_plugin_config()

# --- Run: list the remote tree once, decide, remember (a failed check changes nothing)
decision = check(config=plugin_config.get("config") or {},
                 plugin_config=plugin_config.get("pluginConfig") or {},
                 variables=ProjectVariables(dataiku.Project()))

# --- Report: fire at most once per check
if decision is not None and decision.fire:
    Trigger().fire()
