"""The exporter's writer: DSS rows rendered cell by cell from the schema type and
streamed, in bounded memory, into a temporary remote file that ``close()`` renames
onto the final name.

Output is RFC 4180 by default: comma-separated, fields quoted only when they hold
the delimiter, a quote, CR or LF, quotes doubled, CRLF after every row. TSV follows
the same rules with a tab (Python's ``excel-tab`` dialect), so any value survives.
Missing values are written as ``null_value`` (empty by default): an empty string and
a missing value look the same unless ``null_value`` is set. Values of a DSS ``date``
column are ISO-8601 instants in UTC (``2024-05-31T10:15:07Z``).

With ``if_exists=fail`` the final rename is a plain SFTP rename, which never
replaces a file (OpenSSH links, then unlinks); ``overwrite`` uses the export
recipe's rule (posix-rename, or a safe swap where the server lacks it).
"""
import atexit
import codecs
import csv
import datetime
import gzip
import io
import json
import logging
import posixpath
import re
import stat
import time
from typing import NamedTuple

from . import entries
from .errors import (ConfigError, RemoteExistsError, RemoteNotFoundError, RemotePathError,
                     RemotePermissionError, SftpClientError, UnsafePathError)
from .remote import RemoteTree, remote_errors
from .session import SftpSession
from .settings import boolean_param, choice_param, text_param

LOG = logging.getLogger(__name__)

#: Characters of formatted rows held before they are encoded and sent: enough to
#: keep pipelined 32 KiB SFTP writes busy, and memory independent of the row count.
FLUSH_CHARS = 256 * 1024
#: gzip's own default level; 9 costs several times the CPU for about 1 % less.
GZIP_LEVEL = 6
#: Row terminator required by RFC 4180.
LINE_TERMINATOR = "\r\n"
#: Seconds allowed per cleanup call of an abandoned export, so that a dead
#: connection cannot hold the DSS process at exit.
CLEANUP_TIMEOUT = 5

FORMATS = {"csv": ",", "tsv": "\t"}
COMPRESSIONS = ("none", "gzip")
IF_EXISTS = ("overwrite", "fail")
#: Labels of the exporter's fields, as in python-exporters/sftp-python-connector_export-to-sftp/exporter.json.
LABELS = {
    "remote_path": "Remote file", "format": "Format", "header": "Header line",
    "compression": "Compression", "if_exists": "If the file exists",
    "delimiter": "Delimiter", "encoding": "Encoding", "null_value": "Missing values as",
}
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
_INT_TYPES = frozenset(("int", "bigint", "smallint", "tinyint"))
#: pandas' missing-value singletons (NaT, pandas.NA), known by type name so that
#: neither pandas nor numpy has to be imported.
_MISSING_TYPES = frozenset(("NaTType", "NAType"))


class ExportOptions(NamedTuple):
    remote_path: str           # relative to the service's root path, placeholders expanded
    format: str = "csv"
    delimiter: str = ","
    header: bool = True
    compression: str = "none"  # none / gzip
    if_exists: str = "overwrite"   # overwrite / fail
    encoding: str = "utf-8"    # Python codec name
    null_value: str = ""


# --- options ----------------------------------------------------------------------

def export_options_from_config(raw, now=None):
    """Validate the exporter's params into ``ExportOptions``; ``now`` (UTC) fills
    the ``{date}`` and ``{timestamp}`` placeholders."""
    raw = raw or {}
    fmt = _choice(raw, "format", tuple(FORMATS), "csv")
    return ExportOptions(
        remote_path=_remote_path(raw, now or datetime.datetime.now(datetime.timezone.utc)),
        format=fmt, delimiter=_delimiter(raw, fmt), header=_boolean(raw, "header", True),
        compression=_choice(raw, "compression", COMPRESSIONS, "none"),
        if_exists=_choice(raw, "if_exists", IF_EXISTS, "overwrite"),
        encoding=_encoding(raw), null_value=_text(raw, "null_value"))


def expand_placeholders(template, now):
    """``{date}`` -> 2024-05-31, ``{timestamp}`` -> 20240531T101500Z, both in UTC."""
    if now.tzinfo is not None:
        now = now.astimezone(datetime.timezone.utc)
    values = {"date": now.strftime("%Y-%m-%d"), "timestamp": now.strftime("%Y%m%dT%H%M%SZ")}

    def replace(match):
        if match.group(1) not in values:
            raise ConfigError(LABELS["remote_path"], "unknown placeholder {%s}: only {date} "
                                                     "and {timestamp} are supported."
                              % match.group(1))
        return values[match.group(1)]
    return _PLACEHOLDER_RE.sub(replace, template)


