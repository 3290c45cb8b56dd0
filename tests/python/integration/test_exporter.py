"""The real sftp-python-connector_export-to-sftp exporter.py, driven the way DSS drives it (find the one
Exporter subclass, construct it with (config, plugin_config), open(schema),
write_row per row, close() only on success) through the stand-in dataiku package,
against the real sshd (directly and through each proxy) and a fake server that has
no posix-rename or cuts the connection. Files are read back from the server's disk.
"""
import csv
import datetime
import gzip
import io
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import PROJECT_DIR, PROXY_CASES, TESTS_DIR, proxy_fields, tree_of
from helpers.fake_sftp import FakeSftpServer
from sftp_client.export import writer as csv_export
from sftp_client.entries import is_internal
from sftp_client.errors import (AuthenticationError, ConfigError, ConnectionLostError,
                                ProxyAuthError, RemoteExistsError, RemotePermissionError,
                                UnsafePathError)

EXPORTER = os.path.join(PROJECT_DIR, "python-exporters", "sftp-python-connector_export-to-sftp", "exporter.py")
STUB_PATHS = [os.path.join(PROJECT_DIR, "python-lib"), os.path.join(TESTS_DIR, "stubs"),
              TESTS_DIR]
UTC = datetime.timezone.utc

SCHEMA = {"columns": [
    {"name": "id", "type": "int"}, {"name": "name", "type": "string"},
    {"name": "price", "type": "double"}, {"name": "active", "type": "boolean"},
    {"name": "created", "type": "date"}, {"name": "tags", "type": "array"},
    {"name": "note", "type": "string"}]}


class NaTType(object):
    """Stands in for pandas.NaT (pandas is not installed): known by its type name."""

    def __eq__(self, other):
        return False

    def __ne__(self, other):
        return True


NaT = NaTType()
NAN = float("nan")

# What the pandas-reading host module hands over: ints as floats, NaN/NaT/None.
TYPED_ROWS = [
    (1.0, "Alice", 9.99, True, datetime.datetime(2024, 5, 31, 10, 15, 7), ["a", "b"], ""),
    (2.0, "Bob, Jr.", NAN, False, NaT, None, None),
    (NAN, 'say "hi"', 3.0, None, datetime.datetime(2024, 1, 1, tzinfo=UTC), [],
     "line1\nline2"),
    (-7.0, "Zo\u00eb \u6771\u4eac \U0001F680", 1e-7, NAN, None, NAN, "tab\there"),
]
TYPED_CSV = (
    b'id,name,price,active,created,tags,note\r\n'
    b'1,Alice,9.99,true,2024-05-31T10:15:07Z,"[""a"",""b""]",\r\n'
    b'2,"Bob, Jr.",,false,,,\r\n'
    b',"say ""hi""",3.0,,2024-01-01T00:00:00Z,[],"line1\nline2"\r\n'
    + "-7,Zo\u00eb \u6771\u4eac \U0001F680,1e-07,,,,tab\there\r\n".encode("utf-8"))

# What the base-class docstring promises: a tuple of strings.
STRING_ROWS = [
    ("1", "Alice", "9.99", "true", "2024-05-31T10:15:07.000Z", '["a","b"]', ""),
    ("2", "Bob, Jr.", "", "false", "", "", ""),
]
STRING_CSV = (
    b'id,name,price,active,created,tags,note\r\n'
    b'1,Alice,9.99,true,2024-05-31T10:15:07.000Z,"[""a"",""b""]",\r\n'
    b'2,"Bob, Jr.",,false,,,\r\n')

TRICKY = ["a,b", 'q"uote', '"', "new\nline", "cr\rlf\r\n", "tab\there", "semi;colon",
          "Gr\u00fc\u00dfe \u6771\u4eac \U0001F680", "", "  spaces  ", "=1+1", "\\N"]


def export(dss, service, remote_path, rows, schema=SCHEMA, abort_after=None,
           plugin_config=None, **options):
    config = dict(sftp_service=service, remote_path=remote_path, **options)
    return dss.run_exporter(EXPORTER, config, plugin_config or {}, schema, rows,
                            abort_after=abort_after)


