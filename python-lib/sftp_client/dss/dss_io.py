"""The DSS-shaped edges the entry points share: logging set-up, role lookup,
the partitioning check and report datasets. Objects come in from the entry points
(duck-typed): this module never imports ``dataiku`` either.
"""
import logging

from sftp_client.errors import ConfigError

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


def flow_variables(dataiku_module):
    """The running job's flow variables as a dict, ``{}`` when it has none.

    ``dataiku.get_flow_variables()`` is what official plugins call; the older
    ``dataiku.dku_flow_variables`` attribute exists only when the job's environment had
    ``DKUFLOW_VARIABLES`` when the package was imported (containerized runs load it
    later). Either, both or neither may be there. What ``get_flow_variables()`` does in a
    job without variables is undocumented: a missing variable (KeyError), an unreadable
    value (ValueError) or file (OSError) means "none from it", and the attribute is the
    fallback.
    """
    getter = getattr(dataiku_module, "get_flow_variables", None)
    variables = None
    if getter is not None:
        try:
            variables = getter()
        except (KeyError, ValueError, OSError):
            variables = None
    if variables is None:
        variables = getattr(dataiku_module, "dku_flow_variables", None)
    return dict(variables or {})


#: Flow-variable prefixes DSS sets when a recipe reads (SRC) or builds (DST) partitions
#: (partitions/variables.html: DKU_DST_<dimension>, DKU_SRC_<dimension>, ...).
PARTITION_INPUT = "DKU_SRC_"
PARTITION_OUTPUT = "DKU_DST_"
#: What a folder without partitioning may list as its partitions.
_NO_PARTITION = ("", "NP")


def refuse_partitions(folder, role_label, flow_variables, prefix):
    """Stop before any transfer when the folder is partitioned or the recipe runs
    for a partition: the recipes copy whole folders, and files written at the root
    of a partitioned folder would belong to no partition.

    Two documented signals: ``Folder.list_partitions()`` and the partition flow
    variables (``flow_variables()``); an empty partitioned output folder shows only
    the second.
    """
    variables = sorted(k for k in (flow_variables or {}) if k.startswith(prefix))
    lister = getattr(folder, "list_partitions", None)
    partitions = [p for p in (lister() if lister else []) if p not in _NO_PARTITION]
    if variables or partitions:
        found = "partitions %s" % ", ".join(partitions[:3]) if partitions else \
            "the job builds a partition (%s)" % ", ".join(variables[:3])
        raise ConfigError(role_label, "is partitioned (%s). This recipe copies whole "
                                      "folders and does not handle partitions: use a "
                                      "folder without partitioning. Nothing was "
                                      "transferred." % found)


def write_report(dataset, columns, rows):
    """Write the schema, then every row; the writer is always closed."""
    dataset.write_schema([{"name": name, "type": kind} for name, kind in columns])
    with dataset.get_writer() as writer:
        for row in rows:
            writer.write_row_dict(row)
