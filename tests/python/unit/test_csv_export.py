"""csv_export's pure parts: cell formatting by DSS type, CSV quoting, placeholders and
option validation (errors name the field as DSS shows it).

pandas and numpy are not installed here: their values are stood in for by small
classes with the same type names and modules, which is all the formatter looks at.
"""
import csv
import datetime
import decimal
import io

import pytest

from sftp_client.export import writer as csv_export
from sftp_client.export.writer import (ExportOptions, CellFormatter, LINE_TERMINATOR,
                                       export_options_from_config, format_row)
from sftp_client.errors import ConfigError

NOW = datetime.datetime(2024, 5, 31, 10, 15, 7, tzinfo=datetime.timezone.utc)
UTC = datetime.timezone.utc


# --- stand-ins for pandas / numpy values ------------------------------------------

class NaTType(object):
    """Like pandas.NaT: not equal to itself is NOT relied on, the type name is."""

    def __eq__(self, other):
        return False

    def __ne__(self, other):
        return True


class NAType(object):
    """Like pandas.NA: comparing it gives NA, whose truth value raises."""

    def __ne__(self, other):
        return self

    def __bool__(self):
        raise TypeError("boolean value of NA is ambiguous")


def numpy_scalar(value):
    """An object shaped like a numpy scalar (module numpy, ``tolist()``)."""
    kind = type("float64" if isinstance(value, float) else "int64", (object,),
                {"__module__": "numpy", "tolist": lambda self: value})
    return kind()


class Timestamp(datetime.datetime):
    """pandas.Timestamp is a datetime subclass."""
    __module__ = "pandas._libs.tslibs.timestamps"


def cell(kind, value, null_value=""):
    return CellFormatter([{"name": "c", "type": kind}], null_value).format_row((value,))[0]


# --- cells by type ----------------------------------------------------------------

@pytest.mark.parametrize("kind,value,expected", [
    # strings pass through untouched, whatever the column type
    ("string", "plain", "plain"),
    ("int", "3.0", "3.0"),
    ("string", "", ""),
    ("string", "Grüße, 東京 🚀", "Grüße, 東京 🚀"),
    # pandas hands ints as floats
    ("int", 3.0, "3"),
    ("bigint", -42.0, "-42"),
    ("smallint", 0.0, "0"),
    ("tinyint", numpy_scalar(7.0), "7"),
    ("int", 3, "3"),
    ("int", numpy_scalar(5), "5"),
    ("int", 2.5, "2.5"),
    # bigints beyond float precision stay exact as int or str
    ("bigint", 2 ** 63 - 1, "9223372036854775807"),
    ("bigint", 9007199254740993, "9007199254740993"),
    ("bigint", "9007199254740993", "9007199254740993"),
    # floats: shortest round-trip text
    ("double", 3.0, "3.0"),
    ("double", 0.1, "0.1"),
    ("float", numpy_scalar(1.5), "1.5"),
    ("double", decimal.Decimal("1.10"), "1.10"),
    ("double", -0.0, "-0.0"),
    ("double", 1e20, "1e+20"),
    ("double", 2, "2"),
    ("int", True, "true"),
    # booleans
    ("boolean", True, "true"),
    ("boolean", False, "false"),
    ("boolean", 1.0, "true"),
    ("boolean", 0, "false"),
    ("boolean", "true", "true"),
    ("string", True, "true"),
    # dates: a DSS "date" is a UTC instant; naive values are UTC already
    ("date", datetime.datetime(2024, 5, 31, 10, 15, 7), "2024-05-31T10:15:07Z"),
    ("date", datetime.datetime(2024, 5, 31, 10, 15, 7, 123000, tzinfo=UTC),
     "2024-05-31T10:15:07.123000Z"),
    ("date", Timestamp(2024, 5, 31, tzinfo=UTC), "2024-05-31T00:00:00Z"),
    ("date", Timestamp(2024, 5, 31, 23, 59, 59), "2024-05-31T23:59:59Z"),
    ("date", datetime.datetime(2024, 5, 31, 12, 0, tzinfo=datetime.timezone(
        datetime.timedelta(hours=2))), "2024-05-31T10:00:00Z"),
    ("date", datetime.date(2024, 5, 31), "2024-05-31"),
    ("date", "2024-05-31T10:15:07.000Z", "2024-05-31T10:15:07.000Z"),
    ("dateonly", datetime.date(2024, 5, 31), "2024-05-31"),
    ("dateonly", Timestamp(2024, 5, 31), "2024-05-31"),
    ("datetimenotz", datetime.datetime(2024, 5, 31, 10, 15, 7), "2024-05-31T10:15:07"),
    ("string", datetime.datetime(2024, 5, 31, 10, 15, 7, tzinfo=UTC),
     "2024-05-31T10:15:07Z"),
    # arrays, maps and objects as JSON
    ("array", [1, "a", None, True], '[1,"a",null,true]'),
    ("array", ("x", 2.5), '["x",2.5]'),
    ("map", {"k": "é", "n": numpy_scalar(4)}, '{"k":"é","n":4}'),
    ("object", {"when": datetime.date(2024, 1, 2)}, '{"when":"2024-01-02"}'),
    ("array", '["already","json"]', '["already","json"]'),
    # types newer than this plugin: plain text
    ("geopoint", "POINT(2.35 48.85)", "POINT(2.35 48.85)"),
    ("some_future_type", 12, "12"),
])
def test_cell_is_rendered_by_schema_type(kind, value, expected):
    assert cell(kind, value) == expected


