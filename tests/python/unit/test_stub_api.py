"""The stand-in dataiku package behaves like the DSS APIs the plugin relies on, including
their unforgiving parts (no local path for remote folders, no seek, rows lost unless closed)."""

import io
import os
import time

import pytest

import dataiku
from dataiku import _harness
from dataiku import customrecipe


@pytest.fixture(autouse=True)
def fresh_harness():
    _harness.reset()
    yield
    _harness.reset()


def _folder(tmp_path, local=True, last_modified=True, name="files"):
    base = tmp_path / name
    _harness.register_folder(name, str(base), local=local, last_modified=last_modified)
    return dataiku.Folder(name), base


def test_local_folder_gives_its_path_and_info(tmp_path):
    folder, base = _folder(tmp_path)
    assert folder.get_path() == str(base)
    info = folder.get_info()
    assert info["type"] == "Filesystem" and info["path"] == str(base)
    assert info["projectKey"] == _harness.DEFAULT_PROJECT_KEY and info["name"] == "files"
    assert info["id"]


def test_non_local_folder_refuses_get_path_and_has_no_path_in_info(tmp_path):
    folder, _ = _folder(tmp_path, local=False)
    with pytest.raises(Exception):
        folder.get_path()
    info = folder.get_info()
    assert info["type"] == "S3" and "path" not in info


def test_folder_is_found_by_full_name_and_id(tmp_path):
    _folder(tmp_path)
    by_name = dataiku.Folder("%s.files" % _harness.DEFAULT_PROJECT_KEY)
    assert dataiku.Folder(by_name.get_info()["id"]).get_info() == by_name.get_info()
    with pytest.raises(Exception):
        dataiku.Folder("missing")


def test_listing_and_path_details_shape(tmp_path):
    folder, base = _folder(tmp_path)
    (base / "sub").mkdir()
    (base / "sub" / "b.csv").write_bytes(b"12345")
    (base / "a.txt").write_bytes(b"x")
    assert folder.list_paths_in_partition() == ["/a.txt", "/sub/b.csv"]

    root = folder.get_path_details("/")
    assert (root["exists"], root["directory"], root["fullPath"]) == (True, True, "/")
    assert [c["fullPath"] for c in root["children"]] == ["/a.txt", "/sub"]
    sub = root["children"][1]
    assert sub["directory"] is True and "children" not in sub

    detail = folder.get_path_details("sub/b.csv")
    assert detail["size"] == 5 and detail["directory"] is False and "children" not in detail
    assert abs(detail["lastModified"] / 1000.0 - os.stat(str(base / "sub" / "b.csv")).st_mtime) < 1
    assert folder.get_path_details("/nope")["exists"] is False


def test_folder_without_mtimes_omits_last_modified(tmp_path):
    folder, base = _folder(tmp_path, last_modified=False)
    (base / "a.txt").write_bytes(b"x")
    assert "lastModified" not in folder.get_path_details("/a.txt")
    assert all("lastModified" not in c for c in folder.get_path_details("/")["children"])


def test_download_stream_reads_but_cannot_seek(tmp_path):
    folder, base = _folder(tmp_path)
    (base / "a.bin").write_bytes(b"hello world")
    with folder.get_download_stream("/a.bin") as stream:
        assert stream.seekable() is False
        with pytest.raises(io.UnsupportedOperation):
            stream.seek(0)
        assert stream.read() == b"hello world"


def test_writer_data_appears_only_at_close(tmp_path):
    folder, base = _folder(tmp_path)
    writer = folder.get_writer("/out/new.bin")
    writer.write(b"part one ")
    assert not (base / "out" / "new.bin").exists()
    assert folder.list_paths_in_partition() == []
    writer.write(b"part two")
    writer.close()
    assert (base / "out" / "new.bin").read_bytes() == b"part one part two"
    assert _harness.folder_write_count("files") == 1


def test_writer_left_by_an_exception_still_commits_what_it_got(tmp_path):
    folder, base = _folder(tmp_path)
    with pytest.raises(RuntimeError):
        with folder.get_writer("partial.bin") as writer:
            writer.write(b"half")
            raise RuntimeError("transfer broke")
    assert (base / "partial.bin").read_bytes() == b"half"