def parse(data, delimiter=","):
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""),
                           delimiter=delimiter))


def partials(directory):
    return sorted(path for path in tree_of(directory)
                  if is_internal(os.path.basename(path)))


def wide_rows(count, width=1000):
    for i in range(count):
        yield (float(i), "x" * width, i * 0.5, i % 2 == 0, None, None, "row %d" % i)


@pytest.fixture(autouse=True)
def no_unfinished_exports():
    """An aborted export keeps its connection until the process exits (as in DSS);
    end any a test left behind, the way the exit hook does."""
    yield
    csv_export._abort_unfinished()


# --- content ----------------------------------------------------------------------

def test_typed_rows_are_written_by_schema_type(dss, preset, remote_dir):
    export(dss, preset(), remote_dir.name + "/typed.csv", TYPED_ROWS)
    assert tree_of(remote_dir.path) == {"typed.csv": TYPED_CSV}


def test_string_rows_are_written_as_given(dss, preset, remote_dir):
    export(dss, preset(), remote_dir.name + "/strings.csv", STRING_ROWS)
    assert remote_dir.read("strings.csv") == STRING_CSV


@pytest.mark.parametrize("fmt, delimiter", [("csv", ","), ("tsv", "\t")])
def test_tricky_values_read_back_identically(dss, preset, remote_dir, fmt, delimiter):
    schema = {"columns": [{"name": "i", "type": "int"}, {"name": "value", "type": "string"},
                          {"name": "missing", "type": "string"}]}
    rows = [(float(i), value, None) for i, value in enumerate(TRICKY)]
    export(dss, preset(), remote_dir.name + "/tricky." + fmt, rows, schema=schema,
           format=fmt)
    data = remote_dir.read("tricky." + fmt)
    assert parse(data, delimiter) == [["i", "value", "missing"]] + [
        [str(i), value, ""] for i, value in enumerate(TRICKY)]
    # RFC 4180: quoted only when needed, quotes doubled, CRLF after each row.
    line = b"1," if fmt == "csv" else b"1\t"
    assert line + b'"q""uote"' in data
    assert data.endswith(b"\\N" + (b"," if fmt == "csv" else b"\t") + b"\r\n")
    if fmt == "tsv":
        assert b'"tab\there"' in data and b"\ta,b\t" in data


def test_empty_string_and_missing_differ_with_a_null_value(dss, preset, remote_dir):
    schema = {"columns": [{"name": "a", "type": "string"}, {"name": "b", "type": "bigint"}]}
    export(dss, preset(), remote_dir.name + "/nulls.csv", [("", NAN), (None, 0.0)],
           schema=schema, null_value="NULL")
    assert remote_dir.read("nulls.csv") == b"a,b\r\n,NULL\r\nNULL,0\r\n"


def test_header_off(dss, preset, remote_dir):
    export(dss, preset(), remote_dir.name + "/noheader.csv", STRING_ROWS, header=False)
    assert remote_dir.read("noheader.csv") == STRING_CSV.split(b"\r\n", 1)[1]


def test_empty_dataset_gives_the_header_only(dss, preset, remote_dir):
    export(dss, preset(), remote_dir.name + "/empty.csv", [])
    assert remote_dir.read("empty.csv") == STRING_CSV.split(b"\r\n", 1)[0] + b"\r\n"


def test_gzip_is_valid_and_holds_the_same_content(dss, preset, remote_dir):
    rows = list(wide_rows(3000, width=200)) + TYPED_ROWS
    export(dss, preset(), remote_dir.name + "/plain.csv", rows)
    export(dss, preset(), remote_dir.name + "/packed.csv.gz", rows, compression="gzip")
    plain, packed = remote_dir.read("plain.csv"), remote_dir.read("packed.csv.gz")
    assert packed[:2] == b"\x1f\x8b"
    with gzip.GzipFile(fileobj=io.BytesIO(packed)) as handle:   # checks CRC and size
        assert handle.read() == plain
    assert len(packed) < len(plain) / 5
    assert plain.endswith(TYPED_CSV.split(b"\r\n", 1)[1])


