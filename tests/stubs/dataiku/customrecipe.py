"""Stand-in for ``dataiku.customrecipe`` (reference section 6.2), for tests only.

Values come from ``dataiku._harness.set_recipe``. Names are full names ``PROJECTKEY.name``;
an unbound role gives ``[]``.
"""

import copy

from dataiku import _harness

__all__ = [
    "get_recipe_config", "get_plugin_config",
    "get_input_names_for_role", "get_output_names_for_role",
    "get_input_names", "get_output_names", "get_recipe_resource",
]


def get_recipe_config():
    """The recipe's params, as a dict."""
    return copy.deepcopy(_harness._recipe()["config"])


def get_plugin_config():
    """The plugin-level params, as a dict."""
    return copy.deepcopy(_harness._recipe()["plugin_config"])


def get_input_names_for_role(role):
    """Full names bound to an input role; [] when the role is unbound."""
    return list(_harness._recipe()["inputs"].get(role, []))


def get_output_names_for_role(role):
    """Full names bound to an output role; [] when the role is unbound."""
    return list(_harness._recipe()["outputs"].get(role, []))


def get_input_names():
    """Full names of every input, all roles together."""
    return [name for names in _harness._recipe()["inputs"].values() for name in names]


def get_output_names():
    """Full names of every output, all roles together."""
    return [name for names in _harness._recipe()["outputs"].values() for name in names]


def get_recipe_resource():
    """Path of the plugin's resource/ folder."""
    resource_dir = _harness._recipe()["resource_dir"]
    if resource_dir is None:
        raise Exception("this plugin has no resource folder (tests: pass resource_dir to set_recipe)")
    return resource_dir
