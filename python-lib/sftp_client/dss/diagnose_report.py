"""How the connection test's stages are shown: an HTML page for the macro (one
table row per stage, with ``data-stage`` / ``data-status`` attributes that
tools can read back) and plain text for logs and the command line."""
from html import escape

from sftp_client.dss.diagnose import FAILED, OK, passed

_COLOURS = {OK: "#2e7d32", FAILED: "#c62828"}
_GREY = "#757575"


def verdict(stages):
    if passed(stages):
        return "All stages passed."
    failed = next(s for s in stages if s.status == FAILED)
    return "Failed at stage '%s': the stages after it were not run." % failed.name


def render_html(stages, title="Test SFTP service"):
    rows = []
    for number, stage in enumerate(stages, 1):
        colour = _COLOURS.get(stage.status, _GREY)
        check = ("<br/><b>Check:</b> %s" % escape(stage.check)) if stage.check else ""
        rows.append(
            '<tr data-stage="%s" data-status="%s" data-seconds="%.3f">'
            '<td>%d</td><td>%s</td><td style="color:%s;font-weight:bold">%s</td>'
            '<td style="text-align:right">%s</td><td>%s%s</td></tr>'
            % (escape(stage.name), stage.status, stage.seconds, number,
               escape(stage.name), colour, stage.status.upper(),
               _seconds(stage), escape(stage.detail), check))
    return ('<div class="sftp-connection-test"><h3>%s</h3><p data-verdict="%s">%s</p>'
            '<table class="table table-condensed"><thead><tr><th>#</th><th>Stage</th>'
            '<th>Result</th><th>Time</th><th>Details</th></tr></thead><tbody>%s'
            '</tbody></table></div>' % (escape(title), "ok" if passed(stages) else
                                        "failed", escape(verdict(stages)), "".join(rows)))


def render_text(stages):
    lines = []
    for number, stage in enumerate(stages, 1):
        lines.append("%2d. %-15s %-7s %8s  %s" % (number, stage.name, stage.status.upper(),
                                                  _seconds(stage), stage.detail))
        if stage.check:
            lines.append("    %-15s check: %s" % ("", stage.check))
    lines.append(verdict(stages))
    return "\n".join(lines)


def _seconds(stage):
    return "" if stage.status == "skipped" else "%.3f s" % stage.seconds
