"""`make demo` keeps working: run tests/demo/run_demo.py and check what it shows."""
import os
import subprocess
import sys

from conftest import TESTS_DIR


def test_demo_runs_every_step():
    result = subprocess.run([sys.executable, os.path.join(TESTS_DIR, "demo", "run_demo.py")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=300)
    out = result.stdout
    assert result.returncode == 0, result.stderr[-3000:]
    for proxy in ("through socks5 proxy", "through socks4 proxy", "through http proxy"):
        assert proxy in out
    assert out.count("host key ssh-ed25519 SHA256:") == 4
    # Download: everything, then only the changed and the new file.
    assert "/sales/2024-01.csv  32      2023-11-14T23:13:20Z  updated" in out
    assert "/sales/2024-03.csv  22      2023-11-15T00:13:20Z  downloaded" in out
    # Export recipe: uploaded, then unchanged; exporter: quoted CSV.
    assert out.count("uploaded  new") == 5 and out.count("unchanged  same size") >= 5
    assert '2,"The ""Quoted"" Co",,false,2024-02-01T09:30:00Z' in out
    # FS provider: a folder on the server through the HTTP proxy, one session.
    assert "Folder type fsprovider_sftp-python-connector_sftp" in out
    assert "Listed: /reports/summary.csv" in out
    assert "Browsed: /reports/summary.csv  39 bytes" in out
    assert "Preview (first 24 bytes): b'region,amount\\nnorth,21\\ns'" in out
    assert "Deleted; listed now: (empty)" in out
    assert "SSH sessions opened by the provider: 1" in out
    assert "Demo finished" in out
    # No secret in anything the demo printed.
    from helpers import servers
    for secret in (servers.SFTP_PASSWORD, servers.SOCKS_PASSWORD,
                   servers.HTTP_PROXY_PASSWORD):
        assert secret not in out and secret not in result.stderr
