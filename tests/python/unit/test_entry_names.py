"""Names that are not UTF-8 get a deterministic, reversible safe name; log text is
escaped (entries.safe_name / raw_name / raw_path / printable)."""
import pytest

from sftp_client import entries


@pytest.mark.parametrize("raw, safe", [
    (b"caf\xe9.txt", "caf%E9.txt"),
    (b"plain.txt", "plain.txt"),
    ("caf\u00e9.txt".encode("utf-8"), "caf\u00e9.txt"),
    (b"50%\xff", "50%25%FF"),
    (b"a%41b\x80", "a%2541b%80"),
    (b"sp ace\xe9", "sp%20ace%E9"),
])
def test_safe_name_round_trips(raw, safe):
    assert entries.safe_name(raw) == safe
    assert entries.raw_name(safe) == raw


@pytest.mark.parametrize("name", ["d%E9j\u00e0.txt", "%41%42", "report%.csv", "100%25.csv"])
def test_utf8_names_that_look_escaped_stay_as_they_are(name):
    assert entries.raw_name(name) == name.encode("utf-8")


def test_raw_path_converts_each_component():
    assert entries.raw_path("/srv/x/caf%E9.txt") == b"/srv/x/caf\xe9.txt"
    assert entries.raw_path("rel/ok.txt") == b"rel/ok.txt"


def test_printable_escapes_control_characters():
    assert entries.printable("a\nforged INFO line") == "a\\nforged INFO line"
    assert entries.printable("caf\u00e9 ok.txt") == "caf\u00e9 ok.txt"


def test_an_ascii_name_that_spells_an_escape_is_ambiguous():
    """'100%E9.csv' may be that ASCII name or Latin-1 b'100\\xe9.csv': raw_name
    gives the latter, so callers that open a name try its UTF-8 bytes first."""
    assert entries.raw_name("100%E9.csv") == b"100\xe9.csv"


def test_name_map_gives_the_native_path_of_remembered_names_and_their_children():
    from sftp_client.names import NameMap
    names = NameMap()
    names.remember("/srv/plain", b"/srv/plain")            # same bytes: not kept
    names.remember("/srv/d%E9j", b"/srv/d\xe9j")
    assert names.native("/srv/plain/x") is None
    assert names.native("/srv/d%E9j") == b"/srv/d\xe9j"
    assert names.native("/srv/d%E9j/sub/caf\u00e9.txt") == \
        b"/srv/d\xe9j/sub/caf\xc3\xa9.txt"
    assert names.native("//") is None and names.native("") is None
    assert names.known("/srv/d%E9j") and not names.known("/srv/plain")


def test_local_name_map_keeps_surrogate_escaped_names():
    import os
    from sftp_client.names import NameMap, same
    names = NameMap(encode=same)
    native = os.fsdecode(b"r\xe9sum\xe9")
    names.remember("r%E9sum%E9", native)
    assert names.native("r%E9sum%E9/x.txt") == native + "/x.txt"
