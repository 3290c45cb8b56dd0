"""Stand-in for ``dataiku.exporter`` (reference section 7.2), for tests only.

DSS finds the one ``Exporter`` subclass of an exporter.py by its base class, builds it with
``(config, plugin_config)``, calls ``open(schema)``, ``write_row(row)`` per row, then
``close()``; on a failure it stops without calling ``close()``. ``_harness.run_exporter``
replays that lifecycle.
"""

__all__ = ["Exporter"]


class Exporter(object):
    """Base class of custom exporters."""

    def __init__(self, config, plugin_config):
        """config: the exporter's params dict; plugin_config: the plugin-level params dict.

        Stores nothing: keep what you need in the subclass."""

    def open(self, schema):
        """Start exporting. schema = {"columns": [{"name": ..., "type": ...}, ...]}
        with DSS storage types."""
        raise NotImplementedError

    def write_row(self, row):
        """Write one row: its values in schema order (a tuple of strings per the DSS
        docstring; typed values such as floats, NaN, Timestamps or bools per the host module)."""
        raise NotImplementedError

    def close(self):
        """Finish the export. Not called when the export fails."""
        raise NotImplementedError
