"""The real exporter.py fed the rows DSS's exporter host makes with pandas
(_harness.host_rows): the file on the server holds the dataset's values."""
import os

from conftest import PROJECT_DIR
from sftp_client.export import writer as csv_export

EXPORTER = os.path.join(PROJECT_DIR, "python-exporters",
                        "sftp-python-connector_export-to-sftp", "exporter.py")
SCHEMA = {"columns": [{"name": "id", "type": "bigint"}, {"name": "ratio", "type": "float"},
                      {"name": "price", "type": "double"}, {"name": "ok", "type": "boolean"},
                      {"name": "at", "type": "date"}, {"name": "label", "type": "string"}]}
DATASET = ("1,0.1,0.1,true,2024-05-31T10:15:07.000Z,first\n"
           "2,9.99,2.5,false,,\"a, b\"\n"
           ",1e-07,,true,2024-01-01T00:00:00.000Z,\n")
EXPECTED = (b"id,ratio,price,ok,at,label\r\n"
            b"1,0.1,0.1,true,2024-05-31T10:15:07Z,first\r\n"
            b"2,9.99,2.5,false,,\"a, b\"\r\n"
            b",1e-07,,true,2024-01-01T00:00:00Z,\r\n")


def test_exporter_writes_the_dataset_values_the_host_widened(dss, preset, remote_dir):
    rows = dss.host_rows(SCHEMA, DATASET)
    assert rows[0][1] == 0.10000000149011612   # what the host really hands over
    config = {"sftp_service": preset(), "remote_path": remote_dir.name + "/values.csv"}
    try:
        dss.run_exporter(EXPORTER, config, {}, SCHEMA, rows)
    finally:
        csv_export._abort_unfinished()
    assert remote_dir.read("values.csv") == EXPECTED
