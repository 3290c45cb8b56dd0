"""Export to SFTP: stream a dataset into a CSV or TSV file on an SFTP server.

DSS builds the one Exporter subclass below with (config, plugin_config), calls
open(schema), write_row(row) for each row, and close() only when every row was
written. The file appears under its final name in close(); the library removes the
temporary file of an export that fails.
"""
from dataiku.exporter import Exporter

from sftp_client import service_from_config
from sftp_client.dss import choices, dss_io
from sftp_client.export.writer import SftpCsvExport, export_options_from_config


class SftpExporter(Exporter):

    def __init__(self, config, plugin_config):
        # --- Setup: read the DSS config once into validated settings -------------
        dss_io.setup_logging()
        settings = service_from_config(config.get("sftp_service"),
                                       plugin_config=plugin_config)
        self.export = SftpCsvExport(settings=settings, options=export_options_from_config(
            choices.with_effective_remote_path(config)))

    # --- Run: connect and start the temporary file, stream rows, commit -----------
    def open(self, schema):
        self.export.open(schema)

    def write_row(self, row):
        self.export.write_row(row)

    def close(self):
        self.export.close()