def test_tsv_and_encoding_options(dss, preset, remote_dir):
    export(dss, preset(), remote_dir.name + "/latin.tsv", [("1", "caf\u00e9", "", "", "",
                                                            "", "")],
           format="tsv", encoding="latin-1", header=False)
    assert remote_dir.read("latin.tsv") == b"1\tcaf\xe9\t\t\t\t\t\r\n"


# --- paths ------------------------------------------------------------------------

def test_placeholders_expand_in_utc(dss, preset, remote_dir):
    before = datetime.datetime.now(UTC).replace(microsecond=0)
    export(dss, preset(), remote_dir.name + "/{date}/sales_{timestamp}.csv", STRING_ROWS)
    after = datetime.datetime.now(UTC)
    (path,) = tree_of(remote_dir.path)
    day, name = path.split("/")
    stamp = datetime.datetime.strptime(name, "sales_%Y%m%dT%H%M%SZ.csv").replace(tzinfo=UTC)
    assert before <= stamp <= after
    assert day == stamp.strftime("%Y-%m-%d")
    assert remote_dir.read(path) == STRING_CSV


def test_missing_parent_directories_are_created(dss, preset, remote_dir):
    export(dss, preset(), remote_dir.name + "/a/b c/d/out.csv", STRING_ROWS)
    assert tree_of(remote_dir.path) == {"a/b c/d/out.csv": STRING_CSV}


def test_absolute_remote_path_inside_the_root_is_accepted(dss, preset, remote_dir, sshd):
    export(dss, preset(), remote_dir.path + "/abs.csv", STRING_ROWS)
    assert remote_dir.read("abs.csv") == STRING_CSV


@pytest.mark.parametrize("remote_path", ["../outside.csv", "data/../../outside.csv"])
def test_dot_dot_is_refused_before_connecting(dss, preset, remote_path):
    with pytest.raises(ConfigError) as info:
        export(dss, preset(port=1), remote_path, STRING_ROWS)
    assert info.value.field == "Remote file"


def test_absolute_path_outside_the_root_is_refused(dss, preset, sshd, tmp_path):
    outside = str(tmp_path / "outside.csv")
    with pytest.raises(UnsafePathError) as info:
        export(dss, preset(), outside, STRING_ROWS)
    assert "outside the service's root path" in str(info.value)
    assert not os.path.exists(outside)


def test_symbolic_link_out_of_the_root_is_refused_before_creating_anything(
        dss, preset, remote_dir, sshd):
    # A directory the SFTP user may write to, beside the root path.
    outside = os.path.join(sshd.dir, "outside-" + remote_dir.name)
    os.mkdir(outside)
    os.chmod(outside, 0o777)
    os.symlink(outside, os.path.join(remote_dir.path, "link"))
    for remote_path in ("link/new/out.csv", "link/out.csv"):
        with pytest.raises(UnsafePathError) as info:
            export(dss, preset(), remote_dir.name + "/" + remote_path, STRING_ROWS)
        assert "outside the service's root path" in str(info.value)
        assert os.listdir(outside) == []


def test_target_that_is_a_directory_is_refused(dss, preset, remote_dir):
    remote_dir.mkdir("out.csv")
    with pytest.raises(RemoteExistsError) as info:
        export(dss, preset(), remote_dir.name + "/out.csv", STRING_ROWS)
    assert "is a directory" in str(info.value)
    assert partials(remote_dir.path) == []


def test_unwritable_directory_gives_a_clear_error(dss, preset, remote_dir):
    locked = remote_dir.mkdir("locked")
    os.chmod(locked, 0o555)
    with pytest.raises(RemotePermissionError) as info:
        export(dss, preset(), remote_dir.name + "/locked/out.csv", STRING_ROWS)
    assert "Cannot create a file in remote directory %s: permission denied" % locked \
        in str(info.value)
    assert os.listdir(locked) == []


