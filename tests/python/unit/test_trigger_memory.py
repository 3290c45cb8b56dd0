"""What "New files on SFTP" remembers (trigger/sketch.py, memory.py) and its pure
decision (trigger/decide.py): bounded size, additions told from removals, the settle
rule, the first check, and the conservative answer when too much changed."""
import json
import random

import pytest

from sftp_client.entries import Entry
from sftp_client.errors import ConfigError
from sftp_client.trigger import memory
from sftp_client.trigger.decide import decide
from sftp_client.trigger.settings import TriggerSettings, trigger_settings_from_config
from sftp_client.trigger.sketch import KnownFiles, WaitingSizes, path_key

NOW = 1700000000
OLD = NOW - 3600


def _files(names, size=1, mtime=OLD):
    return [Entry(name, size, mtime) for name in names]


def _run(checks, **settings):
    """Decide on each listing in turn; the list of fire decisions."""
    options = TriggerSettings(**settings)
    previous, fired = None, []
    for number, files in enumerate(checks):
        decision = decide(previous, files, options, NOW + number)
        previous = memory.from_value(json.loads(json.dumps(decision.memory.to_value())))
        fired.append(decision.fire)
    return fired


# ---- the sketches --------------------------------------------------------------------

@pytest.mark.parametrize("difference,at_least", [(10, 1.0), (20, 0.99), (40, 0.97)])
def test_small_differences_decode_exactly(difference, at_least):
    known = KnownFiles.of(path_key("kept-%d" % i) for i in range(5000))
    decoded = 0
    for trial in range(300):
        rnd = random.Random(trial)
        gone = rnd.randint(0, difference)
        before = KnownFiles(known.counts, known.keys, known.checks)
        now = KnownFiles(known.counts, known.keys, known.checks)
        for i in range(gone):
            before.add(path_key("gone-%d-%d" % (trial, i)))
        for i in range(difference - gone):
            now.add(path_key("new-%d-%d" % (trial, i)))
        only_before, only_now, complete = before.minus(now).peel()
        if complete:
            assert sorted(only_before) == sorted(path_key("gone-%d-%d" % (trial, i))
                                                 for i in range(gone))
            assert sorted(only_now) == sorted(path_key("new-%d-%d" % (trial, i))
                                              for i in range(difference - gone))
            decoded += 1
    assert decoded / 300.0 >= at_least
    assert known.minus(known).is_empty()


def test_a_large_difference_says_it_is_incomplete():
    _, _, complete = KnownFiles.of(path_key("f%d" % i) for i in range(500)).minus(
        KnownFiles()).peel()
    assert not complete


def test_sketches_round_trip_through_text():
    known = KnownFiles.of(path_key("f%d" % i) for i in range(1000))
    assert KnownFiles.decode(known.encode()) == known
    waiting = WaitingSizes.of(_files(["a", "b"], size=7))
    assert WaitingSizes.decode(waiting.encode()) == waiting
    assert ("a", 7) in waiting and ("a", 8) not in waiting and ("c", 7) not in waiting
    assert WaitingSizes().encode() == ""
    with pytest.raises(ValueError):
        KnownFiles.decode("AAAA")


@pytest.mark.parametrize("value", [None, 3, {}, {"v": 2}, {"v": 1, "known": "%%%"},
                                   {"v": 1, "known": "AAAA"}])
def test_an_unusable_value_is_no_memory(value):
    assert memory.from_value(value) is None


def test_memory_of_fifty_thousand_files_stays_under_one_kib():
    files = _files(["dir%02d/file-%05d.csv" % (i % 50, i) for i in range(50000)])
    waiting = [Entry("arriving-%03d.csv" % i, 10, NOW) for i in range(100)]
    decision = decide(None, files + waiting, TriggerSettings(settle_seconds=60), NOW)
    assert decision.waiting == 100
    assert len(json.dumps(decision.memory.to_value())) < memory.MAX_CHARS


# ---- the decision ---------------------------------------------------------------------

def test_new_file_counts_after_two_checks_with_its_old_time_and_once():
    base = _files(["a"])
    assert _run([base, base + _files(["b"], mtime=OLD - 10 ** 6), base + _files(["b"]),
                 base + _files(["b"])]) == [False, False, True, False]


def test_growing_file_waits_for_the_same_size_twice():
    checks = [[], [Entry("b", 1, OLD)], [Entry("b", 2, OLD)], [Entry("b", 3, OLD)],
              [Entry("b", 3, OLD)], [Entry("b", 3, OLD)]]
    assert _run(checks) == [False, False, False, False, True, False]


def test_recent_time_never_counts():
    checks = [[], [Entry("b", 1, NOW)], [Entry("b", 1, NOW)], [Entry("b", 1, NOW)]]
    assert _run(checks, settle_seconds=60) == [False] * 4
    assert _run(checks, settle_seconds=0) == [False, False, True, False]


@pytest.mark.parametrize("fire_on,expected", [
    ("new", [True, False, False, False]), ("new_or_changed", [True, False, False, True])])
