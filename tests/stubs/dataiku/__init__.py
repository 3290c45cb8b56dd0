"""Stand-in for the ``dataiku`` package, for tests only.

It mirrors only the APIs listed in shared/dss-plugin-reference.md (sections 6.2, 7.2, 9, 10,
11, 15, 16, 17): ``Folder``, ``Dataset``, ``Project`` (variables), ``get_flow_variables``,
``dataiku.customrecipe``, ``dataiku.customtrigger``, ``dataiku.scenario`` (``Trigger``),
``dataiku.exporter``, ``dataiku.runnables`` and ``dataiku.fsprovider`` (a folder stored on an
FS provider is served by it), plus the documented partition calls of ``Folder``
(list_partitions, get_partition_info, is_partitioning_directory_based,
list_paths_in_partition(partition)). Anything else raises AttributeError, so code relying on
an undocumented API fails its tests. Tests declare folders, datasets and recipe bindings
through ``dataiku._harness`` (test-only).

Names the real package offers only in some contexts, offered here only in those contexts:
- ``dku_flow_variables``: a module attribute the real ``dataiku/__init__.py`` sets only when
  the job's environment has ``DKUFLOW_VARIABLES`` at import time (``if "DKUFLOW_VARIABLES"
  in os.environ: dku_flow_variables = json.loads(...)``; partitions/variables.html documents
  the name). Containerized and remote runs load their environment after import, so it can
  be missing there even in a partitioned job. ``_harness.set_recipe(flow_variables=...,
  flow_variables_at_import=...)`` sets it, or deletes it, as such a process would have it.
- ``get_flow_variables()``: what official plugins call instead (sharepoint-online, osisoft,
  timeseries-forecast). What it does when the job has no flow variables is not documented;
  the stand-in takes the strictest reading (Dataiku's Julia client raises there): KeyError.
- ``dataiku.customrecipe``'s functions: only inside a recipe (``_harness.set_recipe``);
  elsewhere RuntimeError. ``get_recipe_resource()`` only for plugins with a ``resource/``
  folder (custom-recipe API).
- ``Folder.get_path()`` and the ``path`` key of ``get_info()``: only for folders on the DSS
  host's filesystem (folder API: "only for local folders").
- ``lastModified`` in ``get_path_details()``: not documented; only for folders registered
  with ``last_modified=True``, so code must survive its absence.
- Recipe role checks: inside a recipe, only folders/datasets bound to a role are reachable
  unless ``ignore_flow`` (folder API ``ignore_flow``).
- ``Project()`` without a key: only where DSS sets ``DKU_CURRENT_PROJECT_KEY`` (recipes,
  macros, scenarios and their triggers); the real ``default_project_key()`` raises
  otherwise. ``dataiku.customtrigger`` and ``dataiku.scenario.Trigger().fire()``: only
  inside a custom trigger (``_harness.set_trigger``; reference section 16).

Behaviour chosen to be as unforgiving as DSS may be:
- Folder writers show their data only when closed (object-storage semantics), and leaving a
  ``with`` block closes the writer even on an exception, so a failed write can leave a
  complete-looking partial file, as DSS may.
- Download streams cannot seek.
- Dataset rows land only when the writer is closed; an unclosed writer loses them.
"""

import io
import json
import os
import posixpath
import shutil
import tempfile

from dataiku import _harness

__all__ = ["Folder", "Dataset", "get_flow_variables"]

#: The environment variable that carries a job's flow variables (partitions/variables.html:
#: DKU_DST_<dimension> when it builds a partition, DKU_SRC_<dimension> when it reads one).
FLOW_VARIABLES_ENV = "DKUFLOW_VARIABLES"

# As the real package: the attribute exists only when the environment had the variable at
# import time (tests: _harness.set_recipe(flow_variables=...) sets or deletes it).
if FLOW_VARIABLES_ENV in os.environ:
    dku_flow_variables = json.loads(os.environ[FLOW_VARIABLES_ENV])


def get_flow_variables():
    """The running job's flow variables, read from its environment now. KeyError when the
    job has none (undocumented in the real package: the strictest reading)."""
    return json.loads(os.environ[FLOW_VARIABLES_ENV])


# ---- managed folders ----------------------------------------------------------------------

