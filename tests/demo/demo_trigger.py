"""Demo step: the "New files on SFTP" scenario trigger, its real trigger.py run
through the stand-in dataiku package as DSS runs it at each check: it fires once
for a delivered file, not while nothing new has settled, and not after a pick-up
took the files away."""
import json
import logging
import os

from dataiku import _harness

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRIGGER = os.path.join(PROJECT_DIR, "python-triggers", "new-files-on-sftp", "trigger.py")


class _Lines(logging.Handler):
    """The trigger's own log lines of one check."""

    def __init__(self):
        logging.Handler.__init__(self, logging.INFO)
        self.lines = []

    def emit(self, record):
        if record.name.startswith("sftp_client.trigger"):
            self.lines.append(record.getMessage())


def _check(number, service):
    _harness.set_trigger({"sftp_service": service, "remote_path": "watched",
                          "include_patterns": ["*.csv"], "settle_seconds": 60})
    lines = _Lines()
    logger = logging.getLogger("sftp_client.trigger")
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    try:
        fires = _harness.run_trigger(TRIGGER)
    finally:
        logger.removeHandler(lines)
    print("  check %d: %s -> %s" % (number, " / ".join(lines.lines),
                                    "SCENARIO STARTED" if fires else "no fire"))
    return fires


def trigger_fires_once(service, write, root, t0):
    """``service``: the preset (here through a proxy); ``write(rel, data, mtime)``
    writes a file on the server under ``root`` as the SFTP user; ``t0``: an old time."""
    print("Checks of a trigger on 'watched' (*.csv, settle time 60 s); DSS would run "
          "one every few minutes.")
    write("watched/orders-0411.csv", b"id,amount\n1,10\n", t0)
    fires = _check(1, service)
    print("  A partner delivers watched/orders-0412.csv, keeping its original time:")
    write("watched/orders-0412.csv", b"id,amount\n2,20\n3,30\n", t0)
    fires += _check(2, service)
    fires += _check(3, service)
    fires += _check(4, service)
    print("  The download recipe's pick-up takes both files away:")
    for name in ("orders-0411.csv", "orders-0412.csv"):
        os.remove(os.path.join(root, "watched", name))
    fires += _check(5, service)
    local = _harness.project_variables()["local"]
    (name, value), = [(k, v) for k, v in local.items() if k.startswith("sftp_new_files_")]
    print("The scenario was started %d time(s). What the trigger remembers: local project "
          "variable %s, %d characters." % (fires, name, len(json.dumps(value))))
    return fires