def test_upload_stream_and_file_are_counted_and_delete_removes(tmp_path):
    folder, base = _folder(tmp_path, local=False)
    folder.upload_stream("/a.bin", io.BytesIO(b"abc"))
    source = tmp_path / "local.bin"
    source.write_bytes(b"def")
    folder.upload_file("/d/b.bin", str(source))
    assert folder.list_paths_in_partition() == ["/a.bin", "/d/b.bin"]
    assert _harness.folder_writes("files") == ["/a.bin", "/d/b.bin"]
    folder.delete_path("/a.bin")
    assert folder.list_paths_in_partition() == ["/d/b.bin"]
    assert _harness.folder_deletes("files") == ["/a.bin"]


def test_folder_paths_cannot_escape(tmp_path):
    folder, _ = _folder(tmp_path)
    for path in ("../outside.bin", "/a/../../outside.bin"):
        with pytest.raises(ValueError):
            folder.get_writer(path)
    assert not (tmp_path / "outside.bin").exists()


def test_recipe_bindings_use_full_names_and_unbound_role_is_empty(tmp_path):
    _harness.register_folder("out", str(tmp_path / "out"))
    _harness.set_recipe({"remote_path": "x"}, inputs={}, outputs={"output_folder": ["out"]})
    full = "%s.out" % _harness.DEFAULT_PROJECT_KEY
    assert customrecipe.get_recipe_config() == {"remote_path": "x"}
    assert customrecipe.get_plugin_config() == {}
    assert customrecipe.get_output_names_for_role("output_folder") == [full]
    assert customrecipe.get_output_names_for_role("report") == []
    assert customrecipe.get_output_names() == [full]
    assert customrecipe.get_input_names() == []
    assert dataiku.Folder(full).get_info()["name"] == "out"


def test_objects_outside_the_recipe_flow_are_refused(tmp_path):
    _harness.register_folder("other", str(tmp_path / "other"))
    _harness.set_recipe({}, outputs={})
    with pytest.raises(Exception):
        dataiku.Folder("other")
    assert dataiku.Folder("other", ignore_flow=True).get_info()["name"] == "other"


def test_dataset_rows_land_only_when_writer_is_closed():
    _harness.register_dataset("report")
    dataset = dataiku.Dataset("report")
    dataset.write_schema([{"name": "path", "type": "string"}, {"name": "size", "type": "bigint"}])
    with dataset.get_writer() as writer:
        writer.write_row_dict({"path": "/b"})
        writer.write_tuple(("/c", 3))
    assert _harness.dataset_rows("report") == [{"path": "/b", "size": None},
                                               {"path": "/c", "size": 3}]
    assert _harness.dataset_schema("report")[1] == {"name": "size", "type": "bigint"}
    assert list(dataset.iter_rows())[1]["size"] == 3


def test_unclosed_dataset_writer_loses_its_rows_and_blocks_another():
    _harness.register_dataset("report")
    dataset = dataiku.Dataset("report")
    dataset.write_schema([{"name": "path", "type": "string"}])
    writer = dataset.get_writer()
    writer.write_row_dict({"path": "/a"})
    assert _harness.dataset_rows("report") is None
    with pytest.raises(Exception):
        dataset.get_writer()
    del writer  # never closed
    assert _harness.dataset_rows("report") is None


def test_dataset_writer_rejects_unknown_columns():
    _harness.register_dataset("report")
    dataset = dataiku.Dataset("report")
    dataset.write_schema([{"name": "path", "type": "string"}])
    with dataset.get_writer() as writer:
        with pytest.raises(ValueError):
            writer.write_row_dict({"path": "/a", "typo": 1})


EXPORTER_SOURCE = '''
from dataiku.exporter import Exporter

EVENTS = []


class Recorder(Exporter):
    def __init__(self, config, plugin_config):
        self.config = config
        EVENTS.append(("init", config, plugin_config))

    def open(self, schema):
        EVENTS.append(("open", [c["name"] for c in schema["columns"]]))

    def write_row(self, row):
        EVENTS.append(("row", row))

    def close(self):
        EVENTS.append(("close",))
'''

SCHEMA = {"columns": [{"name": "a", "type": "string"}]}


def _write(tmp_path, source):
    path = tmp_path / "exporter.py"
    path.write_text(source)
    return str(path)


def test_run_exporter_drives_the_one_subclass(tmp_path):
    path = _write(tmp_path, EXPORTER_SOURCE)
    exporter = _harness.run_exporter(path, {"k": 1}, {}, SCHEMA, [("x",), ("y",)])
    events = type(exporter).open.__globals__["EVENTS"]
    assert events == [("init", {"k": 1}, {}), ("open", ["a"]), ("row", ("x",)), ("row", ("y",)),
                      ("close",)]


