"""Run the real recipe.py files through the stand-in dataiku package (``dss`` fixture)
and read back their report datasets as ``{folder path: row}``."""
import os

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOWNLOAD = os.path.join(PROJECT_DIR, "custom-recipes",
                        "sftp-python-connector_download-from-sftp", "recipe.py")
UPLOAD = os.path.join(PROJECT_DIR, "custom-recipes",
                      "sftp-python-connector_export-to-sftp", "recipe.py")


def download(dss, service, remote_path, folder_dir, local=True, **options):
    """Download ``remote_path`` into the folder at ``folder_dir`` (a local or a
    stream-API folder); the report rows, also read when the recipe fails."""
    dss.register_folder("out", str(folder_dir), local=local)
    dss.register_dataset("report")
    dss.set_recipe(dict(sftp_service=service, remote_path=remote_path, **options),
                   outputs={"output_folder": ["out"], "report": ["report"]})
    return _run(dss, DOWNLOAD, "report")


def upload(dss, service, folder_dir, remote_path, **options):
    """Upload the local folder at ``folder_dir`` to ``remote_path``; the rows of
    the uploaded-files dataset."""
    dss.register_folder("src", str(folder_dir))
    dss.register_dataset("uploaded")
    dss.set_recipe(dict(sftp_service=service, remote_path=remote_path, **options),
                   inputs={"input_folder": ["src"]},
                   outputs={"uploaded_files": ["uploaded"]})
    return _run(dss, UPLOAD, "uploaded")


def _run(dss, recipe, report):
    try:
        dss.run_recipe(recipe)
    finally:
        rows = dict((r["path"], r) for r in dss.dataset_rows(report) or [])
    return rows
