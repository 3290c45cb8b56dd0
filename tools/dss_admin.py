#!/usr/bin/env python3
"""Install the plugin and manage its SFTP Services presets on a DSS instance, as
code, through DSS's public API (the ``dataiku-api-client`` package, ``dataikuapi``).

    dss_admin.py install [--zip dist/dss-plugin-...zip]
    dss_admin.py presets apply presets.json
    dss_admin.py presets list
    dss_admin.py test PRESET --project KEY [--remote-path P] [--write-test]

The instance comes from --url / --api-key or DSS_URL / DSS_API_KEY. TLS
certificates are verified unless --insecure is given (REQUESTS_CA_BUNDLE names a
private CA). No command prints or writes a secret: preset secrets come from the
environment variables the presets file names. This tool is not part of the plugin
archive (tools/ is export-ignored).
"""
import argparse
import json
import os
import subprocess
import sys
import time
import zipfile
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGIN_ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from preset_file import (PresetFileError, load_parameter_set,  # noqa: E402
                         read_presets, secret_fields)

PARAMETER_SET = "sftp-services"
MACRO = "test-sftp-service"
#: Seconds to wait for the connection test macro to finish.
MACRO_WAIT = 600


class AdminError(Exception):
    """A failure worth one line to the user (no traceback, no secret)."""


def plugin_id():
    with open(os.path.join(PLUGIN_ROOT, "plugin.json"), "rb") as handle:
        return json.loads(handle.read().decode("utf-8"))["id"]


def connect(args):
    url = args.url or os.environ.get("DSS_URL")
    key = args.api_key or os.environ.get("DSS_API_KEY")
    if not url or not key:
        raise AdminError("give the DSS URL and an API key: --url/--api-key or DSS_URL and "
                         "DSS_API_KEY")
    import dataikuapi
    return dataikuapi.DSSClient(url.rstrip("/"), key, no_check_certificate=args.insecure)


# --- install --------------------------------------------------------------------------

def build_zip(out_dir):
    """The plugin archive from the committed tree (git archive honours
    export-ignore: no tests/, no tools/)."""
    with open(os.path.join(PLUGIN_ROOT, "plugin.json"), "rb") as handle:
        version = json.loads(handle.read().decode("utf-8"))["version"]
    path = os.path.join(out_dir, "dss-plugin-%s-%s.zip" % (plugin_id(), version))
    subprocess.check_call(["git", "-C", PLUGIN_ROOT, "archive", "--format=zip", "-o", path,
                           "HEAD"])
    return path


def check_zip(path):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    if "plugin.json" not in names:
        raise AdminError("%s has no plugin.json at its top: not a plugin archive" % path)
    leaked = [n for n in names if n.split("/")[0] in ("tests", "tools", ".ci")]
    if leaked:
        raise AdminError("%s holds development files (%s): build it with 'make plugin'"
                         % (path, leaked[0]))


def cmd_install(client, args, out):
    path = args.zip or build_zip(os.path.join(PLUGIN_ROOT, "dist"))
    check_zip(path)
    pid = plugin_id()
    installed = pid in [p.get("id") for p in client.list_plugins()]
    with open(path, "rb") as handle:
        if installed:
            client.get_plugin(pid).update_from_zip(handle)
        else:
            client.install_plugin_from_archive(handle)
    out("%s plugin %s from %s" % ("Updated" if installed else "Installed", pid,
                                  os.path.basename(path)))
    plugin = client.get_plugin(pid)
    settings = plugin.get_settings()
    env = settings.get_raw().get("codeEnvName")
    if env:
        plugin.update_code_env().wait_for_result()
        out("Updated code env %s" % env)
    else:
        created = plugin.create_code_env().wait_for_result() or {}
        env = created.get("envName")
        if not env:
            raise AdminError("DSS created no code env (answer: %s)" % sorted(created))
        settings.set_code_env(env)
        settings.save()
        out("Created code env %s and set it on the plugin" % env)
    return 0


# --- presets ----------------------------------------------------------------------------

def _parameter_set(settings):
    found = settings.get_parameter_set(PARAMETER_SET)
    if found is None:
        raise AdminError("the plugin on DSS has no parameter set %s: install it first"
                         % PARAMETER_SET)
    return found


def cmd_presets_apply(client, args, out):
    try:
        records = read_presets(args.file, load_parameter_set(PLUGIN_ROOT), os.environ)
    except PresetFileError as exc:
        raise AdminError(str(exc))
    settings = client.get_plugin(plugin_id()).get_settings()
    parameter_set = _parameter_set(settings)
    for record in records:
        preset = parameter_set.get_preset(record["name"])
        created = preset is None
        if created:
            preset = parameter_set.create_preset(record["name"])
        _apply(preset, record)
        out("%s preset %s (%s)" % ("Created" if created else "Updated", record["name"],
                                   _where(record["config"])))
    settings.save()
    return 0


def _apply(preset, record):
    preset.config.clear()
    preset.config.update(record["config"])
    if record["owner"]:
        preset.owner = record["owner"]
    preset.usable_by_all = record["usable_by_all"]
    raw = preset.get_raw()
    raw["permissions"] = [p for p in raw.get("permissions", [])
                          if p.get("group") in record["groups"]]
    for group in record["groups"]:
        preset.set_usable_by(group, True)


