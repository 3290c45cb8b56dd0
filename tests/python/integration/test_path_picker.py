"""The remote path picker: the real resource/ scripts called as DSS calls them
(do(payload, config, plugin_config, inputs)) against the real sshd, directly and
through each proxy, and the path a recipe then uses."""
import os
import socket
import threading
import time

import pytest

from conftest import PROJECT_DIR, PROXY_CASES, proxy_fields, tree_of
from helpers import servers
from helpers.servers import free_port
from sftp_client.dss.choices import MAX_CHOICES, effective_remote_path

DIRS = os.path.join(PROJECT_DIR, "resource", "remote_directories.py")
FILES = os.path.join(PROJECT_DIR, "resource", "remote_files.py")
PAYLOAD = {"parameterName": "remote_path_picker", "parameterType": "SELECT"}
DOWNLOAD = os.path.join(PROJECT_DIR, "custom-recipes", "sftp-python-connector_download-from-sftp",
                        "recipe.py")
SECRETS = (servers.SFTP_PASSWORD, servers.SOCKS_PASSWORD, servers.HTTP_PROXY_PASSWORD)


def pick(dss, service, current="", script=DIRS, browse=True, **extra):
    config = dict(extra, sftp_service=service, browse_remote=browse,
                  remote_path_picker=current)
    answer = dss.run_choices(script, PAYLOAD, config, {}, [])
    choices = answer["choices"]
    assert choices and all(set(c) == {"value", "label"} for c in choices)
    assert len(set(c["value"] for c in choices)) == len(choices)
    for choice in choices:
        for secret in SECRETS:
            assert secret not in choice["label"]
    return choices


def values(choices):
    return [c["value"] for c in choices]


def test_picker_lists_directories_and_navigates(dss, preset, remote_dir):
    remote_dir.write("b/inner/deep.txt", b"x")
    remote_dir.write("a/file.csv", b"12345")
    remote_dir.mkdir("c d")
    remote_dir.write("top.csv", b"top")
    top = pick(dss, preset())
    assert top[0]["value"] == "" and "this directory" in top[0]["label"]
    assert remote_dir.name + "/" in values(top)
    here = remote_dir.name + "/"
    level = pick(dss, preset(), current=here)
    assert values(level) == [here, "", here + "a/", here + "b/", here + "b/inner/",
                             here + "c d/"]
    assert level[1]["label"].startswith("..")
    below = pick(dss, preset(), current=here + "b/")
    assert values(below)[:2] == [here + "b/", here]
    assert values(below)[2:] == [here + "b/inner/"]


def test_first_answer_reaches_a_directory_two_levels_down(dss, tmp_path, preset,
                                                         remote_dir):
    """Browsing works even if DSS never re-runs do() when the picker itself changes:
    the first answer already offers the directories two levels below the root path."""
    remote_dir.write("drop/partner-a/a.csv", b"a")
    remote_dir.write("drop/partner-a/deeper/x.csv", b"x")
    service = preset(root_path=remote_dir.path)
    first = pick(dss, service)
    assert values(first) == ["", "drop/", "drop/partner-a/"]
    assert first[2]["label"] == "drop/partner-a/"
    dss.register_folder("landing", str(tmp_path / "landing"))
    dss.set_recipe({"sftp_service": service, "browse_remote": True,
                    "remote_path_picker": first[2]["value"], "remote_path": ""},
                   outputs={"output_folder": ["landing"]})
    dss.run_recipe(DOWNLOAD)
    assert tree_of(str(tmp_path / "landing")) == {"a.csv": b"a", "deeper/x.csv": b"x"}
    drilled = pick(dss, service, current="drop/")              # where DSS re-triggers
    assert values(drilled) == ["drop/", "", "drop/partner-a/", "drop/partner-a/deeper/"]


def test_unlistable_sub_directory_is_offered_without_its_children(dss, preset, remote_dir):
    remote_dir.write("open/inner/x", b"x")
    remote_dir.write("locked/inner/x", b"x")
    os.chmod(os.path.join(remote_dir.path, "locked"), 0)
    try:
        here = remote_dir.name + "/"
        level = pick(dss, preset(), current=here)
    finally:
        os.chmod(os.path.join(remote_dir.path, "locked"), 0o755)
    assert values(level)[2:] == [here + "locked/", here + "open/", here + "open/inner/"]


def test_sub_directories_listed_for_a_bounded_number_of_directories(dss, preset, remote_dir,
                                                                    monkeypatch):
    from sftp_client.dss import choices as choices_module
    monkeypatch.setattr(choices_module, "MAX_EXPANDED", 2)
    for name in ("a", "b", "c"):
        remote_dir.write(name + "/inner/x", b"x")
    here = remote_dir.name + "/"
    level = pick(dss, preset(), current=here)
    assert values(level)[2:] == [here + "a/", here + "a/inner/", here + "b/",
                                 here + "b/inner/", here + "c/"]
    assert "sub-directories listed for the first 2 directories only" in level[0]["label"]


