"""Choices of the 'Pick on the server' param of the exporter: the remote
directories and existing files below the service's root path (paramsPythonSetup;
DSS calls do() when the form loads and when a trigger parameter changes)."""


def do(payload, config, plugin_config, inputs):
    try:
        from sftp_client.dss.choices import path_choices
    except ImportError as exc:  # not run in the plugin's code env (no paramiko)
        return {"choices": [{"value": "", "label": "The remote path picker needs the "
                             "plugin's code environment (%s)" % exc}]}
    return path_choices(payload, config, include_files=True,
                        plugin_config=plugin_config)
