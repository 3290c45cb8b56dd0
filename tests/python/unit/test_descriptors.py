"""Every JSON descriptor of the plugin is well-formed and keeps the contract of
shared/dss-plugin-reference.md, section 13 (names users' configurations depend on)."""

import json
import os
import re

import pytest

PLUGIN_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PLUGIN_ID = "sftp-python-connector"
PRESET_ID = "sftp-services"
ACCEPTED_INTERPRETERS = ["PYTHON3%d" % minor for minor in range(6, 14)]

# Parameter types DSS knows (params doc, plus object/list types seen in official plugins).
DSS_PARAM_TYPES = {
    "BOOLEAN", "DATE", "DOUBLE", "INT", "PASSWORD", "STRING", "STRINGS", "TEXTAREA",
    "SELECT", "MULTISELECT", "DATASET", "DATASETS", "DATASET_COLUMN", "DATASET_COLUMNS",
    "MANAGED_FOLDER", "SAVED_MODEL", "MODEL_EVALUATION_STORE", "API_SERVICE",
    "API_SERVICE_VERSION", "BUNDLE", "VISUAL_ANALYSIS", "SCENARIO", "PROJECT", "CLUSTER",
    "CODE_ENV", "PLUGIN", "PRESET", "SEPARATOR", "CREDENTIAL_REQUEST", "COLUMN", "COLUMNS",
    "MAP", "KEY_VALUE_LIST", "OBJECT_LIST", "CONNECTION", "CONNECTIONS", "ARRAY", "OBJECT",
}

# name: (type, defaultValue or NO_DEFAULT_CHECK, mandatory, SELECT choices or None)
ANY = object()
PRESET_CONTRACT = {
    "description": ("TEXTAREA", ANY, False, None),
    "hostname": ("STRING", ANY, True, None),
    "port": ("INT", 22, False, None),
    "root_path": ("STRING", "/", False, None),
    "username": ("STRING", ANY, True, None),
    "auth_method": ("SELECT", "password", False, ["password", "private_key"]),
    "password": ("PASSWORD", ANY, False, None),
    "private_key_path": ("STRING", ANY, False, None),
    "private_key": ("PASSWORD", ANY, False, None),
    "private_key_passphrase": ("PASSWORD", ANY, False, None),
    "host_key_check": ("SELECT", "fingerprint", False, ["fingerprint", "known_hosts", "none"]),
    "host_key": ("STRING", ANY, False, None),
    "known_hosts_path": ("STRING", ANY, False, None),
    "proxy_type": ("SELECT", "none", False, ["none", "http", "socks5", "socks4"]),
    "proxy_hostname": ("STRING", ANY, False, None),
    "proxy_port": ("INT", ANY, False, None),
    "proxy_user": ("STRING", ANY, False, None),
    "proxy_password": ("PASSWORD", ANY, False, None),
    "proxy_remote_dns": ("BOOLEAN", True, False, None),
    "timeout": ("INT", 30, False, None),
    # the jump host (issue 19): the server's fields with the prefix jump_, all optional
    "jump_hostname": ("STRING", ANY, False, None),
    "jump_port": ("INT", 22, False, None),
    "jump_username": ("STRING", ANY, False, None),
    "jump_auth_method": ("SELECT", "password", False, ["password", "private_key"]),
    "jump_password": ("PASSWORD", ANY, False, None),
    "jump_private_key_path": ("STRING", ANY, False, None),
    "jump_private_key": ("PASSWORD", ANY, False, None),
    "jump_private_key_passphrase": ("PASSWORD", ANY, False, None),
    "jump_host_key_check": ("SELECT", "fingerprint", False,
                            ["fingerprint", "known_hosts", "none"]),
    "jump_host_key": ("STRING", ANY, False, None),
    "jump_known_hosts_path": ("STRING", ANY, False, None),
}

