"""The recipes' transfer options: ``sync_options_from_config(raw)`` validates the
recipe params once into an immutable ``SyncOptions``; errors name the field by the
label the recipe form shows.
"""
from typing import NamedTuple, Tuple

from sftp_client.connect.fields import (boolean_param, choice_param, integer_param,
                                        patterns_param)

#: Labels of the recipes' option fields, as their recipe.json files show them.
SYNC_LABELS = {
    "include_patterns": "Include patterns",
    "exclude_patterns": "Exclude patterns",
    "min_age_seconds": "Minimum age (seconds)",
    "symlinks": "Symbolic links",
    "on_error": "On error",
    "workers": "Parallel transfers",
    "dry_run": "Dry run",
}


class SyncOptions(NamedTuple):
    include: Tuple[str, ...] = ()
    exclude: Tuple[str, ...] = ()
    min_age_seconds: int = 0
    symlinks: str = "skip"          # skip / follow
    on_error: str = "stop"          # stop / continue
    workers: int = 4
    dry_run: bool = False           # list and plan only: nothing written anywhere


def sync_options_from_config(raw):
    """The recipes' transfer options, with defaults for fields never touched."""
    raw = raw or {}
    labels = SYNC_LABELS
    return SyncOptions(
        include=patterns_param(raw, "include_patterns", labels["include_patterns"]),
        exclude=patterns_param(raw, "exclude_patterns", labels["exclude_patterns"]),
        min_age_seconds=integer_param(raw, "min_age_seconds", 0, 0, 10 ** 9,
                                 label=labels["min_age_seconds"]),
        symlinks=choice_param(raw, "symlinks", ("skip", "follow"), "skip", labels),
        on_error=choice_param(raw, "on_error", ("stop", "continue"), "stop", labels),
        workers=integer_param(raw, "workers", 4, 1, 16, label=labels["workers"]),
        dry_run=boolean_param(raw, "dry_run", False, labels),
    )
