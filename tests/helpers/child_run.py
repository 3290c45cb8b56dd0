"""Run one recipe or export in a child process (another writer, with its own
process id), optionally hanging after some bytes so the parent can watch it
mid-file, or kill it there as DSS kills an aborted job.

Usage: ``python child_run.py`` with a JSON spec on stdin:
``{"paths": [...], "kind": "upload" | "download" | "export", "config": {...},
"folder": dir, "hang_after": bytes (rows for an export) or null, "schema": ...,
"rows": [...]}``.
"""
import json
import sys
import time


def _hang_after(limit):
    """Make every copy stop (sleep) after ``limit`` bytes of one file."""
    from sftp_client import copying
    from sftp_client.sync import folder_local, folder_stream
    from sftp_client.remote import commit as remote_commit

    class Hanging(object):
        def __init__(self, source):
            self.source, self.count = source, 0

        def read(self, size):
            if self.count >= limit:
                sys.stdout.write("hanging\n")
                sys.stdout.flush()
                time.sleep(3600)
            data = self.source.read(min(size, limit - self.count))
            self.count += len(data)
            return data

    def copy_stream(source, dest, expected, path, progress=None):
        return copying.copy_stream(Hanging(source), dest, expected, path, progress)

    folder_local.copy_stream = folder_stream.copy_stream = copy_stream
    remote_commit.copy_stream = copy_stream


def _rows(rows, hang_after):
    """The export's rows; with ``hang_after``, hang after that many."""
    for number, row in enumerate(rows):
        if hang_after is not None and number == hang_after:
            sys.stdout.write("hanging\n")
            sys.stdout.flush()
            time.sleep(3600)
        yield tuple(row)


def main():
    spec = json.load(sys.stdin)
    sys.path[:0] = spec["paths"]
    from dataiku import _harness
    if spec.get("hang_after") is not None and spec["kind"] != "export":
        _hang_after(spec["hang_after"])
    recipes = spec["recipes"]
    if spec["kind"] == "export":
        _harness.run_exporter(spec["exporter"], spec["config"], {}, spec["schema"],
                              _rows(spec["rows"], spec.get("hang_after")))
        return
    _harness.register_folder("f", spec["folder"])
    _harness.register_dataset("report")
    if spec["kind"] == "upload":
        _harness.set_recipe(spec["config"], inputs={"input_folder": ["f"]},
                            outputs={"uploaded_files": ["report"]})
    else:
        _harness.set_recipe(spec["config"], outputs={"output_folder": ["f"],
                                                     "report": ["report"]})
    _harness.run_recipe(recipes[spec["kind"]])


if __name__ == "__main__":
    main()
