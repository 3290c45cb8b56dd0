"""A managed folder stored on a custom FS provider, for tests only (``Folder`` returns one
for folders declared with ``_harness.register_provider_folder``).

DSS serves such a folder's API through the provider's methods (reference sections 10 and
15): listings through ``enumerate``, path details through ``browse``, downloads through
``read``, writers and uploads through ``write`` (data shown only when the writer is
closed), deletions through ``delete_recursive``. Errors reach the caller as plain
Exceptions, as DSS returns them.
"""

import io

from dataiku import Folder, _DownloadStream, _harness


class ProviderFolder(Folder):

    def get_info(self):
        record = self._record
        project_key, name = record.full_name.split(".", 1)
        return {"id": record.id, "projectKey": project_key, "name": name,
                "type": record.folder_type}

    def get_path(self):
        raise Exception(
            "Folder %s is not on the local filesystem (type %s), cannot get its path: use "
            "the read/write API instead" % (self._record.full_name, self._record.folder_type))

    def list_paths_in_partition(self, partition=""):
        return sorted(f["path"] for f in self._call("enumerate", "/", False) or [])

    def get_path_details(self, path="/"):
        return self._call("browse", self._path(path))

    def get_download_stream(self, path):
        data = io.BytesIO()
        self._call("read", self._path(path), data, -1)
        data.seek(0)
        return _DownloadStream(data)

    def get_writer(self, path):
        _harness._record_write(self._record, self._path(path))
        return _ProviderWriter(self, self._path(path))

    def upload_stream(self, path, f):
        _harness._record_write(self._record, self._path(path))
        stream = io.BytesIO(bytes(f)) if isinstance(f, (bytes, bytearray)) else f
        self._call("write", self._path(path), stream)

    def upload_file(self, path, local_file_path):
        _harness._record_write(self._record, self._path(path))
        with open(local_file_path, "rb") as f:
            self._call("write", self._path(path), f)

    def delete_path(self, path):
        _harness._record_delete(self._record, self._path(path))
        self._call("delete_recursive", self._path(path))

    def clear(self):
        self._call("delete_recursive", "/")

    # -- helpers (not part of the API) --

    def _path(self, path):
        return "/" + self._rel(path)

    def _call(self, method, *args):
        try:
            return getattr(self._record.provider, method)(*args)
        except Exception as exc:
            raise Exception("%s failed on folder %s: %s" % (
                method, self._record.full_name, exc)) from exc


class _ProviderWriter(object):
    """Writer whose data reaches the provider in one ``write`` call when closed."""

    def __init__(self, folder, path):
        self._folder = folder
        self._path = path
        self._data = io.BytesIO()

    def write(self, data):
        if self._data is None:
            raise ValueError("write on a closed folder writer")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("folder writers take bytes, got %s" % type(data).__name__)
        self._data.write(data)

    def close(self):
        if self._data is None:
            return
        data, self._data = self._data, None
        data.seek(0)
        self._folder._call("write", self._path, data)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.close()
