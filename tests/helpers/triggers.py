"""Run the real trigger.py of "New files on SFTP" through the stand-in dataiku
package (``dss`` fixture), as DSS runs it at each check, and read what it remembers."""
import json
import os

from helpers.recipes import PROJECT_DIR

TRIGGER = os.path.join(PROJECT_DIR, "python-triggers", "new-files-on-sftp", "trigger.py")
#: Prefix of the project variable each trigger keeps (trigger/memory.py).
VARIABLE_PREFIX = "sftp_new_files_"


def check(dss, service, remote_path, plugin_config=None, **params):
    """One check of a trigger with these params; how many times it fired."""
    dss.set_trigger(dict(sftp_service=service, remote_path=remote_path, **params),
                    plugin_config=plugin_config)
    return dss.run_trigger(TRIGGER)


def memories(dss):
    """``{variable name: value}`` of every trigger memory in the project."""
    local = dss.project_variables()["local"]
    return dict((k, v) for k, v in local.items() if k.startswith(VARIABLE_PREFIX))


def memory_chars(dss):
    """Length of the one trigger memory as DSS stores it (JSON text)."""
    (value,) = memories(dss).values()
    return len(json.dumps(value))


#: How a check reaches the server: directly, through Dante (SOCKS5 with
#: authentication), or through tinyproxy (HTTP CONNECT with authentication).
ROUTES = ["direct", "dante", "tinyproxy"]


def routed(request, preset, route, **fields):
    """``(preset dict, proxy or None)`` for ``route`` (one of ROUTES), with ``fields``
    overriding the preset's."""
    from conftest import proxy_fields
    if route == "direct":
        return preset(**fields), None
    proxy = request.getfixturevalue(route)
    fields.update(proxy_fields("socks5" if route == "dante" else "http", proxy))
    return preset(**fields), proxy