def test_run_exporter_abort_skips_close(tmp_path):
    path = _write(tmp_path, EXPORTER_SOURCE)
    with pytest.raises(_harness.ExportAborted) as aborted:
        _harness.run_exporter(path, {}, {}, SCHEMA, [("x",), ("y",), ("z",)], abort_after=1)
    events = type(aborted.value.exporter).open.__globals__["EVENTS"]
    assert [e[0] for e in events] == ["init", "open", "row"]
    assert aborted.value.rows_written == 1


@pytest.mark.parametrize("source", [
    "from dataiku.exporter import Exporter\n",
    EXPORTER_SOURCE + "\nclass Second(Recorder):\n    pass\n",
])
def test_run_exporter_needs_exactly_one_subclass(tmp_path, source):
    with pytest.raises(RuntimeError):
        _harness.run_exporter(_write(tmp_path, source), {}, {}, SCHEMA, [])


def test_run_recipe_executes_as_main(tmp_path):
    script = tmp_path / "recipe.py"
    script.write_text("import dataiku.customrecipe as cr\nRESULT = (__name__, cr.get_recipe_config())\n")
    _harness.set_recipe({"x": 1})
    assert _harness.run_recipe(str(script))["RESULT"] == ("__main__", {"x": 1})


def test_base_exporter_methods_are_abstract():
    from dataiku.exporter import Exporter
    base = Exporter({}, {})
    for call in (lambda: base.open(SCHEMA), lambda: base.write_row(()), base.close):
        with pytest.raises(NotImplementedError):
            call()


def test_writes_take_the_time_of_writing(tmp_path):
    folder, base = _folder(tmp_path)
    before = time.time()
    folder.upload_stream("/t.bin", io.BytesIO(b"x"))
    assert folder.get_path_details("/t.bin")["lastModified"] / 1000.0 >= before - 2


def test_base_fs_provider_methods_are_abstract():
    from dataiku.fsprovider import FSProvider
    provider = FSProvider("/P/f", {}, {})
    for call in (provider.close, lambda: provider.stat("/"), lambda: provider.browse("/"),
                 lambda: provider.enumerate("/", False), lambda: provider.read("/a", None, -1),
                 lambda: provider.write("/a", None), lambda: provider.move("/a", "/b"),
                 lambda: provider.delete_recursive("/"),
                 lambda: provider.set_last_modified("/a", 0)):
        with pytest.raises(NotImplementedError):
            call()


def test_provider_backed_folder_serves_its_api_through_the_provider(tmp_path):
    """A folder stored on an FS provider: listing, details, streams, writers and
    deletions are the provider's enumerate, browse, read, write and delete_recursive."""
    source = tmp_path / "memory_provider.py"
    source.write_text(
        "import io\n"
        "from dataiku.fsprovider import FSProvider\n"
        "class Memory(FSProvider):\n"
        "    def __init__(self, root, config, plugin_config):\n"
        "        self.root, self.files, self.closed = root, {}, False\n"
        "    def enumerate(self, prefix, first_non_empty):\n"
        "        return [{'path': p, 'size': len(d), 'lastModified': 0}\n"
        "                for p, d in self.files.items()] or None\n"
        "    def browse(self, path):\n"
        "        return {'fullPath': path, 'exists': path in self.files}\n"
        "    def read(self, path, stream, limit):\n"
        "        stream.write(self.files[path])\n"
        "    def write(self, path, stream):\n"
        "        self.files[path] = stream.read()\n"
        "    def delete_recursive(self, path):\n"
        "        return 1 if self.files.pop(path, None) is not None else 0\n"
        "    def close(self):\n"
        "        self.closed = True\n")
    _harness.register_provider_folder("mem", str(source), {"x": 1}, folder_type="fsprovider_p_c")
    folder = dataiku.Folder("mem")
    provider = _harness.folder_provider("mem")
    assert provider.root == "/%s/%s" % (_harness.DEFAULT_PROJECT_KEY, folder.get_info()["id"])
    assert folder.get_info()["type"] == "fsprovider_p_c"
    with pytest.raises(Exception):
        folder.get_path()
    folder.upload_stream("a.txt", b"abc")
    with folder.get_writer("/b.txt") as writer:
        writer.write(b"de")
        assert "/b.txt" not in provider.files
    assert folder.list_paths_in_partition() == ["/a.txt", "/b.txt"]
    assert folder.get_path_details("/a.txt") == {"fullPath": "/a.txt", "exists": True}
    with folder.get_download_stream("/b.txt") as stream:
        assert stream.read() == b"de" and not stream.seekable()
    with pytest.raises(Exception) as info:
        folder.get_download_stream("/missing")
    assert "read failed on folder" in str(info.value)
    folder.delete_path("/a.txt")
    assert _harness.folder_writes("mem") == ["/a.txt", "/b.txt"]
    assert _harness.folder_deletes("mem") == ["/a.txt"]
    _harness.reset()
    assert provider.closed


