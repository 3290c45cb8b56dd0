"""The remote path picker: choices for the ``remote_path_picker`` SELECT of the
recipes and the exporter, listed live on the server, and the path a run uses.

DSS documents ``getChoicesFromPython`` for SELECT and MULTISELECT params only, so
the typed ``remote_path`` (STRING) stays as it is and a separate SELECT offers the
server's directories (and, for the exporter, existing files). Each answer offers
the directories two levels below the current one, with their full relative paths,
so one choice reaches a sub-directory even if DSS does not re-run ``do()`` when the
picker itself changes (not documented); where it does, picking a directory lists
the two levels below it on the next refresh, with a way back up. The typed
``remote_path`` is relative to the picked directory, so a path that does not
exist yet can still be typed. Browsing is off until 'Browse the server' is ticked.

``path_choices`` never raises: any failure is one choice whose label says what to
check, and it answers within the service's timeout. No label holds a secret.
"""
import logging
import posixpath
import stat
import threading

from sftp_client.entries import is_internal, printable, resolve_under, split_relative
from sftp_client.errors import SftpClientError
from sftp_client.dss.probes import human_bytes
from sftp_client.redact import SECRET_KEYS, redact_text
from sftp_client.remote.error_map import remote_errors
from sftp_client.remote.walk import listdir
from sftp_client.connect.session import SftpSession
from sftp_client.connect.fields import boolean_param, text_param
from sftp_client.connect.settings import is_preset_reference, service_from_config

LOG = logging.getLogger(__name__)

PICKER = "remote_path_picker"
BROWSE = "browse_remote"
#: Most entries offered at once; a longer directory says how many were left out.
MAX_CHOICES = 200
#: Most directories whose own sub-directories are listed in one answer (one round
#: trip each, within the service's timeout); the label says when more were not.
MAX_EXPANDED = 50
_LABELS = {PICKER: "Pick on the server", BROWSE: "Browse the server",
           "remote_path": "Remote path"}


def effective_remote_path(config):
    """The remote path a run uses: the typed one, relative to the picked directory
    when browsing; a picked existing file (exporter) replaces the typed path."""
    typed = text_param(config, "remote_path", labels=_LABELS)
    if not boolean_param(config, BROWSE, False, labels=_LABELS):
        return typed
    picked = text_param(config, PICKER, labels=_LABELS).strip()
    if not picked:
        return typed
    if not picked.endswith("/"):
        return picked
    return posixpath.join(picked, typed.strip()) if typed.strip() else picked


def with_effective_remote_path(config):
    """A copy of ``config`` whose ``remote_path`` is ``effective_remote_path``."""
    chosen = dict(config)
    chosen["remote_path"] = effective_remote_path(config)
    return chosen


def path_choices(payload, config, include_files=False, plugin_config=None):
    """``{"choices": [...]}`` for the picker param (the ``do()`` of resource/).
    ``plugin_config``: the plugin-level settings (admin policy) for
    ``service_from_config``."""
    if (payload or {}).get("parameterName", PICKER) != PICKER:
        return {"choices": []}
    config = config or {}
    current = _current(config)
    try:
        if not boolean_param(config, BROWSE, False, labels=_LABELS):
            return _single(current, "Tick 'Browse the server' to list remote paths")
        raw = config.get("sftp_service")
        if is_preset_reference(raw):
            return _single(current, "Check the SFTP service: the form passed only the "
                                    "preset's name (%s), not its fields; type the path "
                                    "instead" % printable(str(raw.get("name"))))
        settings = service_from_config(raw, plugin_config=plugin_config)
    except SftpClientError as exc:
        return _failure(current, exc, config)
    lister = _Lister(settings, current, include_files)
    worker = threading.Thread(target=lister.run, name="sftp-path-choices")
    worker.daemon = True          # a stuck server must not keep the backend waiting
    worker.start()
    worker.join(settings.timeout)
    if worker.is_alive():
        return _single(current, "Check the SFTP service: no answer within its timeout "
                                "(%d s)" % settings.timeout)
    if lister.error is not None:
        return _failure(current, lister.error, config)
    return {"choices": lister.choices}


