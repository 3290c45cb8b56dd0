"""Stand-in for ``dataiku.customtrigger`` (reference section 16), for tests only.

Official plugins' trigger.py read ``get_plugin_config()``: the trigger's own params
under ``"config"``, the plugin-level admin settings under ``"pluginConfig"``. They
also call ``get_trigger_config()`` without relying on its content, whose shape no
public source shows: the stand-in gives the trigger's params. Values come from
``dataiku._harness.set_trigger``; outside a trigger, both raise.
"""

import copy

from dataiku import _harness

__all__ = ["get_plugin_config", "get_trigger_config"]


def get_plugin_config():
    """``{"config": the trigger's params, "pluginConfig": the plugin-level params}``."""
    trigger = _harness._trigger()
    return {"config": copy.deepcopy(trigger["config"]),
            "pluginConfig": copy.deepcopy(trigger["plugin_config"])}


def get_trigger_config():
    """The trigger's params (shape unconfirmed; the plugin does not use it)."""
    return copy.deepcopy(_harness._trigger()["config"])