def test_stub_folder_partitions_and_flow_variables(tmp_path):
    import dataiku
    from dataiku import _harness
    _harness.reset()
    (tmp_path / "p1" / "sub").mkdir(parents=True)
    (tmp_path / "p1" / "sub" / "f.txt").write_bytes(b"x")
    name = _harness.register_folder("parts", str(tmp_path), partitions=["p1"])
    folder = dataiku.Folder(name)
    assert folder.list_partitions() == ["p1"]
    assert folder.is_partitioning_directory_based() is True
    assert folder.get_partition_info("p1")["id"] == "p1"
    assert folder.list_paths_in_partition("p1") == ["/p1/sub/f.txt"]
    with pytest.raises(Exception):
        folder.get_partition_info("p2")
    plain = dataiku.Folder(_harness.register_folder("plain", str(tmp_path / "plain")))
    assert plain.list_partitions() == [] and not plain.is_partitioning_directory_based()
    _harness.set_recipe({}, flow_variables={"DKU_DST_day": "2024-05-31"})
    assert dataiku.dku_flow_variables == {"DKU_DST_day": "2024-05-31"}
    assert dataiku.get_flow_variables() == {"DKU_DST_day": "2024-05-31"}
    _harness.reset()
    assert not hasattr(dataiku, "dku_flow_variables")


def test_stub_flow_variables_exist_only_when_the_job_environment_has_them():
    """As the real package: the attribute only when DKUFLOW_VARIABLES was set at import,
    get_flow_variables() reads the environment (KeyError without it)."""
    import dataiku
    from dataiku import _harness
    _harness.set_recipe({})
    assert "DKUFLOW_VARIABLES" not in os.environ
    assert not hasattr(dataiku, "dku_flow_variables")
    with pytest.raises(KeyError):
        dataiku.get_flow_variables()
    _harness.set_recipe({}, flow_variables={"DKU_SRC_x": "y"}, flow_variables_at_import=False)
    assert not hasattr(dataiku, "dku_flow_variables")
    assert dataiku.get_flow_variables() == {"DKU_SRC_x": "y"}
    _harness.reset()
    assert "DKUFLOW_VARIABLES" not in os.environ


def test_stub_package_imported_in_a_job_with_flow_variables_has_the_attribute(tmp_path):
    """The module-level rule itself, in a fresh interpreter: set at import time or absent."""
    import subprocess
    import sys
    stubs = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "stubs")
    probe = "import dataiku; print(getattr(dataiku, 'dku_flow_variables', 'absent'))"
    env = dict(os.environ, PYTHONPATH=stubs)
    env.pop("DKUFLOW_VARIABLES", None)
    out = subprocess.check_output([sys.executable, "-c", probe], env=env)
    assert out.strip() == b"absent"
    env["DKUFLOW_VARIABLES"] = '{"DKU_DST_day": "2024-05-31"}'
    out = subprocess.check_output([sys.executable, "-c", probe], env=env)
    assert out.strip() == b"{'DKU_DST_day': '2024-05-31'}"


def test_stub_project_without_a_key_needs_the_current_project_of_the_process():
    """As the real default_project_key(): DSS sets DKU_CURRENT_PROJECT_KEY in recipes and
    triggers; elsewhere dataiku.Project() without a key raises."""
    _harness.reset()
    with pytest.raises(Exception) as info:
        dataiku.Project()
    assert "DKU_CURRENT_PROJECT_KEY" in str(info.value)
    _harness.set_trigger({})
    assert dataiku.Project().get_variables() == {"standard": {}, "local": {}}
    _harness.reset()
