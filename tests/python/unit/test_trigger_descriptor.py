"""python-triggers/new-files-on-sftp: the descriptor has the params issue 18 names,
with the labels the library's messages use, and the stand-in dataiku package gives a
trigger exactly what official plugins' triggers rely on."""
import json
import os

import pytest

import dataiku
from dataiku import _harness
from sftp_client.trigger.settings import (DEFAULT_SETTLE_SECONDS, MAX_SETTLE_SECONDS,
                                          TRIGGER_LABELS)

PLUGIN_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DESCRIPTOR = os.path.join(PLUGIN_ROOT, "python-triggers", "new-files-on-sftp",
                          "trigger.json")


@pytest.fixture
def params():
    with open(DESCRIPTOR, "rb") as handle:
        descriptor = json.loads(handle.read().decode("utf-8"))
    assert descriptor["meta"]["label"] == "New files on SFTP"
    assert descriptor["meta"]["icon"].startswith("icon-")
    return dict((p["name"], p) for p in descriptor["params"] if "name" in p)


def test_params_and_labels(params):
    assert set(params) == set(TRIGGER_LABELS) | {"sftp_service"}
    for name, label in TRIGGER_LABELS.items():
        assert params[name]["label"] == label
    service = params["sftp_service"]
    assert (service["type"], service["parameterSetId"], service["mandatory"]) == (
        "PRESET", "sftp-services", True)
    settle = params["settle_seconds"]
    assert (settle["type"], settle["defaultValue"], settle["minI"], settle["maxI"]) == (
        "INT", DEFAULT_SETTLE_SECONDS, 0, MAX_SETTLE_SECONDS)
    assert [c["value"] for c in params["fire_on"]["selectChoices"]] == [
        "new", "new_or_changed"]
    assert params["fire_at_first_check"]["type"] == "BOOLEAN"
    assert params["fire_at_first_check"]["defaultValue"] is False
    for name in ("include_patterns", "exclude_patterns"):
        assert params[name]["type"] == "STRINGS"


@pytest.fixture
def harness():
    _harness.reset()
    yield _harness
    _harness.reset()


def test_stand_in_trigger_config_fires_and_variables(harness):
    from dataiku import customtrigger
    from dataiku.scenario import Trigger
    with pytest.raises(RuntimeError):
        customtrigger.get_plugin_config()
    with pytest.raises(RuntimeError):
        Trigger().fire()
    harness.set_trigger({"remote_path": "in"}, plugin_config={"allowed_hosts": ["h"]})
    assert customtrigger.get_plugin_config() == {"config": {"remote_path": "in"},
                                                 "pluginConfig": {"allowed_hosts": ["h"]}}
    assert customtrigger.get_trigger_config() == {"remote_path": "in"}
    Trigger().fire()
    assert harness.trigger_fires() == 1
    project = dataiku.Project()
    variables = project.get_variables()
    assert variables == {"standard": {}, "local": {}}
    variables["local"]["k"] = (1, 2)
    project.set_variables(variables)
    assert dataiku.Project().get_variables()["local"]["k"] == [1, 2]
    with pytest.raises(ValueError, match="local"):
        project.set_variables({"standard": {}})
    with pytest.raises(TypeError):
        project.set_variables({"standard": {}, "local": {"k": object()}})
    assert dataiku.Project("OTHER").get_variables() == {"standard": {}, "local": {}}
