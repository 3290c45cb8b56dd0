"""Test-only control panel of the stand-in ``dataiku`` package.

TESTS ONLY. Production code (python-lib/, recipe.py, exporter.py) must never import this
module: it does not exist in DSS. Tests use it to declare the folders, datasets and recipe
bindings that DSS would provide, to run entry points the way DSS does, and to read back what
was written.

Names: folders and datasets are known by their full name ``PROJECTKEY.name``; a name given
without a project key gets ``DEFAULT_PROJECT_KEY``.
"""

import copy
import importlib.util
import json
import inspect
import itertools
import json
import os
import runpy
import threading

DEFAULT_PROJECT_KEY = "TESTPROJECT"
#: Set by DSS in the processes of recipes, macros and scenarios (and so triggers):
#: dataiku.Project() without a key needs it, as the real default_project_key() does.
CURRENT_PROJECT_ENV = "DKU_CURRENT_PROJECT_KEY"

# Folder types reported by get_info(): what DSS shows for a local folder and for one on
# object storage (any non-filesystem type behaves the same way for the plugin).
LOCAL_FOLDER_TYPE = "Filesystem"
REMOTE_FOLDER_TYPE = "S3"


class ExportAborted(Exception):
    """Raised by run_exporter(abort_after=N): the export failed, close() was not called.

    ``exporter`` is the instance left unclosed, ``rows_written`` how many rows it received.
    """

    def __init__(self, exporter, rows_written):
        Exception.__init__(self, "export aborted after %d rows" % rows_written)
        self.exporter = exporter
        self.rows_written = rows_written


class _FolderRecord(object):
    def __init__(self, full_name, folder_id, base_dir, local, last_modified, partitions=None):
        self.full_name = full_name
        self.partitions = list(partitions or [])  # ids; files under base_dir/<id>/
        self.id = folder_id
        self.base_dir = os.path.abspath(base_dir)
        self.local = local
        self.last_modified = last_modified
        self.writes = []   # folder paths, one per get_writer/upload_stream/upload_file call
        self.deletes = []  # folder paths, one per delete_path call
        self.provider = None     # the FSProvider instance of a provider-backed folder
        self.folder_type = LOCAL_FOLDER_TYPE if local else REMOTE_FOLDER_TYPE


class _DatasetRecord(object):
    def __init__(self, full_name):
        self.full_name = full_name
        self.schema = None   # list of {"name", "type"} once write_schema() was called
        self.rows = None     # list of dicts once a writer was closed
        self.open_writers = 0


class _State(object):
    def __init__(self):
        self.lock = threading.RLock()
        self.folders = {}
        self.datasets = {}
        self.recipe = None
        self.ids = itertools.count(1)
        self.trigger = None              # set_trigger: the running custom trigger
        self.project_variables = {}      # project key -> {"standard": ..., "local": ...}


_state = _State()


def full_name(name):
    """``name`` as ``PROJECTKEY.name``, adding DEFAULT_PROJECT_KEY when it has no key."""
    return name if "." in name else "%s.%s" % (DEFAULT_PROJECT_KEY, name)


def reset():
    """Forget every folder, dataset and recipe binding (files on disk are left alone);
    close the FS providers of provider-backed folders."""
    global _state
    old, _state = _state, _State()
    for record in old.folders.values():
        if record.provider is not None:
            record.provider.close()
    _set_flow_variables(None, at_import=False)
    os.environ.pop(CURRENT_PROJECT_ENV, None)


def _set_flow_variables(variables, at_import):
    """The job's environment as the real package sees it: DKUFLOW_VARIABLES set (or not),
    and ``dataiku.dku_flow_variables`` present only when it was set at import time."""
    import dataiku
    if variables is None:
        os.environ.pop(dataiku.FLOW_VARIABLES_ENV, None)
    else:
        os.environ[dataiku.FLOW_VARIABLES_ENV] = json.dumps(variables)
    if variables is not None and at_import:
        dataiku.dku_flow_variables = copy.deepcopy(variables)
    elif hasattr(dataiku, "dku_flow_variables"):
        del dataiku.dku_flow_variables