def _remote_path(raw, now):
    label = LABELS["remote_path"]
    path = expand_placeholders(_text(raw, "remote_path").strip(), now)
    try:
        parts = entries.split_relative(path)
    except UnsafePathError as exc:
        raise ConfigError(label, str(exc)) from exc
    if not parts or path.endswith("/"):
        raise ConfigError(label, "give the file to write, relative to the service's root "
                                 "path, e.g. exports/sales_{date}.csv.")
    return path


def _delimiter(raw, fmt):
    value = _text(raw, "delimiter")
    if value in ("\\t", "tab"):   # a tab is hard to type into a DSS text box
        value = "\t"
    if not value:
        return FORMATS[fmt]
    if len(value) != 1 or value in "\"\r\n":
        raise ConfigError(LABELS["delimiter"], "must be one character other than a quote "
                                               "or a line break, e.g. ; or |; leave it "
                                               "empty to use the format's own.")
    return value


def _encoding(raw):
    value = _text(raw, "encoding").strip() or "utf-8"
    try:
        name = codecs.lookup(value).name
        "".encode(name)   # refuses bytes-to-bytes codecs such as base64
    except LookupError:
        raise ConfigError(LABELS["encoding"], "unknown text encoding %r: use a Python "
                                              "encoding name such as utf-8, utf-8-sig or "
                                              "latin-1." % value) from None
    return name


def _text(raw, name):
    return text_param(raw, name, labels=LABELS)


def _choice(raw, name, choices, default):
    return choice_param(raw, name, choices, default, labels=LABELS)


def _boolean(raw, name, default):
    return boolean_param(raw, name, default, labels=LABELS)


# --- cells ------------------------------------------------------------------------

class CellFormatter(object):
    """Text of each cell from its column's DSS type, whether DSS hands strings or
    pandas-typed values (3.0 for an int, NaN/NaT/None when missing, Timestamps).

    Strings are written as given. The common plain types (str, float, int, bool)
    take a fast path by exact type: this runs once per cell of the dataset."""

    def __init__(self, columns, null_value=""):
        self.null_value = null_value
        self._cells = [self._for_type(column.get("type")) for column in columns]

    def _for_type(self, kind):
        if kind in _INT_TYPES:
            return self.integer
        return {"boolean": self.boolean, "date": self.instant,
                "dateonly": self.day}.get(kind, self.generic)

    def format_row(self, row):
        cells = self._cells
        if len(row) != len(cells):   # defensive: pad a short row, keep extra values
            cells = (cells + [self.generic] * len(row))[:max(len(row), len(cells))]
            row = list(row) + [None] * (len(cells) - len(row))
        return [cell(value) for cell, value in zip(cells, row)]

    def generic(self, value):
        kind = type(value)
        if kind is str:
            return value
        if kind is float:
            return repr(value) if value == value else self.null_value
        if kind is int:
            return str(value)
        if kind is bool:
            return "true" if value else "false"
        return self._render(_plain(value))

    def integer(self, value):
        kind = type(value)
        if kind is float:   # pandas hands ints as floats, NaN when missing
            if value != value:
                return self.null_value
            return str(int(value)) if value.is_integer() else repr(value)
        if kind is str:
            return value
        if kind is int:
            return str(value)
        value = _plain(value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return self._render(value)

    def boolean(self, value):
        kind = type(value)
        if kind is bool:
            return "true" if value else "false"
        if kind is str:
            return value
        value = _plain(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
            return "true" if value else "false"
        return self._render(value)

    def instant(self, value):
        """A DSS ``date``: an instant, UTC. Naive values are UTC already (pandas
        without a time zone); aware ones are converted. Written with a ``Z``."""
        if type(value) is str:
            return value
        value = _plain(value)
        if isinstance(value, datetime.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
            return value.isoformat() + "Z"
        if type(value).__name__ == "datetime64":
            text = str(value)
            return text + "Z" if "T" in text else text
        return self._render(value)

    def day(self, value):
        """A DSS ``dateonly``: the day alone, even when it arrives as a Timestamp."""
        if type(value) is str:
            return value
        value = _plain(value)
        if isinstance(value, datetime.datetime):
            return value.date().isoformat()
        return self._render(value)

    def _render(self, value):
        """Text of a value already through ``_plain`` (None when missing)."""
        if value is None:
            return self.null_value
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, datetime.datetime):
            return _iso_datetime(value)
        if isinstance(value, (datetime.date, datetime.time)):
            return value.isoformat()
        if isinstance(value, (list, tuple, dict)):
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                              default=_json_default)
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)   # int (any size), float (shortest round-trip), Decimal, ...


