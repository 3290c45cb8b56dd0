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
import gzip
import io
import logging
import posixpath
import stat
import time

from sftp_client import entries
from sftp_client.export.cells import CellFormatter, _columns, format_row
from sftp_client.errors import (ConfigError, ConnectionLostError, RemoteExistsError,
                                RemoteNotFoundError, RemotePathError, RemotePermissionError,
                                SftpClientError)
from sftp_client.export.options import (COMPRESSIONS, FORMATS, IF_EXISTS, LABELS, ExportOptions,
                                        export_options_from_config, expand_placeholders)
from sftp_client.remote.tree import RemoteTree, remote_errors
from sftp_client.remote.error_map import QUIET_ERRORS
from sftp_client.connect.session import SftpSession

__all__ = ["COMPRESSIONS", "CellFormatter", "ExportOptions", "FORMATS", "IF_EXISTS",
           "LABELS", "LINE_TERMINATOR", "SftpCsvExport", "expand_placeholders",
           "export_options_from_config", "format_row"]

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
        except BaseException as exc:
            self._abort_after(exc)
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
        self._tree.sweep_partials()
        self._check_target()
        try:
            self._temp, self._handle = self._tree.open_partial(self._rel)
        except RemotePermissionError as exc:
            raise RemotePermissionError("Cannot create a file in remote directory %s: "
                                        "permission denied. Check the SFTP user's rights "
                                        "there, or choose another 'Remote file'."
                                        % directory, directory) from exc
        self._sink = _CountingSink(self._handle, self.path)
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
            self._writer.writerow(self._formatter.csv_cells(row))
            self.rows += 1
            if self._buffer.tell() >= FLUSH_CHARS:
                self._flush()
        except BaseException as exc:
            self._abort_after(exc)
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
            with remote_errors("writing", self.path):
                self._handle.close()   # waits for every pipelined write to be confirmed
            self._handle = None
            self._check_target()   # the file may have appeared since open()
            if self.options.if_exists == "fail":
                self._commit_no_clobber()
            else:
                self._tree.commit_partial(self._temp, self._rel, self._sink.count)
            self._temp = None
        except BaseException as exc:
            self._abort_after(exc)
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

    def _abort_after(self, exc):
        """Abort after ``exc``; a connection known to be lost is given up first,
        so that the cleanup does not wait on it."""
        if isinstance(exc, ConnectionLostError) and self._tree is not None:
            self._tree.abandon()
        self.abort()

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
                    except (SftpClientError,) + QUIET_ERRORS as exc:
                        LOG.debug("Closing the temporary file failed: %s", exc)
                self._tree.discard(temp)
                LOG.info("Export to %s abandoned after %d rows; %s", self.path, self.rows,
                         "its temporary file is removed by the next export or upload "
                         "into that directory" if self._tree.abandoned else
                         "removed its temporary file (best effort)")
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