DOWNLOAD_RECIPE = os.path.join("custom-recipes", "sftp-python-connector_download-from-sftp",
                               "recipe.json")
EXPORT_RECIPE = os.path.join("custom-recipes", "sftp-python-connector_export-to-sftp",
                             "recipe.json")
EXPORTER = os.path.join("python-exporters", "sftp-python-connector_export-to-sftp",
                        "exporter.json")
PARAMETER_SET = os.path.join("parameter-sets", PRESET_ID, "parameter-set.json")
FS_PROVIDER = os.path.join("python-fs-providers", "sftp", "fs-provider.json")
MACRO = os.path.join("python-runnables", "test-sftp-service", "runnable.json")
PICKER = {"browse_remote", "remote_path_picker"}


def _json_files():
    found = []
    for dirpath, dirnames, filenames in os.walk(PLUGIN_ROOT):
        rel_dir = os.path.relpath(dirpath, PLUGIN_ROOT)
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith(".") and not (rel_dir == "." and d in ("tests", "dist"))
        )
        found.extend(os.path.relpath(os.path.join(dirpath, f), PLUGIN_ROOT)
                     for f in sorted(filenames) if f.endswith(".json"))
    return found


JSON_FILES = _json_files()
COMPONENT_FILES = [f for f in JSON_FILES if os.path.basename(f) in (
    "parameter-set.json", "recipe.json", "exporter.json", "runnable.json",
    "fs-provider.json", "trigger.json")]