def set_recipe(config, plugin_config=None, inputs=None, outputs=None, resource_dir=None,
               flow_variables=None, flow_variables_at_import=True):
    """Declare the running recipe: its params, the plugin params and role bindings.

    flow_variables: the job's DKUFLOW_VARIABLES, e.g. {"DKU_DST_day": "2024-05-31"} for a
    recipe that builds one partition of its output; None = a job whose environment has no
    DKUFLOW_VARIABLES (then neither dataiku.dku_flow_variables nor get_flow_variables() give
    any). flow_variables_at_import=False: the environment was loaded after the package was
    imported (containerized and remote runs), so dataiku.dku_flow_variables is missing while
    get_flow_variables() reads them.

    inputs/outputs: {role: [names]}; names may omit the project key.
    resource_dir: what get_recipe_resource() returns (the plugin's resource/ folder).
    """
    _state.recipe = {
        "config": copy.deepcopy(config),
        "plugin_config": copy.deepcopy(plugin_config or {}),
        "inputs": {role: [full_name(n) for n in names] for role, names in (inputs or {}).items()},
        "outputs": {role: [full_name(n) for n in names] for role, names in (outputs or {}).items()},
        "resource_dir": resource_dir,
    }
    _set_flow_variables(flow_variables, flow_variables_at_import)
    os.environ[CURRENT_PROJECT_ENV] = DEFAULT_PROJECT_KEY


def register_folder(name, base_dir, local=True, last_modified=True, partitions=None):
    """Declare a managed folder whose content lives in ``base_dir`` (created if missing).

    local=False: a folder on object storage; get_path() raises and get_info() has no path.
    last_modified=False: get_path_details() gives no ``lastModified`` key.
    partitions: partition ids of a partitioned folder (directory-based: base_dir/<id>/...).
    Returns the folder's full name.
    """
    name = full_name(name)
    if not os.path.isdir(base_dir):
        os.makedirs(base_dir)
    with _state.lock:
        folder_id = "fld%05d" % next(_state.ids)
        _state.folders[name] = _FolderRecord(name, folder_id, base_dir, local, last_modified,
                                             partitions)
    return name


def load_fs_provider(fs_provider_py_path, root, config, plugin_config=None):
    """Build the one FSProvider subclass of an fs-provider.py as DSS does:
    ``cls(root, config, plugin_config)``."""
    from dataiku.fsprovider import FSProvider

    cls = _one_subclass(_load_module(fs_provider_py_path), FSProvider, fs_provider_py_path)
    return cls(copy.deepcopy(root), copy.deepcopy(config), copy.deepcopy(plugin_config or {}))


def register_provider_folder(name, fs_provider_py_path, config, plugin_config=None, root=None,
                             folder_type="fsprovider_plugin_component"):
    """Declare a managed folder stored on a custom FS provider (its "Store into"): the
    folder's stream API is served by the provider's methods, as DSS does. ``root``
    defaults to what DSS proposes, ``/${projectKey}/${odbId}``. Returns the full name;
    ``folder_provider(name)`` gives the provider instance."""
    name = full_name(name)
    with _state.lock:
        folder_id = "fld%05d" % next(_state.ids)
    if root is None:
        root = "/%s/%s" % (name.split(".", 1)[0], folder_id)
    record = _FolderRecord(name, folder_id, os.devnull, False, True)
    record.provider = load_fs_provider(fs_provider_py_path, root, config, plugin_config)
    record.folder_type = folder_type
    record.root = root
    with _state.lock:
        _state.folders[name] = record
    return name


def folder_provider(name):
    """The FSProvider instance serving a provider-backed folder."""
    return _folder(full_name(name)).provider


def register_dataset(name):
    """Declare a dataset a recipe may write. Returns its full name."""
    name = full_name(name)
    with _state.lock:
        _state.datasets[name] = _DatasetRecord(name)
    return name


def dataset_rows(name):
    """Rows of the last closed writer, as dicts keyed by column name; None if never written."""
    record = _dataset(full_name(name))
    return copy.deepcopy(record.rows)


def dataset_schema(name):
    """Columns given to write_schema(), or None if it was never called."""
    record = _dataset(full_name(name))
    return copy.deepcopy(record.schema)


def folder_write_count(name):
    """Number of get_writer, upload_stream and upload_file calls made on the folder."""
    return len(_folder(full_name(name)).writes)


