"""The exporter's options: ``export_options_from_config(raw)`` validates the
exporter's params once into an immutable ``ExportOptions``; errors name the field
as the Export dialog shows it.
"""
import codecs
import datetime
import re
from typing import NamedTuple

from sftp_client import entries
from sftp_client.errors import ConfigError, UnsafePathError
from sftp_client.connect.fields import boolean_param, choice_param, text_param

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


class ExportOptions(NamedTuple):
    remote_path: str           # relative to the service's root path, placeholders expanded
    format: str = "csv"
    delimiter: str = ","
    header: bool = True
    compression: str = "none"  # none / gzip
    if_exists: str = "overwrite"   # overwrite / fail
    encoding: str = "utf-8"    # Python codec name
    null_value: str = ""


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

