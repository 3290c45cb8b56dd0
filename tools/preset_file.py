"""The presets file of ``dss_admin.py presets apply``: read, check, and turn into
the preset records DSS stores. Secrets never live in the file: each one is named
by an environment variable in ``secrets_from_env``.

    {"presets": [
      {"name": "partner-sftp",
       "owner": "admin",                       # optional
       "usable_by_all": false,                 # optional, default false
       "groups": ["data-team"],                # groups allowed to use it
       "config": {"hostname": "sftp.example.com", "username": "dss", ...},
       "secrets_from_env": {"password": "PARTNER_SFTP_PASSWORD"}}]}

Every field of the parameter set gets a value: the file's, else the parameter
set's default, else empty, so a preset applied twice is the same preset.
"""
import json
import os

PRESET_KEYS = {"name", "owner", "usable_by_all", "groups", "config", "secrets_from_env"}


class PresetFileError(Exception):
    """The presets file is wrong; the message names the preset and the field."""


def load_parameter_set(plugin_root):
    path = os.path.join(plugin_root, "parameter-sets", "sftp-services",
                        "parameter-set.json")
    with open(path, "rb") as handle:
        return json.loads(handle.read().decode("utf-8"))


def secret_fields(parameter_set):
    return set(p["name"] for p in parameter_set["params"] if p.get("type") == "PASSWORD")


def read_presets(path, parameter_set, environ):
    """``[preset record]`` from the file at ``path``, secrets from ``environ``."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except (IOError, OSError) as exc:
        raise PresetFileError("cannot read %s: %s" % (path, exc.strerror or exc))
    except ValueError as exc:
        raise PresetFileError("%s is not valid JSON: %s" % (path, exc))
    presets = data.get("presets") if isinstance(data, dict) else None
    if not isinstance(presets, list) or not presets:
        raise PresetFileError('%s: expected {"presets": [...]} with at least one preset'
                              % path)
    records, names = [], set()
    for number, entry in enumerate(presets, 1):
        record = _record(entry, number, parameter_set, environ)
        if record["name"] in names:
            raise PresetFileError("preset '%s' appears twice" % record["name"])
        names.add(record["name"])
        records.append(record)
    return records


def _record(entry, number, parameter_set, environ):
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
            or not entry["name"].strip():
        raise PresetFileError("preset #%d: 'name' is required" % number)
    name = entry["name"].strip()
    unknown = sorted(set(entry) - PRESET_KEYS)
    if unknown:
        raise PresetFileError("preset '%s': unknown key(s) %s; allowed: %s"
                              % (name, ", ".join(unknown), ", ".join(sorted(PRESET_KEYS))))
    groups = entry.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
        raise PresetFileError("preset '%s': 'groups' must be a list of group names" % name)
    if not isinstance(entry.get("usable_by_all", False), bool):
        raise PresetFileError("preset '%s': 'usable_by_all' must be true or false" % name)
    config = _config(name, entry.get("config"), entry.get("secrets_from_env") or {},
                     parameter_set, environ)
    return {"name": name, "owner": entry.get("owner"), "groups": list(groups),
            "usable_by_all": entry.get("usable_by_all", False), "config": config}


def _config(name, config, secrets, parameter_set, environ):
    if not isinstance(config, dict):
        raise PresetFileError("preset '%s': 'config' must be an object of preset fields"
                              % name)
    params = dict((p["name"], p) for p in parameter_set["params"] if "name" in p)
    unknown = sorted(set(config) - set(params))
    if unknown:
        raise PresetFileError("preset '%s': unknown field(s) %s" % (name, ", ".join(unknown)))
    hidden = secret_fields(parameter_set)
    written = sorted(k for k in config if k in hidden and config[k])
    if written:
        raise PresetFileError("preset '%s': %s must not be written in the file: name an "
                              "environment variable in 'secrets_from_env' instead"
                              % (name, ", ".join(written)))
    values = {}
    for field, param in params.items():
        value = config.get(field, param.get("defaultValue"))
        values[field] = _checked(name, field, param, value)
    for field, variable in sorted(secrets.items()):
        if field not in hidden:
            raise PresetFileError("preset '%s': secrets_from_env names '%s', which is not "
                                  "a secret field (%s)" % (name, field, ", ".join(sorted(hidden))))
        if not isinstance(variable, str) or variable not in environ:
            raise PresetFileError("preset '%s': environment variable %s (for %s) is not set"
                                  % (name, variable, field))
        values[field] = environ[variable]
    return values


def _checked(preset, field, param, value):
    """The value with its type checked against the parameter's; '' when unset."""
    kind = param["type"]
    if value is None:
        return False if kind == "BOOLEAN" else ""
    if kind == "INT" and not (isinstance(value, int) and not isinstance(value, bool)):
        raise PresetFileError("preset '%s': %s must be a whole number" % (preset, field))
    if kind == "BOOLEAN" and not isinstance(value, bool):
        raise PresetFileError("preset '%s': %s must be true or false" % (preset, field))
    if kind in ("STRING", "TEXTAREA", "PASSWORD", "SELECT") and not isinstance(value, str):
        raise PresetFileError("preset '%s': %s must be text" % (preset, field))
    choices = [c["value"] for c in param.get("selectChoices", [])]
    if kind == "SELECT" and choices and value not in choices:
        raise PresetFileError("preset '%s': %s must be one of %s" % (preset, field,
                                                                    ", ".join(choices)))
    return value
