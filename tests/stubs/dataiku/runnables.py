"""Stand-in for ``dataiku.runnables`` (reference section 9, macros doc), for tests only.

DSS builds the one ``Runnable`` subclass of a runnable.py with
``(project_key, config, plugin_config)``, may call ``get_progress_target()``, then
``run(progress_callback)``, whose return value is the macro's result (per the
descriptor's ``resultType``: HTML text, a URL, or a ``ResultTable``).
``_harness.run_macro`` replays that.
"""

__all__ = ["Runnable", "ResultTable"]


class Runnable(object):
    """Base class of macros."""

    def __init__(self, project_key, config, plugin_config):
        """project_key: the project the macro runs in; config: the macro's params;
        plugin_config: the plugin-level params. Stores nothing."""

    def get_progress_target(self):
        """(target, unit) with unit SIZE, FILES, RECORDS or NONE; or None."""
        return None

    def run(self, progress_callback):
        """Do the work; call progress_callback(n) as it advances; return the result."""
        raise NotImplementedError


class ResultTable(object):
    """A table result: columns, then records (lists of values in column order)."""

    def __init__(self):
        self.columns = []
        self.records = []

    def add_column(self, column_id, label, column_type):
        if column_type not in ("STRING", "STRING_LIST"):
            raise ValueError("column type must be STRING or STRING_LIST, got %r"
                             % (column_type,))
        self.columns.append({"id": column_id, "label": label, "type": column_type})

    def add_record(self, record):
        if len(record) != len(self.columns):
            raise ValueError("record has %d values, the table %d columns"
                             % (len(record), len(self.columns)))
        self.records.append(list(record))
