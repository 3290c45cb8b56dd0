"""The connection test's report and its first stage, without a server: HTML is
escaped and machine-readable, failures are explained, secrets never shown, and
the stand-in dataiku.runnables behaves as documented."""
import re

import pytest

from dataiku.runnables import ResultTable, Runnable
from sftp_client.dss.choices import path_choices
from sftp_client.dss.diagnose import FAILED, OK, SKIPPED, STAGES, Stage, diagnose
from sftp_client.dss.diagnose_report import render_html, render_text, verdict


def stages(*statuses):
    return [Stage(name, status, 0.5, "saw <b>%s</b> & more" % name, "check it"
                  if status == FAILED else "") for name, status in zip(STAGES, statuses)]


def test_html_rows_carry_stage_and_status_and_escape_details():
    page = render_html(stages(OK, SKIPPED, FAILED))
    rows = re.findall(r'<tr data-stage="([^"]+)" data-status="(\w+)"', page)
    assert rows == [("Settings", "ok"), ("Proxy", "skipped"), ("Jump host", "failed")]
    assert "<b>Settings</b>" not in page and "saw &lt;b&gt;Settings&lt;/b&gt; &amp; more" in page
    assert 'data-verdict="failed"' in page and "Check:</b> check it" in page


def test_text_and_verdict():
    assert verdict(stages(OK, OK)) == "All stages passed."
    text = render_text(stages(OK, FAILED, SKIPPED))
    assert "Failed at stage 'Proxy'" in text and "check: check it" in text
    assert "SKIPPED" in text


def test_invalid_settings_fail_the_first_stage_without_echoing_secrets():
    raw = {"hostname": "sftp://host", "username": "u", "password": "Sup3r-secret-pw"}
    result = diagnose(raw)
    assert [s.status for s in result] == [FAILED] + [SKIPPED] * (len(STAGES) - 1)
    assert "Hostname" in result[0].detail and result[0].check
    assert not [s for s in result if "Sup3r-secret-pw" in s.detail + s.check]


def test_nothing_selected_is_explained():
    assert "no SFTP service selected" in diagnose({})[0].detail
    assert "no SFTP service selected" in diagnose(None)[0].detail


def test_picker_with_an_unresolved_preset_reference():
    config = {"browse_remote": True, "remote_path_picker": "a/",
              "sftp_service": {"mode": "PRESET", "name": "partner"}}
    choices = path_choices({"parameterName": "remote_path_picker"}, config)["choices"]
    assert choices == [{"value": "a/", "label": "Check the SFTP service: the form passed "
                        "only the preset's name (partner), not its fields; type the path "
                        "instead"}]


def test_picker_answers_nothing_for_other_params():
    assert path_choices({"parameterName": "format"}, {}) == {"choices": []}


def test_stand_in_result_table_and_runnable():
    table = ResultTable()
    table.add_column("stage", "Stage", "STRING")
    table.add_record(["Settings"])
    assert table.records == [["Settings"]]
    with pytest.raises(ValueError):
        table.add_column("x", "X", "INT")
    with pytest.raises(ValueError):
        table.add_record(["a", "b"])
    with pytest.raises(NotImplementedError):
        Runnable("P", {}, {}).run(lambda n: None)