@pytest.mark.parametrize("value", [None, float("nan"), NaTType(), NAType(),
                                   numpy_scalar(float("nan")), decimal.Decimal("NaN")])
@pytest.mark.parametrize("kind", ["string", "int", "bigint", "double", "boolean", "date",
                                  "array", "unknown"])
def test_missing_values_are_written_as_null_value(kind, value):
    assert cell(kind, value) == ""
    assert cell(kind, value, null_value="NULL") == "NULL"


def test_empty_string_differs_from_missing_only_when_null_value_is_set():
    assert format_row({"columns": [{"name": "a", "type": "string"}] * 2}, ("", None),
                      null_value="\\N") == ["", "\\N"]


def test_format_row_pads_short_rows_and_keeps_extra_values():
    formatter = CellFormatter([{"name": "a", "type": "int"}, {"name": "b", "type": "int"}])
    assert formatter.format_row((1.0,)) == ["1", ""]
    assert formatter.format_row((1.0, 2.0, 3.0)) == ["1", "2", "3.0"]


# --- CSV text ---------------------------------------------------------------------

def csv_text(rows, delimiter=","):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL,
                        lineterminator=LINE_TERMINATOR)
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue()


@pytest.mark.parametrize("value,expected", [
    ("a,b", '"a,b"'),
    ('say "hi"', '"say ""hi"""'),
    ("two\nlines", '"two\nlines"'),
    ("cr\rhere", '"cr\rhere"'),
    ("crlf\r\n", '"crlf\r\n"'),
    ("tab\tok", "tab\tok"),
    ("plain", "plain"),
])
def test_values_are_quoted_as_rfc4180(value, expected):
    assert csv_text([["x", value]]) == "x," + expected + "\r\n"


def test_tsv_quotes_tabs_and_reads_back():
    text = csv_text([["a\tb", "c"]], delimiter="\t")
    assert text == '"a\tb"\tc\r\n'
    assert list(csv.reader(io.StringIO(text, newline=""), delimiter="\t")) == [["a\tb", "c"]]


# --- options ----------------------------------------------------------------------

def options(**raw):
    raw.setdefault("remote_path", "exports/out.csv")
    return export_options_from_config(raw, now=NOW)


def test_defaults_give_rfc4180_csv_in_utf8():
    assert options() == ExportOptions(remote_path="exports/out.csv", format="csv",
                                      delimiter=",", header=True, compression="none",
                                      if_exists="overwrite", encoding="utf-8", null_value="")


def test_values_dss_leaves_unset_get_defaults():
    raw = {"remote_path": "a.csv", "format": None, "header": None, "compression": "",
           "if_exists": None, "delimiter": None, "encoding": "", "null_value": None}
    assert export_options_from_config(raw, now=NOW) == ExportOptions(remote_path="a.csv")


@pytest.mark.parametrize("template,expected", [
    ("exports/sales_{date}.csv", "exports/sales_2024-05-31.csv"),
    ("exports/sales_{timestamp}.csv.gz", "exports/sales_20240531T101507Z.csv.gz"),
    ("{date}/{timestamp}.tsv", "2024-05-31/20240531T101507Z.tsv"),
    ("no_placeholder.csv", "no_placeholder.csv"),
])
def test_placeholders_expand_in_utc(template, expected):
    assert options(remote_path=template).remote_path == expected


def test_placeholders_convert_an_aware_now_to_utc():
    paris_evening = datetime.datetime(2024, 5, 31, 23, 30, tzinfo=datetime.timezone(
        datetime.timedelta(hours=-2)))
    opts = export_options_from_config({"remote_path": "{date}_{timestamp}"},
                                      now=paris_evening)
    assert opts.remote_path == "2024-06-01_20240601T013000Z"


def test_tsv_and_delimiter_choices():
    assert options(format="tsv").delimiter == "\t"
    assert options(format="tsv", delimiter=";").delimiter == ";"
    assert options(delimiter="\\t").delimiter == "\t"
    assert options(delimiter="|").delimiter == "|"


def test_other_options_are_kept():
    opts = options(header=False, compression="gzip", if_exists="fail",
                   encoding="Latin-1", null_value="NULL")
    assert (opts.header, opts.compression, opts.if_exists, opts.encoding,
            opts.null_value) == (False, "gzip", "fail", "iso8859-1", "NULL")
    assert options(header="false").header is False