def test_exporter_picker_also_offers_existing_files(dss, preset, remote_dir):
    remote_dir.write("out/old.csv", b"12345")
    remote_dir.write("out/.old.csv.0123456789ab.sftp-partial", b"12")
    here = remote_dir.name + "/out/"
    choices = pick(dss, preset(), current=here, script=FILES)
    files = [c for c in choices if c["value"] == here + "old.csv"]
    assert files and "existing file, 5 bytes" in files[0]["label"]
    assert not [v for v in values(choices) if "partial" in v]
    picked = pick(dss, preset(), current=here + "old.csv", script=FILES)
    assert picked[0]["value"] == here + "old.csv"          # the pick stays selected


@pytest.mark.parametrize("kind,fixture", PROXY_CASES)
def test_picker_through_each_proxy(dss, request, preset, remote_dir, sshd, kind, fixture):
    proxy = request.getfixturevalue(fixture)
    remote_dir.mkdir("via-proxy")
    before = len(proxy.connections_to(sshd.port))
    choices = pick(dss, preset(**proxy_fields(kind, proxy)), current=remote_dir.name + "/")
    assert remote_dir.name + "/via-proxy/" in values(choices)
    proxy.wait_for_connection_to(sshd.port)
    assert len(proxy.connections_to(sshd.port)) > before


def test_picker_is_off_until_browsing_is_ticked(dss, preset):
    choices = pick(dss, preset(), browse=False)
    assert len(choices) == 1 and "Browse the server" in choices[0]["label"]


@pytest.mark.parametrize("overrides,expected", [
    ({"host_key": "SHA256:" + "A" * 43}, "HOST KEY MISMATCH"),
    ({"password": "wrong-password-42"}, "refused the login"),
    ({"port": "x"}, "Port"),
], ids=["wrong-host-key", "wrong-password", "bad-setting"])
def test_picker_failures_are_one_readable_choice(dss, preset, overrides, expected):
    choices = pick(dss, preset(**overrides), current="some/dir/")
    assert len(choices) == 1
    assert choices[0]["value"] == "some/dir/"               # the pick is not lost
    assert choices[0]["label"].startswith("Check the SFTP service:")
    assert expected in choices[0]["label"]
    assert "wrong-password-42" not in choices[0]["label"]


def test_picker_given_only_a_preset_reference_says_so(dss):
    choices = pick(dss, {"mode": "PRESET", "name": "partner-sftp"}, current="in/")
    assert len(choices) == 1 and choices[0]["value"] == "in/"
    assert "only the preset's name (partner-sftp)" in choices[0]["label"]


def test_picker_with_an_unreachable_proxy(dss, preset):
    port = free_port()
    choices = pick(dss, preset(proxy_type="http", proxy_hostname="127.0.0.1",
                               proxy_port=port, proxy_user="u", proxy_password="pw-123-x"))
    assert len(choices) == 1 and "Proxy" in choices[0]["label"]
    assert "pw-123-x" not in choices[0]["label"]


def test_picker_answers_within_the_timeout(dss, preset):
    """A server that accepts and never speaks: the answer still comes in time."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    held = []
    threading.Thread(target=lambda: held.append(listener.accept()), daemon=True).start()
    try:
        start = time.time()
        choices = pick(dss, preset(port=listener.getsockname()[1], timeout=2))
        assert time.time() - start < 2 + 3
        assert len(choices) == 1 and choices[0]["label"].startswith("Check the SFTP service")
    finally:
        listener.close()


def test_missing_directory_is_a_choice_not_an_error(dss, preset, remote_dir):
    choices = pick(dss, preset(), current=remote_dir.name + "/not-there/")
    assert len(choices) == 1 and "not found" in choices[0]["label"]


def test_long_directories_are_cut(dss, preset, remote_dir):
    for number in range(MAX_CHOICES + 5):
        remote_dir.mkdir("d%03d" % number)
    choices = pick(dss, preset(), current=remote_dir.name + "/")
    assert len(choices) == MAX_CHOICES + 2
    assert "5 more entries not shown" in choices[0]["label"]


def test_recipe_uses_the_picked_directory(dss, tmp_path, preset, remote_dir):
    remote_dir.write("picked/sub/a.txt", b"a")
    remote_dir.write("picked/b.txt", b"b")
    dss.register_folder("landing", str(tmp_path / "landing"))
    dss.set_recipe({"sftp_service": preset(), "browse_remote": True,
                    "remote_path_picker": remote_dir.name + "/picked/", "remote_path": "sub"},
                   outputs={"output_folder": ["landing"]})
    dss.run_recipe(DOWNLOAD)
    assert os.listdir(str(tmp_path / "landing")) == ["a.txt"]


def test_effective_remote_path_rules():
    assert effective_remote_path({"remote_path": "x/y"}) == "x/y"
    assert effective_remote_path({"remote_path": "x", "remote_path_picker": "p/"}) == "x"
    browse = {"browse_remote": True}
    assert effective_remote_path(dict(browse, remote_path="x", remote_path_picker="p/")) == "p/x"
    assert effective_remote_path(dict(browse, remote_path="", remote_path_picker="p/")) == "p/"
    assert effective_remote_path(dict(browse, remote_path="x", remote_path_picker="")) == "x"
    assert effective_remote_path(dict(browse, remote_path="new.csv",
                                      remote_path_picker="p/old.csv")) == "p/old.csv"
    assert effective_remote_path(dict(browse, remote_path=None)) == ""