def folder_writes(name):
    """Folder paths passed to get_writer/upload_stream/upload_file, in call order."""
    return list(_folder(full_name(name)).writes)


def folder_deletes(name):
    """Folder paths passed to delete_path, in call order."""
    return list(_folder(full_name(name)).deletes)


def run_recipe(recipe_py_path):
    """Run a recipe.py as DSS does: as the __main__ script. Returns its globals."""
    return runpy.run_path(recipe_py_path, run_name="__main__")


def run_exporter(exporter_py_path, config, plugin_config, schema, rows, abort_after=None):
    """Drive an exporter.py through the lifecycle DSS uses for MANAGES_OUTPUT exporters.

    Loads the file as a module, finds the one Exporter subclass it defines, then calls
    cls(config, plugin_config), open(schema), write_row(row) for each row and close().
    abort_after=N: after N rows (or fewer if ``rows`` is shorter) raise ExportAborted
    without calling close(), as DSS stops on a failure. An exception from the exporter also propagates without close().
    Returns the exporter instance.
    """
    from dataiku.exporter import Exporter

    cls = _one_subclass(_load_module(exporter_py_path), Exporter, exporter_py_path)
    exporter = cls(copy.deepcopy(config), copy.deepcopy(plugin_config))
    exporter.open(copy.deepcopy(schema))
    written = 0
    for row in rows:
        if abort_after is not None and written >= abort_after:
            break
        exporter.write_row(row)
        written += 1
    if abort_after is not None:
        raise ExportAborted(exporter, written)
    exporter.close()
    return exporter


def run_macro(runnable_py_path, config, plugin_config=None, project_key=DEFAULT_PROJECT_KEY):
    """Run a macro's runnable.py as DSS does: find its one Runnable subclass, build it
    with (project_key, config, plugin_config), call get_progress_target() then
    run(progress_callback). Returns (result, [progress values reported])."""
    from dataiku.runnables import Runnable

    module = _load_module(runnable_py_path)
    classes = [obj for obj in vars(module).values()
               if inspect.isclass(obj) and issubclass(obj, Runnable) and obj is not Runnable
               and obj.__module__ == module.__name__]
    if len(classes) != 1:
        raise RuntimeError("%s must define exactly one Runnable subclass, found %d"
                           % (runnable_py_path, len(classes)))
    macro = classes[0](project_key, copy.deepcopy(config), copy.deepcopy(plugin_config or {}))
    macro.get_progress_target()
    progress = []
    return macro.run(progress.append), progress


def run_choices(script_path, payload, config, plugin_config=None, inputs=None):
    """Call a resource/ script's do(payload, config, plugin_config, inputs), as DSS
    does for a param with getChoicesFromPython."""
    module = _load_module(script_path)
    return module.do(copy.deepcopy(payload), copy.deepcopy(config),
                     copy.deepcopy(plugin_config or {}), copy.deepcopy(inputs or []))
# How DSS's exporter host reads each storage type (public copy of its host module and of
# dataiku.core.dataset's DKU_PANDAS_TYPES_MAP): int/bigint as float64 so that bad data does
# not fail the read, float as float32, boolean as bool, dates parsed, the rest as object.
_HOST_DTYPES = {"int": "float64", "bigint": "float64", "float": "float32",
                "double": "float64", "boolean": "bool"}


def host_rows(schema, csv_text):
    """The rows DSS's exporter host hands to write_row for a dataset whose data DSS
    streams as ``csv_text`` (no header, ',' separator): read with pandas in chunks,
    then each row of ``itertuples`` with numpy booleans made Python bools.

    What pandas does here is what the plugin gets: float32 values widened to Python
    floats, ints as floats, NaN/NaT for missing values and for strings such as NA or
    null, Timestamps for dates; an empty boolean cell makes the read itself fail.
    """
    import io as _io

    import numpy as np
    import pandas as pd

    columns = schema["columns"]
    names = [c["name"] for c in columns]
    dtypes = dict((c["name"], _HOST_DTYPES.get(c["type"], "object")) for c in columns)
    parse_dates = [i for i, c in enumerate(columns) if c["type"] == "date"] or False
    rows = []
    for frame in pd.read_csv(_io.StringIO(csv_text), iterator=True, chunksize=5000,
                             header=None, names=names, sep=",", skip_blank_lines=False,
                             dtype=dtypes, parse_dates=parse_dates):
        for row in frame.itertuples(index=False, name=None):
            rows.append(tuple(bool(v) if isinstance(v, np.bool_) else v for v in row))
    return rows