class Folder(object):
    """A managed folder, looked up by name, ``PROJECTKEY.name`` or id."""

    def __new__(cls, lookup, project_key=None, ignore_flow=False):
        # A folder stored on a custom FS provider serves the same API through it.
        if cls is Folder and _harness._folder(_harness._resolve(lookup, project_key)).provider:
            from dataiku._provider_folder import ProviderFolder
            return object.__new__(ProviderFolder)
        return object.__new__(cls)

    def __init__(self, lookup, project_key=None, ignore_flow=False):
        name = _harness._resolve(lookup, project_key)
        self._record = _harness._folder(name)
        _harness._check_flow(self._record.full_name, ignore_flow)

    def get_info(self):
        record = self._record
        project_key, name = record.full_name.split(".", 1)
        info = {"id": record.id, "projectKey": project_key, "name": name}
        if record.local:
            info["type"] = _harness.LOCAL_FOLDER_TYPE
            info["path"] = record.base_dir
        else:
            info["type"] = _harness.REMOTE_FOLDER_TYPE
        return info

    def get_path(self):
        if not self._record.local:
            raise Exception(
                "Folder %s is not on the local filesystem (type %s), cannot get its path: "
                "use the read/write API instead" % (self._record.full_name, _harness.REMOTE_FOLDER_TYPE))
        return self._record.base_dir

    def list_partitions(self):
        """Partition identifiers of the folder (none when it is not partitioned)."""
        return list(self._record.partitions or [])

    def get_partition_info(self, partition):
        """Information about one partition of the folder (a dict; its fields are not
        documented, so the stand-in gives only the partition id)."""
        self._check_partition(partition)
        return {"id": partition}

    def is_partitioning_directory_based(self):
        """Whether partitions map to sub-directories (the stand-in's always do)."""
        return bool(self._record.partitions)

    def list_paths_in_partition(self, partition=""):
        base = self._record.base_dir
        if partition:
            self._check_partition(partition)
            return ["/" + partition + p for p in self._list_under(os.path.join(base, partition))]
        return self._list_under(base)

    def _list_under(self, base):
        paths = []
        for dirpath, _dirnames, filenames in os.walk(base):
            rel_dir = os.path.relpath(dirpath, base).replace(os.sep, "/")
            for filename in filenames:
                rel = filename if rel_dir == "." else rel_dir + "/" + filename
                paths.append("/" + rel)
        return sorted(paths)

    def get_path_details(self, path="/"):
        rel = self._rel(path)
        local = self._local(rel)
        details = self._details(rel, local)
        if details["directory"]:
            details["children"] = [
                self._details(posixpath.join(rel, child), os.path.join(local, child))
                for child in sorted(os.listdir(local))
            ]
        return details

    def get_download_stream(self, path):
        local = self._local(self._rel(path))
        if not os.path.isfile(local):
            raise Exception("File %s does not exist in folder %s" % (path, self._record.full_name))
        return _DownloadStream(open(local, "rb"))

    def get_writer(self, path):
        rel = self._rel(path)
        _harness._record_write(self._record, "/" + rel)
        return _FolderWriter(self, rel)

    def upload_stream(self, path, f):
        rel = self._rel(path)
        _harness._record_write(self._record, "/" + rel)
        data = f if isinstance(f, (bytes, bytearray)) else f.read()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("upload_stream needs a binary stream, got %s" % type(data).__name__)
        self._place(rel, bytes(data))

    def upload_file(self, path, local_file_path):
        rel = self._rel(path)
        _harness._record_write(self._record, "/" + rel)
        with open(local_file_path, "rb") as f:
            self._place(rel, f.read())

    def delete_path(self, path):
        rel = self._rel(path)
        _harness._record_delete(self._record, "/" + rel)
        local = self._local(rel)
        if os.path.isdir(local) and rel:
            shutil.rmtree(local)
        elif os.path.lexists(local) and rel:
            os.remove(local)

    def clear(self):
        base = self._record.base_dir
        for child in os.listdir(base):
            local = os.path.join(base, child)
            if os.path.isdir(local) and not os.path.islink(local):
                shutil.rmtree(local)
            else:
                os.remove(local)

    # -- helpers (not part of the API) --

    def _check_partition(self, partition):
        if partition not in self._record.partitions:
            raise Exception("Partition %s does not exist in folder %s"
                            % (partition, self._record.full_name))

    def _rel(self, path):
        """Folder path ('/a/b', 'a/b') as a normalised relative path; refuse escapes."""
        if ".." in (path or "").split("/") or "\\" in (path or ""):
            raise ValueError("invalid folder path %r" % path)
        rel = posixpath.normpath("/" + (path or "")).lstrip("/")
        return "" if rel == "." else rel

    def _local(self, rel):
        return os.path.join(self._record.base_dir, *rel.split("/")) if rel else self._record.base_dir

    def _details(self, rel, local):
        exists = os.path.exists(local)
        directory = os.path.isdir(local)
        details = {
            "exists": exists,
            "directory": directory,
            "fullPath": "/" + rel,
            "size": os.path.getsize(local) if exists and not directory else 0,
        }
        if exists and self._record.last_modified:
            details["lastModified"] = int(os.stat(local).st_mtime * 1000)
        return details

    def _place(self, rel, data):
        """Make ``data`` appear at ``rel`` at once (temp file beside the folder, then rename)."""
        if not rel:
            raise ValueError("cannot write to the folder root")
        fd, tmp = self._temp_file()
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        self._commit(tmp, rel)

    def _temp_file(self):
        # Outside base_dir so listings never show in-progress writes.
        parent = os.path.dirname(self._record.base_dir)
        return tempfile.mkstemp(prefix=".dataiku-stub-write-", dir=parent)

    def _commit(self, tmp, rel):
        target = self._local(rel)
        if not os.path.isdir(os.path.dirname(target)):
            os.makedirs(os.path.dirname(target))
        os.replace(tmp, target)


