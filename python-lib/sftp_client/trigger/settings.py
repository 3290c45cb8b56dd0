"""The trigger's own params (trigger.json), validated once into ``TriggerSettings``;
errors name the field by the label the trigger form shows. The server comes from
the "SFTP Services" preset (``connect.settings.service_from_config``), the admin
policy from the plugin-level settings only.
"""
from typing import NamedTuple, Tuple

from sftp_client.connect.fields import (boolean_param, choice_param, integer_param,
                                        patterns_param, text_param)

#: Labels of the trigger's fields, as python-triggers/new-files-on-sftp/trigger.json.
TRIGGER_LABELS = {
    "remote_path": "Remote path",
    "include_patterns": "Include patterns",
    "exclude_patterns": "Exclude patterns",
    "settle_seconds": "Settle time (seconds)",
    "fire_on": "Fire on",
    "fire_at_first_check": "Fire at the first check when files are already there",
}

NEW, NEW_OR_CHANGED = "new", "new_or_changed"
#: Default settle time: a minute without writes, the same at two checks.
DEFAULT_SETTLE_SECONDS = 60
#: A week: beyond it a file would practically never count.
MAX_SETTLE_SECONDS = 7 * 24 * 3600


class TriggerSettings(NamedTuple):
    remote_path: str = ""
    include: Tuple[str, ...] = ()
    exclude: Tuple[str, ...] = ()
    settle_seconds: int = DEFAULT_SETTLE_SECONDS
    fire_on: str = NEW                # new / new_or_changed
    fire_at_first_check: bool = False


def trigger_settings_from_config(raw):
    """The trigger's params, with defaults for fields never touched."""
    raw = raw or {}
    labels = TRIGGER_LABELS
    return TriggerSettings(
        remote_path=text_param(raw, "remote_path", "", labels).strip(),
        include=patterns_param(raw, "include_patterns", labels["include_patterns"]),
        exclude=patterns_param(raw, "exclude_patterns", labels["exclude_patterns"]),
        settle_seconds=integer_param(raw, "settle_seconds", DEFAULT_SETTLE_SECONDS, 0,
                                     MAX_SETTLE_SECONDS, label=labels["settle_seconds"]),
        fire_on=choice_param(raw, "fire_on", (NEW, NEW_OR_CHANGED), NEW, labels),
        fire_at_first_check=boolean_param(raw, "fire_at_first_check", False, labels),
    )