def test_changed_file(fire_on, expected):
    checks = [_files(["a"]), _files(["a"]), _files(["a"], size=2), _files(["a"], size=2)]
    assert _run(checks, fire_on=fire_on, fire_at_first_check=True) == expected


def test_removed_files_never_fire_and_a_name_delivered_again_does():
    many = _files(["f%02d" % i for i in range(30)])
    checks = [many, many[5:], many[20:], [], _files(["f00"]), _files(["f00"])]
    assert _run(checks, fire_at_first_check=True) == [True, False, False, False, False, True]


def test_new_files_arriving_during_a_small_pick_up_fire():
    many = _files(["f%02d" % i for i in range(30)])
    after = many[10:] + _files(["new"])
    assert _run([many, after, after], fire_at_first_check=True) == [True, False, True]


def test_too_many_changes_fire_when_a_settled_file_is_listed():
    """Beyond what the table can name, additions cannot be told from removals: fire
    when settled files are listed, not when nothing is left."""
    many = _files(["f%03d" % i for i in range(300)])
    assert _run([many, many[:10]], fire_at_first_check=True) == [True, True]
    assert _run([many, []], fire_at_first_check=True) == [True, False]
    assert _run([many, [Entry("x", 1, NOW)]], fire_at_first_check=True,
                settle_seconds=60) == [True, False]


def test_first_check_fires_only_with_the_option_and_keeps_uploads_in_progress():
    files = _files(["a"]) + [Entry("arriving", 5, NOW)]
    later = _files(["a", "arriving"], size=5)
    assert _run([files, later], settle_seconds=60) == [False, True]
    assert _run([files, later], settle_seconds=60, fire_at_first_check=True) == [True, True]
    assert _run([[], later], settle_seconds=60, fire_at_first_check=True) == [False, False]


def test_reason_names_the_new_files_on_one_line():
    previous = decide(None, _files(["a"]), TriggerSettings(), NOW).memory
    step = decide(previous, _files(["a", "b\nc", "d", "e", "f"]), TriggerSettings(), NOW)
    ready = decide(step.memory, _files(["a", "b\nc", "d", "e", "f"]), TriggerSettings(), NOW)
    assert ready.fire and ready.new_files == ("b\nc", "d", "e", "f")
    assert "\n" not in ready.reason and "b\\nc" in ready.reason and "1 more" in ready.reason


# ---- settings and variable name -------------------------------------------------------

def test_settings_defaults_and_labels():
    assert trigger_settings_from_config({}) == TriggerSettings()
    assert trigger_settings_from_config({"settle_seconds": 30.0, "fire_on": "new_or_changed",
                                         "include_patterns": [" *.csv ", ""]}) == \
        TriggerSettings(settle_seconds=30, fire_on="new_or_changed", include=("*.csv",))
    with pytest.raises(ConfigError, match='"Settle time \\(seconds\\)"'):
        trigger_settings_from_config({"settle_seconds": -1})
    with pytest.raises(ConfigError, match='"Fire on"'):
        trigger_settings_from_config({"fire_on": "always"})


def test_variable_name_depends_on_what_is_watched():
    from sftp_client.connect.settings import service_from_config
    service = service_from_config({"hostname": "sftp.example.com", "username": "u",
                                   "password": "p", "root_path": "/srv"})
    other = service_from_config({"hostname": "sftp.example.com", "username": "v",
                                 "password": "p", "root_path": "/srv"})
    names = set([memory.variable_name(service, "/srv/in", TriggerSettings()),
                 memory.variable_name(other, "/srv/in", TriggerSettings()),
                 memory.variable_name(service, "/srv/out", TriggerSettings()),
                 memory.variable_name(service, "/srv/in", TriggerSettings(include=("*.csv",))),
                 memory.variable_name(service, "/srv/in", TriggerSettings(fire_on="new_or_changed"))])
    assert len(names) == 5
    assert memory.variable_name(service, "/srv/in", TriggerSettings(settle_seconds=5)) == \
        memory.variable_name(service, "/srv/in", TriggerSettings())


def test_a_large_upload_in_progress_neither_fires_nor_crowds_the_table():
    known = _files(["f%05d" % i for i in range(5000)])
    arriving = [Entry("new-%03d" % i, 10, NOW) for i in range(200)]
    decisions = _run([known, known + arriving], fire_at_first_check=True,
                     settle_seconds=60)
    assert decisions == [True, False]
    previous = decide(None, known, TriggerSettings(), NOW).memory
    step = decide(previous, known + arriving, TriggerSettings(settle_seconds=60), NOW)
    assert "too many" not in step.reason and step.waiting == 200


@pytest.mark.parametrize("fire_on,expected", [
    ("new", [True, False, False, False]), ("new_or_changed", [True, False, True, False])])
def test_a_counted_file_written_again(fire_on, expected):
    checks = [_files(["a"]), [Entry("a", 2, NOW)], _files(["a"], size=2),
              _files(["a"], size=2)]
    assert _run(checks, fire_on=fire_on, fire_at_first_check=True,
                settle_seconds=60) == expected
