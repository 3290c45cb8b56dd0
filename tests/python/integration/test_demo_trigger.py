"""`make demo`'s trigger step (tests/demo/demo_trigger.py) shows the trigger firing
once, through SOCKS5, and nothing secret."""
import time

from conftest import proxy_fields
from demo.demo_trigger import trigger_fires_once


def test_demo_trigger_fires_once(dss, capsys, preset, remote_dir, dante, sshd):
    def write(rel, data, mtime):
        remote_dir.write(rel, data, mtime=mtime)

    service = preset(root_path=remote_dir.path, **proxy_fields("socks5", dante))
    assert trigger_fires_once(service, write, remote_dir.path, int(time.time()) - 7200) == 1
    out = capsys.readouterr().out
    assert out.count("SCENARIO STARTED") == 1 and "check 3:" in out
    assert "1 new file(s) settled (orders-0412.csv): firing" in out
    assert "The scenario was started 1 time(s)" in out
    assert sshd.password not in out and dante.password not in out