def format_row(schema, row, null_value=""):
    """The cells of ``row`` as text (one-off use; ``CellFormatter`` for many rows)."""
    return CellFormatter(_columns(schema), null_value).format_row(row)


def _plain(value):
    """``value`` as a plain Python object, or None when it stands for a missing one."""
    if value is None or type(value).__name__ in _MISSING_TYPES:
        return None
    kind = type(value)
    if (kind.__module__ or "").split(".")[0] == "numpy" and kind.__name__ != "datetime64":
        value = value.tolist() if hasattr(value, "tolist") else value   # scalars and arrays
    if not isinstance(value, (str, list, tuple, dict)):
        try:
            if value != value:   # NaN of any kind, numpy NaT
                return None
        except (TypeError, ValueError):
            pass
    return value


def _iso_datetime(value):
    text = value.isoformat()
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    return text


def _json_default(value):
    plain = _plain(value)
    if isinstance(plain, datetime.datetime):
        return _iso_datetime(plain)
    if isinstance(plain, (datetime.date, datetime.time)):
        return plain.isoformat()
    return plain if plain is None or plain is not value else str(value)


def _columns(schema):
    columns = schema.get("columns") if isinstance(schema, dict) else schema
    if not isinstance(columns, (list, tuple)):
        raise SftpClientError("The dataset schema has no list of columns.")
    return [column if isinstance(column, dict) else {"name": str(column)}
            for column in columns]


# --- the export -------------------------------------------------------------------

#: Exports opened but neither closed nor aborted. DSS does not call close() after a
#: failure, so their temporary files are removed when the process exits.
_UNFINISHED = set()


