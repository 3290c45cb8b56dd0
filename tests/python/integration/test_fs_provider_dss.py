"""What DSS does with storage on the "SFTP (through proxies)" FS provider, replayed
against the real sshd: a managed folder used from the UI and the Python API, a CSV
dataset written in part files and read back, and both recipes with such a folder on
either side (the stand-in ``dataiku.Folder`` serves a provider-backed folder through
the provider's methods, as DSS does)."""
import csv
import gzip
import io
import os

import pytest

from conftest import PROJECT_DIR, proxy_fields, tree_of
from sftp_client.entries import STATE_FILE

import dataiku

FS_PROVIDER = os.path.join(PROJECT_DIR, "python-fs-providers", "sftp", "fs-provider.py")
RECIPES = os.path.join(PROJECT_DIR, "custom-recipes")
DOWNLOAD = os.path.join(RECIPES, "sftp-python-connector_download-from-sftp", "recipe.py")
UPLOAD = os.path.join(RECIPES, "sftp-python-connector_export-to-sftp", "recipe.py")
FOLDER_TYPE = "fsprovider_sftp-python-connector_sftp"
T0 = 1600000000


def store(dss, service, root, name="store"):
    """A managed folder whose "Store into" is the provider, at ``root``."""
    dss.register_provider_folder(name, FS_PROVIDER, {"sftp_service": service},
                                 root=root, folder_type=FOLDER_TYPE)
    return dataiku.Folder(name), dss.folder_provider(name)


def read_all(provider, path, limit=-1):
    out = io.BytesIO()
    provider.read(path, out, limit)
    return out.getvalue()


def test_managed_folder_as_dss_uses_it(dss, preset, remote_dir, tinyproxy, tmp_path):
    folder, provider = store(dss, preset(**proxy_fields("http", tinyproxy)),
                             "/%s/PROJ/store" % remote_dir.name)
    on_server = os.path.join(remote_dir.path, "PROJ", "store")
    info = folder.get_info()
    assert info["type"] == FOLDER_TYPE and "path" not in info
    with pytest.raises(Exception):
        folder.get_path()
    # Upload (UI drag and drop, Python API writer and upload_file).
    folder.upload_stream("/inbox/sales 2024.csv", io.BytesIO(b"region,amount\nnorth,10\n"))
    with folder.get_writer("/inbox/notes.txt") as writer:
        writer.write(b"first line\n")
        writer.write(b"second line\n")
    local = str(tmp_path / "local-upload.bin")
    with open(local, "wb") as handle:
        handle.write(os.urandom(300000))
    folder.upload_file("/images/photo.bin", local)
    assert tree_of(on_server)["inbox/notes.txt"] == b"first line\nsecond line\n"
    # List, browse.
    assert folder.list_paths_in_partition() == [
        "/images/photo.bin", "/inbox/notes.txt", "/inbox/sales 2024.csv"]
    details = folder.get_path_details("/inbox")
    assert details["exists"] and details["directory"]
    assert [(c["fullPath"], c["size"]) for c in details["children"]] == [
        ("/inbox/notes.txt", 23), ("/inbox/sales 2024.csv", 23)]
    assert folder.get_path_details("/nothing")["exists"] is False
    # Preview: the start of the file only, then the whole file by the API.
    assert read_all(provider, "/inbox/sales 2024.csv", limit=13) == b"region,amount"
    with folder.get_download_stream("/inbox/sales 2024.csv") as stream:
        assert stream.read() == b"region,amount\nnorth,10\n"
    # Rename, then delete a file and a directory.
    assert provider.move("/inbox/notes.txt", "/archive/notes-2024.txt") is True
    assert sorted(tree_of(on_server)) == ["archive/notes-2024.txt", "images/photo.bin",
                                          "inbox/sales 2024.csv"]
    folder.delete_path("/archive/notes-2024.txt")
    folder.delete_path("/images")
    assert folder.list_paths_in_partition() == ["/inbox/sales 2024.csv"]
    folder.clear()
    assert folder.list_paths_in_partition() == []
    assert dss.folder_writes("store") == ["/inbox/sales 2024.csv", "/inbox/notes.txt",
                                          "/images/photo.bin"]
    assert provider.provider.session.connections == 1
    with pytest.raises(Exception) as info:
        folder.get_download_stream("/inbox/sales 2024.csv")
    assert "/inbox/sales 2024.csv" in str(info.value)


def test_the_folder_path_dss_proposes_is_below_the_root_path(dss, preset, remote_dir):
    project = remote_dir.name.upper().replace("-", "")
    dss.register_provider_folder("%s.landing" % project, FS_PROVIDER,
                                 {"sftp_service": preset()}, folder_type=FOLDER_TYPE)
    folder = dataiku.Folder("%s.landing" % project)
    folder.upload_stream("/a.txt", b"a")
    odb_id = folder.get_info()["id"]
    sshd_root = os.path.dirname(remote_dir.path)
    assert tree_of(os.path.join(sshd_root, project)) == {"%s/a.txt" % odb_id: b"a"}
    folder.clear()


