"""What users read when something fails: the run's final error (one line naming
the first failures), low-level exception texts that are never empty, and the job
log without paramiko's raw 'Socket exception' lines (issue 9, items 3 and 8)."""
import logging

import paramiko
import pytest

from sftp_client.dss import dss_io
from sftp_client.errors import describe
from sftp_client.remote.error_map import remote_errors
from sftp_client.errors import ConnectionLostError
from sftp_client.sync.run import DOWNLOAD, UPLOAD, failure_message


def rows(column, *failures, **others):
    found = [{"path": path, column: "failed", "error": error} for path, error in failures]
    for word, count in others.items():
        found.extend({"path": "/ok%d" % n, column: word, "error": ""} for n in range(count))
    return found


def test_one_failure_is_named_with_its_cause():
    text = failure_message(DOWNLOAD, rows("action", ("/a.csv", "Permission denied.")),
                           "Download finished: 1 failed")
    assert text == ("Download: 1 file failed: /a.csv: Permission denied. Download "
                    "finished: 1 failed; see the report and the log.")


def test_the_first_three_failures_are_named_and_the_rest_counted():
    failures = [("/f%d.csv" % n, "lost while reading (after 3 attempts)") for n in range(5)]
    text = failure_message(UPLOAD, rows("status", *failures, uploaded=2), "summary")
    assert text.startswith("Upload: 5 files failed. First: /f0.csv: lost while reading "
                           "(after 3 attempts); /f1.csv: ")
    assert "/f2.csv" in text and "/f3.csv" not in text and "; and 2 more." in text
    assert "\n" not in text


def test_names_and_errors_cannot_break_the_line():
    text = failure_message(DOWNLOAD, rows("action", ("/a\nINFO forged", "x" * 1000)), "s")
    assert "\n" not in text and "/a\\nINFO forged" in text and len(text) < 400


@pytest.mark.parametrize("exc, words", [
    (EOFError(), "the server closed the connection"),
    (paramiko.SSHException("Server connection dropped: "), "Server connection dropped"),
    (paramiko.SSHException(), "SSHException"),
    (paramiko.SSHException("Channel closed."), "Channel closed."),
])
def test_exception_texts_are_never_empty(exc, words):
    assert describe(exc) == words
    with pytest.raises(ConnectionLostError) as info:
        with remote_errors("reading", "/x"):
            raise exc
    assert "()" not in str(info.value) and ": )" not in str(info.value)
    assert words in str(info.value)


def test_paramiko_socket_exception_lines_are_filtered(caplog):
    dss_io.setup_logging()
    dss_io.setup_logging()                      # idempotent: one filter
    transport_log = logging.getLogger("paramiko.transport")
    assert transport_log.filters.count(dss_io._NOISE_FILTER) == 1
    caplog.set_level(logging.INFO)
    transport_log.error("Socket exception: Connection reset by peer (104)")
    transport_log.error("Unknown exception: something else")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["Unknown exception: something else"]