def _where(config):
    where = "%s@%s:%s" % (config.get("username"), config.get("hostname"), config.get("port"))
    if config.get("proxy_type") not in (None, "", "none"):
        where += " through %s proxy %s:%s" % (config["proxy_type"],
                                              config.get("proxy_hostname"),
                                              config.get("proxy_port"))
    return where


def cmd_presets_list(client, args, out):
    settings = client.get_plugin(plugin_id()).get_settings()
    hidden = secret_fields(load_parameter_set(PLUGIN_ROOT))
    presets = _parameter_set(settings).list_presets()
    if not presets:
        out("No SFTP Services preset.")
    for preset in presets:
        raw, config = preset.get_raw(), preset.config
        groups = [p["group"] for p in raw.get("permissions", []) if p.get("use")]
        secrets = sorted(f for f in hidden if config.get(f))
        out("%s: %s; owner %s; usable by %s; secrets set: %s" % (
            preset.name, _where(config), raw.get("owner") or "-",
            "everyone" if raw.get("defaultPermission", {}).get("use") else
            (", ".join(groups) or "its owner only"), ", ".join(secrets) or "none"))
    return 0


# --- test --------------------------------------------------------------------------------

class _Stages(HTMLParser):
    """Rows of the macro's HTML page: (stage, status, details)."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.rows, self.verdict, self._row, self._cell, self._in_verdict = [], "", None, None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-stage" in attrs:
            self._row = [attrs["data-stage"], attrs.get("data-status", "?"),
                         attrs.get("data-seconds", ""), []]
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "p" and "data-verdict" in attrs:
            self._in_verdict = True

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row[3].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "p":
            self._in_verdict = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_verdict:
            self.verdict += data


def cmd_test(client, args, out):
    macro = client.get_project(args.project).get_macro(
        "pyrunnable_%s_%s" % (plugin_id(), MACRO))
    # A PRESET param refers to a preset by name (unconfirmed form; see
    # docs/presets-as-code.md).
    params = {"sftp_service": {"mode": "PRESET", "name": args.preset},
              "remote_path": args.remote_path or "", "write_test": bool(args.write_test)}
    run_id = macro.run(params=params, wait=True)
    deadline = time.time() + MACRO_WAIT
    while (macro.get_status(run_id) or {}).get("running"):
        if time.time() > deadline:
            macro.abort(run_id)
            raise AdminError("the connection test did not finish within %d s" % MACRO_WAIT)
        time.sleep(1)
    page = macro.get_result(run_id, as_type="string")
    parser = _Stages()
    parser.feed(page.decode("utf-8") if isinstance(page, bytes) else page)
    if not parser.rows:
        raise AdminError("the macro's answer has no stage rows")
    for name, status, seconds, cells in parser.rows:
        details = cells[4] if len(cells) > 4 else ""
        out("%-15s %-7s %7s  %s" % (name, status.upper(), cells[3] if len(cells) > 3
                                     else seconds, details))
    out(parser.verdict.strip())
    return 0 if all(row[1] != "failed" for row in parser.rows) else 1


# --- command line -----------------------------------------------------------------------

def parser():
    main = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    main.add_argument("--url", help="DSS URL, e.g. https://dss.example.com (or DSS_URL)")
    main.add_argument("--api-key", help="an admin API key (or DSS_API_KEY)")
    main.add_argument("--insecure", action="store_true",
                      help="do not verify the TLS certificate of DSS (not advised)")
    commands = main.add_subparsers(dest="command")
    commands.required = True
    install = commands.add_parser("install", help="install or update the plugin and "
                                                  "create or update its code env")
    install.add_argument("--zip", help="plugin archive (default: built with git archive)")
    install.set_defaults(run=cmd_install)
    presets = commands.add_parser("presets", help="SFTP Services presets")
    actions = presets.add_subparsers(dest="action")
    actions.required = True
    apply_ = actions.add_parser("apply", help="create or update presets from a JSON file")
    apply_.add_argument("file")
    apply_.set_defaults(run=cmd_presets_apply)
    actions.add_parser("list", help="list presets (no secret)").set_defaults(
        run=cmd_presets_list)
    test = commands.add_parser("test", help="run the Test SFTP service macro")
    test.add_argument("preset")
    test.add_argument("--project", required=True, help="project key to run the macro in")
    test.add_argument("--remote-path", default="")
    test.add_argument("--write-test", action="store_true")
    test.set_defaults(run=cmd_test)
    return main


def main(argv=None, out=print):
    args = parser().parse_args(argv)
    try:
        return args.run(connect(args), args, out)
    except AdminError as exc:
        out("error: %s" % exc)
        return 2
    except Exception as exc:  # dataikuapi raises plain exceptions for HTTP errors
        out("error: %s: %s" % (exc.__class__.__name__, str(exc).splitlines()[0][:300]
                               if str(exc) else ""))
        return 2


if __name__ == "__main__":
    sys.exit(main())