class _DownloadStream(io.RawIOBase):
    """Read-only, non-seekable stream, like the HTTP stream DSS returns."""

    def __init__(self, f):
        io.RawIOBase.__init__(self)
        self._f = f

    def readable(self):
        return True

    def seekable(self):
        return False

    def readinto(self, buffer):
        return self._f.readinto(buffer)

    def close(self):
        if not self.closed:
            self._f.close()
        io.RawIOBase.close(self)


class _FolderWriter(object):
    """Writer whose data shows in the folder only once closed."""

    def __init__(self, folder, rel):
        if not rel:
            raise ValueError("cannot write to the folder root")
        self._folder = folder
        self._rel = rel
        fd, self._tmp = folder._temp_file()
        self._f = os.fdopen(fd, "wb")

    def write(self, data):
        if self._f is None:
            raise ValueError("write on a closed folder writer")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("folder writers take bytes, got %s" % type(data).__name__)
        self._f.write(data)

    def close(self):
        if self._f is None:
            return
        self._f.close()
        self._f = None
        self._folder._commit(self._tmp, self._rel)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.close()


# ---- datasets -----------------------------------------------------------------------------

class Dataset(object):
    """A dataset, looked up by name or ``PROJECTKEY.name``."""

    def __init__(self, name, project_key=None, ignore_flow=False):
        full = _harness._resolve(name, project_key)
        self._record = _harness._dataset(full)
        _harness._check_flow(full, ignore_flow)

    def write_schema(self, columns):
        checked = []
        for column in columns:
            if not isinstance(column, dict) or "name" not in column or "type" not in column:
                raise ValueError("schema columns need 'name' and 'type': %r" % (column,))
            checked.append(dict(column))
        self._record.schema = checked

    def read_schema(self):
        if self._record.schema is None:
            raise Exception("Dataset %s has no schema" % self._record.full_name)
        return [dict(c) for c in self._record.schema]

    def get_writer(self):
        if self._record.schema is None:
            raise Exception("Dataset %s has no schema: call write_schema first" % self._record.full_name)
        if self._record.open_writers:
            raise Exception("Dataset %s already has an open writer" % self._record.full_name)
        return _DatasetWriter(self._record)

    def iter_rows(self):
        for row in self._record.rows or []:
            yield dict(row)


class _DatasetWriter(object):
    """Rows reach the dataset only when the writer is closed."""

    def __init__(self, record):
        self._record = record
        self._names = [c["name"] for c in record.schema]
        self._rows = []
        self._open = True
        record.open_writers += 1

    def write_row_dict(self, row):
        self._check_open()
        unknown = sorted(set(row) - set(self._names))
        if unknown:
            raise ValueError("columns not in the schema: %s" % ", ".join(unknown))
        self._rows.append({name: row.get(name) for name in self._names})

    def write_tuple(self, row):
        self._check_open()
        if len(row) != len(self._names):
            raise ValueError("row has %d values, schema has %d columns" % (len(row), len(self._names)))
        self._rows.append(dict(zip(self._names, row)))

    def close(self):
        if not self._open:
            return
        self._open = False
        self._record.open_writers -= 1
        _harness._commit_rows(self._record, self._rows)

    def _check_open(self):
        if not self._open:
            raise ValueError("write on a closed dataset writer")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.close()


# ---- project variables (reference section 16: where official triggers keep state) ---------

class Project(object):
    """The current project (``project_key`` None) or another one, for its variables:
    ``get_variables()`` gives ``{"standard": {...}, "local": {...}}``;
    ``set_variables(that dict)`` stores it whole, and refuses a dict without both
    keys (as dataikuapi's DSSProject.set_variables) or with values JSON cannot hold.
    Tests read and seed them with ``_harness.project_variables``."""

    def __init__(self, project_key=None):
        if project_key is None and _harness.CURRENT_PROJECT_ENV not in os.environ:
            raise Exception("Default project key is not specified (no %s in env)"
                            % _harness.CURRENT_PROJECT_ENV)
        self.project_key = project_key or os.environ[_harness.CURRENT_PROJECT_ENV]

    def get_variables(self):
        return _harness._project_variables(self.project_key)

    def set_variables(self, variables):
        for scope in ("standard", "local"):
            if scope not in variables:
                raise ValueError("Missing '%s' key in argument" % scope)
        _harness._store_project_variables(self.project_key, variables)


__all__.append("Project")
