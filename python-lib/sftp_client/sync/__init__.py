"""Sync wing: the recipes' incremental copies. Options, the pure planner, the
folders (local and stream API), the transfer pool and its strategies (batches of
small files, ranges of big ones), dry runs. Imports ``remote``, ``connect`` and the
shared top-level modules; never ``export``, ``fs`` or ``dss``."""