def _load(rel_path):
    with open(os.path.join(PLUGIN_ROOT, rel_path), "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def _params(descriptor):
    return descriptor.get("params", []) + descriptor.get("pluginParams", [])


def _by_name(descriptor):
    return {p["name"]: p for p in descriptor["params"] if "name" in p}


def _choices(param):
    return [c["value"] for c in param.get("selectChoices", [])]


# ---- every JSON file -----------------------------------------------------------------------

def test_descriptor_files_are_found():
    for expected in ("plugin.json", os.path.join("code-env", "python", "desc.json"),
                     PARAMETER_SET, DOWNLOAD_RECIPE, EXPORT_RECIPE, EXPORTER, FS_PROVIDER):
        assert expected in JSON_FILES


@pytest.mark.parametrize("rel_path", JSON_FILES)
def test_json_file_parses_as_utf8_object(rel_path):
    assert isinstance(_load(rel_path), dict)


# ---- plugin.json and code env --------------------------------------------------------------

def test_plugin_json_identity_and_meta():
    plugin = _load("plugin.json")
    assert plugin["id"] == PLUGIN_ID
    assert re.match(r"^\d+\.\d+\.\d+$", plugin["version"])
    meta = plugin["meta"]
    assert meta["label"] == "SFTP Python Connector"
    for key in ("description", "author", "icon", "licenseInfo", "url", "tags"):
        assert meta.get(key), key
    assert meta["icon"].startswith("icon-")
    assert "supportLevel" not in meta
    assert isinstance(plugin.get("params", []), list)


def test_code_env_accepts_python_36_to_313():
    desc = _load(os.path.join("code-env", "python", "desc.json"))
    assert desc["acceptedPythonInterpreters"] == ACCEPTED_INTERPRETERS
    assert desc["forceConda"] is False
    assert desc["installCorePackages"] is True
    assert desc["corePackagesSet"] == "AUTO"
    assert desc["installJupyterSupport"] is False


def test_code_env_requirements_name_paramiko_and_pysocks_with_ranges():
    with open(os.path.join(PLUGIN_ROOT, "code-env", "python", "spec", "requirements.txt")) as f:
        lines = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    names = set(re.split(r"[<>=!~ ;\[]", l, maxsplit=1)[0].lower() for l in lines)
    assert names == {"paramiko", "pysocks"}
    for line in lines:
        assert ">=" in line and "<" in line.split(";")[0].replace("<=", "<"), line


def test_paramiko_is_chosen_by_environment_markers():
    """Not by the index's Requires-Python: 3.6-3.8 get paramiko 3.5.x, newer the current
    major; every accepted interpreter matches exactly one paramiko line."""
    with open(os.path.join(PLUGIN_ROOT, "code-env", "python", "spec", "requirements.txt")) as f:
        lines = [l.strip() for l in f if l.lower().startswith("paramiko")]
    rules = []
    for line in lines:
        spec, marker = [part.strip() for part in line.split(";")]
        match = re.match(r'^python_version\s*(<|>=)\s*"3\.(\d+)"$', marker)
        assert match, line
        rules.append((match.group(1), int(match.group(2)), spec))
    for interpreter in ACCEPTED_INTERPRETERS:
        minor = int(interpreter[len("PYTHON3"):])
        chosen = [spec for op, bound, spec in rules
                  if (minor < bound if op == "<" else minor >= bound)]
        assert len(chosen) == 1, interpreter
        if minor <= 8:
            assert chosen[0].startswith("paramiko>=3.5") and "<3.6" in chosen[0]


def test_license_and_changelog_ship_with_the_plugin():
    with open(os.path.join(PLUGIN_ROOT, "LICENSE")) as f:
        text = f.read()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert _load("plugin.json")["meta"]["licenseInfo"] == "Apache Software License"
    with open(os.path.join(PLUGIN_ROOT, "CHANGELOG.md")) as f:
        assert "## [%s]" % _load("plugin.json")["version"] in f.read()


def test_meta_url_points_at_the_plugin_documentation():
    url = _load("plugin.json")["meta"]["url"]
    assert url.startswith("https://") and url.endswith("#readme")
    assert "dataiku.com/product" not in url


@pytest.mark.parametrize("rel_path", [p for p in COMPONENT_FILES if "custom-recipes" in p])
def test_recipes_declare_a_resource_key(rel_path):
    assert _load(rel_path)["resourceKeys"] == [PLUGIN_ID]


def _texts(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("label", "description") and isinstance(value, str):
                yield value
            else:
                for text in _texts(value):
                    yield text
    elif isinstance(node, list):
        for value in node:
            for text in _texts(value):
                yield text


@pytest.mark.parametrize("rel_path", JSON_FILES)
def test_descriptions_have_no_markdown(rel_path):
    """DSS shows labels and descriptions literally: no backticks, links or emphasis."""
    for text in _texts(_load(rel_path)):
        assert "`" not in text and "](" not in text, text
        assert not re.search(r"\*\*[A-Za-z]|(^|\s)__?[A-Za-z]", text), text


# ---- params of every component -------------------------------------------------------------

@pytest.mark.parametrize("rel_path", COMPONENT_FILES)
def test_params_are_well_formed(rel_path):
    descriptor = _load(rel_path)
    names = []
    for param in _params(descriptor):
        assert param.get("type") in DSS_PARAM_TYPES, param
        if param["type"] == "SEPARATOR":
            assert param.get("label"), param
            continue
        assert re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", param.get("name", "")), param
        assert param.get("label"), param
        names.append(param["name"])
        if "mandatory" in param:
            assert isinstance(param["mandatory"], bool), param
    assert len(names) == len(set(names)), "duplicate param names in %s" % rel_path


@pytest.mark.parametrize("rel_path", COMPONENT_FILES)
def test_defaults_fit_their_type(rel_path):
    for param in _params(_load(rel_path)):
        kind = param["type"]
        if kind in ("SELECT", "MULTISELECT") and not param.get("getChoicesFromPython"):
            choices = _choices(param)
            assert choices and len(choices) == len(set(choices)), param
            assert all(c.get("label") for c in param["selectChoices"]), param
            if "defaultValue" in param:
                defaults = param["defaultValue"] if kind == "MULTISELECT" else [param["defaultValue"]]
                assert set(defaults) <= set(choices), param
        if "defaultValue" not in param:
            continue
        default = param["defaultValue"]
        if kind == "INT":
            assert isinstance(default, int) and not isinstance(default, bool), param
            assert param.get("minI", default) <= default <= param.get("maxI", default), param
        elif kind == "BOOLEAN":
            assert isinstance(default, bool), param
        elif kind in ("STRING", "TEXTAREA", "PASSWORD"):
            assert isinstance(default, str), param


@pytest.mark.parametrize("rel_path", COMPONENT_FILES)
def test_preset_params_name_an_existing_parameter_set(rel_path):
    for param in _params(_load(rel_path)):
        if param["type"] == "PRESET":
            set_id = param.get("parameterSetId")
            assert set_id, param
            assert os.path.isfile(os.path.join(
                PLUGIN_ROOT, "parameter-sets", set_id, "parameter-set.json")), set_id


@pytest.mark.parametrize("rel_path", COMPONENT_FILES)
def test_visibility_conditions_reference_existing_params(rel_path):
    descriptor = _load(rel_path)
    names = {p["name"] for p in _params(descriptor) if "name" in p}
    for param in _params(descriptor):
        condition = param.get("visibilityCondition")
        if condition is None:
            continue
        referenced = set(re.findall(r"model\.(\w+)", condition))
        assert referenced, condition
        assert referenced <= names, (param.get("name"), sorted(referenced - names))


@pytest.mark.parametrize("rel_path", COMPONENT_FILES)
def test_params_python_setup_files_exist_in_resource(rel_path):
    setup = _load(rel_path).get("paramsPythonSetup")
    if setup is not None:
        assert os.path.isfile(os.path.join(PLUGIN_ROOT, "resource", setup)), setup


@pytest.mark.parametrize("rel_path", [f for f in COMPONENT_FILES if "parameter-sets" not in f])
def test_component_has_its_python_file(rel_path):
    python_file = {"recipe.json": "recipe.py", "exporter.json": "exporter.py",
                   "runnable.json": "runnable.py",
                   "fs-provider.json": "fs-provider.py",
                   "trigger.json": "trigger.py"}[os.path.basename(rel_path)]
    assert os.path.isfile(os.path.join(PLUGIN_ROOT, os.path.dirname(rel_path), python_file))


# ---- parameter set contract ----------------------------------------------------------------

def test_parameter_set_has_exactly_the_contract_params():
    parameter_set = _load(PARAMETER_SET)
    assert parameter_set["meta"]["label"] == "SFTP Services"
    assert parameter_set["meta"].get("description") and parameter_set["meta"].get("icon")
    assert parameter_set["defaultDefinableInline"] is True
    assert parameter_set["defaultDefinableAtProjectLevel"] is True
    assert not parameter_set.get("pluginParams")
    params = _by_name(parameter_set)
    assert sorted(params) == sorted(PRESET_CONTRACT)


@pytest.mark.parametrize("name", sorted(PRESET_CONTRACT))
def test_parameter_set_param_matches_contract(name):
    param = _by_name(_load(PARAMETER_SET))[name]
    kind, default, mandatory, choices = PRESET_CONTRACT[name]
    assert param["type"] == kind
    assert param.get("mandatory", False) is mandatory
    if default is not ANY:
        assert param["defaultValue"] == default
    if choices is not None:
        assert _choices(param) == choices
    assert param.get("description"), "admins need to know what to type in %s" % name


def test_parameter_set_ports_and_timeout_are_bounded():
    params = _by_name(_load(PARAMETER_SET))
    assert (params["port"]["minI"], params["port"]["maxI"]) == (1, 65535)
    assert (params["proxy_port"]["minI"], params["proxy_port"]["maxI"]) == (1, 65535)
    assert (params["timeout"]["minI"], params["timeout"]["maxI"]) == (1, 3600)


def test_secret_fields_are_password_typed():
    params = _by_name(_load(PARAMETER_SET))
    for name in ("password", "private_key", "private_key_passphrase", "proxy_password"):
        assert params[name]["type"] == "PASSWORD"


# ---- recipes and exporter ------------------------------------------------------------------

def _role(roles, name):
    matching = [r for r in roles if r["name"] == name]
    assert len(matching) == 1, name
    return matching[0]


def _assert_role(role, folder, required):
    assert role["arity"] == "UNARY"
    assert role["required"] is required
    # acceptsDataset defaults to true in DSS: always spell both out.
    assert role["acceptsDataset"] is (not folder)
    assert role["acceptsManagedFolder"] is folder


def _assert_service_params(descriptor):
    params = _by_name(descriptor)
    service = params["sftp_service"]
    assert (service["type"], service["parameterSetId"], service["mandatory"]) == (
        "PRESET", PRESET_ID, True)
    assert params["remote_path"]["type"] == "STRING"
    # No component param may widen the preset (reference 5.3).
    assert not set(params) & {"hostname", "port", "host_key", "root_path", "known_hosts_path"}
    return params


def test_download_recipe_roles_and_params():
    recipe = _load(DOWNLOAD_RECIPE)
    assert recipe["kind"] == "PYTHON"
    assert recipe["meta"]["label"] == "Download from SFTP"
    assert recipe["inputRoles"] == []
    assert [r["name"] for r in recipe["outputRoles"]] == ["output_folder", "report"]
    _assert_role(_role(recipe["outputRoles"], "output_folder"), folder=True, required=True)
    _assert_role(_role(recipe["outputRoles"], "report"), folder=False, required=False)
    params = _assert_service_params(recipe)
    assert set(params) == {"sftp_service", "remote_path", "include_patterns", "exclude_patterns",
                           "min_age_seconds", "symlinks", "on_error", "workers", "dry_run"} | PICKER
    assert _choices(params["symlinks"]) == ["skip", "follow"]
    assert params["symlinks"]["defaultValue"] == "skip"
    assert params["min_age_seconds"]["minI"] == 0


def test_export_recipe_roles_and_params():
    recipe = _load(EXPORT_RECIPE)
    assert recipe["kind"] == "PYTHON"
    assert recipe["meta"]["label"] == "Upload folder to SFTP"
    assert [r["name"] for r in recipe["inputRoles"]] == ["input_folder"]
    assert [r["name"] for r in recipe["outputRoles"]] == ["uploaded_files"]
    _assert_role(recipe["inputRoles"][0], folder=True, required=True)
    _assert_role(recipe["outputRoles"][0], folder=False, required=True)
    assert recipe["selectableFromFolder"] == "input_folder"
    params = _assert_service_params(recipe)
    assert set(params) == {"sftp_service", "remote_path", "include_patterns", "exclude_patterns",
                           "on_error", "workers", "dry_run"} | PICKER


@pytest.mark.parametrize("rel_path", [DOWNLOAD_RECIPE, EXPORT_RECIPE])
def test_recipe_transfer_options(rel_path):
    params = _by_name(_load(rel_path))
    assert params["include_patterns"]["type"] == params["exclude_patterns"]["type"] == "STRINGS"
    assert _choices(params["on_error"]) == ["stop", "continue"]
    assert params["on_error"]["defaultValue"] == "stop"
    workers = params["workers"]
    assert (workers["type"], workers["defaultValue"], workers["minI"], workers["maxI"]) == (
        "INT", 4, 1, 16)


def test_exporter_behaviour_and_params():
    exporter = _load(EXPORTER)
    assert exporter["meta"]["label"] == "Export to SFTP"
    assert exporter["exportBehavior"] == "MANAGES_OUTPUT"
    assert exporter["exportOptions"] and all(o.get("label") for o in exporter["exportOptions"])
    params = _assert_service_params(exporter)
    assert params["remote_path"]["mandatory"] is True
    expected = {
        "format": ("SELECT", "csv", ["csv", "tsv"]),
        "header": ("BOOLEAN", True, None),
        "compression": ("SELECT", "none", ["none", "gzip"]),
        "if_exists": ("SELECT", "overwrite", ["overwrite", "fail"]),
        "delimiter": ("STRING", None, None),
        "encoding": ("STRING", "utf-8", None),
        "null_value": ("STRING", "", None),
    }
    assert set(params) == set(expected) | {"sftp_service", "remote_path"} | PICKER
    for name, (kind, default, choices) in expected.items():
        assert params[name]["type"] == kind, name
        assert params[name].get("defaultValue") == default, name
        if choices is not None:
            assert _choices(params[name]) == choices, name


def test_recipe_and_exporter_ids_carry_the_plugin_id():
    """DSS names recipe and exporter types by component id alone (CustomCode_<id>):
    an unprefixed id would clash with another plugin's, e.g. the original
    sftp-python plugin's export-to-sftp."""
    assert _load("plugin.json")["id"] == PLUGIN_ID
    for kind in ("custom-recipes", "python-exporters"):
        for component in os.listdir(os.path.join(PLUGIN_ROOT, kind)):
            assert component.startswith(PLUGIN_ID + "_"), (kind, component)


def test_folder_upload_and_exporter_have_distinct_labels():
    assert _load(EXPORT_RECIPE)["meta"]["label"] == "Upload folder to SFTP"
    assert _load(EXPORTER)["meta"]["label"] == "Export to SFTP"


def test_fs_provider_meta_and_its_one_preset_param():
    provider = _load(FS_PROVIDER)
    meta = provider["meta"]
    assert meta["label"] == "SFTP (through proxies)"
    assert "proxy" in meta["description"] and meta["icon"].startswith("icon-")
    assert [p["name"] for p in provider["params"]] == ["sftp_service"]
    service = provider["params"][0]
    assert (service["type"], service["parameterSetId"], service["mandatory"]) == (
        "PRESET", PRESET_ID, True)


# ---- remote path picker and macro (issue 11) -------------------------------------------------

@pytest.mark.parametrize("rel_path,script", [(DOWNLOAD_RECIPE, "remote_directories.py"),
                                             (EXPORT_RECIPE, "remote_directories.py"),
                                             (EXPORTER, "remote_files.py")])
def test_remote_path_picker_is_a_dynamic_select(rel_path, script):
    """getChoicesFromPython is documented for SELECT params only: the picker is a
    SELECT beside the typed STRING remote_path, filled by a resource/ script."""
    descriptor = _load(rel_path)
    assert descriptor["paramsPythonSetup"] == script
    assert os.path.isfile(os.path.join(PLUGIN_ROOT, "resource", script))
    params = _by_name(descriptor)
    assert params["remote_path"]["type"] == "STRING"
    picker = params["remote_path_picker"]
    assert picker["type"] == "SELECT" and picker["getChoicesFromPython"] is True
    assert "selectChoices" not in picker
    assert set(picker["triggerParameters"]) <= set(params)
    assert picker["visibilityCondition"] == "model.browse_remote"
    assert params["browse_remote"]["type"] == "BOOLEAN"
    assert params["browse_remote"]["defaultValue"] is False


def test_macro_descriptor():
    macro = _load(MACRO)
    assert macro["meta"]["label"] == "Test SFTP service"
    assert macro["resultType"] == "HTML"
    assert macro["impersonate"] is True
    assert set(macro["permissions"]) <= {"ADMIN", "READ_CONF", "WRITE_CONF"}
    assert {"type": "PROJECT_MACROS"} in macro["macroRoles"]
    params = _by_name(macro)
    assert set(params) == {"sftp_service", "remote_path", "write_test"}
    assert params["sftp_service"]["type"] == "PRESET"
    assert params["sftp_service"]["parameterSetId"] == PRESET_ID
    assert params["write_test"]["type"] == "BOOLEAN"