# --- existing files, atomicity, failures --------------------------------------------

def test_if_exists_fail_keeps_the_existing_file(dss, preset, remote_dir):
    remote_dir.write("out.csv", b"precious\n")
    with pytest.raises(RemoteExistsError) as info:
        export(dss, preset(), remote_dir.name + "/out.csv", STRING_ROWS, if_exists="fail")
    assert "already exists and 'If the file exists' is 'Fail the export'" in str(info.value)
    assert tree_of(remote_dir.path) == {"out.csv": b"precious\n"}


def test_if_exists_fail_writes_a_new_file(dss, preset, remote_dir):
    export(dss, preset(), remote_dir.name + "/new.csv", STRING_ROWS, if_exists="fail")
    assert tree_of(remote_dir.path) == {"new.csv": STRING_CSV}


def test_if_exists_fail_never_replaces_a_file_that_appears_meanwhile(dss, preset,
                                                                      remote_dir):
    def rows():
        yield STRING_ROWS[0]
        remote_dir.write("out.csv", b"arrived meanwhile\n")
        yield STRING_ROWS[1]
    with pytest.raises(RemoteExistsError):
        export(dss, preset(), remote_dir.name + "/out.csv", rows(), if_exists="fail")
    assert tree_of(remote_dir.path) == {"out.csv": b"arrived meanwhile\n"}


def test_overwrite_replaces_atomically(dss, preset, remote_dir):
    old = remote_dir.write("out.csv", b"old content\n")
    old_inode = os.stat(old).st_ino
    seen = []

    def rows():
        for i, row in enumerate(wide_rows(2000)):
            if i == 1000:   # mid-stream: data is on the server, beside the old file
                files = tree_of(remote_dir.path)
                seen.append(files.pop("out.csv"))
                (temp,) = files
                assert is_internal(os.path.basename(temp)) and temp.startswith(".out.csv.")
                assert len(files[temp]) > 500 * 1000
            yield row
    export(dss, preset(), remote_dir.name + "/out.csv", rows())
    assert seen == [b"old content\n"]
    data = remote_dir.read("out.csv")
    assert data.startswith(b"id,name,") and data.count(b"\r\n") == 2001
    assert os.stat(old).st_ino != old_inode   # renamed into place, not rewritten
    assert list(tree_of(remote_dir.path)) == ["out.csv"]


def test_aborted_export_leaves_the_old_file_and_no_final_name(dss, preset, remote_dir):
    remote_dir.write("out.csv", b"old content\n")
    with pytest.raises(dss.ExportAborted) as info:
        export(dss, preset(), remote_dir.name + "/out.csv", wide_rows(2000),
               abort_after=1000)
    assert info.value.rows_written == 1000
    files = tree_of(remote_dir.path)
    assert files.pop("out.csv") == b"old content\n"
    # Rows went out as they came; they sit under a hidden partial name only.
    (temp,) = files
    assert is_internal(os.path.basename(temp)) and len(files[temp]) > 500 * 1000
    with pytest.raises(dss.ExportAborted):
        export(dss, preset(), remote_dir.name + "/fresh.csv", wide_rows(10), abort_after=5)
    assert "fresh.csv" not in tree_of(remote_dir.path)
    # What runs when the DSS process exits removes the temporary files.
    csv_export._abort_unfinished()
    assert tree_of(remote_dir.path) == {"out.csv": b"old content\n"}


ABORT_SCRIPT = r"""
import json, sys
spec = json.load(sys.stdin)
sys.path[:0] = spec["paths"]
from dataiku import _harness

def rows():
    for i in range(spec["rows"]):
        yield (float(i), "x" * 1000, 0.5, True, None, None, "")

_harness.run_exporter(spec["exporter"], spec["config"], {}, spec["schema"], rows(),
                      abort_after=spec["abort_after"])
"""


