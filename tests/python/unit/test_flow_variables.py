"""dss_io.flow_variables: the recipes read the job's flow variables whether the dataiku
package offers get_flow_variables(), the dku_flow_variables attribute, both, or neither."""
import types

import pytest

from sftp_client.dss import dss_io

VARIABLES = {"DKU_DST_day": "2024-05-31"}


def package(getter=None, attribute=None):
    module = types.ModuleType("dataiku")
    if getter is not None:
        module.get_flow_variables = getter
    if attribute is not None:
        module.dku_flow_variables = attribute
    return module


def no_variables():
    raise KeyError("DKUFLOW_VARIABLES")


@pytest.mark.parametrize("module", [
    package(getter=lambda: dict(VARIABLES)),
    package(attribute=dict(VARIABLES)),
    package(getter=lambda: dict(VARIABLES), attribute={"stale": "1"}),
    package(getter=no_variables, attribute=dict(VARIABLES)),
    package(getter=lambda: None, attribute=dict(VARIABLES)),
], ids=["function", "attribute", "both: function wins", "function raises: attribute",
        "function gives None: attribute"])
def test_flow_variables_found_wherever_the_package_offers_them(module):
    assert dss_io.flow_variables(module) == VARIABLES


@pytest.mark.parametrize("module", [
    package(),
    package(getter=no_variables),
    package(getter=lambda: (_ for _ in ()).throw(ValueError("not JSON"))),
    package(getter=lambda: {}),
], ids=["neither", "function raises KeyError", "function raises ValueError", "empty"])
def test_no_flow_variables_means_no_partition(module):
    assert dss_io.flow_variables(module) == {}
    dss_io.refuse_partitions(object(), "Destination folder", dss_io.flow_variables(module),
                             dss_io.PARTITION_OUTPUT)


def test_flow_variables_gives_a_copy():
    attribute = dict(VARIABLES)
    found = dss_io.flow_variables(package(attribute=attribute))
    found["x"] = "y"
    assert attribute == VARIABLES
