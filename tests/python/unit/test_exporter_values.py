"""Exact exporter values: the rows DSS's exporter host hands to write_row are what
pandas made of the dataset (replayed by _harness.host_rows with real pandas); the
cells written are the dataset's values, and what the host itself loses is pinned
here so that the list in docs/exporter.md stays true."""
import numpy as np
import pytest

from dataiku import _harness
from sftp_client.export.cells import CellFormatter

COLUMNS = [{"name": "i", "type": "int"}, {"name": "big", "type": "bigint"},
           {"name": "f", "type": "float"}, {"name": "d", "type": "double"},
           {"name": "ok", "type": "boolean"}, {"name": "at", "type": "date"},
           {"name": "s", "type": "string"}]
SCHEMA = {"columns": COLUMNS}


def written(csv_text, schema=SCHEMA):
    formatter = CellFormatter(schema["columns"])
    return [formatter.format_row(row) for row in _harness.host_rows(schema, csv_text)]


def test_host_widens_float32_and_the_exporter_writes_the_dataset_value():
    rows = _harness.host_rows(SCHEMA, "1,2,0.1,0.1,true,2024-05-31T10:15:07.000Z,x\n")
    assert rows[0][2] == float(np.float32(0.1)) != 0.1   # 0.10000000149011612
    assert written("1,2,0.1,0.1,true,2024-05-31T10:15:07.000Z,x\n") == [
        ["1", "2", "0.1", "0.1", "true", "2024-05-31T10:15:07Z", "x"]]


@pytest.mark.parametrize("text", ["0.1", "9.99", "0.33333334", "1e-07", "3.4028235e+38",
                                  "-2.5", "16777216.0", "123456.79", "1.0", "1e-45"])
def test_float_columns_round_trip_through_float32(text):
    schema = {"columns": [{"name": "f", "type": "float"}]}
    [[cell]] = written(text + "\n", schema)
    assert np.float32(cell) == np.float32(text)
    # and it is the shortest such text
    digits = len(cell.replace("-", "").replace(".", "").split("e")[0].strip("0")) or 1
    with np.errstate(over="ignore"):   # fewer digits may round past float32's max
        for fewer in range(1, digits):
            assert np.float32("%.*g" % (fewer, float(cell))) != np.float32(text)


def test_double_and_int_columns_keep_their_text():
    assert written("3,-7,2.5,0.30000000000000004,false,,12\n") == [
        ["3", "-7", "2.5", "0.30000000000000004", "false", "", "12"]]


def test_missing_values_are_empty_cells():
    assert written(",,,,false,,\n") == [["", "", "", "", "false", "", ""]]


def test_what_the_host_loses_before_the_plugin_sees_it():
    # bigint beyond 2^53: read as a float64 by the host, the last digits are gone
    [[_, big, _, _, _, _, _]] = written("1,9007199254740993,0,0,true,,x\n")
    assert big == "9007199254740992"
    # literal strings that pandas reads as missing values
    assert [row[6] for row in written("1,1,0,0,true,,NA\n1,1,0,0,true,,null\n"
                                      "1,1,0,0,true,,N/A\n")] == ["", "", ""]
    # a boolean column with an empty cell: the host's read itself fails
    with pytest.raises(ValueError):
        _harness.host_rows(SCHEMA, "1,1,0,0,,,x\n")
