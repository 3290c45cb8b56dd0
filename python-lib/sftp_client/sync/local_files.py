"""Local files of the DSS host, as the folder trees use them."""
import errno
import logging
import os

from sftp_client import entries

LOG = logging.getLogger(__name__)


def printable_path(path):
    """A local path for a log line or report: names that are not UTF-8 escaped."""
    return entries.printable(entries.safe_name(os.fsencode(path)))


def remove_quietly(path):
    try:
        os.remove(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            LOG.warning("Could not remove %s: %s", printable_path(path), exc.strerror)
