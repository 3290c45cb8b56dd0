"""planner.plan: the pure decision of what to copy, with a reason per file."""
import pytest

from sftp_client.entries import Entry
from sftp_client.sync.planner import (CHANGED, DEFERRED, NEW, UNCHANGED, compare, matches, plan)

NOW = 1700000000


def entries(*specs):
    return [Entry(path, size, mtime) for path, size, mtime in specs]


def statuses(result):
    return dict((item.path, item.status) for item in result.items)


def test_new_changed_and_unchanged_files():
    source = entries(("new.csv", 5, 100), ("same.csv", 3, 200), ("bigger.csv", 9, 300),
                     ("touched.csv", 4, 401))
    target = entries(("same.csv", 3, 200), ("bigger.csv", 8, 300), ("touched.csv", 4, 400),
                     ("local-only.csv", 1, 1))
    result = plan(source, target, now=NOW)
    assert statuses(result) == {"new.csv": NEW, "same.csv": UNCHANGED,
                                "bigger.csv": CHANGED, "touched.csv": CHANGED}
    reasons = dict((i.path, i.reason) for i in result.items)
    assert reasons["bigger.csv"] == "size differs (8 -> 9 bytes)"
    assert reasons["touched.csv"] == "modification time differs by 1 s"
    assert reasons["same.csv"] == "same size and modification time"
    # Target-only files are never planned: nothing is ever deleted.
    assert "local-only.csv" not in statuses(result)
    assert result.bytes_to_copy() == 5 + 9 + 4


def test_same_size_content_change_is_caught_by_mtime():
    assert compare(Entry("a", 10, 1000), Entry("a", 10, 999))[0] == CHANGED


def test_mtime_compared_in_whole_seconds():
    assert compare(Entry("a", 1, 1000.9), Entry("a", 1, 1000))[0] == UNCHANGED


def test_unknown_target_time_means_copy():
    status, reason = compare(Entry("a", 1, 1000), Entry("a", 1, None))
    assert status == CHANGED and "unknown" in reason


def test_young_files_are_deferred_but_unchanged_stay_unchanged():
    source = entries(("young.csv", 1, NOW - 10), ("old.csv", 1, NOW - 1000),
                     ("young-same.csv", 1, NOW - 5))
    target = entries(("young-same.csv", 1, NOW - 5))
    result = plan(source, target, min_age_seconds=60, now=NOW)
    assert statuses(result) == {"young.csv": DEFERRED, "old.csv": NEW,
                                "young-same.csv": UNCHANGED}
    assert not [i for i in result.items if i.status == DEFERRED][0].copy


@pytest.mark.parametrize("path, pattern, expected", [
    ("a/b/data.csv", "*.csv", True),
    ("a/b/data.csv", "data.*", True),
    ("a/b/data.csv", "a/*.csv", True),       # '*' crosses directories in path patterns
    ("a/b/data.csv", "b/*.csv", False),
    ("2024/x.csv", "2024/**", True),
    ("x.csv", "**/x.csv", True),
    ("a/x.csv", "**/x.csv", True),
    ("x.CSV", "*.csv", False),
])
def test_patterns(path, pattern, expected):
    assert matches(path, pattern) is expected


def test_include_and_exclude():
    source = entries(("a.csv", 1, 1), ("b.txt", 1, 1), ("tmp/c.csv", 1, 1))
    result = plan(source, [], include=("*.csv",), exclude=("tmp/**",), now=NOW)
    assert list(statuses(result)) == ["a.csv"]
    assert result.excluded == 2


def test_directories_to_create_parents_first_and_only_missing():
    result = plan([], [], source_dirs=["a/b/c", "a", "a/b", "z"], target_dirs=["z"],
                  now=NOW)
    assert result.dirs == ["a", "a/b", "a/b/c"]


def test_include_patterns_create_no_empty_directories():
    result = plan([], [], source_dirs=["empty"], include=("*.csv",), now=NOW)
    assert result.dirs == []


def test_summary_counts():
    result = plan(entries(("a", 2, 1), ("b", 3, 5)), entries(("b", 3, 5)), now=NOW)
    assert result.summary() == ("1 new, 0 changed, 1 unchanged, 0 deferred, 0 excluded; "
                                "2 bytes to transfer")
