"""The plugin's Python runs on Python 3.6, the oldest interpreter its code env accepts.

vermin checks language features and standard-library names against 3.6; when a real 3.6
interpreter is available, it also compiles every file (in memory: no __pycache__ is written).
"""

import glob
import os
import shutil
import subprocess
import sys


PLUGIN_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
VERMIN_ARGS = ["--no-config-file", "--target=3.6-", "--no-tips", "--violations",
               "--eval-annotations"]
COMPILE_SCRIPT = (
    "import sys\n"
    "for path in sys.argv[1:]:\n"
    "    with open(path, 'rb') as f:\n"
    "        compile(f.read(), path, 'exec', dont_inherit=True)\n"
)


def plugin_python_files():
    patterns = [
        "python-lib/**/*.py",
        "custom-recipes/*/recipe.py",
        "python-exporters/*/exporter.py",
        "python-runnables/*/runnable.py",
        "python-fs-providers/*/fs-provider.py",
        "python-triggers/*/trigger.py",
        "resource/**/*.py",
    ]
    files = set()
    for pattern in patterns:
        files.update(glob.glob(os.path.join(PLUGIN_ROOT, pattern), recursive=True))
    return sorted(files)


def run_vermin(paths):
    command = [sys.executable, "-c", "import sys; from vermin.main import main; sys.exit(main())"]
    return subprocess.run(command + VERMIN_ARGS + list(paths), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)


def find_python36():
    """A working 3.6 interpreter: $PYTHON36, python3.6 on PATH, or a pyenv-installed 3.6."""
    candidates = [os.environ.get("PYTHON36"), shutil.which("python3.6")]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", "3.6*", "bin", "python3.6")))
    for candidate in candidates:
        if not candidate:
            continue
        try:
            probe = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True,
                timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue  # e.g. a pyenv shim for a version that is not selected
        if probe.returncode == 0 and probe.stdout.strip() == "3.6":
            return candidate
    return None


def require_python36():
    python36 = find_python36()
    assert python36, ("no Python 3.6 interpreter found: install one (e.g. `pyenv install "
                      "3.6.15`) so the plugin code is compiled by the oldest Python DSS "
                      "code envs use")
    return python36


def test_vermin_catches_newer_syntax(tmp_path):
    """The check itself works: code needing 3.8 is reported."""
    sample = tmp_path / "too_new.py"
    sample.write_text("if (n := 3):\n    print(n)\n")
    result = run_vermin([str(sample)])
    assert result.returncode != 0, result.stdout
    assert "named expressions" in result.stdout


def test_plugin_code_needs_at_most_python_36():
    files = plugin_python_files()
    assert files, "no plugin Python files found: the file list is wrong"
    result = run_vermin(files)
    assert result.returncode == 0, result.stdout


def test_plugin_code_compiles_with_python_36(tmp_path):
    python36 = require_python36()
    files = plugin_python_files()
    assert files, "no plugin Python files found: the file list is wrong"
    script = tmp_path / "compile_all.py"
    script.write_text(COMPILE_SCRIPT)
    result = subprocess.run([python36, str(script)] + files, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    assert result.returncode == 0, result.stdout


def test_python36_compile_check_catches_newer_syntax(tmp_path):
    python36 = require_python36()
    sample = tmp_path / "too_new.py"
    sample.write_text("if (n := 3):\n    print(n)\n")
    script = tmp_path / "compile_all.py"
    script.write_text(COMPILE_SCRIPT)
    result = subprocess.run([python36, str(script), str(sample)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    assert result.returncode != 0
    assert "SyntaxError" in result.stdout