def write_parts(provider, rows_per_part):
    """DSS writing a CSV (gzip) dataset: the old content cleared, one part file per
    writer thread."""
    provider.delete_recursive("/")
    for index, rows in enumerate(rows_per_part):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["id", "name", "amount"])
        writer.writerows(rows)
        data = gzip.compress(text.getvalue().encode("utf-8"))
        provider.write("/out-s%d.csv.gz" % index, io.BytesIO(data))


def read_dataset(provider):
    """DSS reading it back: detect the format on the first non-empty file's start,
    then every file the listing gives."""
    files = provider.enumerate("/", False)
    first = provider.enumerate("/", True)
    assert len(first) >= 1 and first[-1]["size"] > 0
    head = read_all(provider, first[-1]["path"], limit=2)
    assert head == b"\x1f\x8b"                  # gzip, as DSS's detection would see
    rows = []
    for item in sorted(files, key=lambda f: f["path"]):
        data = gzip.decompress(read_all(provider, item["path"]))
        parsed = list(csv.reader(io.StringIO(data.decode("utf-8"))))
        assert parsed[0] == ["id", "name", "amount"]
        rows.extend(parsed[1:])
    return rows


def test_csv_dataset_in_part_files(dss, preset, remote_dir, dante):
    _, provider = store(dss, preset(**proxy_fields("socks5", dante)),
                        "/%s/PROJ/sales" % remote_dir.name, name="sales")
    parts = [[[str(i), "client %d" % i, "%d.5" % i] for i in range(p * 1000, p * 1000 + 1000)]
             for p in range(3)]
    write_parts(provider, parts)
    assert sorted(os.listdir(os.path.join(remote_dir.path, "PROJ", "sales"))) == [
        "out-s0.csv.gz", "out-s1.csv.gz", "out-s2.csv.gz"]
    assert read_dataset(provider) == [row for part in parts for row in part]
    # Rebuilt with fewer parts: nothing of the old build is left.
    write_parts(provider, [[["1", "Zo\u00eb, \"quoted\"", "2.5"]], []])
    assert read_dataset(provider) == [["1", "Zo\u00eb, \"quoted\"", "2.5"]]
    assert provider.provider.session.connections == 1


def make_remote_tree(remote_dir):
    remote_dir.write("incoming/top.csv", b"a,b\n1,2\n", mtime=T0)
    remote_dir.write("incoming/sub dir/na\u00efve.txt", "donn\u00e9es\n".encode("utf-8"),
                     mtime=T0 + 1)
    remote_dir.write("incoming/sub dir/big.bin", os.urandom(2 * 1024 * 1024 + 5),
                     mtime=T0 + 2)


def test_download_recipe_into_a_folder_on_the_provider(dss, preset, remote_dir):
    make_remote_tree(remote_dir)
    store(dss, preset(), "/%s/PROJ/landing" % remote_dir.name, name="landing")
    dss.register_dataset("report")
    dss.set_recipe({"sftp_service": preset(), "remote_path": remote_dir.name + "/incoming",
                    "workers": 2},
                   outputs={"output_folder": ["landing"], "report": ["report"]})
    dss.run_recipe(DOWNLOAD)
    landed = tree_of(os.path.join(remote_dir.path, "PROJ", "landing"))
    state = landed.pop(STATE_FILE)
    assert landed == tree_of(os.path.join(remote_dir.path, "incoming"))
    assert b"top.csv" in state
    assert set(r["action"] for r in dss.dataset_rows("report")) == {"downloaded"}
    dss.run_recipe(DOWNLOAD)                       # incremental: nothing to copy
    assert set(r["action"] for r in dss.dataset_rows("report")) == {"unchanged"}


def test_upload_recipe_from_a_folder_on_the_provider(dss, preset, remote_dir):
    folder, _ = store(dss, preset(), "/%s/PROJ/outbox" % remote_dir.name, name="outbox")
    folder.upload_stream("/top.csv", b"a,b\n1,2\n")
    folder.upload_stream("/sub dir/na\u00efve.txt", "donn\u00e9es\n".encode("utf-8"))
    folder.upload_stream("/sub dir/big.bin", os.urandom(2 * 1024 * 1024 + 5))
    dss.register_dataset("uploaded")
    dss.set_recipe({"sftp_service": preset(), "remote_path": remote_dir.name + "/sent"},
                   inputs={"input_folder": ["outbox"]},
                   outputs={"uploaded_files": ["uploaded"]})
    dss.run_recipe(UPLOAD)
    sent = tree_of(os.path.join(remote_dir.path, "sent"))
    sent.pop(STATE_FILE, None)
    assert sent == tree_of(os.path.join(remote_dir.path, "PROJ", "outbox"))
    assert sorted(r["status"] for r in dss.dataset_rows("uploaded")) == ["uploaded"] * 3
    dss.run_recipe(UPLOAD)
    assert sorted(r["status"] for r in dss.dataset_rows("uploaded")) == ["unchanged"] * 3