_module_counter = itertools.count(1)


def _one_subclass(module, base, path):
    classes = [
        obj for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, base) and obj is not base
        and obj.__module__ == module.__name__
    ]
    if len(classes) != 1:
        raise RuntimeError("%s must define exactly one %s subclass, found %d: %s" % (
            path, base.__name__, len(classes), sorted(c.__name__ for c in classes)))
    return classes[0]


def _load_module(path):
    module_name = "_dss_stub_loaded_%d" % next(_module_counter)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- lookups used by the stand-in package (not by tests) ----------------------------------

def _recipe():
    if _state.recipe is None:
        raise RuntimeError("not running inside a recipe (tests: call _harness.set_recipe first)")
    return _state.recipe


def _resolve(lookup, project_key):
    if "." in lookup:
        return lookup
    return "%s.%s" % (project_key or DEFAULT_PROJECT_KEY, lookup)


def _check_flow(name, ignore_flow):
    """Refuse objects that are not recipe inputs/outputs, unless ignore_flow (DSS may do so)."""
    recipe = _state.recipe
    if recipe is None or ignore_flow:
        return
    bound = [n for names in itertools.chain(recipe["inputs"].values(), recipe["outputs"].values())
             for n in names]
    if name not in bound:
        raise Exception("%s is not an input or output of this recipe" % name)


def _folder(name):
    with _state.lock:
        record = _state.folders.get(name)
        if record is None:
            record = next((f for f in _state.folders.values() if f.id == name.split(".", 1)[-1]), None)
    if record is None:
        raise Exception("Managed folder %s does not exist" % name)
    return record


def _dataset(name):
    with _state.lock:
        record = _state.datasets.get(name)
    if record is None:
        raise Exception("Dataset %s does not exist" % name)
    return record


def _record_write(record, path):
    with _state.lock:
        record.writes.append(path)


def _record_delete(record, path):
    with _state.lock:
        record.deletes.append(path)


def _commit_rows(record, rows):
    with _state.lock:
        record.rows = rows


# ---- custom triggers and project variables (reference section 16) --------------------------

def set_trigger(config, plugin_config=None):
    """Declare the running custom trigger: its params and the plugin-level params
    (what dataiku.customtrigger.get_plugin_config() returns); resets the fire count."""
    _state.trigger = {"config": copy.deepcopy(config),
                      "plugin_config": copy.deepcopy(plugin_config or {}), "fires": 0}
    os.environ[CURRENT_PROJECT_ENV] = DEFAULT_PROJECT_KEY


def run_trigger(trigger_py_path):
    """Run a trigger.py as DSS does at each check (as the __main__ script); returns
    how many times it called Trigger().fire()."""
    _trigger()["fires"] = 0
    runpy.run_path(trigger_py_path, run_name="__main__")
    return _state.trigger["fires"]


def trigger_fires():
    """Fires of the last run_trigger."""
    return _trigger()["fires"]


def project_variables(project_key=DEFAULT_PROJECT_KEY):
    """The project's variables as DSS keeps them (a copy); tests may seed them with
    set_project_variables."""
    return _project_variables(project_key)


def set_project_variables(variables, project_key=DEFAULT_PROJECT_KEY):
    _store_project_variables(project_key, variables)


def _trigger():
    if _state.trigger is None:
        raise RuntimeError("not running inside a custom trigger (tests: call "
                           "_harness.set_trigger first)")
    return _state.trigger


def _record_fire():
    with _state.lock:
        _trigger()["fires"] += 1


def _project_variables(project_key):
    with _state.lock:
        stored = _state.project_variables.get(project_key)
        return copy.deepcopy(stored) if stored else {"standard": {}, "local": {}}


def _store_project_variables(project_key, variables):
    # DSS keeps variables as JSON: what JSON cannot hold is refused, the rest stored
    # as JSON gives it back (tuples become lists).
    with _state.lock:
        _state.project_variables[project_key] = json.loads(json.dumps(variables))