class _Lister(object):
    """Connect, list one directory, build the choices (run in a thread)."""

    def __init__(self, settings, current, include_files):
        self.settings = settings
        self.current = current
        self.include_files = include_files
        self.choices = None
        self.error = None

    def run(self):
        try:
            self.choices = self._list()
        except SftpClientError as exc:
            self.error = exc
        except Exception as exc:  # the form must get an answer, never a traceback
            LOG.warning("Listing remote paths for the picker failed: %s",
                        exc.__class__.__name__)
            self.error = exc

    def _list(self):
        directory = self.current if self.current.endswith("/") or not self.current \
            else posixpath.dirname(self.current) + "/"
        directory = "" if directory == "/" else directory
        full = resolve_under(self.settings.root_path, directory, _LABELS[PICKER])
        with SftpSession(self.settings) as session:
            sftp = session.open_sftp()
            try:
                with remote_errors("opening", full):
                    sftp.stat(full)      # a clear 'not found' before listing
                with remote_errors("listing", full + "/"):
                    listing = listdir(sftp, full)
                dirs, files = _split(listing, self.include_files)
                below = {name: _below(sftp, posixpath.join(full, name))
                         for name in dirs[:MAX_EXPANDED]}
            finally:
                sftp.close()
        return self._build(directory, dirs, files, below)

    def _build(self, directory, dirs, files, below):
        root = self.settings.root_path
        here = posixpath.join(root, directory).rstrip("/") or "/"
        choices = [{"value": directory, "label": "%s/ (this directory)" % printable(
            here.rstrip("/"))}]
        if directory:
            parent = posixpath.dirname(directory.rstrip("/"))
            choices.append({"value": parent + "/" if parent else "",
                            "label": ".. (up to %s/)" % printable(parent or "root path")})
        entries = []
        for name in dirs:
            for path in [name] + [name + "/" + sub for sub in below.get(name, [])]:
                entries.append({"value": directory + path + "/",
                                "label": printable(directory + path) + "/"})
        entries += [{"value": directory + name, "label": "%s (existing file, %s)" % (
            printable(directory + name), human_bytes(size))} for name, size in files]
        left_out = len(entries) - MAX_CHOICES
        if left_out > 0:
            choices[0]["label"] += " - %d more entries not shown" % left_out
        if len(dirs) > MAX_EXPANDED:
            choices[0]["label"] += (" - sub-directories listed for the first %d "
                                    "directories only" % MAX_EXPANDED)
        choices += entries[:MAX_CHOICES]
        if self.current and not self.current.endswith("/"):
            # The picked file stays first, so the form keeps showing it.
            kept = [c for c in choices if c["value"] == self.current] or [
                {"value": self.current, "label": "%s (picked; not found now)"
                 % printable(self.current)}]
            choices = kept + [c for c in choices if c["value"] != self.current]
        return choices


def _split(listing, include_files):
    """Sorted directory names and (file name, size) pairs of one listing, without the
    plugin's internal names (partial files, the state file)."""
    dirs, files = [], []
    for attrs in listing:
        name = attrs.filename
        if is_internal(name):
            continue
        mode = attrs.st_mode or 0
        if stat.S_ISDIR(mode):
            dirs.append(name)
        elif include_files and stat.S_ISREG(mode):
            files.append((name, attrs.st_size or 0))
    return sorted(dirs), sorted(files)


def _below(sftp, full):
    """Sorted names of the directories in ``full``; none when it cannot be listed
    (the directory itself is still offered, and picking it says why)."""
    try:
        with remote_errors("listing", full + "/"):
            return _split(listdir(sftp, full), False)[0]
    except SftpClientError as exc:
        LOG.info("Path picker: not listing below %s: %s", printable(full), exc)
        return []


def _current(config):
    """The picker's value, normalised: relative, directories ending with '/'."""
    value = config.get(PICKER)
    if not isinstance(value, str):
        return ""
    try:
        parts = split_relative(value)
    except SftpClientError:
        return ""
    if not parts:
        return ""
    return "/".join(parts) + ("/" if value.endswith("/") else "")


def _single(value, label):
    return {"choices": [{"value": value, "label": label}]}


def _failure(current, exc, config):
    raw = config.get("sftp_service")
    secrets = [str(raw[k]) for k in SECRET_KEYS if isinstance(raw, dict) and raw.get(k)]
    return _single(current, redact_text("Check the SFTP service: %s" % exc, secrets))
