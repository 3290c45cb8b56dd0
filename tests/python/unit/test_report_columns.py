"""Report datasets: times are typed ``date`` and hold ISO-8601 UTC text."""
import datetime
import re

from sftp_client.sync.run import DOWNLOAD, UPLOAD, iso_time, report_columns


def test_time_columns_are_dates():
    for direction in (DOWNLOAD, UPLOAD):
        types = dict(report_columns(direction))
        assert types["modified"] == "date" and types["transferred_at"] == "date"
        assert types["size"] == "bigint" and types["path"] == "string"


def test_iso_time_is_utc_iso_8601():
    text = iso_time(1600000000.7)
    assert text == "2020-09-13T12:26:40Z"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", text)
    parsed = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    assert parsed.replace(tzinfo=datetime.timezone.utc).timestamp() == 1600000000
    assert iso_time(None) == ""
