"""The DSS-shaped edges the entry points share: logging set-up, role lookup and
report datasets. Objects come in from the entry points (duck-typed): this module
never imports ``dataiku`` either.
"""
import logging

from .errors import ConfigError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ConnectionNoiseFilter(logging.Filter):
    """Drops paramiko's 'Socket exception: ...' ERROR line, logged by its transport
    thread whenever a connection breaks: the library says itself what happened
    (a retry warning, or the file's error), so the raw line only alarms users."""

    def filter(self, record):
        return not str(record.msg).startswith("Socket exception")


_NOISE_FILTER = ConnectionNoiseFilter()


def setup_logging():
    """INFO lines to the job log; paramiko's transport chatter only from WARNING,
    without its line for each broken connection."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger("paramiko").setLevel(logging.WARNING)
    transport_log = logging.getLogger("paramiko.transport")
    if _NOISE_FILTER not in transport_log.filters:
        transport_log.addFilter(_NOISE_FILTER)


def single_name(names, role_label, required=True):
    """The one dataset or folder bound to a role, or None for an optional one."""
    if not names:
        if required:
            raise ConfigError(role_label, "no folder or dataset is connected to this "
                                          "role: edit the recipe's inputs/outputs.")
        return None
    return names[0]


def write_report(dataset, columns, rows):
    """Write the schema, then every row; the writer is always closed."""
    dataset.write_schema([{"name": name, "type": kind} for name, kind in columns])
    with dataset.get_writer() as writer:
        for row in rows:
            writer.write_row_dict(row)
