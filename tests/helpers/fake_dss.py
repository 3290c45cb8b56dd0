"""A small local HTTP server answering like DSS's public REST API, for the calls
``dataikuapi`` makes on behalf of tools/dss_admin.py (read from dataikuapi's
dssclient.py, dss/plugin.py, dss/macro.py and dss/future.py):

- GET  /dip/publicapi/plugins/                                   list_plugins
- POST /dip/publicapi/plugins/actions/installFromZip             install_plugin_from_archive
- POST /dip/publicapi/plugins/<id>/actions/updateFromZip         DSSPlugin.update_from_zip
- GET|POST /dip/publicapi/plugins/<id>/settings                  get_settings / save
- POST /dip/publicapi/plugins/<id>/code-env/actions/create|update  (futures, done at once)
- POST /dip/publicapi/projects/<key>/runnables/<type>            DSSMacro.run
- GET  /dip/publicapi/projects/<key>/runnables/<type>/state/<id> get_status
- GET  /dip/publicapi/projects/<key>/runnables/<type>/result/<id>  get_result

Requests need HTTP Basic auth with the API key as user (as dataikuapi sends it).
Every request is recorded. A macro run resolves a PRESET param naming a stored
preset into the preset's fields, then runs the plugin's real runnable.py through
the stand-in ``dataiku`` package, as DSS would run it.
"""
import base64
import email.parser
import io
import json
import os
import re
import threading
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/dip/publicapi"


class Recorded(object):
    def __init__(self, method, path, query, body, content_type):
        self.method, self.path, self.query = method, path, query
        self.body, self.content_type = body, content_type

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def upload(self):
        """The bytes of the multipart 'file' field."""
        message = email.parser.BytesParser().parsebytes(
            b"Content-Type: " + self.content_type.encode("ascii") + b"\r\n\r\n" + self.body)
        for part in message.get_payload():
            if part.get_param("name", header="content-disposition") == "file":
                return part.get_payload(decode=True)
        raise AssertionError("no 'file' field in the upload")


class FakeDss(object):
    """The fake instance: plugins, their settings, macro runs."""

    def __init__(self, api_key, runnable_dir=None):
        self.api_key = api_key
        self.runnable_dir = runnable_dir      # plugin checkout whose macros run
        self.requests = []
        self.plugins = {}                     # id -> {"zip": bytes, "settings": dict}
        self.results = {}
        self.lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"dss": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def calls(self, method=None, pattern=""):
        return [r for r in self.requests if (method is None or r.method == method)
                and re.search(pattern, r.path)]

    # --- plugin state -------------------------------------------------------------

    def install(self, payload):
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            plugin = json.loads(archive.read("plugin.json").decode("utf-8"))
            sets = [n for n in archive.namelist()
                    if re.match(r"parameter-sets/[^/]+/parameter-set\.json$", n)]
            descs = [(n.split("/")[1], json.loads(archive.read(n).decode("utf-8")))
                     for n in sets]
        known = self.plugins.get(plugin["id"])
        settings = known["settings"] if known else {
            "codeEnvName": "", "presets": [], "parameterSets": [], "accessibleParameterSetDescs": []}
        settings["parameterSets"] = [{"name": name, "type": "%s_%s" % (plugin["id"], name)}
                                     for name, _ in descs]
        settings["accessibleParameterSetDescs"] = [
            {"id": name, "elementType": "%s_%s" % (plugin["id"], name),
             "desc": dict(desc, pluginParams=desc.get("pluginParams", []))}
            for name, desc in descs]
        self.plugins[plugin["id"]] = {"zip": payload, "settings": settings}
        return plugin["id"]

    def run_macro(self, runnable_type, body):
        from dataiku import _harness
        plugin_id, macro = re.match(r"pyrunnable_(.+)_([^_]+)$", runnable_type).groups()
        settings = self.plugins[plugin_id]["settings"]
        params = dict(body.get("params") or {})
        for name, value in list(params.items()):
            if isinstance(value, dict) and value.get("mode") == "PRESET":
                found = [p for p in settings["presets"] if p["name"] == value.get("name")]
                params[name] = dict(found[0]["config"]) if found else None
        path = os.path.join(self.runnable_dir, "python-runnables", macro, "runnable.py")
        result, _ = _harness.run_macro(path, params, {})
        run_id = uuid.uuid4().hex
        self.results[run_id] = result
        return run_id


class _Handler(BaseHTTPRequestHandler):
    dss = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def _serve(self, method):
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = Recorded(method, path, query, body, self.headers.get("Content-Type", ""))
        with self.dss.lock:
            self.dss.requests.append(record)
            if not self._authorised():
                return self._json(401, {"errorType": "Unauthorized", "message": "bad key"})
            if not path.startswith(PREFIX):
                return self._json(404, {"message": "not the public API"})
            try:
                answer = self._route(method, path[len(PREFIX):], record)
            except KeyError as exc:
                return self._json(404, {"errorType": "NotFound", "message": str(exc)})
        if isinstance(answer, bytes):
            return self._send(200, answer, "text/html; charset=utf-8")
        return self._json(200, answer)

    def _authorised(self):
        expected = base64.b64encode(("%s:" % self.dss.api_key).encode()).decode()
        return self.headers.get("Authorization") == "Basic " + expected

    def _route(self, method, path, record):
        dss = self.dss
        if path == "/plugins/" and method == "GET":
            return [{"id": pid} for pid in sorted(dss.plugins)]
        if path == "/plugins/actions/installFromZip":
            dss.install(record.upload())
            return {}
        match = re.match(r"/plugins/([^/]+)/(.*)$", path)
        if match:
            return self._plugin(method, match.group(1), match.group(2), record)
        match = re.match(r"/projects/([^/]+)/runnables/([^/]+)(?:/(state|result)/(\w+))?$",
                         path)
        if match:
            _, runnable, what, run_id = match.groups()
            if what is None:
                return {"runId": dss.run_macro(runnable, record.json())}
            if what == "state":
                return {"exists": run_id in dss.results, "running": False}
            return dss.results.pop(run_id).encode("utf-8")
        raise KeyError(path)

    def _plugin(self, method, plugin_id, rest, record):
        plugin = self.dss.plugins[plugin_id]
        if rest == "actions/updateFromZip":
            self.dss.install(record.upload())
            return {}
        if rest == "settings":
            if method == "POST":
                plugin["settings"] = record.json()
                return {}
            return plugin["settings"]
        if rest == "code-env/actions/create":
            name = "plugin_%s_managed" % plugin_id
            return {"hasResult": True, "result": {"envName": name}}
        if rest == "code-env/actions/update":
            return {"hasResult": True, "result": {"envName": plugin["settings"]["codeEnvName"]}}
        raise KeyError(rest)

    def _json(self, code, payload):
        self._send(code, json.dumps(payload).encode("utf-8"), "application/json")

    def _send(self, code, payload, content_type):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