@pytest.mark.parametrize("raw,label,hint", [
    ({"remote_path": ""}, "Remote file", "give the file to write"),
    ({"remote_path": None}, "Remote file", "give the file to write"),
    ({"remote_path": "exports/"}, "Remote file", "give the file to write"),
    ({"remote_path": "exports/{user}.csv"}, "Remote file", "unknown placeholder {user}"),
    ({"remote_path": "exports/{}.csv"}, "Remote file", "unknown placeholder {}"),
    ({"remote_path": "../outside.csv"}, "Remote file", "'..'"),
    ({"remote_path": 12}, "Remote file", "expected text"),
    ({"format": "xlsx"}, "Format", "must be one of csv, tsv"),
    ({"compression": "zip"}, "Compression", "must be one of none, gzip"),
    ({"if_exists": "append"}, "If the file exists", "must be one of overwrite, fail"),
    ({"header": "yes"}, "Header line", "expected true or false"),
    ({"delimiter": ";;"}, "Delimiter", "must be one character"),
    ({"delimiter": '"'}, "Delimiter", "other than a quote"),
    ({"delimiter": "\n"}, "Delimiter", "line break"),
    ({"encoding": "klingon"}, "Encoding", "unknown text encoding 'klingon'"),
    ({"encoding": "base64"}, "Encoding", "unknown text encoding"),
    ({"null_value": 0}, "Missing values as", "expected text"),
])
def test_invalid_options_name_the_field(raw, label, hint):
    raw = dict({"remote_path": "out.csv"}, **raw)
    with pytest.raises(ConfigError) as err:
        export_options_from_config(raw, now=NOW)
    assert err.value.field == label
    assert str(err.value).startswith('Invalid "%s": ' % label)
    assert hint in str(err.value)


def test_labels_match_the_exporter_descriptor():
    import json
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "python-exporters",
                        "sftp-python-connector_export-to-sftp", "exporter.json")
    with open(path) as handle:
        params = {p["name"]: p["label"] for p in json.load(handle)["params"] if "name" in p}
    for name, label in csv_export.LABELS.items():
        assert params[name] == label


class _NoOffset(datetime.tzinfo):
    def utcoffset(self, moment):
        return None


def test_csv_cells_write_the_same_text_as_format_row():
    """The compiled row function passes plain values to csv.writer; what the
    writer makes of them is exactly the formatter's text."""
    columns = [{"name": n, "type": t} for n, t in (
        ("i", "int"), ("b", "bigint"), ("d", "double"), ("f", "float"), ("s", "string"),
        ("o", "boolean"), ("t", "date"), ("y", "dateonly"), ("a", "array"))]
    formatter = CellFormatter(columns, null_value="NULL")
    paris = datetime.timezone(datetime.timedelta(hours=2))
    rows = [
        (1, 2 ** 70, 0.1, float("nan"), "x,y", True, datetime.datetime(2024, 1, 2, 3, 4, 5,
         6, tzinfo=datetime.timezone.utc), datetime.date(2024, 1, 2), [1, "a"]),
        (3.0, float("nan"), 1e300, 2.5, None, False, datetime.datetime(2024, 1, 2, 3, 4),
         None, "[]"),
        (True, "7", -0.0, 1, 5, 1, datetime.datetime(2024, 1, 2, 3, tzinfo=paris),
         "2024-01-02", None),
        (None, None, None, None, "", 0, datetime.datetime(2024, 1, 2, tzinfo=_NoOffset()),
         datetime.datetime(2024, 1, 2, 23, 0), ()),
    ]
    for row in rows:
        via_csv, expected = io.StringIO(), io.StringIO()
        csv.writer(via_csv).writerow(formatter.csv_cells(row))
        csv.writer(expected).writerow(formatter.format_row(row))
        assert via_csv.getvalue() == expected.getvalue(), row
    assert formatter.csv_cells((1, 2)) == formatter.format_row((1, 2))   # short row


def test_float32_text_is_the_shortest_that_reads_back():
    """The binary search over digit counts gives what trying every count from 1
    up gives, for random float32 bit patterns (the extremes included)."""
    import random
    import struct
    from sftp_client.export import cells

    def linear(value):
        target = struct.pack("<f", value)
        for digits in range(1, 10):
            candidate = float("%.*g" % (digits, value))
            try:
                if struct.pack("<f", candidate) == target:
                    return repr(candidate)
            except OverflowError:
                continue

    rng = random.Random(12)
    values = [struct.unpack("<f", struct.pack("<I", rng.getrandbits(32)))[0]
              for _ in range(20000)]
    values += [3.4028234663852886e38, 1.401298464324817e-45, 0.10000000149011612]
    for value in values:
        if value == value and abs(value) != float("inf"):
            assert cells._shortest_float32(value) == linear(value), value