def test_aborted_export_leaves_no_temporary_file_once_the_process_exits(preset,
                                                                         remote_dir, sshd):
    remote_dir.write("out.csv", b"old content\n")
    spec = {"paths": STUB_PATHS, "exporter": EXPORTER, "schema": SCHEMA, "rows": 5000,
            "abort_after": 3000,
            "config": {"sftp_service": preset(), "remote_path": remote_dir.name + "/out.csv"}}
    proc = subprocess.run([sys.executable, "-c", ABORT_SCRIPT], input=json.dumps(spec),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)
    assert proc.returncode == 1 and "ExportAborted: export aborted after 3000 rows" \
        in proc.stderr
    assert "abandoned after 3000 rows; removed its temporary file" in proc.stderr
    assert sshd.password not in proc.stderr + proc.stdout
    assert tree_of(remote_dir.path) == {"out.csv": b"old content\n"}


def test_failure_inside_the_exporter_cleans_up_at_once(dss, preset, remote_dir):
    remote_dir.write("out.csv", b"old content\n")
    rows = list(wide_rows(400)) + [("1", "\u6771\u4eac", "", "", "", "", "")]
    with pytest.raises(ConfigError) as info:
        export(dss, preset(), remote_dir.name + "/out.csv", rows, encoding="latin-1")
    assert info.value.field == "Encoding" and "cannot represent" in str(info.value)
    assert tree_of(remote_dir.path) == {"out.csv": b"old content\n"}
    assert not csv_export._UNFINISHED


# --- through each proxy -------------------------------------------------------------

@pytest.mark.parametrize("kind, proxy_fixture", PROXY_CASES)
def test_export_through_each_proxy(request, dss, preset, remote_dir, sshd, kind,
                                   proxy_fixture, caplog):
    proxy = request.getfixturevalue(proxy_fixture)
    before = len(proxy.connections_to(sshd.port))
    caplog.set_level("INFO")
    export(dss, preset(**proxy_fields(kind, proxy)), remote_dir.name + "/via.csv.gz",
           TYPED_ROWS, compression="gzip")
    assert gzip.decompress(remote_dir.read("via.csv.gz")) == TYPED_CSV
    deadline = time.monotonic() + 5
    while len(proxy.connections_to(sshd.port)) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(proxy.connections_to(sshd.port)) == before + 1   # this export's session
    assert "through %s proxy %s:%d" % (kind, proxy.host, proxy.port) in caplog.text
    assert "Exported 4 rows (" in caplog.text
    for secret in (sshd.password, getattr(proxy, "password", None)):
        if secret:
            assert secret not in caplog.text


def test_wrong_proxy_password_is_reported_without_secrets(dss, preset, remote_dir, sshd,
                                                          dante, caplog):
    fields = dict(proxy_fields("socks5", dante), proxy_password="Wr0ng-proxy-secret")
    with pytest.raises(ProxyAuthError) as info:
        export(dss, preset(**fields), remote_dir.name + "/x.csv", STRING_ROWS)
    for secret in ("Wr0ng-proxy-secret", sshd.password):
        assert secret not in str(info.value) and secret not in caplog.text
        assert secret not in repr(info.value)
    assert tree_of(remote_dir.path) == {}


def test_wrong_password_is_reported_without_secrets(dss, preset, remote_dir, caplog):
    with pytest.raises(AuthenticationError) as info:
        export(dss, preset(password="Wr0ng-sftp-secret"), remote_dir.name + "/x.csv",
               STRING_ROWS)
    assert "refused the login" in str(info.value)
    assert "Wr0ng-sftp-secret" not in str(info.value) + repr(info.value) + caplog.text


def test_missing_service_is_a_config_error(dss):
    with pytest.raises(ConfigError) as info:
        export(dss, None, "out.csv", STRING_ROWS)
    assert "no SFTP service selected" in str(info.value)


# --- a server without posix-rename, a connection cut mid-export -----------------------