class SftpCsvExport(object):
    """``open(schema)``, ``write_row(row)`` per row, then ``close()``. Until close()
    succeeds the data lives under ``.<name>.<token>.sftp-partial`` beside the target,
    a name that is never listed as data."""

    def __init__(self, settings, options):
        self.settings = settings
        self.options = options
        self.path = None
        self.rows = 0
        self._session = self._tree = self._rel = self._temp = self._handle = None
        self._sink = self._gzip = self._writer = None

    def open(self, schema):
        columns = _columns(schema)
        self._formatter = CellFormatter(columns, self.options.null_value)
        self._started = time.time()
        self._session = SftpSession(self.settings).connect()
        _UNFINISHED.add(self)
        try:
            self._start_file()
            self._buffer = io.StringIO(newline="")
            self._writer = csv.writer(self._buffer, delimiter=self.options.delimiter,
                                      quotechar='"', doublequote=True,
                                      quoting=csv.QUOTE_MINIMAL,
                                      lineterminator=LINE_TERMINATOR)
            self._encoder = codecs.getincrementalencoder(self.options.encoding)("strict")
            if self.options.header:
                self._writer.writerow([column.get("name", "") for column in columns])
        except BaseException:
            self.abort()
            raise
        LOG.info("Exporting %d columns to %s on %s", len(columns), self.path,
                 self._session.describe())

    def _start_file(self):
        root = self.settings.root_path
        self.path = entries.resolve_under(root, self.options.remote_path,
                                          LABELS["remote_path"])
        directory, self._rel = posixpath.split(self.path)
        # The directory is created with its parents, each existing one checked to
        # resolve inside the root first: nothing is created through a link that
        # leaves it.
        self._tree = RemoteTree(self._session.open_sftp(), directory, root,
                                label=LABELS["remote_path"])
        self._tree.check_directory(create=True)
        self._check_target()
        try:
            self._temp, self._handle = self._tree.open_partial(self._rel)
        except RemotePermissionError as exc:
            raise RemotePermissionError("Cannot create a file in remote directory %s: "
                                        "permission denied. Check the SFTP user's rights "
                                        "there, or choose another 'Remote file'."
                                        % directory, directory) from exc
        self._sink = _CountingSink(self._handle, self._temp)
        if self.options.compression == "gzip":
            self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=self._sink,
                                       compresslevel=GZIP_LEVEL, mtime=0)

    def _check_target(self):
        """Refuse a directory under the final name, or any file when if_exists=fail."""
        try:
            with remote_errors("checking", self.path):
                mode = self._tree.sftp.stat(self.path).st_mode or 0
        except RemoteNotFoundError:
            return
        if stat.S_ISDIR(mode):
            raise RemoteExistsError("%s is a directory: give a file name in 'Remote file'."
                                    % self.path, self.path)
        if self.options.if_exists == "fail":
            raise self._exists_error()

    def _exists_error(self):
        return RemoteExistsError(
            "%s already exists and 'If the file exists' is 'Fail the export': remove it, "
            "choose another 'Remote file' (e.g. with {timestamp}) or choose 'Overwrite "
            "it'." % self.path, self.path)

    def write_row(self, row):
        if self._writer is None:
            raise SftpClientError("The export to SFTP is not open (it failed or is closed).")
        try:
            self._writer.writerow(self._formatter.format_row(row))
            self.rows += 1
            if self._buffer.tell() >= FLUSH_CHARS:
                self._flush()
        except BaseException:
            self.abort()
            raise

    def _flush(self, final=False):
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        try:
            data = self._encoder.encode(text, final)
        except UnicodeEncodeError as exc:
            raise ConfigError(LABELS["encoding"], "%s cannot represent %r, found in the "
                                                  "first %d rows: choose utf-8." % (
                                                      self.options.encoding,
                                                      exc.object[exc.start:exc.end],
                                                      self.rows)) from None
        (self._gzip or self._sink).write(data)

    def close(self):
        """Send what is left, check the size, rename onto the final name, disconnect."""
        if self._writer is None:
            raise SftpClientError("The export to SFTP is not open (it failed or is closed).")
        try:
            self._flush(final=True)
            if self._gzip is not None:
                self._gzip.close()   # writes the gzip trailer; leaves the handle open
            with remote_errors("writing", self._temp):
                self._handle.close()   # waits for every pipelined write to be confirmed
            self._handle = None
            self._check_target()   # the file may have appeared since open()
            if self.options.if_exists == "fail":
                self._commit_no_clobber()
            else:
                self._tree.commit_partial(self._temp, self._rel, self._sink.count)
            self._temp = None
        except BaseException:
            self.abort()
            raise
        LOG.info("Exported %d rows (%d bytes%s) to %s in %.1f s", self.rows,
                 self._sink.count, ", gzip" if self._gzip else "", self.path,
                 time.time() - self._started)
        self._disconnect()

    def _commit_no_clobber(self):
        """if_exists=fail: check the size, then a plain SFTP rename, which refuses an
        existing target (OpenSSH links then unlinks), so a file that appears at the
        last moment is never replaced."""
        sftp = self._tree.sftp
        self._tree.verify_partial(self._temp, self.path, self._sink.count)
        try:
            with remote_errors("renaming onto", self.path):
                sftp.rename(self._temp, self.path)
        except RemotePathError:
            self._check_target()   # raises the clear error when the file now exists
            raise

    def abort(self):
        """Best effort, never raising for cleanup problems: drop the temporary file
        and the connection. Safe to call more than once."""
        handle, temp, self._handle, self._temp = self._handle, self._temp, None, None
        self._writer = None
        try:
            if self._tree is not None and (handle is not None or temp is not None):
                try:
                    self._tree.sftp.get_channel().settimeout(CLEANUP_TIMEOUT)
                except Exception:  # noqa: BLE001 - a dead channel: removal fails below
                    pass
                if handle is not None:
                    try:
                        with remote_errors("closing", temp):
                            handle.close()
                    except SftpClientError as exc:
                        LOG.debug("Closing the temporary file failed: %s", exc)
                self._tree.discard(temp)
                LOG.info("Export to %s abandoned after %d rows; removed its temporary "
                         "file %s (best effort)", self.path, self.rows, temp)
        finally:
            self._disconnect()

    def _disconnect(self):
        _UNFINISHED.discard(self)
        if self._session is not None:
            self._session.close()
        self._session = self._tree = self._writer = None


class _CountingSink(object):
    """The remote handle as a file for gzip: counts bytes, translates errors."""

    def __init__(self, handle, path):
        self.handle = handle
        self.path = path
        self.count = 0

    def write(self, data):
        with remote_errors("writing", self.path):
            self.handle.write(data)
        self.count += len(data)
        return len(data)

    def flush(self):
        """Nothing to do: the handle sends as it goes."""


@atexit.register
def _abort_unfinished():
    for export in list(_UNFINISHED):
        try:
            export.abort()
        except Exception as exc:  # noqa: BLE001 - at exit, one failure must not stop the rest
            LOG.warning("Could not remove the temporary file of an unfinished export: %s", exc)
