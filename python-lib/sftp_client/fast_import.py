"""Process start: paramiko without ``invoke``.

``paramiko.config`` imports the ``invoke`` package when it is installed, only for
ssh_config's ``Match exec``, which this library never uses (it reads no
ssh_config). Here that costs ~0.12 s of every recipe's start (a third of the
time before the first byte moves). While paramiko loads, ``invoke`` is hidden
(its import fails, as paramiko allows); afterwards it imports as usual.
"""
import sys


def import_paramiko():
    if "paramiko" in sys.modules or "invoke" in sys.modules:
        return
    sys.modules["invoke"] = None          # "import invoke" raises ImportError
    try:
        import paramiko  # noqa: F401
    finally:
        if "invoke" in sys.modules and sys.modules["invoke"] is None:
            del sys.modules["invoke"]