def test_overwrite_without_posix_rename_swaps_safely(dss, tmp_path):
    served = tmp_path / "served"
    (served / "out").mkdir(parents=True)
    (served / "out" / "data.csv").write_bytes(b"old content\n")
    with FakeSftpServer(str(served)) as server:
        export(dss, server.service(), "out/data.csv", STRING_ROWS)
        export(dss, server.service(), "out/new.csv", STRING_ROWS, if_exists="fail")
        with pytest.raises(RemoteExistsError):
            export(dss, server.service(), "out/new.csv", STRING_ROWS,
                   if_exists="fail")
    assert server.counts["posix_rename_attempts"] >= 1 and server.counts["rename"] >= 3
    assert tree_of(str(served)) == {"out/data.csv": STRING_CSV, "out/new.csv": STRING_CSV}


def test_connection_cut_during_the_export(dss, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "data.csv").write_bytes(b"old content\n")
    with FakeSftpServer(str(served), drop_after_bytes=300 * 1000, drop_on="write") as server:
        started = time.monotonic()
        with pytest.raises(ConnectionLostError) as info:
            export(dss, server.service(), "data.csv", wide_rows(3000))
        assert time.monotonic() - started < 30
        assert server.drops == 1
    assert server.password not in str(info.value)
    files = tree_of(str(served))
    assert files.pop("data.csv") == b"old content\n"
    # The temporary file could not be removed over the dead connection: it is
    # hidden, marked partial, and never taken for data.
    assert all(is_internal(os.path.basename(path)) for path in files)
    assert not csv_export._UNFINISHED


# --- memory ---------------------------------------------------------------------------

MEMORY_SCRIPT = r"""
import json, sys, time
spec = json.load(sys.stdin)
sys.path[:0] = spec["paths"]
from dataiku import _harness
import sftp_client.export.writer  # noqa: F401 - imported before the baseline

def status(key):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

def rows():
    for i in range(spec["rows"]):
        yield (float(i), "customer %07d, \"ok\"" % i, i * 0.25, i % 3 == 0)

try:   # reset the peak to the current size (Linux >= 4.0); else keep the old peak
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
except OSError:
    pass
baseline = max(status("VmRSS"), status("VmHWM"))
started = time.time()
_harness.run_exporter(spec["exporter"], spec["config"], {}, spec["schema"], rows())
print(json.dumps({"baseline": baseline, "peak": status("VmHWM"),
                  "seconds": time.time() - started}))
"""


def test_two_million_rows_in_bounded_memory(preset, remote_dir):
    rows = 2000000
    schema = {"columns": [{"name": "id", "type": "bigint"}, {"name": "name", "type": "string"},
                          {"name": "score", "type": "double"},
                          {"name": "flag", "type": "boolean"}]}
    spec = {"paths": STUB_PATHS, "exporter": EXPORTER, "schema": schema, "rows": rows,
            "config": {"sftp_service": preset(), "remote_path": remote_dir.name + "/big.csv"}}
    proc = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], input=json.dumps(spec),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    size = os.path.getsize(os.path.join(remote_dir.path, "big.csv"))
    growth = result["peak"] - result["baseline"]
    # The file is ~100 MB; holding its rows as Python tuples would take several
    # times that. Streaming needs a few MB of buffers, whatever the row count.
    assert size > 90 * 1000 * 1000
    print("peak growth %.1f MiB for %d bytes in %.1f s" % (growth / 1048576.0, size, result["seconds"]))
    assert growth < 32 * 1024 * 1024, (growth, size, result)
    assert "Exported %d rows (%d bytes) to" % (rows, size) in proc.stderr
    lines = 0
    with open(os.path.join(remote_dir.path, "big.csv"), "rb") as handle:
        head = handle.read(200)
        handle.seek(0)
        for block in iter(lambda: handle.read(1 << 20), b""):
            lines += block.count(b"\n")   # no value holds a line break
        handle.seek(-80, os.SEEK_END)
        tail = handle.read()
    assert lines == rows + 1
    assert head.startswith(b'id,name,score,flag\r\n0,"customer 0000000, ""ok""",0.0,true\r\n')
    assert tail.endswith(b'1999999,"customer 1999999, ""ok""",499999.75,false\r\n')
